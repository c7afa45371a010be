# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: ECS extensions (OOS templates of type ``Package``).

What the API sends as JSON strings (Description, Constraints) or template text (Content, in YAML
or JSON per ``TemplateFormat``) becomes plain dicts here; install parameters are normalised and
validated against the template before anything is started.
"""

from __future__ import annotations

import json
import re

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

PUBLIC_PUBLISHER_SUFFIX = re.compile(r"^ACS-Extension-(?P<key>.+)-\d{10,}$")
TEMPLATE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
VERSION_RE = re.compile(r"^v(\d{1,9})$")
PARAMETER_TYPES = ("String", "Number", "Boolean", "Json", "List")

# OSPlatforms entries spelt differently from the OS names DescribeInstances reports.
PLATFORM_ALIASES = {"aliyun": ("aliyun", "alibabacloudlinux", "alinux"), "redhat": ("redhat", "rhel")}


class TemplateContentError(ValueError):
    pass


def short_name(template_name):
    """``ACS-Extension-node-1853370294850618`` -> ``node``; other names unchanged."""
    match = PUBLIC_PUBLISHER_SUFFIX.match(template_name or "")
    return match.group("key") if match else template_name


def version_number(version):
    """``"v27"`` -> 27; None for anything else."""
    match = VERSION_RE.match(version or "")
    return int(match.group(1)) if match else None


def _json_object(text):
    if isinstance(text, dict):
        return text
    if isinstance(text, str) and text.strip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    return None


def _localised(value, lang):
    """A Description/Label that may be a plain string or a {en, zh-cn} map."""
    if isinstance(value, dict):
        return str(value.get(lang) or "")
    return str(value or "") if lang == "en" else ""


def parse_description(text):
    """The Description JSON of a Package template; a plain-text description becomes ``description_en``."""
    data = _json_object(text)
    if data is None:
        return dict(display_name_en="", display_name_zh="", description_en=str(text or ""), description_zh="",
                    categories=[], doc_url_en="", doc_url_zh="", icon_url="")
    categories = data.get("categories") or []
    return dict(
        display_name_en=str(data.get("name-en") or ""),
        display_name_zh=str(data.get("name-zh-cn") or ""),
        description_en=str(data.get("en") or ""),
        description_zh=str(data.get("zh-cn") or ""),
        categories=[str(c) for c in categories] if isinstance(categories, list) else [str(categories)],
        doc_url_en=str(data.get("doc-en") or ""),
        doc_url_zh=str(data.get("doc-zh-cn") or ""),
        icon_url=str(data.get("image") or ""),
    )


def parse_constraints(text):
    data = _json_object(text) or {}

    def strings(key):
        value = data.get(key) or []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return dict(os_platforms=strings("OSPlatforms"), os_versions=strings("OSVersions"),
                image_types=strings("ImageTypes"), instance_type_families=strings("InstanceTypeFamilies"))


def extension_view(template):
    """One ``extensions`` entry from a ListTemplates item or GetTemplate's ``Template``."""
    view = dict(
        name=template.get("TemplateName", ""),
        short_name=short_name(template.get("TemplateName", "")),
        latest_version=template.get("TemplateVersion", ""),
        version_name=template.get("VersionName", "") or "",
        share_type=template.get("ShareType", ""),
        publisher=template.get("Publisher", "") or template.get("CreatedBy", "") or "",
        template_format=template.get("TemplateFormat", ""),
        updated_date=template.get("UpdatedDate", "") or "",
        popularity=template.get("Popularity"),
        tags=template.get("Tags") or {},
    )
    view.update(parse_description(template.get("Description")))
    view["constraints"] = parse_constraints(template.get("Constraints"))
    return view


def _searchable(view):
    fields = [view["name"], view["short_name"], view["display_name_en"], view["display_name_zh"],
              view["description_en"], view["description_zh"]] + list(view["categories"])
    return [" ".join(str(f).lower().split()) for f in fields if f]


def matches_search(view, text):
    """Case-insensitive: every word of ``text`` occurs in the name, display names, descriptions or categories."""
    fields = _searchable(view)
    words = str(text).lower().split()
    return all(any(word in field for field in fields) for word in words)


def names_of(view):
    """Names a user may call the extension by: template name, short name, display names."""
    return {n.lower() for n in (view["name"], view["short_name"], view["display_name_en"], view["display_name_zh"]) if n}


