# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ecs
short_description: ECS instances as an inventory, with their Cloud Assistant agent and patch compliance
version_added: 0.1.0
description:
  - Makes every ECS instance of the selected regions a host, with its region, zone, OS, tags, addresses and the
    state of its Cloud Assistant agent as C(ecs_) host variables, and groups by agent reachability and OS type.
  - Filters are sent to C(DescribeInstances), so only the selected instances are read, and checked again on what
    comes back.
  - Opt-in, because they cost calls, the extensions each instance has installed (C(ecs_installed_extensions)) and
    its patch compliance from the latest scan (C(ecs_patch_state)).
  - Credentials, region and endpoints resolve exactly as for the collection's modules.
  - The configuration file name must end in C(ecs.yml) or C(ecs.yaml).
  - A top-level key that is no option (or alias) documented here fails before any call, naming the closest option,
    as Ansible would otherwise ignore it (a misspelt O(filters) would read every instance).
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - alibabacloud.ecs_ops.connection.plugins
options:
  plugin:
    description: The name of this plugin; it makes Ansible use it for the file.
    type: str
    required: true
    choices: [alibabacloud.ecs_ops.ecs]
  regions:
    description:
      - The regions to read. Without it, every region C(DescribeRegions) lists for the account (one call more).
    type: list
    elements: str
    default: []
  filters:
    description:
      - The instances to include, as C(DescribeInstances) filters that all must match.
      - C(status) (C(Running), C(Stopped), ...), C(instance_ids) (a list), C(instance_name) (C(*) matches
        anything), C(zone_id), C(vpc_id), C(vswitch_id), C(security_group_id), C(instance_type),
        C(instance_type_family), C(image_id), C(resource_group_id), C(private_ips) and C(public_ips) (lists, any
        of them), and C(tags) (a dict; an empty value matches any value of the key).
    type: dict
    default: {}
  include_filters:
    description:
      - More filter sets (as in O(filters)); instances that match any of them are included too.
    type: list
    elements: dict
    default: []
  exclude_filters:
    description:
      - Filter sets (as in O(filters)); instances that match any of them are left out. Checked on what was read,
        without more calls.
    type: list
    elements: dict
    default: []
  hostnames:
    description:
      - What names a host, in order of preference. C(instance_id), C(instance_name), C(hostname), C(private_ip),
        C(public_ip), or C(tag:KEY) for the value of a tag.
      - An instance takes the first preference that gives a name no other instance took before it (instances in
        region and read order), and its instance id when every preference is empty or taken, so two instances
        never share a host and a host never disappears.
    type: list
    elements: str
    default: [instance_id]
  ansible_host:
    description:
      - Where C(ansible_host) comes from, the first available of C(public_ip), C(private_ip), C(hostname), or none
        when the list is empty (Ansible then connects to the host name).
    type: list
    elements: str
    default: [public_ip, private_ip]
  default_groups:
    description:
      - Put each host into the ready-made groups C(ecs) (every host of this plugin), C(ecs_agent_online),
        C(ecs_agent_offline) or C(ecs_agent_missing) (its Cloud Assistant agent; a stopped instance is offline),
        C(ecs_linux) or C(ecs_windows), and, with O(patch_state), C(ecs_compliant), C(ecs_non_compliant) or
        C(ecs_never_scanned).
    type: bool
    default: true
  cloud_assistant_connection:
    description:
      - Make Ansible reach every Linux host through Cloud Assistant, with the
        P(alibabacloud.ecs_ops.cloud_assistant#connection) connection plugin (C(ansible_connection) is set on
        the host, so no SSH and no open port are needed). Windows hosts keep the default connection.
      - Without it, hosts are ready for SSH (C(ansible_host)).
    type: bool
    default: false
  extensions:
    description:
      - Read the extensions installed on each running instance (C(ecs_installed_extensions), template name to
        version). One C(ListInstancePackageStates) call per instance; they run 16 at a time.
    type: bool
    default: false
  patch_state:
    description:
      - Read the patch state of each instance from its latest scan or install (C(ecs_patch_state), counts and
        compliance). One C(ListInstancePatchStates) call per 100 instances.
    type: bool
    default: false
  read_timeout:
    description:
      - Seconds the whole read may take, every region and every call (retries of throttled or failed calls and
        calls that hang included). When it passes, the inventory fails, naming the call that was still failing or
        waiting; no host is added. Without it, a hanging API would hold the inventory for O(api_retries) attempts of
        O(api_timeout) seconds, call after call.
      - A cached read (O(cache)) makes no call, so this does not apply to it.
      - With O(extensions=true) the reads of the package states take the longest. At the API's default quota of
        5 calls a second per region, 2,000 instances in one region take about 400 seconds, so raise it for such fleets.
    type: int
    default: 900
