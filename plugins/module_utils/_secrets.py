# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: which parameters of an OOS execution are secret, and keeping
their values out of what a module returns.

The contract between the modules that start executions and those that show them: every execution
the collection starts carries the tag ``ecs-ops-secret-parameters`` whose value is the
comma-separated, sorted list of the names of the parameters the collection treats as secret (never
the values). Names that do not fit in one tag value (128 characters) continue in
``ecs-ops-secret-parameters-2``, ``-3``, ...

- ``secret_tags(names)`` builds those tags (the starting side);
- ``tagged_names(tags)`` reads the names back from an execution's tags (the reading side);
- ``Redactor.mask(parameters, names)`` masks the value of every parameter so named, at any depth
  (inside JSON objects, lists and JSON text), and remembers the values;
- ``Redactor.redact(data)`` then replaces those exact values in every string of ``data`` (outputs,
  status messages, task outputs, logs), raw or escaped as inside a JSON string.

A value that is only a reference to an OOS parameter (``{{oos-secret:NAME}}``, ``{{oos:NAME}}``) is
masked where it stands but not remembered: it is not the secret, and a message naming it stays
readable. Only the standard library is used, so any module_utils file may import this one.
"""

from __future__ import annotations

import json
import re

MASK = "********"                     # the collection's one mask
SECRET_TAG = "ecs-ops-secret-parameters"
TAG_VALUE_LIMIT = 128
_SECRET_TAG_RE = re.compile(r"^%s(-\d+)?$" % re.escape(SECRET_TAG), re.IGNORECASE)
_REFERENCE_RE = re.compile(r"^\{\{\s*(oos-secret|oos):[^{}\s]+\s*\}\}$", re.IGNORECASE)


def secret_tags(names):
    """{tag key: value} listing ``names`` (sorted, comma-separated, 128 characters a tag value at most);
    {} for no names. Raises ValueError for a name that is empty, has a comma or is longer than 128."""
    values = []
    for name in sorted(set(names)):
        if not name or "," in name or len(name) > TAG_VALUE_LIMIT:
            raise ValueError("a secret parameter name cannot be listed in a tag: %r" % name)
        if values and len(values[-1]) + 1 + len(name) <= TAG_VALUE_LIMIT:
            values[-1] += "," + name
        else:
            values.append(name)
    return {SECRET_TAG if n == 0 else "%s-%d" % (SECRET_TAG, n + 1): value for n, value in enumerate(values)}


def tagged_names(tags):
    """The parameter names listed in an execution's ``ecs-ops-secret-parameters`` tags (any of ``-2``,
    ``-3``, ...). ``tags`` is a dict, or a list of ``Key``/``Value`` (``TagKey``/``TagValue``) items."""
    names = set()
    for key, value in _tag_pairs(tags):
        if _SECRET_TAG_RE.match(key):
            names.update(n.strip() for n in str(value or "").split(",") if n.strip())
    return names


def _tag_pairs(tags):
    if isinstance(tags, dict):
        return [(str(k), v) for k, v in tags.items()]
    return [(str(t.get("Key", t.get("TagKey", ""))), t.get("Value", t.get("TagValue")))
            for t in tags or [] if isinstance(t, dict)]


class Redactor:
    """Masks secret parameters and removes their values from everything else a module returns.

    ``on_secret(value)`` is called once for every value found (a module passes ``add_secret``, so
    Ansible also removes it from warnings and failure messages).
    """

    def __init__(self, on_secret=None):
        self.values = set()
        self._on_secret = on_secret

    def mask(self, parameters, names):
        """A copy of ``parameters`` with the value of every parameter named in ``names`` (compared
        case-insensitively, at any depth) replaced by MASK; the values are remembered."""
        wanted = {str(n).lower() for n in names}
        return self._mask(parameters, wanted) if wanted else parameters

    def _mask(self, value, wanted):
        if isinstance(value, dict):
            return {k: self._hide(v) if str(k).lower() in wanted else self._mask(v, wanted)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask(v, wanted) for v in value]
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            return self._mask_json_text(value, wanted)
        return value

    def _mask_json_text(self, text, wanted):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        masked = self._mask(parsed, wanted)
        return text if masked == parsed else json.dumps(masked, ensure_ascii=False)

    def _hide(self, value):
        self._remember(value)
        return MASK

    def _remember(self, value):
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            for item in value:
                self._remember(item)
            return
        if value is None or isinstance(value, bool):
            return
        text = value if isinstance(value, str) else str(value)
        if text and not _REFERENCE_RE.match(text) and text not in self.values:
            self.values.add(text)
            if self._on_secret is not None:
                self._on_secret(text)

    def redact(self, data):
        """``data`` with every remembered value replaced by MASK in every string, dict keys included."""
        if not self.values:
            return data
        forms = sorted({f for v in self.values for f in _forms(v)}, key=len, reverse=True)
        return _replace(data, re.compile("|".join(re.escape(f) for f in forms)))


def _forms(value):
    """How ``value`` can appear in text: as is, and escaped inside a JSON string."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def _replace(data, pattern):
    if isinstance(data, str):
        return pattern.sub(MASK, data)
    if isinstance(data, dict):
        return {_replace(k, pattern): _replace(v, pattern) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_replace(v, pattern) for v in data]
    return data
