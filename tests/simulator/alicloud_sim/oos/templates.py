"""OOS templates: the two public Automation templates, the extension catalogue, ListTemplates
and GetTemplate. Component ``templates``; admin hook ``POST /_sim/templates/publish``."""

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources

import yaml

from ..core import clock
from ..core.errors import ApiError, entity_not_exists, invalid_parameter
from ..core.params import page
from ..core.registry import action, component
from . import catalogue

PACKAGE_TEMPLATE = "ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL"
PATCH_TEMPLATE = "ACS-ECS-BulkyApplyPatchBaseline"
# name -> (number of versions, created, updated); the content is the same for every version
_AUTOMATION = {
    PACKAGE_TEMPLATE: (15, "2019-05-16T10:26:14Z", "2024-08-06T08:37:07Z"),
    PATCH_TEMPLATE: (9, "2020-11-20T03:12:45Z", "2024-09-23T06:41:18Z"),
}
SORT_FIELDS = ("TotalExecutionCount", "Popularity", "TemplateName", "CreatedDate", "UpdatedDate")


@dataclass
class TemplateVersion:
    number: int
    content: str
    parameters: dict
    constraints: str
    created: float

    @property
    def name(self):
        return f"v{self.number}"

    @property
    def hash(self):
        return hashlib.sha256(self.content.encode()).hexdigest()


@dataclass
class Template:
    name: str
    template_type: str               # Automation | Package
    share_type: str                  # Public | Private
    template_format: str             # YAML | JSON
    description: str                 # JSON string (public) or plain text (private)
    created_by: str
    publisher: str = ""
    popularity: int = -1
    category: str = "Other"
    tags: dict = field(default_factory=dict)
    region: str = None               # None: every region (public templates)
    version_name_prefix: str = ""
    versions: list = field(default_factory=list)

    @property
    def id(self):
        return "t-" + hashlib.sha256(self.name.encode()).hexdigest()[:20]

    @property
    def latest(self):
        return self.versions[-1]

    def find(self, version):
        for ver in self.versions:
            if ver.name == version:
                return ver
        return None

    def version_name(self, ver):
        return f"{self.version_name_prefix}{ver.number}" if self.version_name_prefix else ""


def _automation_templates():
    result = []
    for name, (count, created, updated) in _AUTOMATION.items():
        text = resources.files("alicloud_sim").joinpath("data", f"{name}.yaml").read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        first, last = clock.parse_iso(created), clock.parse_iso(updated)
        step = (last - first) / max(count - 1, 1)
        versions = [TemplateVersion(n, text, doc["Parameters"], "", first + (n - 1) * step)
                    for n in range(1, count + 1)]
        result.append(Template(
            name=name, template_type="Automation", share_type="Public", template_format="YAML",
            description=json.dumps(doc["Description"], ensure_ascii=False), created_by="ACS",
            publisher="Alibaba Cloud", popularity=10, version_name_prefix="version", versions=versions))
    return result


def _package_version(name, number, params, platforms, created):
    content = json.dumps(catalogue.package_content(name, f"v{number}", params, platforms), ensure_ascii=False)
    return TemplateVersion(number, content, params, json.dumps({"OSPlatforms": list(platforms)}), created)


def _package_versions(name, count, params_for, platforms, date_for):
    return [_package_version(name, n, params_for(n), platforms, date_for(n)) for n in range(1, count + 1)]


def _catalogue_templates():
    result = []
    for index, entry in enumerate(catalogue.PUBLIC_PACKAGES):
        name = catalogue.public_name(entry["key"])
        result.append(Template(
            name=name, template_type="Package", share_type="Public", template_format="JSON",
            description=json.dumps(catalogue.description_map(entry), ensure_ascii=False),
            created_by=catalogue.PUBLISHER_UID, publisher="Alibaba Cloud", popularity=entry["popularity"],
            versions=_package_versions(name, entry["versions"], lambda n, e=entry: catalogue.parameters_for(e, n),
                                       entry["platforms"], lambda n, i=index: catalogue.version_date(i, n))))
    for index, entry in enumerate(catalogue.PRIVATE_PACKAGES, start=len(result)):
        result.append(Template(
            name=entry["name"], template_type="Package", share_type="Private", template_format="JSON",
            description=entry["description"], created_by=catalogue.ACCOUNT_UID, tags=dict(entry["tags"]),
            region=entry["region"],
            versions=_package_versions(entry["name"], entry["versions"], lambda n, e=entry: e["parameters"],
                                       entry["platforms"], lambda n, i=index: catalogue.version_date(i, n))))
    return result


