from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import first_error, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._targets import normalise_targets
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError

A, B, C = "i-aaaa0001", "i-bbbb0001", "i-cccc0001"


def test_plain_list_uses_the_module_region():
    assert normalise_targets([A, B], "cn-hangzhou") == ({"cn-hangzhou": [A, B]}, [])


def test_list_of_items_and_dict_forms_span_regions():
    items = [{"instance_id": A, "region": "cn-beijing"}, {"instance_id": B}, C]
    assert normalise_targets(items, "cn-hangzhou")[0] == {"cn-beijing": [A], "cn-hangzhou": [B, C]}
    assert normalise_targets({"cn-shanghai": [A], "cn-beijing": [B, C]}, None)[0] == {"cn-shanghai": [A], "cn-beijing": [B, C]}


def test_duplicates_dropped_with_a_warning():
    targets, warnings = normalise_targets([A, A, {"instance_id": A, "region": "cn-hangzhou"}], "cn-hangzhou")
    assert targets == {"cn-hangzhou": [A]}
    assert warnings == ["instance_ids: dropped 2 duplicate(s): %s" % A]


@pytest.mark.parametrize("value,region,fragment", [
    ([A], None, "no region given"),
    ([{"instance_id": A, "region": "Beijing"}], "cn-hangzhou", "is not a region id"),
    ([{"instance_id": A, "zone": "x"}], "cn-hangzhou", "unknown key(s) zone"),
    (["web-1"], "cn-hangzhou", "is not an instance id"),
    ({"cn-hangzhou": A}, None, "must be a list"),
    ({"cn-hangzhou": [A], "cn-beijing": [A]}, None, "listed in both"),
    ([], "cn-hangzhou", "must not be empty"),
    ("i-aaaa0001", "cn-hangzhou", "must be a list"),
])
def test_bad_targets(value, region, fragment):
    with pytest.raises(ValidationError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        normalise_targets(value, region)


def test_every_problem_is_reported_and_size_limited():
    with pytest.raises(ValidationError) as info:
        normalise_targets(["bad1", "bad2", A], "cn-hangzhou")
    assert len(info.value.problems) == 2
    with pytest.raises(ValidationError, match="at most 2"):
        normalise_targets([A, B, C], "cn-hangzhou", max_items=2)


def test_run_bounded_keeps_order_bounds_threads_and_captures_errors():
    running, peak, lock = [0], [0], threading.Lock()

    def work(n):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        if n == 7:
            raise RuntimeError("boom")
        return n * n

    outcomes = run_bounded(work, range(20), workers=4)
    assert [o.item for o in outcomes] == list(range(20))
    assert [o.value for o in outcomes if o.ok] == [n * n for n in range(20) if n != 7]
    assert peak[0] <= 4
    assert str(first_error(outcomes).error) == "boom"
    assert first_error(run_bounded(lambda n: n, [1, 2])) is None
    assert run_bounded(lambda n: n, []) == []