def parse_content(content, template_format):
    """The template body as a dict, parsed per ``TemplateFormat`` (YAML or JSON)."""
    if isinstance(content, dict):
        return content
    text = content or ""
    if not text.strip():
        return {}
    try:
        if str(template_format).upper() == "YAML":
            data = _load_yaml(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise TemplateContentError("the template content is not valid %s: %s" % (template_format or "JSON", exc))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TemplateContentError("the template content is not a mapping")
    return data


def _load_yaml(text):
    """YAML text as data; imported here because extensions are JSON and most runs never need it."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - ansible-core ships PyYAML
        raise TemplateContentError("PyYAML is required to read YAML templates") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


def template_parameters(content):
    """The template's ``Parameters`` normalised, in declaration order."""
    declared = content.get("Parameters") or {}
    if not isinstance(declared, dict):
        raise TemplateContentError("the template's Parameters is not a mapping")
    params = []
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        description = spec.get("Description") or spec.get("Label") or ""
        params.append(dict(
            name=str(name),
            type=str(spec.get("Type") or "String"),
            required="Default" not in spec,
            default=spec.get("Default"),
            allowed_values=spec.get("AllowedValues"),
            allowed_pattern=spec.get("AllowedPattern"),
            min_value=spec.get("MinValue"),
            max_value=spec.get("MaxValue"),
            min_length=spec.get("MinLength"),
            max_length=spec.get("MaxLength"),
            description_en=_localised(description, "en"),
            description_zh=_localised(description, "zh-cn"),
            secret=spec.get("NoEcho") in (True, "true", "True"),
        ))
    return params


def _coerce(kind, value):
    """(value as the template type wants it, ok). Strings from Jinja are converted where unambiguous."""
    if kind == "Number":
        if isinstance(value, bool):
            return value, False
        if isinstance(value, (int, float)):
            return value, True
        if isinstance(value, str):
            try:
                return (int(value) if re.fullmatch(r"-?\d+", value.strip()) else float(value)), True
            except ValueError:
                return value, False
        return value, False
    if kind == "Boolean":
        if isinstance(value, bool):
            return value, True
        if isinstance(value, str) and value.lower() in BOOLEANS_TRUE:
            return True, True
        if isinstance(value, str) and value.lower() in BOOLEANS_FALSE:
            return False, True
        return value, False
    if kind == "String":
        if isinstance(value, (dict, list)) or value is None:
            return value, False
        return (str(value).lower() if isinstance(value, bool) else str(value)), True
    if kind == "Json":
        return value, isinstance(value, (dict, list))
    if kind == "List":
        return value, isinstance(value, list)
    return value, True


def _constraint_problems(spec, value):
    name, shown = spec["name"], ("(secret)" if spec["secret"] else repr(value))
    allowed = spec["allowed_values"]
    if isinstance(allowed, list) and allowed and value not in allowed:
        return ["parameters.%s: %s is not one of the allowed values %s" % (
            name, shown, ", ".join(str(a) for a in allowed))]
    problems = []
    if spec["type"] == "Number":
        low, high = spec["min_value"], spec["max_value"]
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append("parameters.%s: %s is outside %s..%s" % (name, shown, low, high))
    if isinstance(value, str):
        low, high = spec["min_length"], spec["max_length"]
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            problems.append("parameters.%s: the length must be between %s and %s characters" % (name, low, high))
        pattern = spec["allowed_pattern"]
        if pattern and not re.fullmatch(str(pattern), value):
            problems.append("parameters.%s: %s does not match the pattern %s" % (name, shown, pattern))
    return problems


REFERENCE_RE = re.compile(r"^\{\{\s*(oos-secret|oos)\s*:\s*[A-Za-z0-9_.-]{1,180}\s*\}\}$", re.IGNORECASE)


def validate_parameters(specs, values):
    """(values converted to the declared types, problems). Unknown names, missing required values,
    wrong types and constraint violations are each named once; secret values are never shown."""
    by_name = {s["name"]: s for s in specs}
    problems, converted = [], {}
    for name in values:
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            problems.append("parameters.%s: the extension has no such parameter (it takes: %s)" % (name, known))
    for spec in specs:
        name = spec["name"]
        if values.get(name) is None:
            if spec["required"]:
                problems.append("parameters.%s: required by the extension but not given" % name)
            continue
        if is_reference(values[name]):
            converted[name] = values[name].strip()  # resolved by OOS when the task runs; its value is not known here
            continue
        value, ok = _coerce(spec["type"], values[name])
        if not ok:
            problems.append("parameters.%s: must be a %s, got %s" % (name, spec["type"], type(values[name]).__name__))
            continue
        problems.extend(_constraint_problems(spec, value))
        converted[name] = value
    return converted, problems


def is_reference(value):
    """Whether ``value`` is only a reference to an OOS parameter (``{{oos-secret:NAME}}``, ``{{oos:NAME}}``)."""
    return isinstance(value, str) and bool(REFERENCE_RE.match(value.strip()))


def _squash(text):
    return "".join(str(text or "").lower().split())


def platform_matches(platforms, os_type, os_name):
    """Whether an instance fits an ``OSPlatforms`` constraint (empty: every OS).

    ``Windows`` / ``Linux`` match the OS type; any other entry matches a Linux instance whose OS
    name, lower-cased without spaces, contains it (or an alias: Aliyun = alibabacloudlinux/alinux,
    RedHat = rhel).
    """
    if not platforms:
        return True
    kind, name = str(os_type or "").lower(), _squash(os_name)
    for platform in platforms:
        token = _squash(platform)
        if token in ("windows", "linux"):
            if kind == token:
                return True
        elif kind == "linux" and any(alias in name for alias in PLATFORM_ALIASES.get(token, (token,))):
            return True
    return False
