"""Validating and resolving values against an OOS template's ``Parameters`` block.

Used for StartExecution ``Parameters`` (Automation templates) and for the ``parameters`` an
extension install passes to a Package template. A parameter without ``Default`` is required.
Types: ``String``, ``Number`` (a JSON number, not a boolean), ``Boolean`` (a JSON boolean),
``Json`` (object or array), ``List`` (array). Constraints: ``AllowedValues``, ``MinValue``/
``MaxValue``, ``MinLength``/``MaxLength``, ``AllowedPattern``.
"""

import re

from ..core.errors import ApiError

_TYPES = {
    "String": lambda v: isinstance(v, str),
    "Number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "Json": lambda v: isinstance(v, (dict, list)),
    "List": lambda v: isinstance(v, list),
}
_PLACEHOLDER = re.compile(r"^\{\{\s*([A-Za-z0-9_:]+)\s*\}\}$")


def check(definitions, values):
    """Problems of ``values`` against ``definitions`` as a list of ``(kind, name, text)``.

    ``kind`` is one of ``NotDefined``, ``Required``, ``Type``, ``AllowedValues``, ``Range``,
    ``Length``, ``Pattern``; the list is empty when everything is valid. A ``null`` value counts
    as not supplied (the default applies).
    """
    problems = []
    values = {k: v for k, v in values.items() if v is not None}
    for name in values:
        if name not in definitions:
            problems.append(("NotDefined", name, f'parameter "{name}" is not defined by the template'))
    for name, spec in definitions.items():
        spec = spec or {}
        if name not in values:
            if "Default" not in spec:
                problems.append(("Required", name, f'parameter "{name}" is required but was not supplied'))
            continue
        problems.extend(_check_value(name, spec, values[name]))
    return problems


def _check_value(name, spec, value):
    kind = spec.get("Type", "String")
    test = _TYPES.get(kind)
    if test is not None and not test(value):
        return [("Type", name, f'parameter "{name}" must be of type {kind}, got {_json_type(value)}')]
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        text = f'parameter "{name}" value {value!r} is not one of the allowed values: {shown}'
        return [("AllowedValues", name, text)]
    problems = []
    if kind == "Number":
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append(("Range", name, f'parameter "{name}" value {value} is outside the range {low}..{high}'))
    if isinstance(value, str):
        low, high = spec.get("MinLength"), spec.get("MaxLength")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            problems.append(("Length", name, f'parameter "{name}" length must be between {low} and {high}'))
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            problems.append(("Pattern", name, f'parameter "{name}" does not match the pattern {pattern}'))
    return problems


def _json_type(value):
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, (int, float)):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "List"
    if isinstance(value, dict):
        return "Json"
    return "null"


def raise_problems(problems, template_name):
    """Raise the API error for a non-empty problem list (code from the first problem)."""
    kind = problems[0][0]
    text = "; ".join(p[2] for p in problems)
    raise ApiError(f"InvalidParameter.{kind}",
                   f'The specified parameter "Parameters" is not valid for template {template_name}: {text}.')


def resolve(definitions, values, context):
    """``values`` completed with the defaults, with ``{{ name }}`` placeholders resolved.

    ``context`` maps built-in names such as ``ACS::RegionId``; other placeholders refer to
    parameters (resolved after the others, so ``{{ regionId }}`` inside a default works).
    """
    merged = {}
    for name, spec in definitions.items():
        if values.get(name) is not None:
            merged[name] = values[name]
        elif "Default" in (spec or {}):
            merged[name] = _substitute(spec["Default"], context)
    scope = dict(context)
    scope.update(merged)
    return {name: _substitute(value, scope) for name, value in merged.items()}


def _substitute(value, scope):
    if isinstance(value, str):
        match = _PLACEHOLDER.match(value)
        if match and match.group(1) in scope:
            return scope[match.group(1)]
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, scope) for v in value]
    return value


def secret_names(definitions):
    """Names of the parameters a template marks secret (``"NoEcho": true``)."""
    return [name for name, spec in definitions.items() if (spec or {}).get("NoEcho") is True]