notes:
  - A cached inventory (O(cache)) makes no API call until O(cache_timeout) passes. The cache key holds a digest of
    the options that decide the read (O(regions), the filters, O(extensions), O(patch_state), the connection and the
    endpoints, also those set by environment variable) and
    of which credentials are used (never a secret), so a changed configuration or other credentials read again.
  - The RAM actions needed are C(ecs:DescribeInstances), C(ecs:DescribeCloudAssistantStatus),
    C(ecs:DescribeRegions) without O(regions), and C(oos:ListInstancePackageStates) and
    C(oos:ListInstancePatchStates) for the opt-in reads.
seealso:
  - module: alibabacloud.ecs_ops.ecs_cloud_assistant_info
"""

EXAMPLES = r"""
# demo.ecs.yml: the web servers of two regions whose agent is online, named by their instance name
plugin: alibabacloud.ecs_ops.ecs
regions: [cn-hangzhou, cn-shanghai]
filters:
  status: Running
  tags:
    role: web
hostnames: [instance_name, instance_id]
keyed_groups:
  - key: ecs_tags.env | default('none')
    prefix: env
  - key: ecs_zone
    prefix: zone
compose:
  ansible_user: "'ecs-user'"

---
# compliance.ecs.yml: every instance with its extensions and patch state, cached for an hour
plugin: alibabacloud.ecs_ops.ecs
extensions: true
patch_state: true
exclude_filters:
  - tags:
      lifecycle: retiring
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /tmp/ecs-inventory-cache
cache_timeout: 3600
"""

import difflib
import hashlib
import json
import os
import time

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import ENDPOINT_ENV, Clients, endpoint_setting
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import (
    CredentialError,
    resolve_credential_source,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo, describe, has_error_code
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import connection_argument_spec
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError, validate_region
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils._deadline import Bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils._ecs_inventory import (
    HOSTNAME_SOURCES,
    default_groups,
    filter_problems,
    host_names,
    host_vars,
    read_region,
)

DEFAULT_REGION = "cn-hangzhou"   # where DescribeRegions is asked when no region is given anywhere
ANSIBLE_HOST_SOURCES = ("public_ip", "private_ip", "hostname")
CLOUD_ASSISTANT_CONNECTION = "alibabacloud.ecs_ops.cloud_assistant"
READ_OPTIONS = ("regions", "filters", "include_filters", "exclude_filters", "extensions", "patch_state")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "alibabacloud.ecs_ops.ecs"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("ecs.yml", "ecs.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self._check_options(config)
        params = self._connection_params()
        try:
            source = resolve_credential_source(params)
        except CredentialError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc)) from None
        key = "%s_%s" % (self.get_cache_key(path), self._read_digest(params, source))
        use_cache = self.get_option("cache") and cache
        records = None
        if use_cache:
            try:
                records = self._cache[key]
            except KeyError:
                records = None
        if records is None:
            records = self._read(params, source)
            if self.get_option("cache"):
                self._cache[key] = records
        self._populate(records)

    def _read_digest(self, params, source):
        """A digest of everything that decides what is read: the options of the read, the connection options, the
        endpoints (options or environment variables) and which credentials (their kind, origin, AccessKey ID,
        profile, role; never a secret). It is part of the cache key, so an edited configuration, another endpoint or
        other credentials read again instead of answering from the cache."""
        secret = {name for name, spec in connection_argument_spec().items() if spec.get("no_log")}
        identity = dict(kind=source.kind, origin=source.origin, access_key=source.access_key, profile=source.profile,
                        role_name=source.role_name, assume_role=source.assume_role)
        endpoints = {product: endpoint_setting(product, params, os.environ)[0] for product in ENDPOINT_ENV}
        effective = dict({name: self.get_option(name) for name in READ_OPTIONS},
                         connection={k: v for k, v in params.items() if k not in secret}, credentials=identity,
                         endpoints=endpoints)
        text = json.dumps(effective, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    # --- options -----------------------------------------------------------------------------------------
    def _check_options(self, config):
        problems = self._unknown_options(config)
        problems.extend(filter_problems(self.get_option("filters")))
        for option in ("include_filters", "exclude_filters"):
            for n, filter_set in enumerate(self.get_option(option)):
                problems.extend(filter_problems(filter_set, "%s[%d]" % (option, n)))
        for name in self.get_option("hostnames"):
            if name not in HOSTNAME_SOURCES and not (name.startswith("tag:") and len(name) > 4):
                problems.append("hostnames: %r is not one of %s or tag:KEY" % (name, ", ".join(HOSTNAME_SOURCES)))
        for name in self.get_option("ansible_host"):
            if name not in ANSIBLE_HOST_SOURCES:
                problems.append("ansible_host: %r is not one of %s" % (name, ", ".join(ANSIBLE_HOST_SOURCES)))
        if self.get_option("read_timeout") < 1:
            problems.append("read_timeout must be at least 1 (seconds), got %s" % self.get_option("read_timeout"))
        for region in self.get_option("regions"):
            try:
                validate_region(region)
            except ValidationError as exc:
                problems.extend("regions: %s" % p for p in exc.problems)
        if problems:
            raise AnsibleParserError("Invalid %s inventory configuration: %s" % (self.NAME, "; ".join(problems)))

    def _unknown_options(self, config):
        """A problem for each top-level key of the file that is no option (nor alias) this plugin documents, its
        own or its doc fragments' (constructed, inventory_cache, connection): Ansible ignores such a key, so a
        misspelt C(filters) would silently widen the inventory."""
        definitions = C.config.get_configuration_definitions(self.plugin_type, self._load_name)
        valid = set(definitions) | {alias for spec in definitions.values() for alias in spec.get("aliases") or []}
        problems = []
        for name in sorted(str(k) for k in config if str(k) not in valid):
            close = difflib.get_close_matches(name, sorted(valid), n=1)
            problems.append("%s is not an option of this plugin%s" % (
                name, "; did you mean %s?" % close[0] if close else " (see ansible-doc -t inventory %s)" % self.NAME))
        return problems

    def _connection_params(self):
        return {name: self.get_option(name) for name in connection_argument_spec()}

    # --- reading -----------------------------------------------------------------------------------------
    def _read(self, params, source):
        try:
            clients = Clients(params, source)
        except CredentialError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc)) from None
        limit = self.get_option("read_timeout")
        deadline = time.monotonic() + limit
        try:
            regions = self.get_option("regions") or self._all_regions(Bounded(clients.ecs(
                params.get("region") or DEFAULT_REGION), deadline))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise AnsibleParserError("%s: %s%s" % (self.NAME, describe(exc)[0], self._late(deadline, limit, exc))) from None
        options = dict(filters=self.get_option("filters"), include_filters=self.get_option("include_filters"),
                       exclude_filters=self.get_option("exclude_filters"), extensions=self.get_option("extensions"),
                       patch_state=self.get_option("patch_state"))
        outcomes = run_bounded(lambda r: read_region(Bounded(clients.ecs(r), deadline), Bounded(clients.oos(r), deadline),
                                                     r, **options), regions)
        failed = [o for o in outcomes if not o.ok]
        if failed:
            hint = ""
            if has_error_code(failed[0].error, "InvalidRegionId."):
                hint = "; check regions (the account's regions are those DescribeRegions lists)"
            raise AnsibleParserError("%s: could not read region %s (%d of %d regions failed; no host is added "
                                     "from a partial read): %s%s%s" % (
                                         self.NAME, failed[0].item, len(failed), len(outcomes),
                                         describe(failed[0].error)[0], hint,
                                         self._late(deadline, limit, failed[0].error))) from None
        return [record for outcome in outcomes for record in outcome.value]

    @staticmethod
    def _late(deadline, limit, exc):
        """What to add to the error ``exc`` of the read, about its deadline."""
        if time.monotonic() >= deadline:
            return "; the read did not finish within read_timeout (%d s)" % limit
        if ErrorInfo(exc).retryable:
            return "; retries stop after api_retries, or when the next would end after read_timeout (%d s)" % limit
        return ""

    @staticmethod
    def _all_regions(api):
        body = api.call("DescribeRegions")
        return [r["RegionId"] for r in (body.get("Regions") or {}).get("Region") or []
                if r.get("Status", "available") == "available"]

    # --- populating --------------------------------------------------------------------------------------
    def _populate(self, records):
        strict = self.get_option("strict")
        names = host_names(records, self.get_option("hostnames"))
        for record in records:
            host = names[record["instance"]["InstanceId"]]
            hostvars = host_vars(record, self.get_option("ansible_host"))
            self.inventory.add_host(host)
            if self.get_option("cloud_assistant_connection") and hostvars["ecs_os_type"] == "linux":
                hostvars["ansible_connection"] = CLOUD_ASSISTANT_CONNECTION
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            if self.get_option("default_groups"):
                for group in default_groups(hostvars):
                    self.inventory.add_group(group)
                    self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
