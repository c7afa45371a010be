# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The Alibaba Cloud region id, for example C(cn-hangzhou).
      - If not set, the environment variable E(ALIBABA_CLOUD_REGION_ID), then E(ALICLOUD_REGION), then
        E(ALICLOUD_REGION_ID) is used.
      - If none of them is set and the credentials come from an aliyun CLI profile (O(profile),
        E(ALIBABA_CLOUD_PROFILE) or E(ALICLOUD_PROFILE)), the profile's C(region_id) is used, as the CLI
        does. So the order is this option, then the environment variables, then the profile.
    type: str
    aliases: [region_id]
  access_key:
    description:
      - The AccessKey ID.
      - Credentials are resolved in this order, the first that applies wins. 1) O(access_key) and
        O(secret_key) (with O(security_token) for STS). 2) O(profile), a profile of the aliyun CLI in
        C(~/.aliyun/config.json). 3) O(ecs_ram_role), the RAM role of the ECS instance the module runs on.
        4) The environment variables E(ALIBABA_CLOUD_ACCESS_KEY_ID), E(ALIBABA_CLOUD_ACCESS_KEY_SECRET)
        and E(ALIBABA_CLOUD_SECURITY_TOKEN), then the older E(ALICLOUD_ACCESS_KEY),
        E(ALICLOUD_SECRET_KEY) and E(ALICLOUD_SECURITY_TOKEN). 5) The profile named by
        E(ALIBABA_CLOUD_PROFILE) or E(ALICLOUD_PROFILE). 6) The default credential chain of the
        alibabacloud-credentials library (the current aliyun CLI profile, OIDC, credentials file), with
        the ECS metadata service disabled.
      - O(assume_role_arn) then assumes a RAM role with whichever credentials were found.
    type: str
    aliases: [access_key_id]
  secret_key:
    description:
      - The AccessKey secret. Never logged or returned.
      - See O(access_key) for the resolution order and the environment variables.
    type: str
    aliases: [access_key_secret]
  security_token:
    description:
      - The STS security token, for temporary credentials. Never logged or returned.
    type: str
    aliases: [sts_token]
  profile:
    description:
      - The name of a profile in the aliyun CLI configuration C(~/.aliyun/config.json)
        (modes AK, StsToken, RamRoleArn, EcsRamRole and the others the CLI supports).
      - If not set and no keys are given, E(ALIBABA_CLOUD_PROFILE) or E(ALICLOUD_PROFILE) is used.
      - The profile's C(region_id) is the region when O(region) and its environment variables are not set.
      - The file is always C($HOME/.aliyun/config.json), the one the alibabacloud-credentials library reads.
        E(ALIBABA_CLOUD_CONFIG_FILE) does not move it (only the Go SDK honours that variable; the aliyun CLI
        has its C(--config-path) flag).
    type: str
  assume_role_arn:
    description:
      - The ARN of a RAM role to assume, for example C(acs:ram::123456789012****:role/ops).
      - The role is assumed through STS with the credentials resolved as described in O(access_key).
    type: str
  assume_role_session_name:
    description:
      - The session name used when assuming O(assume_role_arn).
    type: str
    default: ansible-ecs-ops
  assume_role_duration:
    description:
      - How long, in seconds, the assumed role's credentials are valid (900 to 43200).
    type: int
    default: 3600
  ecs_ram_role:
    description:
      - The name of the RAM role attached to the ECS instance the module runs on. Its temporary
        credentials are read from the instance metadata service.
      - The metadata service is never contacted unless this option is set, so that modules run fast
        and quietly outside ECS.
    type: str
  oos_endpoint:
    description:
      - Override the OOS API endpoint, for example a VPC endpoint or a local simulator.
      - A host (C(oos-vpc.cn-hangzhou.aliyuncs.com)), C(host:port), or a URL whose scheme selects
        HTTP or HTTPS (C(http://127.0.0.1:8080)). HTTPS is used unless the URL says C(http), so a plain
        HTTP server such as a local simulator must be written with C(http://).
      - If not set, E(ALIBABA_CLOUD_OOS_ENDPOINT) is used, then C(oos.<region>.aliyuncs.com).
      - A mistake in the endpoint fails the task at the first attempt, with the endpoint used
        (C(scheme://host:port)), where it came from and the fix in the message. These are a name that does
        not resolve (a wrong host or region id, or no network or DNS on the machine), a refused connection,
        HTTPS to a plain HTTP port, plain HTTP to an HTTPS port, and a TLS certificate that is not trusted.
    type: str
  ecs_endpoint:
    description:
      - Override the ECS API endpoint, in the same forms as O(oos_endpoint).
      - If not set, E(ALIBABA_CLOUD_ECS_ENDPOINT) is used, then the regional ECS endpoint.
    type: str
  api_retries:
    description:
      - How many times an API call is retried after throttling (C(Throttling*)), C(ServiceUnavailable),
        C(InternalError*), an HTTP 5xx answer, a dropped or reset connection or a read timeout.
      - Retries wait with jittered exponential backoff (honouring the server's C(x-acs-retry-after))
        and stop after two minutes of waiting in total. Other errors are never retried.
      - Endpoint mistakes are not retried (see O(oos_endpoint)). A refused connection or a name that does
        not resolve is retried only once the endpoint has answered in the same task (a restart during a
        long wait).
      - Mutating calls carry an idempotency token, so a retried call never acts twice.
      - Each retry is reported as a warning when the task runs with C(-vvv). A call that still fails says
        in its message how many attempts it made and how long they took.
    type: int
    default: 10
  api_timeout:
    description:
      - The read timeout of one API request, in seconds. The connect timeout is the smaller of this and 10 seconds.
      - A request made while a task waits under its deadline (C(wait_timeout) where the module has one) gets at most the time left before that
        deadline (at least 1 second), so a slow API cannot carry the task past it by up to this timeout.
    type: int
    default: 30
notes:
  - >-
    All modules of this collection are in the action group C(alibabacloud.ecs_ops.alicloud), so the
    connection options can be set once for a play with C(module_defaults) and the key
    C(group/alibabacloud.ecs_ops.alicloud).
requirements:
  - python >= 3.9
  - alibabacloud-oos20190601 >= 3.7.0
  - alibabacloud-ecs20140526 >= 7.11.8
  - alibabacloud-credentials >= 1.0.12
  - alibabacloud-tea-openapi >= 0.4.6
"""

    # The same options for the collection's non-module plugins (inventory, connection). They resolve
    # credentials, region and endpoints with the same code as the modules (module_utils/_credentials,
    # _client), so the environment variables are read by that code, not through ``env:`` entries, and the
    # precedence is the one documented for the modules. Host variables (``vars:``) are not here: only a
    # connection plugin reads them, so the connection plugin's own DOCUMENTATION adds them to these options
    # (an inventory plugin's documentation must not offer variables it never reads).
    PLUGINS = r"""
options:
  region:
    description:
      - The Alibaba Cloud region id, for example C(cn-hangzhou).
      - If not set, E(ALIBABA_CLOUD_REGION_ID), then E(ALICLOUD_REGION), then E(ALICLOUD_REGION_ID), then the
        C(region_id) of the aliyun CLI profile the credentials come from, as for the modules.
    type: str
    aliases: [region_id]
    env:
      - name: ALIBABA_CLOUD_REGION_ID
      - name: ALICLOUD_REGION
      - name: ALICLOUD_REGION_ID
  access_key:
    description:
      - The AccessKey ID. Credentials are resolved in the order the modules document for their C(access_key)
        option. Keys first, then O(profile), O(ecs_ram_role), the key environment variables, the profile
        environment variables, and the default chain of the alibabacloud-credentials library.
    type: str
    aliases: [access_key_id]
  secret_key:
    description:
      - The AccessKey secret. Never logged or returned.
    type: str
    aliases: [access_key_secret]
  security_token:
    description:
      - The STS security token, for temporary credentials. Never logged or returned.
    type: str
    aliases: [sts_token]
  profile:
    description:
      - The name of a profile in the aliyun CLI configuration C($HOME/.aliyun/config.json).
      - If not set and no keys are given, E(ALIBABA_CLOUD_PROFILE) or E(ALICLOUD_PROFILE) is used.
    type: str
  assume_role_arn:
    description:
      - The ARN of a RAM role to assume with whichever credentials were found.
    type: str
  assume_role_session_name:
    description:
      - The session name used when assuming O(assume_role_arn).
    type: str
    default: ansible-ecs-ops
  assume_role_duration:
    description:
      - How long, in seconds, the assumed role's credentials are valid (900 to 43200).
    type: int
    default: 3600
  ecs_ram_role:
    description:
      - The name of the RAM role attached to the ECS instance Ansible runs on; its credentials come from the
        instance metadata service, which is never contacted unless this option is set.
    type: str
  oos_endpoint:
    description:
      - Override the OOS API endpoint (a host, C(host:port) or a URL; HTTPS unless the URL says C(http)).
      - If not set, E(ALIBABA_CLOUD_OOS_ENDPOINT) is used, then C(oos.<region>.aliyuncs.com).
    type: str
  ecs_endpoint:
    description:
      - Override the ECS API endpoint, in the same forms as O(oos_endpoint).
      - If not set, E(ALIBABA_CLOUD_ECS_ENDPOINT) is used, then the regional ECS endpoint.
    type: str
  api_retries:
    description:
      - How many times an API call is retried after throttling, C(ServiceUnavailable), C(InternalError*), an
        HTTP 5xx answer, a dropped or reset connection or a read timeout (jittered exponential backoff).
    type: int
    default: 10
  api_timeout:
    description:
      - The read timeout of one API request, in seconds.
    type: int
    default: 30
requirements:
  - python >= 3.9
  - alibabacloud-oos20190601 >= 3.7.0
  - alibabacloud-ecs20140526 >= 7.11.8
  - alibabacloud-credentials >= 1.0.12
  - alibabacloud-tea-openapi >= 0.4.6
"""
