"""Progress lines: written only where the action plugin asked for them, repeated lines kept quiet."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._progress import ENV, Progress
from unit_helpers import FakeClock


def test_nothing_is_written_without_the_variable(tmp_path):
    Progress(environ={}).say("hello")
    assert list(tmp_path.iterdir()) == []


def test_lines_are_written_and_an_unchanged_one_only_after_a_while(tmp_path):
    path = tmp_path / "progress.log"
    clock = FakeClock()
    progress = Progress(environ={ENV: str(path)}, clock=clock.time)
    progress.say("started exec-1\non two\tlines")
    progress.say("1 running", every=60)
    progress.say("1 running", every=60)
    clock.sleep(61)
    progress.say("1 running", every=60)
    progress.say("2 running", every=60)
    assert path.read_text().splitlines() == ["started exec-1 on two lines", "1 running", "1 running", "2 running"]


def test_a_reader_that_went_away_is_not_an_error(tmp_path):
    progress = Progress(environ={ENV: str(tmp_path / "gone" / "progress.log")})
    progress.say("x")
    assert progress.path is None
