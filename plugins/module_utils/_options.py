# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the connection options every module shares.

Documented once in ``plugins/doc_fragments/connection.py``. Credentials are not given
``env_fallback`` here on purpose: ``_credentials.resolve_credential_source`` reads the
environment itself so that an explicit ``profile`` beats keys exported in the shell. Nor are the
endpoints: ``_client.endpoint_setting`` reads their variables, so that a failure can say which
of the option and the variable gave the endpoint.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

REGION_ENV = ("ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION", "ALICLOUD_REGION_ID")

DEFAULT_API_RETRIES = 10
DEFAULT_API_TIMEOUT = 30


def connection_argument_spec():
    """A fresh copy of the connection argument spec."""
    return dict(
        region=dict(type="str", aliases=["region_id"], fallback=(env_fallback, list(REGION_ENV))),
        access_key=dict(type="str", aliases=["access_key_id"], no_log=True),
        secret_key=dict(type="str", aliases=["access_key_secret"], no_log=True),
        security_token=dict(type="str", aliases=["sts_token"], no_log=True),
        profile=dict(type="str"),
        assume_role_arn=dict(type="str"),
        assume_role_session_name=dict(type="str", default="ansible-ecs-ops"),
        assume_role_duration=dict(type="int", default=3600),
        ecs_ram_role=dict(type="str"),
        oos_endpoint=dict(type="str"),
        ecs_endpoint=dict(type="str"),
        api_retries=dict(type="int", default=DEFAULT_API_RETRIES),
        api_timeout=dict(type="int", default=DEFAULT_API_TIMEOUT),
    )


def oos_run_argument_spec():
    """The options of a batched OOS run that both OOS modules share (documented in ``doc_fragments/oos_run.py``)."""
    return dict(
        rate_control=dict(type="dict", default={}, options=dict(
            concurrency=dict(type="raw", default=10),
            max_errors=dict(type="raw", default=0),
        )),
        batch_size=dict(type="int", default=50),
        wait=dict(type="bool", default=True),
        poll_interval=dict(type="float", default=5),
        cancel_on_timeout=dict(type="bool", default=False),
        client_token=dict(type="str", no_log=False),
        tags=dict(type="dict"),
        busy=dict(type="str", default="wait", choices=["wait", "skip", "fail"]),
    )


def merge_argument_spec(module_spec):
    """The connection options plus ``module_spec`` (module options win on a clash)."""
    spec = connection_argument_spec()
    spec.update(module_spec)
    return spec
