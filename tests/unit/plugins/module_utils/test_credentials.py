from __future__ import annotations

import json
import os

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _credentials as creds
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import (
    CredentialError,
    build_credential_client,
    resolve_credential_source,
)

from unit_helpers import connection_params

ENV_AK = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "env-ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret"}


def resolve(environ=None, **options):
    return resolve_credential_source(connection_params(**options), environ=environ or {})


def test_explicit_keys_win_over_everything():
    src = resolve(ENV_AK, access_key="opt-ak", secret_key="opt-secret", profile="ignored")
    assert (src.kind, src.access_key, src.origin) == ("access_key", "opt-ak", "module options")


def test_explicit_keys_with_token_are_sts():
    src = resolve(access_key="a", secret_key="s", security_token="t")
    assert (src.kind, src.security_token) == ("sts", "t")


def test_explicit_profile_beats_environment_keys():
    src = resolve(ENV_AK, profile="prod")
    assert (src.kind, src.profile, src.origin) == ("profile", "prod", "module options")


def test_ecs_ram_role_is_opt_in_and_uses_metadata():
    src = resolve(ENV_AK, ecs_ram_role="EcsOps")
    assert (src.kind, src.role_name, src.uses_metadata) == ("ecs_ram_role", "EcsOps", True)
    assert not resolve(ENV_AK).uses_metadata


@pytest.mark.parametrize("environ,expected", [
    (ENV_AK, ("access_key", "env-ak", "env-secret", None)),
    (dict(ENV_AK, ALIBABA_CLOUD_SECURITY_TOKEN="tok"), ("sts", "env-ak", "env-secret", "tok")),
    ({"ALICLOUD_ACCESS_KEY": "old-ak", "ALICLOUD_SECRET_KEY": "old-secret"}, ("access_key", "old-ak", "old-secret", None)),
    ({"ALICLOUD_ACCESS_KEY_ID": "old-ak", "ALICLOUD_SECRET_ACCESS_KEY": "old-s", "ALICLOUD_SECURITY_TOKEN": "t"},
     ("sts", "old-ak", "old-s", "t")),
    (dict(ENV_AK, ALICLOUD_ACCESS_KEY="old-ak", ALICLOUD_SECRET_KEY="old-secret"), ("access_key", "env-ak", "env-secret", None)),
])
def test_environment_keys_new_names_first(environ, expected):
    src = resolve(environ)
    assert (src.kind, src.access_key, src.secret_key, src.security_token) == expected


def test_environment_keys_beat_environment_profile():
    assert resolve(dict(ENV_AK, ALIBABA_CLOUD_PROFILE="p")).kind == "access_key"


@pytest.mark.parametrize("var", ["ALIBABA_CLOUD_PROFILE", "ALICLOUD_PROFILE"])
def test_environment_profile(var):
    src = resolve({var: "staging"})
    assert (src.kind, src.profile) == ("profile", "staging")


def test_nothing_configured_falls_back_to_the_default_chain():
    assert resolve({}).kind == "default_chain"


@pytest.mark.parametrize("options,environ,fragment", [
    ({"access_key": "a"}, {}, "secret_key"),
    ({"secret_key": "s"}, {}, "access_key"),
    ({"security_token": "t"}, {}, "security_token needs"),
    ({}, {"ALIBABA_CLOUD_ACCESS_KEY_ID": "a"}, "secret_key"),
    ({"assume_role_arn": "arn:aws:iam::1:role/x"}, {}, "acs:ram::"),
    ({"assume_role_arn": "acs:ram::1:role/x", "assume_role_duration": 60}, {}, "between 900 and 43200"),
])
def test_incomplete_credentials_are_rejected(options, environ, fragment):
    with pytest.raises(CredentialError, match=fragment):
        resolve(environ, **options)


def test_assume_role_wraps_any_source():
    src = resolve(ENV_AK, assume_role_arn="acs:ram::123:role/ops", assume_role_session_name="s1")
    assert src.kind == "access_key"
    assert src.assume_role == {"arn": "acs:ram::123:role/ops", "session_name": "s1", "duration": 3600}
    assert "assuming acs:ram::123:role/ops" in src.describe()


def test_describe_never_contains_secrets():
    src = resolve(access_key="AKID-visible", secret_key="TOP-SECRET", security_token="TOKEN-SECRET")
    assert "TOP-SECRET" not in repr(src) and "TOKEN-SECRET" not in src.describe()


def test_static_and_sts_clients_serve_the_keys():
    client = build_credential_client(resolve(access_key="a", secret_key="s"))
    credential = client.get_credential()
    assert (credential.access_key_id, credential.access_key_secret) == ("a", "s")
    sts = build_credential_client(resolve(access_key="a", secret_key="s", security_token="t")).get_credential()
    assert sts.security_token == "t"


def test_profile_client_reads_the_cli_config(tmp_path, monkeypatch):
    config = {"current": "other", "profiles": [
        {"name": "other", "mode": "AK", "access_key_id": "x", "access_key_secret": "y"},
        {"name": "ops", "mode": "StsToken", "access_key_id": "p-ak", "access_key_secret": "p-s", "sts_token": "p-t"},
    ]}
    (tmp_path / ".aliyun").mkdir()
    (tmp_path / ".aliyun" / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("HOME", str(tmp_path))  # read per call: the library's own HOME is fixed at its import
    credential = build_credential_client(resolve(profile="ops")).get_credential()
    assert (credential.access_key_id, credential.security_token) == ("p-ak", "p-t")


def test_metadata_service_disabled_unless_asked_and_logger_silenced():
    build_credential_client(resolve(access_key="a", secret_key="s"))
    assert os.environ[creds.METADATA_DISABLED_ENV] == "true"
    from alibabacloud_credentials.utils import auth_util

    assert auth_util.environment_ecs_metadata_disabled == "true"
    import logging

    logger = logging.getLogger("credentials")
    assert logger.disabled and not logger.handlers


def test_ecs_ram_role_enables_metadata_without_contacting_it():
    client = build_credential_client(resolve(ecs_ram_role="EcsOps"))
    assert os.environ[creds.METADATA_DISABLED_ENV] == "false"
    assert type(client.cloud_credential.provider).__name__ == "EcsRamRoleCredentialsProvider"
    build_credential_client(resolve(access_key="a", secret_key="s"))  # back to disabled for later tests
    assert os.environ[creds.METADATA_DISABLED_ENV] == "true"


def test_assume_role_client_wraps_the_source_provider():
    client = build_credential_client(resolve(access_key="a", secret_key="s", assume_role_arn="acs:ram::1:role/x"))
    provider = client.cloud_credential.provider
    assert type(provider).__name__ == "RamRoleArnCredentialsProvider"
