"""The run's shared notes on an instance survive between worker processes and never break a task; the first read
of a result follows what the instance's recent commands took."""

from __future__ import annotations

import json
import multiprocessing

from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_state as st


def _note(directory, n):
    st.HostState(directory, "i-1", None).update(**{"k%d" % n: n})


def test_notes_are_shared_per_instance_and_user(tmp_path):
    root = st.HostState(str(tmp_path), "i-1", None)
    root.update(env={"home": "/root"})
    assert st.HostState(str(tmp_path), "i-1", None).load() == {"env": {"home": "/root"}}
    assert st.HostState(str(tmp_path), "i-1", "ecs-user").load() == {}, "another user, other notes"
    assert st.HostState(str(tmp_path), "i-2", None).load() == {}
    process = multiprocessing.get_context("fork").Process(target=_note, args=(str(tmp_path), 1))
    process.start()
    process.join(30)
    assert root.load() == {"env": {"home": "/root"}, "k1": 1}, "a worker process's note is seen"


def test_notes_that_cannot_be_kept_cost_nothing_but_the_optimisation(tmp_path):
    nowhere = st.HostState(None, "i-1", None)
    nowhere.update(a=1)
    assert nowhere.load() == {}
    blocked = tmp_path / "file"
    blocked.write_text("")
    st.HostState(str(blocked), "i-1", None).update(a=1)      # a file where the directory should be: ignored
    broken = st.HostState(str(tmp_path), "i-1", None)
    with open(broken.path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    assert broken.load() == {}
    broken.update(a=1)
    assert json.loads(open(broken.path, encoding="utf-8").read()) == {"a": 1}


def test_the_first_read_follows_recent_commands():
    assert st.first_read([], 0.3) == st.FIRST_READ_DEFAULT
    assert st.first_read([0.1, 0.1], 0.3) == 0.3, "never before the poll interval"
    recent = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 60.0]
    assert st.first_read(recent, 0.3) == 1.8, "when 80% of recent commands had ended; one long command does not count"
    assert st.first_read([30.0] * 7, 0.3) == st.FIRST_READ_MAX == 8.0
    assert st.first_read([9.0] * 40 + [1.0] * st.SAMPLES, 0.3) == 1.0, "only the recent ones"
    samples = st.add_sample([], 1.0, 1.05, reads=1)
    assert samples == [1.0 * st.EARLY], "done at the first read: it may have ended earlier, read earlier next time"
    assert st.add_sample(samples, 0.8, 1.7, reads=3) == [0.9, 1.7]
    assert len(st.add_sample([1.0] * st.SAMPLES, 1.0, 2.0, reads=2)) == st.SAMPLES
