from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import (
    ValidationError,
    check_size,
    chunked,
    dedupe,
    resource_tag_problems,
    validate_instance_ids,
    validate_region,
)


@pytest.mark.parametrize("region", ["cn-hangzhou", "ap-southeast-1", "cn-shanghai-finance-1", "us-east-1", "eu-central-1"])
def test_valid_regions(region):
    assert validate_region(region) == region


@pytest.mark.parametrize("region", ["", "hangzhou", "CN-HANGZHOU", "cn_hangzhou", "cn-hangzhou ", "cn-", None, 42, "i-bp1"])
def test_invalid_regions(region):
    with pytest.raises(ValidationError, match="region"):
        validate_region(region)


@pytest.mark.parametrize("ids", [["i-bp1g6zv0ce8oghu7k001"], ["i-abcd", "i-2zeabcdef0123456789"]])
def test_valid_instance_ids(ids):
    assert validate_instance_ids(ids) == (ids, [])


@pytest.mark.parametrize("bad", ["bp1g6zv0ce8oghu7k001", "i-", "i-ABCDEF", "i-abc", "i-abc_def", " i-abcdef", "i-abcdef\n",
                                 "s-abcdef", 12345, None, ""])
def test_invalid_instance_ids_are_named(bad):
    with pytest.raises(ValidationError) as info:
        validate_instance_ids(["i-good0001", bad])
    assert info.value.problems == [info.value.problems[0]]
    assert "instance_ids[1]" in info.value.problems[0]


def test_every_invalid_id_is_reported_at_once():
    with pytest.raises(ValidationError) as info:
        validate_instance_ids(["nope", "i-good0001", "NOPE"])
    assert len(info.value.problems) == 2


def test_duplicates_are_dropped_with_a_warning_keeping_order():
    ids, warnings = validate_instance_ids(["i-bbbb0001", "i-aaaa0001", "i-bbbb0001", "i-bbbb0001"])
    assert ids == ["i-bbbb0001", "i-aaaa0001"]
    assert len(warnings) == 1 and "2 duplicate" in warnings[0] and "i-bbbb0001" in warnings[0]


def test_empty_list_and_non_list():
    with pytest.raises(ValidationError, match="must not be empty"):
        validate_instance_ids([])
    assert validate_instance_ids([], allow_empty=True) == ([], [])
    with pytest.raises(ValidationError, match="must be a list"):
        validate_instance_ids("i-abcd0001")


def test_size_limit():
    ids = ["i-abcd%04d" % n for n in range(101)]
    with pytest.raises(ValidationError, match="101 items; at most 100"):
        validate_instance_ids(ids, max_items=100)
    assert check_size([1, 2], "x", 2) == [1, 2]


def test_chunker():
    assert chunked(range(7), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert chunked([], 50) == []
    assert chunked(range(100), 50) == [list(range(50)), list(range(50, 100))]
    with pytest.raises(ValueError):
        chunked([1], 0)


def test_dedupe():
    assert dedupe(["b", "a", "b", "c", "a"]) == (["b", "a", "c"], ["a", "b"])


def test_resource_tag_problems():
    assert resource_tag_problems(None) == [] and resource_tag_problems({"env": "prod", "n": 1}) == []
    problems = resource_tag_problems({"": "x", "acs:x": "1", "Aliyun-y": "2", "k" * 65: "3", "long": "v" * 129},
                                     max_key=64)
    assert [p.rsplit("; ", 1)[-1] for p in problems[:4]] == [
        "'' is not a tag key", "'acs:x' is not a tag key", "'Aliyun-y' is not a tag key", "%r is not a tag key" % ("k" * 65)]
    assert problems[0].startswith("tags: keys must be 1 to 64 characters")
    assert problems[4] == "tags: the value of long is longer than 128 characters"
    assert resource_tag_problems({"k%d" % n: "" for n in range(21)}) == ["tags: at most 20 tags, got 21"]
