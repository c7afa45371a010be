# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: where credentials come from, and the provider that serves them.

``resolve_credential_source`` is a pure function of the module options and the environment
(unit-tested without network). ``profile_region`` reads the region of a CLI profile from the file
the credentials library reads. ``build_credential_client`` imports alibabacloud-credentials lazily
and never lets it probe the ECS metadata service unless ``ecs_ram_role`` asked for it.
"""

from __future__ import annotations

import json
import logging
import os

METADATA_DISABLED_ENV = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"

# (access key, secret, token) variable names per family, newest family first.
_ENV_KEYS = (
    (("ALIBABA_CLOUD_ACCESS_KEY_ID",), ("ALIBABA_CLOUD_ACCESS_KEY_SECRET",), ("ALIBABA_CLOUD_SECURITY_TOKEN",)),
    (("ALICLOUD_ACCESS_KEY", "ALICLOUD_ACCESS_KEY_ID"), ("ALICLOUD_SECRET_KEY", "ALICLOUD_SECRET_ACCESS_KEY"),
     ("ALICLOUD_SECURITY_TOKEN",)),
)
_PROFILE_ENV = ("ALIBABA_CLOUD_PROFILE", "ALICLOUD_PROFILE")


class CredentialError(Exception):
    """The options do not describe usable credentials."""


class CredentialSource:
    """Which provider to build and with what. ``kind`` is one of
    ``access_key``, ``sts``, ``profile``, ``ecs_ram_role``, ``default_chain``."""

    def __init__(self, kind, origin, access_key=None, secret_key=None, security_token=None,
                 profile=None, role_name=None, assume_role=None):
        self.kind = kind
        self.origin = origin
        self.access_key = access_key
        self.secret_key = secret_key
        self.security_token = security_token
        self.profile = profile
        self.role_name = role_name
        self.assume_role = assume_role

    @property
    def uses_metadata(self):
        return self.kind == "ecs_ram_role"

    def describe(self):
        """A log-safe description (never the keys)."""
        text = "%s from %s" % (self.kind, self.origin)
        if self.profile:
            text += " (profile %s)" % self.profile
        if self.assume_role:
            text += ", assuming %s" % self.assume_role["arn"]
        return text

    def __repr__(self):
        return "CredentialSource(%s)" % self.describe()


def _static(access_key, secret_key, token, origin):
    if bool(access_key) != bool(secret_key):
        missing = "secret_key" if access_key else "access_key"
        raise CredentialError("%s is set but %s is not (origin: %s)" % (
            "access_key" if access_key else "secret_key", missing, origin))
    if token and not access_key:
        raise CredentialError("security_token needs access_key and secret_key (origin: %s)" % origin)
    return CredentialSource("sts" if token else "access_key", origin, access_key=access_key,
                            secret_key=secret_key, security_token=token or None)


def _from_options(params):
    if params.get("access_key") or params.get("secret_key") or params.get("security_token"):
        return _static(params.get("access_key"), params.get("secret_key"),
                       params.get("security_token"), "module options")
    if params.get("profile"):
        return CredentialSource("profile", "module options", profile=params["profile"])
    if params.get("ecs_ram_role"):
        return CredentialSource("ecs_ram_role", "module options", role_name=params["ecs_ram_role"])
    return None


def _from_environment(environ):
    def first(names):
        return next((environ[n] for n in names if environ.get(n)), None)

    for key_vars, secret_vars, token_vars in _ENV_KEYS:
        key, secret = first(key_vars), first(secret_vars)
        if key or secret:
            return _static(key, secret, first(token_vars), "environment (%s)" % "/".join(key_vars))
    for var in _PROFILE_ENV:
        if environ.get(var):
            return CredentialSource("profile", "environment (%s)" % var, profile=environ[var])
    return None


def resolve_credential_source(params, environ=None):
    """Decide where credentials come from: options, then environment, then the default chain."""
    environ = os.environ if environ is None else environ
    source = _from_options(params) or _from_environment(environ) or CredentialSource(
        "default_chain", "alibabacloud-credentials default chain")
    arn = params.get("assume_role_arn")
    if arn:
        duration = params.get("assume_role_duration") or 3600
        if not 900 <= duration <= 43200:
            raise CredentialError("assume_role_duration must be between 900 and 43200 seconds, got %s" % duration)
        if not arn.startswith("acs:ram::"):
            raise CredentialError("assume_role_arn must look like acs:ram::<account>:role/<name>, got %r" % arn)
        source.assume_role = dict(arn=arn, session_name=params.get("assume_role_session_name") or "ansible-ecs-ops",
                                  duration=duration)
    return source


def cli_config_path(environ=None):
    """The aliyun CLI configuration, ``$HOME/.aliyun/config.json``: the file alibabacloud-credentials
    reads for a profile (it has no variable to move it; the CLI has only ``--config-path``)."""
    environ = os.environ if environ is None else environ
    return os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".aliyun", "config.json")


def _read_cli_config(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle), None
    except OSError as exc:
        return None, "%s cannot be read (%s)" % (path, exc.strerror or type(exc).__name__)
    except ValueError:
        return None, "%s is not valid JSON" % path


def profile_region(profile, environ=None):
    """(``region_id`` of the CLI profile ``profile``, None), or (None, why there is none)."""
    path = cli_config_path(environ)
    config, problem = _read_cli_config(path)
    if problem:
        return None, problem
    profiles = config.get("profiles") if isinstance(config, dict) else None
    found = next((p for p in profiles or [] if isinstance(p, dict) and p.get("name") == profile), None)
    if found is None:
        return None, "%s has no profile %s" % (path, profile)
    if not found.get("region_id"):
        return None, "profile %s in %s has no region_id" % (profile, path)
    return str(found["region_id"]), None


def prepare_environment(source):
    """Keep the metadata service out of the default chain and silence the library's logger.

    Must run before ``alibabacloud_credentials`` (or the Tea SDK, which imports it) is imported:
    the library reads the environment once, at import time.
    """
    os.environ[METADATA_DISABLED_ENV] = "false" if source.uses_metadata else "true"
    logger = logging.getLogger("credentials")
    logger.handlers = []
    logger.propagate = False
    logger.disabled = True


def build_credential_client(source):
    """A ``alibabacloud_credentials.client.Client`` serving ``source``."""
    prepare_environment(source)
    from alibabacloud_credentials import provider as providers
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.utils import auth_util

    # The library read the environment when it was first imported; keep it in line with this call.
    auth_util.environment_ecs_metadata_disabled = os.environ[METADATA_DISABLED_ENV]
    prepare_environment(source)  # the import attached a fresh handler to the logger

    if source.kind == "access_key":
        inner = providers.StaticAKCredentialsProvider(
            access_key_id=source.access_key, access_key_secret=source.secret_key)
    elif source.kind == "sts":
        inner = providers.StaticSTSCredentialsProvider(
            access_key_id=source.access_key, access_key_secret=source.secret_key,
            security_token=source.security_token)
    elif source.kind == "profile":
        inner = providers.CLIProfileCredentialsProvider(profile_name=source.profile, profile_file=cli_config_path())
    elif source.kind == "ecs_ram_role":
        inner = providers.EcsRamRoleCredentialsProvider(role_name=source.role_name)
    else:
        inner = providers.DefaultCredentialsProvider()
    if source.assume_role:
        inner = providers.RamRoleArnCredentialsProvider(
            credentials_provider=inner, role_arn=source.assume_role["arn"],
            role_session_name=source.assume_role["session_name"],
            duration_seconds=source.assume_role["duration"])
    return CredentialClient(provider=inner)
