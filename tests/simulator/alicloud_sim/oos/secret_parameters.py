"""OOS encryption parameters (CreateSecretParameter, GetSecretParameter, UpdateSecretParameter,
DeleteSecretParameter, ListSecretParameters), stored per region (component ``secret_parameters``),
and the ``{{oos-secret:NAME}}`` references executions and Cloud Assistant commands resolve with them.

A reference is resolved only where the value is used (a package's parameters when an item starts,
a script when it is launched); every stored record keeps the reference. ``{{oos:NAME}}`` refers to a
plain OOS parameter, which the simulator does not have: such a reference never resolves.
"""

import hashlib
import re
from dataclasses import dataclass, field

from ..core import clock
from ..core.errors import ApiError, entity_not_exists, invalid_parameter
from ..core.params import page
from ..core.registry import action, component
from ..ecs.common import ACCOUNT_ID as ACCOUNT_UID

NAME = re.compile(r"^[A-Za-z0-9_-]{1,180}$")
RESERVED = ("ALIYUN", "ACS", "ALIBABA", "ALICLOUD", "OOS")
MAX_VALUE = 4096
MAX_DESCRIPTION = 200
MAX_VERSIONS = 100
REFERENCE = re.compile(r"\{\{\s*(oos-secret|oos):([^{}\s]+)\s*\}\}", re.IGNORECASE)


@dataclass
class SecretParameter:
    id: str
    name: str
    region: str
    values: list                 # value of version n at index n - 1
    created: float
    updated: float
    description: str = ""
    key_id: str = ""
    constraints: str = ""
    tags: dict = field(default_factory=dict)
    resource_group_id: str = ""

    @property
    def version(self):
        return len(self.values)

    def view(self, value=None, listed=False):
        """The API shape; ``Value`` only when asked (GetSecretParameter WithDecryption=true)."""
        owner = f"root({ACCOUNT_UID})"
        view = {"Id": self.id, "Name": self.name, "Type": "Secret", "Description": self.description,
                "KeyId": self.key_id, "ParameterVersion": self.version, "ShareType": "Private",
                "Tags": dict(self.tags), "ResourceGroupId": self.resource_group_id, "CreatedBy": owner,
                "CreatedDate": clock.iso(self.created), "UpdatedBy": owner, "UpdatedDate": clock.iso(self.updated)}
        if not listed:
            view.update({"Constraints": self.constraints, "DKMSInstanceId": ""})
        if value is not None:
            view["Value"] = value
        return view


class Unresolved(Exception):
    """A ``{{oos-secret:NAME}}`` or ``{{oos:NAME}}`` reference to a parameter that does not exist."""

    def __init__(self, kind, name, reference, region):
        secret = kind == "oos-secret"
        self.code = "EntityNotExists.SecretParameter" if secret else "EntityNotExists.Parameter"
        what = "encryption parameter" if secret else "OOS parameter"
        super().__init__(f"{self.code}: the {what} {name} (referenced as {reference}) does not exist in "
                         f"region {region}.")


class Resolution:
    """A value with its references resolved, and what each resolved secret looked like before."""

    def __init__(self, value, secrets):
        self.value = value
        self.secrets = secrets   # {stored value: the reference it replaced}

    def hide(self, text):
        """``text`` (built from the resolved value) with each secret turned back into its reference."""
        for secret, reference in sorted(self.secrets.items(), key=lambda s: -len(s[0])):
            text = text.replace(secret, reference)
        return text


@component("oos", "secret_parameters")
class SecretParameterStore:
    def __init__(self, sim):
        self.sim = sim
        self._regions = {}

    def region(self, region):
        return self._regions.setdefault(region, {})

    def get(self, region, name):
        found = self.region(region).get(name)
        if found is None:
            raise entity_not_exists("SecretParameter", name)
        return found

    def resolve(self, region, value):
        """A :class:`Resolution` of ``value`` (a string, or a JSON structure of strings) in ``region``.
        Raises :class:`Unresolved` for the first reference that does not resolve."""
        secrets = {}

        def one(match):
            kind, name = match.group(1).lower(), match.group(2)
            found = self.region(region).get(name) if kind == "oos-secret" else None
            if found is None:
                raise Unresolved(kind, name, match.group(0), region)
            secrets[found.values[-1]] = match.group(0)
            return found.values[-1]

        def walk(item):
            if isinstance(item, str):
                return REFERENCE.sub(one, item)
            if isinstance(item, dict):
                return {k: walk(v) for k, v in item.items()}
            if isinstance(item, list):
                return [walk(v) for v in item]
            return item

        return Resolution(walk(value), secrets)

    def snapshot(self):
        """Names, versions and descriptions per region; never a value."""
        return {region: {name: {"version": s.version, "description": s.description, "key_id": s.key_id,
                                "tags": dict(s.tags)} for name, s in params.items()}
                for region, params in self._regions.items() if params}