@component("oos", "templates")
class TemplateStore:
    """Every template the simulated account can see, by name."""

    def __init__(self, sim):
        self.sim = sim
        self._by_name = {t.name: t for t in _automation_templates() + _catalogue_templates()}

    def all(self, region):
        return [t for t in self._by_name.values() if t.region in (None, region)]

    def get(self, name, region):
        tpl = self._by_name.get(name)
        return tpl if tpl is not None and tpl.region in (None, region) else None

    def require(self, name, region, version=None):
        """(template, version) or the real not-found errors; ``version`` "" or None = latest."""
        tpl = self.get(name, region)
        if tpl is None:
            raise entity_not_exists("Template", name)
        if not version:
            return tpl, tpl.latest
        ver = tpl.find(version)
        if ver is None:
            raise ApiError("EntityNotExists.TemplateVersion",
                           f"The TemplateVersion ({version}) of Template ({name}) does not exist.", 404)
        return tpl, ver

    def admin_publish(self, body):
        """Add a version to a Package template (or create a private one).

        Body: ``name`` (required), optional ``parameters`` (default: the latest version's),
        ``platforms`` (OSPlatforms list), ``description`` (map or text), ``region`` and
        ``tags`` for a new private template. Returns the new name and version.
        """
        name = body.get("name")
        if not name:
            raise ValueError("publish needs a template name")
        tpl = self._by_name.get(name)
        now = self.sim.clock.now()
        if tpl is None:
            tpl = Template(name=name, template_type="Package", share_type="Private", template_format="JSON",
                           description="", created_by=catalogue.ACCOUNT_UID,
                           tags=dict(body.get("tags") or {}), region=body.get("region", "cn-hangzhou"))
            self._by_name[name] = tpl
        elif tpl.template_type != "Package":
            raise ValueError(f"{name} is not a Package template")
        if "description" in body:
            desc = body["description"]
            tpl.description = desc if isinstance(desc, str) else json.dumps(desc, ensure_ascii=False)
        previous = tpl.versions[-1] if tpl.versions else None
        params = body.get("parameters", previous.parameters if previous else {})
        if "platforms" in body:
            platforms = list(body["platforms"])
        else:
            platforms = json.loads(previous.constraints).get("OSPlatforms", []) if previous else ["Linux"]
        number = len(tpl.versions) + 1
        tpl.versions.append(_package_version(name, number, params, platforms, now))
        return {"TemplateName": name, "TemplateVersion": f"v{number}", "TemplateId": tpl.id}

    def snapshot(self):
        return {t.name: {"versions": len(t.versions), "share_type": t.share_type, "type": t.template_type}
                for t in self._by_name.values() if t.template_type == "Package"}


def template_summary(tpl, ver):
    """Metadata shared by ListTemplates and GetTemplate."""
    return {
        "TemplateId": tpl.id, "TemplateName": tpl.name, "TemplateVersion": ver.name,
        "VersionName": tpl.version_name(ver), "TemplateFormat": tpl.template_format,
        "TemplateType": tpl.template_type, "ShareType": tpl.share_type, "Description": tpl.description,
        "Hash": ver.hash, "HasTrigger": False, "CreatedBy": tpl.created_by,
        "CreatedDate": clock.iso(tpl.versions[0].created), "UpdatedBy": tpl.created_by,
        "UpdatedDate": clock.iso(ver.created), "ResourceGroupId": "", "Tags": dict(tpl.tags),
    }


def list_item(tpl):
    item = template_summary(tpl, tpl.latest)
    public = tpl.share_type == "Public"
    item.update({
        "Category": tpl.category, "Constraints": tpl.latest.constraints, "Publisher": tpl.publisher,
        "Popularity": tpl.popularity if public else -1,
        "TotalExecutionCount": -1 if public else 0, "IsFavorite": False,
    })
    return item


def _matches(item, p, tags):
    for param, key in (("TemplateType", "TemplateType"), ("ShareType", "ShareType"), ("Category", "Category"),
                       ("CreatedBy", "CreatedBy"), ("TemplateFormat", "TemplateFormat"),
                       ("ResourceGroupId", "ResourceGroupId")):
        wanted = p.str(param)
        if wanted is not None and item[key] != wanted:
            return False
    name = p.str("TemplateName")
    if name and name.lower() not in item["TemplateName"].lower():
        return False
    for param, cmp in (("CreatedDateBefore", lambda a, b: a <= b), ("CreatedDateAfter", lambda a, b: a >= b)):
        bound = p.str(param)
        if bound and not cmp(clock.parse_iso(item["CreatedDate"]), clock.parse_iso(bound)):
            return False
    if "HasTrigger" in p and item["HasTrigger"] != p.bool("HasTrigger"):
        return False
    if "IsFavorite" in p and item["IsFavorite"] != p.bool("IsFavorite"):
        return False
    return all(item["Tags"].get(k) == v for k, v in tags.items())


@action("oos", "ListTemplates")
def list_templates(sim, req):
    p = req.params
    max_results = p.int("MaxResults", default=50, minimum=10, maximum=100)
    offset = p.paging()[1]
    p.str("TemplateType", allowed=("Automation", "State", "Package"))
    p.str("ShareType", allowed=("Public", "Private"))
    sort_field = p.str("SortField", default="TotalExecutionCount", allowed=SORT_FIELDS)
    descending = p.str("SortOrder", default="Descending", allowed=("Ascending", "Descending")) == "Descending"
    tags = p.json("Tags", default={}, kind=dict)
    for bound in ("CreatedDateBefore", "CreatedDateAfter"):
        if bound in p:
            try:
                clock.parse_iso(p.str(bound))
            except ValueError:
                raise invalid_parameter(bound, "It must be an ISO-8601 time.") from None
    items = [list_item(t) for t in sim.components["templates"].all(req.region)]
    items = [i for i in items if _matches(i, p, tags)]
    items.sort(key=lambda i: i["TemplateName"])
    items.sort(key=lambda i: i[sort_field], reverse=descending)
    chunk, token = page(items, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token, "Templates": chunk}


@action("oos", "GetTemplate")
def get_template(sim, req):
    p = req.params
    name = p.str("TemplateName", required=True, max_len=200)
    tpl, ver = sim.components["templates"].require(name, req.region, p.str("TemplateVersion"))
    summary = template_summary(tpl, ver)
    summary["SharedAccounts"] = ""
    return {"Content": ver.content, "Template": summary}
