#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_extension_info
short_description: Find ECS extensions and read their install parameters
version_added: 0.1.0
description:
  - Lists ECS extensions (OOS templates of type C(Package)) such as Node.js, Python, Java, Docker CE, nginx
    or BT Panel, public ones by default.
  - Display names, descriptions, categories, documentation links and OS constraints are returned as plain
    fields (the API sends them as JSON strings; a plain-text description of a private extension is kept as
    its English description).
  - With O(include_parameters=true) it also reads each extension's install parameters from the template
    content (YAML or JSON), which is what M(alibabacloud.ecs_ops.oos_extension_install) checks its
    O(alibabacloud.ecs_ops.oos_extension_install#module:parameters) against.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
  - alibabacloud.ecs_ops.attributes.info_module
options:
  name:
    description:
      - Only the extension with exactly this template name, such as C(ACS-Extension-node-1853370294850618).
      - Public and private extensions are searched unless O(share_type) is set.
    type: str
  search:
    description:
      - Free text. An extension matches when every word occurs, ignoring case, in its template name, English
        or Chinese display name or description, or a category (C(bt panel), C(node), C(宝塔), C(database)).
    type: str
  category:
    description:
      - Only extensions in this category, such as C(develop_environment), C(container), C(web_server) or C(panel).
    type: str
  share_type:
    description:
      - V(public) extensions published by Alibaba Cloud, V(private) ones of your account in the region, or V(all).
      - Defaults to V(public), or V(all) when O(name) is given.
    type: str
    choices: [public, private, all]
  include_parameters:
    description:
      - Also read each extension's template and return its install parameters (one more API call per extension).
    type: bool
    default: false
  version:
    description:
      - The template version to read the parameters of, such as C(v19). Needs O(name). Defaults to the latest.
    type: str
seealso:
  - module: alibabacloud.ecs_ops.oos_extension_install
  - name: ListTemplates API
    description: The API this module calls.
    link: https://www.alibabacloud.com/help/en/oos/developer-reference/api-oos-2019-06-01-listtemplates
"""

EXAMPLES = r"""
- name: Every public extension
  alibabacloud.ecs_ops.oos_extension_info:
    region: cn-hangzhou
  register: catalogue

- name: Their names
  ansible.builtin.debug:
    msg: "{{ catalogue.extensions | map(attribute='display_name_en') | list }}"

- name: Is there a BT Panel extension, and what does it take?
  alibabacloud.ecs_ops.oos_extension_info:
    region: cn-hangzhou
    search: bt panel
    include_parameters: true
  register: bt

- name: Show the parameters, secret ones marked
  ansible.builtin.debug:
    msg: "{{ bt.extensions[0].parameters | map(attribute='name') | list }}"
  when: bt.extensions | length > 0

- name: Parameters of an older version of Node.js
  alibabacloud.ecs_ops.oos_extension_info:
    region: cn-hangzhou
    name: ACS-Extension-node-1853370294850618
    version: v19
    include_parameters: true
"""

RETURN = r"""
extensions:
  description: The matching extensions, sorted by template name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The template name, used to install it.
      type: str
      sample: ACS-Extension-node-1853370294850618
    short_name:
      description: The name without the C(ACS-Extension-) prefix and publisher suffix.
      type: str
      sample: node
    display_name_en:
      description: The English display name.
      type: str
      sample: Node.js
    display_name_zh:
      description: The Chinese display name.
      type: str
    description_en:
      description: The English description (a private extension's plain-text description).
      type: str
      sample: Node.js environment one-click installation
    description_zh:
      description: The Chinese description.
      type: str
    categories:
      description: Category tags.
      type: list
      elements: str
      sample: [application, develop_environment]
    doc_url_en:
      description: English documentation link.
      type: str
    doc_url_zh:
      description: Chinese documentation link.
      type: str
    icon_url:
      description: Icon URL.
      type: str
    publisher:
      description: Who published it.
      type: str
    share_type:
      description: C(Public) or C(Private).
      type: str
    latest_version:
      description: The latest template version.
      type: str
      sample: v27
    version:
      description: The version whose parameters were read (with O(include_parameters) or O(version)).
      type: str
      returned: when O(include_parameters=true) or O(version) is set
    constraints:
      description: Where the extension can be installed.
      type: dict
      contains:
        os_platforms:
          description: Operating systems (C(Linux), C(Windows), C(Ubuntu), C(Aliyun), ...); empty means any.
          type: list
          elements: str
        os_versions:
          description: Operating system versions; empty means any.
          type: list
          elements: str
        image_types:
          description: Image types.
          type: list
          elements: str
        instance_type_families:
          description: Instance type families; empty means any.
          type: list
          elements: str
    parameters:
      description: The install parameters.
      type: list
      elements: dict
      returned: when O(include_parameters=true)
      contains:
        name:
          description: The parameter name.
          type: str
        type:
          description: C(String), C(Number), C(Boolean), C(Json) or C(List).
          type: str
        required:
          description: Whether it must be given (it has no default).
          type: bool
        default:
          description: The default value.
          type: raw
        allowed_values:
          description: The values allowed, if restricted.
          type: list
        allowed_pattern:
          description: A regular expression the value must match.
          type: str
        min_value:
          description: Smallest number allowed.
          type: raw
        max_value:
          description: Largest number allowed.
          type: raw
        min_length:
          description: Shortest string allowed.
          type: int
        max_length:
          description: Longest string allowed.
          type: int
        description_en:
          description: English description.
          type: str
        description_zh:
          description: Chinese description.
          type: str
        secret:
          description: The template marks it C(NoEcho); pass it in O(alibabacloud.ecs_ops.oos_extension_install#module:secret_parameters).
          type: bool
count:
  description: How many extensions matched.
  returned: always
  type: int
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.catalog import (
    ExtensionError,
    get_extension,
    list_extensions,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.templates import (
    TEMPLATE_NAME_RE,
    VERSION_RE,
    matches_search,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError


def argument_spec():
    return dict(
        name=dict(type="str"),
        search=dict(type="str"),
        category=dict(type="str"),
        share_type=dict(type="str", choices=["public", "private", "all"]),
        include_parameters=dict(type="bool", default=False),
        version=dict(type="str"),
    )


def validate(p):
    """(None, [], None), or a ValidationError naming every problem, before any call."""
    problems = []
    if p["name"] is not None and not TEMPLATE_NAME_RE.match(p["name"]):
        problems.append("name must be a template name (letters, digits, - and _), got %r" % p["name"])
    if p["version"] is not None:
        if not p["name"]:
            problems.append("version needs name")
        if not VERSION_RE.match(p["version"]):
            problems.append("version must look like v1, v27, ... got %r" % p["version"])
    if p["search"] is not None and not p["search"].strip():
        problems.append("search must not be empty")
    if problems:
        raise ValidationError(problems)
    return None, [], None


def read(module, api):
    """The extensions asked for, sorted by name, with the version (and parameters) read if asked."""
    p = module.params
    share_type = p["share_type"] or ("all" if p["name"] else "public")
    views = list_extensions(api, share_type, p["category"], name_contains=p["name"])
    if p["name"]:
        views = [v for v in views if v["name"] == p["name"]]
    if p["search"]:
        views = [v for v in views if matches_search(v, p["search"])]
    views.sort(key=lambda v: v["name"])
    if p["include_parameters"] or p["version"]:
        add_versions(module, api, views)
    return views


def add_versions(module, api, views):
    """The version (and, with include_parameters, the parameters) of each view; fails for an unusable one."""
    p = module.params
    outcomes = run_bounded(lambda v: get_extension(api, v["name"], p["version"], with_constraints=False), views)
    for outcome in outcomes:
        if not outcome.ok:
            if isinstance(outcome.error, ExtensionError):
                module.fail_json(msg="Extension %s: %s" % (outcome.item["name"], outcome.error))
            raise outcome.error
        read_view, specs = outcome.value
        outcome.item["version"] = read_view["version"]
        if p["include_parameters"]:
            outcome.item["parameters"] = specs


def main():
    module = AlicloudModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.validated(validate, module.params)
    try:
        views = read(module, module.api("oos"))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    module.exit_json(changed=False, extensions=views, count=len(views))


if __name__ == "__main__":
    main()
