"""SendFile and DescribeSendFileResults through the typed ECS SDK: files land in the instance's directory
after delivery, with their mode; bad requests fail the call, bad files fail per instance; offline and old
agents, overwrite, idempotence, filters."""

import base64
import os
import stat

import pytest
from alibabacloud_ecs20140526 import models as m
from conftest import error_of, instance_ids, wait_for

FINAL = {"Success", "Failed", "PartialFailed"}


def send(server, ids, **kw):
    kw.setdefault("name", "hello.txt")
    kw.setdefault("target_dir", "/root/files")
    kw.setdefault("content", "hello\n")
    return server.ecs().send_file(m.SendFileRequest(region_id="cn-hangzhou", instance_id=ids, **kw)).body.invoke_id


def results(server, within=10.0, statuses=FINAL, **kw):
    """The one DescribeSendFileResults record matching ``kw``, once its overall status is in ``statuses``."""
    def check():
        body = server.ecs().describe_send_file_results(m.DescribeSendFileResultsRequest(
            region_id="cn-hangzhou", **kw)).body
        found = body.invocations.invocation
        return found[0] if found and found[0].invocation_status in statuses else None
    return wait_for(check, timeout=within)


def on_disk(server, instance_id, *parts):
    return os.path.join(server.sim.workdir, "instances", instance_id, *parts)


def by_instance(record):
    return {i.instance_id: i for i in record.invoke_instances.invoke_instance}


def test_a_file_lands_in_each_instance_with_its_mode(sim_server):
    ids = instance_ids(sim_server, "web")
    data = os.urandom(20000)
    invoke_id = send(sim_server, ids, name="blob.bin", content=base64.b64encode(data).decode(), content_type="Base64",
                     file_mode="0600", description="a test file")
    assert invoke_id.startswith("f-")
    record = results(sim_server, invoke_id=invoke_id)
    assert (record.invocation_status, record.vm_count, record.name, record.target_dir) == (
        "Success", len(ids), "blob.bin", "/root/files")
    assert (record.file_mode, record.file_owner, record.file_group, record.overwrite) == ("0600", "root", "root", False)
    assert record.description == "a test file" and record.creation_time.endswith("Z")
    for instance_id, item in by_instance(record).items():
        assert (item.invocation_status, item.error_code) == ("Success", "")
        assert item.start_time and item.finish_time
        path = on_disk(sim_server, instance_id, "root", "files", "blob.bin")
        with open(path, "rb") as handle:
            assert handle.read() == data
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_plain_text_and_overwrite(sim_server):
    instance_id = instance_ids(sim_server, "web-1")[0]
    results(sim_server, invoke_id=send(sim_server, [instance_id], content="first ✓\n"))
    again = results(sim_server, invoke_id=send(sim_server, [instance_id], content="second\n"))
    item = by_instance(again)[instance_id]
    assert (again.invocation_status, item.invocation_status, item.error_code) == (
        "Failed", "Failed", "FileAlreadyExists")
    with open(on_disk(sim_server, instance_id, "root", "files", "hello.txt"), encoding="utf-8") as handle:
        assert handle.read() == "first ✓\n", "Overwrite defaults to false"
    results(sim_server, invoke_id=send(sim_server, [instance_id], content="second\n", overwrite=True))
    with open(on_disk(sim_server, instance_id, "root", "files", "hello.txt"), encoding="utf-8") as handle:
        assert handle.read() == "second\n"


def test_a_path_the_instance_scripts_see_is_used_as_it_is_and_nothing_leaves_the_instance(sim_server):
    instance_id = instance_ids(sim_server, "web-1")[0]
    home = on_disk(sim_server, instance_id, "root")
    results(sim_server, invoke_id=send(sim_server, [instance_id], target_dir=home + "/.cache/x", name="a"))
    assert os.path.exists(os.path.join(home, ".cache", "x", "a")), "HOME as the scripts see it"
    results(sim_server, invoke_id=send(sim_server, [instance_id], target_dir="/../../../tmp", name="escape"))
    assert not os.path.exists("/tmp/escape")
    assert os.path.exists(on_disk(sim_server, instance_id, "tmp", "escape"))


@pytest.mark.parametrize("field, value, code", [
    ("content", "%%% not base64", "FileContentInvalid"),
    ("target_dir", "relative/dir", "FilePathInvalid"),
    ("file_mode", "rwx", "FileAuthorityInvalid"),
    ("name", "a/b", "FileNameInvalid"),
])
def test_a_bad_file_fails_per_instance(sim_server, field, value, code):
    instance_id = instance_ids(sim_server, "web-1")[0]
    kw = {"content_type": "Base64", "content": base64.b64encode(b"x").decode(), field: value}
    record = results(sim_server, invoke_id=send(sim_server, [instance_id], **kw))
    item = by_instance(record)[instance_id]
    assert (record.invocation_status, item.invocation_status, item.error_code) == ("Failed", "Failed", code)
    assert item.error_info


