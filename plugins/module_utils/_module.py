# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: ``AlicloudModule``, the base of every module.

It adds the connection options, validates them before any call (the region may come from the
CLI profile the credentials come from), builds the clients lazily
(so a module that fails validation never imports the SDK), turns API exceptions into one clear
``fail_json`` and shows retries at ``-vvv``.
"""

from __future__ import annotations

import importlib.util
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import (
    MISSING_SDK_LIBS,
    PRODUCTS,
    Clients,
    EndpointError,
    endpoint_setting,
    parse_endpoint,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import (
    CredentialError,
    profile_region,
    resolve_credential_source,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe, has_error_code
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import REGION_ENV, merge_argument_spec
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._progress import Progress
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import (
    ValidationError,
    validate_region,
)

SDK_MODULES = ("alibabacloud_tea_openapi", "alibabacloud_credentials", "darabonba")


def sdk_available():
    return all(importlib.util.find_spec(name) is not None for name in SDK_MODULES)


REGION_REQUIRED = ("region is required: set the region option, the environment variable %s (or %s), or region_id "
                   "in the aliyun CLI profile the credentials come from (the profile option, ALIBABA_CLOUD_PROFILE or "
                   "ALICLOUD_PROFILE)"
                   % (REGION_ENV[0], ", ".join(REGION_ENV[1:])))


class ApiFailure(Exception):
    """An API error that ends the task, raised by a helper with what is known so far: ``main`` hands it to
    ``AlicloudModule.fail_api``, which reports ``error`` with the ``result`` fields and, if ``msg`` is given, that
    message with the API error's message in place of ``{error}``."""

    def __init__(self, error, msg=None, **result):
        super().__init__(str(error))
        self.error, self.msg, self.result = error, msg, result


class AlicloudModule(AnsibleModule):
    def __init__(self, argument_spec, region_required=True, **kwargs):
        super().__init__(argument_spec=merge_argument_spec(argument_spec), **kwargs)
        self._clients = None
        self.progress = Progress()
        self.credential_source = None
        self.region = None
        self._validate_connection(region_required)

    # --- input ------------------------------------------------------------------------------
    def _validate_connection(self, region_required):
        problems = []
        try:
            self.credential_source = resolve_credential_source(self.params)
        except CredentialError as exc:
            problems.append(str(exc))
        problems.extend(self._region_problems(region_required))
        problems.extend(self._endpoint_problems())
        if self.params["api_retries"] < 0:
            problems.append("api_retries must be >= 0")
        if self.params["api_timeout"] < 1:
            problems.append("api_timeout must be >= 1 second")
        if problems:
            self.fail_json(msg="Invalid connection options: " + "; ".join(problems))

    def _region_problems(self, region_required):
        """Set ``self.region``: the region option (or its variables), else the credentials' CLI profile's."""
        self.region, origin, missing = self.params.get("region"), "", None
        source = self.credential_source
        if not self.region and source is not None and source.kind == "profile":
            self.region, missing = profile_region(source.profile)
            origin = "region_id of profile %s: " % source.profile
        if self.region:
            try:
                validate_region(self.region)
            except ValidationError as exc:
                return [origin + problem for problem in exc.problems]
        elif region_required:
            return [REGION_REQUIRED + (" (%s)" % missing if missing else "")]
        return []

    def _endpoint_problems(self):
        problems = []
        for product in PRODUCTS:
            value, setting = endpoint_setting(product, self.params, os.environ)
            try:
                if value:
                    parse_endpoint(value)
            except EndpointError as exc:
                problems.append("%s: %s" % (setting, exc))
        return problems

    def fail_validation(self, error, prefix="Invalid input"):
        """Fail for a ``ValidationError`` (or a plain message) before any API call."""
        problems = getattr(error, "problems", None) or [str(error)]
        self.fail_json(msg="%s: %s" % (prefix, "; ".join(problems)), problems=problems)

    def validated(self, validate, *args):
        """Run a module's ``validate(params, ...)``, the one contract of every module: it never changes
        ``params`` and returns ``(targets, warnings, normalised)`` (``targets``: what the module acts on, None if it
        finds them by reading; ``normalised``: the checked values it works with) or raises a ``ValidationError``
        naming every problem. Fail the task on the error (before any API call), show the warnings, and return
        ``(targets, normalised)``."""
        try:
            targets, warnings, normalised = validate(*args)
        except ValidationError as exc:
            self.fail_validation(exc)
        for warning in warnings:
            self.warn(warning)
        return targets, normalised

    # --- API --------------------------------------------------------------------------------
    @property
    def clients(self):
        if self._clients is None:
            if not sdk_available():
                self.fail_json(msg=missing_required_lib(MISSING_SDK_LIBS))
            self._clients = Clients(self.params, self.credential_source, on_retry=self._on_retry)
        return self._clients

    def api(self, product, region=None):
        """The ``ApiClient`` for ``product`` in ``region`` (default: the module's region)."""
        return self.clients.get(product, region or self.region)

    def _on_retry(self, message):
        self.progress.say("retry: " + message)   # shown while the task runs (the action plugin)
        if self._verbosity >= 3:
            self.warn("retry: " + message)

    def call(self, product, action, params=None, region=None, deadline=None, not_found=()):
        """Call an action; fail the task on error. Returns None if the error code is in ``not_found``.

        Not for worker threads: ``fail_json`` exits the process only from the main thread. In
        threads use ``api(...).call`` and hand the exception to ``fail_api`` in the main thread.
        """
        try:
            return self.api(product, region).call(action, params, deadline=deadline)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if not_found and has_error_code(exc, *not_found):
                return None
            self.fail_api(exc)

    def fail_api(self, exc, **result):
        """Fail the task for an exception raised by ``ApiClient.call`` (it knows which call failed), or for an
        ``ApiFailure`` (its fields win over ``result``)."""
        template = None
        if isinstance(exc, ApiFailure):
            result, template, exc = dict(result, **exc.result), exc.msg, exc.error
        msg, error = describe(exc)
        self.fail_json(msg=template.format(error=msg) if template else msg, error=error, **result)

    def add_secret(self, value):
        """Mask ``value`` (and its string form) everywhere in this module's output."""
        if value not in (None, ""):
            self.no_log_values.add(str(value))