def _name(p):
    name = p.str("Name", required=True)
    if not NAME.match(name) or name.upper().startswith(RESERVED):
        raise invalid_parameter("Name", "It must be 1-180 characters of letters, digits, - and _, and must not "
                                "start with " + ", ".join(RESERVED) + ".")
    return name


def _value(p):
    return p.str("Value", required=True, max_len=MAX_VALUE)


def _common(p, secret):
    secret.description = p.str("Description", default=secret.description, max_len=MAX_DESCRIPTION)
    secret.tags = {str(k): str(v) for k, v in p.json("Tags", default=secret.tags, kind=dict).items()}
    secret.resource_group_id = p.str("ResourceGroupId", default=secret.resource_group_id)


@action("oos", "CreateSecretParameter", mutating=True)
def create_secret_parameter(sim, req):
    p = req.params
    name, value = _name(p), _value(p)
    p.str("Type", allowed=("Secret",))
    store = sim.components["secret_parameters"].region(req.region)
    if name in store:
        raise ApiError("EntityAlreadyExists.SecretParameter", f"The SecretParameter ({name}) already exists.")
    now = sim.clock.now()
    digest = hashlib.sha256(f"{req.region}/{name}/{now}".encode()).hexdigest()[:20]
    secret = SecretParameter(id="p-" + digest, name=name, region=req.region, values=[value], created=now,
                             updated=now, key_id=p.str("KeyId", default=""),
                             constraints=p.str("Constraints", default=""))
    _common(p, secret)
    store[name] = secret
    return {"Parameter": secret.view()}


@action("oos", "GetSecretParameter")
def get_secret_parameter(sim, req):
    p = req.params
    secret = sim.components["secret_parameters"].get(req.region, p.str("Name", required=True))
    version = p.int("ParameterVersion", default=secret.version, minimum=1, maximum=MAX_VERSIONS)
    if version > secret.version:
        raise entity_not_exists("SecretParameter", f"{secret.name}, version {version}")
    view = secret.view(value=secret.values[version - 1] if p.bool("WithDecryption") else None)
    view["ParameterVersion"] = version
    return {"Parameter": view}


@action("oos", "UpdateSecretParameter", mutating=True)
def update_secret_parameter(sim, req):
    p = req.params
    secret = sim.components["secret_parameters"].get(req.region, p.str("Name", required=True))
    value = _value(p)
    if secret.version >= MAX_VERSIONS:
        raise invalid_parameter("Value", f"A parameter keeps at most {MAX_VERSIONS} versions.")
    _common(p, secret)
    secret.values.append(value)
    secret.updated = sim.clock.now()
    return {"Parameter": secret.view()}


@action("oos", "DeleteSecretParameter", mutating=True)
def delete_secret_parameter(sim, req):
    store = sim.components["secret_parameters"]
    secret = store.get(req.region, req.params.str("Name", required=True))
    del store.region(req.region)[secret.name]
    return {}


@action("oos", "ListSecretParameters")
def list_secret_parameters(sim, req):
    p = req.params
    max_results = p.int("MaxResults", default=50, minimum=10, maximum=100)
    offset = p.paging()[1]
    field_name = p.str("SortField", default="CreatedDate", allowed=("Name", "CreatedDate"))
    descending = p.str("SortOrder", default="Descending", allowed=("Ascending", "Descending")) == "Descending"
    name, tags = p.str("Name"), p.json("Tags", default={}, kind=dict)
    group = p.str("ResourceGroupId")
    found = [s for s in sim.components["secret_parameters"].region(req.region).values()
             if (not name or name in s.name) and (group is None or s.resource_group_id == group)
             and all(s.tags.get(k) == str(v) for k, v in tags.items())]
    found.sort(key=(lambda s: s.name) if field_name == "Name" else (lambda s: (s.created, s.name)),
               reverse=descending)
    chunk, token = page(found, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token, "Parameters": [s.view(listed=True) for s in chunk]}