def test_bad_requests_fail_the_call(sim_server):
    ids = instance_ids(sim_server, "web")
    assert error_of(lambda: send(sim_server, ids, content="x" * (24 * 1024 + 1))) == ("InvalidParam.Content", 403)
    assert error_of(lambda: send(sim_server, ids, content=base64.b64encode(b"x" * 24 * 1024).decode() + "AAAA",
                                 content_type="Base64")) == ("InvalidParam.Content", 403)
    send(sim_server, ids, content=base64.b64encode(b"x" * 24 * 1024).decode(), content_type="Base64")  # 32 KB is fine
    for field in ("name", "target_dir", "content"):
        assert error_of(lambda f=field: send(sim_server, ids, **{f: ""}))[0] == "MissingParameter"
    assert error_of(lambda: send(sim_server, []))[0] == "MissingParameter"
    assert error_of(lambda: send(sim_server, ["i-unknown"])) == ("InvalidInstance.NotFound", 404)
    assert error_of(lambda: send(sim_server, instance_ids(sim_server, "stopped")))[0] == "InvalidInstance.NotMatch"
    assert error_of(lambda: send(sim_server, instance_ids(sim_server, "noagent")))[0] == "InvalidInstance.NoClient"
    assert error_of(lambda: send(sim_server, ids * 20 + ["i-%d" % n for n in range(51)]))[0] == \
        "InstanceIds.ExceedLimit"
    assert error_of(lambda: send(sim_server, ids, content_type="Hex"))[0] == "InvalidParam.ContentType"
    assert error_of(lambda: send(sim_server, ids, name="n" * 256))[0] == "InvalidParameter"


def test_an_offline_agent_gets_the_file_when_it_comes_back_or_times_out(sim_server_factory):
    sim_server = sim_server_factory(time_scale=1.0)     # the clock moves only when the test moves it
    instance_id = instance_ids(sim_server, "web-1")[0]
    sim_server.admin("PATCH", "instances/%s" % instance_id, {"agent": "offline"})
    invoke_id = send(sim_server, [instance_id], timeout=3)
    pending = results(sim_server, invoke_id=invoke_id, statuses={"Pending"})
    assert by_instance(pending)[instance_id].invocation_status == "Pending"
    sim_server.admin("POST", "clock", {"advance": 9})
    assert results(sim_server, invoke_id=invoke_id, statuses={"Pending"}), "Timeout under 10 s counts as 10"
    sim_server.admin("POST", "clock", {"advance": 2})
    item = by_instance(results(sim_server, invoke_id=invoke_id, statuses={"Failed"}))[instance_id]
    assert (item.invocation_status, item.error_code) == ("Timeout", "DeliveryTimeout")
    invoke_id = send(sim_server, [instance_id], name="later.txt")
    sim_server.admin("PATCH", "instances/%s" % instance_id, {"agent": "online"})
    sim_server.admin("POST", "clock", {"advance": 1})
    assert by_instance(results(sim_server, invoke_id=invoke_id))[instance_id].invocation_status == "Success"
    assert os.path.exists(on_disk(sim_server, instance_id, "root", "files", "later.txt"))


def test_an_old_agent_needs_an_upgrade(sim_server_factory):
    server = sim_server_factory(fleet={"regions": {"cn-hangzhou": {"instances": [
        {"name": "old", "os_type": "linux", "agent_version": "1.0.2.569"},
        {"name": "new", "os_type": "linux", "agent_version": "1.0.2.570"}]}}})
    ids = instance_ids(server, "")
    record = results(server, invoke_id=send(server, ids))
    assert record.invocation_status == "PartialFailed"
    codes = {server.sim.instance(i).name: item.error_code for i, item in by_instance(record).items()}
    assert codes == {"old": "ClientNeedUpgrade", "new": ""}


def test_a_stopped_instance_before_delivery_is_aborted(sim_server):
    instance_id = instance_ids(sim_server, "web-1")[0]
    sim_server.admin("PATCH", "instances/%s" % instance_id, {"agent": "offline"})
    invoke_id = send(sim_server, [instance_id])
    sim_server.admin("PATCH", "instances/%s" % instance_id, {"status": "Stopped"})
    item = by_instance(results(sim_server, invoke_id=invoke_id))[instance_id]
    assert (item.invocation_status, item.error_code) == ("Aborted", "InstanceNotRunning")


def test_client_token_filters_and_paging(sim_server):
    ids = instance_ids(sim_server, "web")
    first = send(sim_server, ids, client_token="t-1", name="a.txt")
    assert send(sim_server, ids, client_token="t-1", name="a.txt") == first, "same token, same request: same task"
    assert error_of(lambda: send(sim_server, ids, client_token="t-1", name="b.txt")) == \
        ("IdempotentParameterMismatch", 403)
    second = send(sim_server, ids[:1], name="b.txt", tag=[m.SendFileRequestTag(key="team", value="ops")])
    results(sim_server, invoke_id=second)
    results(sim_server, invoke_id=first)
    client = sim_server.ecs()

    def ids_of(**kw):
        body = client.describe_send_file_results(m.DescribeSendFileResultsRequest(region_id="cn-hangzhou", **kw)).body
        return [i.invoke_id for i in body.invocations.invocation]

    assert ids_of() == [second, first], "newest first"
    assert ids_of(name="a.txt") == [first]
    assert ids_of(instance_id=ids[-1]) == [first]
    assert ids_of(invocation_status="Success") == [second, first]
    assert ids_of(tag=[m.DescribeSendFileResultsRequestTag(key="team", value="ops")]) == [second]
    page = client.describe_send_file_results(m.DescribeSendFileResultsRequest(region_id="cn-hangzhou",
                                                                              max_results=1)).body
    assert [i.invoke_id for i in page.invocations.invocation] == [second] and page.next_token
    one = client.describe_send_file_results(m.DescribeSendFileResultsRequest(
        region_id="cn-hangzhou", invoke_id=first, instance_id=ids[0])).body.invocations.invocation[0]
    assert [i.instance_id for i in one.invoke_instances.invoke_instance] == [ids[0]]
