# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: reading extensions from OOS — the catalogue, one template version
with its parameters, a friendly name resolved to a template, and what each instance has installed."""

from __future__ import annotations

import difflib

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import has_error_code
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import parse_json
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.templates import (
    TEMPLATE_NAME_RE,
    TemplateContentError,
    extension_view,
    matches_search,
    names_of,
    parse_content,
    template_parameters,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all

SHARE_TYPES = {"public": ("Public",), "private": ("Private",), "all": ("Public", "Private")}
PAGE = 100
STATE_READ_WORKERS = 16
NOT_FOUND = ("EntityNotExists.Template", "EntityNotExists.TemplateVersion")


class ExtensionError(LookupError):
    """``kind``: ``name`` (no such template), ``version``, ``type`` (not a Package template) or
    ``content`` (the template cannot be read)."""

    def __init__(self, message, candidates=(), kind="name"):
        super().__init__(message)
        self.candidates = list(candidates)
        self.kind = kind


def list_extensions(api, share_type="public", category=None, name_contains=None):
    """Views of every Package template of ``share_type`` (public, private or all), paged."""
    views = []
    for share in SHARE_TYPES[share_type]:
        params = {"TemplateType": "Package", "ShareType": share, "MaxResults": PAGE,
                  "TemplateName": name_contains or None, "SortField": "TemplateName", "SortOrder": "Ascending"}
        items = list_all(lambda p: api.call("ListTemplates", p), params, ("Templates",))
        views.extend(extension_view(t) for t in items if t.get("TemplateType", "Package") == "Package")
    if category:
        views = [v for v in views if category.lower() in (c.lower() for c in v["categories"])]
    return views


def get_extension(api, name, version=None, with_constraints=True):
    """(view, parameters) of ``name`` at ``version`` (latest if None); raises ExtensionError.

    The view's ``version`` is the version read. GetTemplate has no Constraints, so they are read
    from ListTemplates unless ``with_constraints`` is false.
    """
    try:
        body = api.call("GetTemplate", {"TemplateName": name, "TemplateVersion": version or None})
    except Exception as exc:  # pylint: disable=broad-exception-caught
        if has_error_code(exc, *NOT_FOUND):
            if version and has_error_code(exc, "EntityNotExists.TemplateVersion"):
                raise ExtensionError("the extension %s has no version %s" % (name, version), kind="version") from exc
            raise ExtensionError("no extension named %s in region %s" % (name, api.region)) from exc
        raise
    template = body.get("Template") or {}
    if template.get("TemplateType") not in (None, "", "Package"):
        raise ExtensionError("%s is a %s template, not an extension (TemplateType Package)"
                             % (name, template.get("TemplateType")), kind="type")
    if with_constraints and "Constraints" not in template:
        listed = [t for t in list_all(lambda p: api.call("ListTemplates", p),
                                      {"TemplateType": "Package", "TemplateName": name, "MaxResults": PAGE},
                                      ("Templates",)) if t.get("TemplateName") == name]
        template = dict(template, Constraints=listed[0].get("Constraints") if listed else None)
    view = extension_view(template)
    view["version"] = template.get("TemplateVersion", "")
    try:
        return view, template_parameters(parse_content(body.get("Content"), template.get("TemplateFormat")))
    except TemplateContentError as exc:
        raise ExtensionError("the template of %s cannot be read: %s" % (name, exc), kind="content") from exc


def resolve_extension(api, name, version=None):
    """(view, parameters) for ``name``: an exact template name, or a friendly name (short name or
    display name, any case) that matches exactly one extension, public or private."""
    if TEMPLATE_NAME_RE.match(name):
        try:
            return get_extension(api, name, version)
        except ExtensionError as exc:
            if exc.kind != "name":
                raise
    catalogue = list_extensions(api, "all")
    wanted = name.strip().lower()
    exact = [v for v in catalogue if wanted in names_of(v)]
    if len(exact) == 1:
        return get_extension(api, exact[0]["name"], version)
    if len(exact) > 1:
        raise ExtensionError("%r matches %d extensions; use the template name of one"
                             % (name, len(exact)), [v["name"] for v in exact])
    similar = [v["name"] for v in catalogue if matches_search(v, name)] or close_names(catalogue, wanted)
    raise ExtensionError("no extension is called %r in region %s%s" % (
        name, api.region, "; did you mean one of these?" if similar else ""), similar)


def close_names(catalogue, wanted, limit=5):
    """Template names whose short or display names are spelled close to ``wanted`` (typos: ngnix, dokcer)."""
    pool = {}
    for view in catalogue:
        for known in names_of(view):
            pool.setdefault(known, view["name"])
    close = difflib.get_close_matches(wanted, list(pool), n=limit, cutoff=0.7)
    return list(dict.fromkeys(pool[n] for n in close))


def package_state(api, instance_id, template_name, deadline=None):
    """{version, update_time, parameters} of ``template_name`` on one instance, or None: one
    ListInstancePackageStates read (the API takes one instance), bounded by ``deadline`` if given."""
    rows = list_all(lambda p: api.call("ListInstancePackageStates", p, deadline=deadline),
                    {"InstanceId": instance_id, "TemplateNames": json_param([template_name]), "MaxResults": 100},
                    ("PackageStates",))
    for row in rows:
        if row.get("TemplateName") == template_name:
            parameters = parse_json(row.get("Parameters"))
            return dict(version=row.get("TemplateVersion", ""), update_time=row.get("UpdateTime", ""),
                        parameters=parameters if isinstance(parameters, dict) else {})
    return None


def installed_packages(api, instance_ids, template_name, workers=STATE_READ_WORKERS):
    """{instance id: package_state(...)} of ``instance_ids``, read concurrently."""
    instance_ids = list(instance_ids)
    return dict(zip(instance_ids, run_all(lambda i: package_state(api, i, template_name), instance_ids, workers)))
