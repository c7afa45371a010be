"""Region catalogue as DescribeRegions returns it, and the ECS DescribeRegions action."""

from ..core.registry import action
from ..core.state import REGIONS

LOCAL_NAMES_ZH = {
    "cn-hangzhou": "华东1（杭州）",
    "cn-shanghai": "华东2（上海）",
    "cn-beijing": "华北2（北京）",
    "cn-shenzhen": "华南1（深圳）",
    "cn-qingdao": "华北1（青岛）",
    "cn-zhangjiakou": "华北3（张家口）",
    "cn-hongkong": "中国香港",
    "ap-southeast-1": "新加坡",
    "ap-northeast-1": "日本（东京）",
    "eu-central-1": "德国（法兰克福）",
    "us-west-1": "美国（硅谷）",
    "us-east-1": "美国（弗吉尼亚）",
}


def local_name(region, accept_language):
    """zh-CN (the default) gives the Chinese name; any other language the English one."""
    if (accept_language or "zh-CN").lower().startswith("zh"):
        return LOCAL_NAMES_ZH.get(region, REGIONS[region])
    return REGIONS[region]


def ecs_endpoint(region):
    return "ecs-cn-hangzhou.aliyuncs.com" if region == "cn-hangzhou" else f"ecs.{region}.aliyuncs.com"


@action("ecs", "DescribeRegions")
def describe_regions(sim, req):
    language = req.params.str("AcceptLanguage")
    regions = [{"RegionId": r, "LocalName": local_name(r, language), "RegionEndpoint": ecs_endpoint(r),
                "Status": "available"} for r in REGIONS]
    return {"Regions": {"Region": regions}}
