"""Host drains (issue 15) in the lab: POST /os-ferry-drains empties lab-a
onto lab-b with ordinary live migrations (same boot on b), a dry run
reports a server that cannot go with its reason and moves nothing, and a
cancel lets the running migration finish and starts no other.  Every test
leaves lab-a enabled again (enable_host), as later tests need it."""
import sqlite3
import os

import pytest

from conftest import WAIT, boots, say, ticks, wait_for

URL = "/os-ferry-drains"


def drain(ferry, body, query=""):
    r = ferry.call("POST", URL + query, body={"drain": body})
    assert r.status_code == 202, r.text
    return r.json()["drain"]["id"]


def show(ferry, did):
    r = ferry.call("GET", "%s/%d" % (URL, did))
    assert r.status_code == 200, r.text
    return r.json()["drain"]


def wait_drain(ferry, did, statuses, timeout=WAIT):
    wait_for(lambda: show(ferry, did)["status"] in statuses, timeout,
             what="drain %d to reach %s" % (did, "/".join(statuses)))
    return show(ferry, did)


@pytest.fixture
def enabled_after(ferry):
    """Cancels what a test left running and enables lab-a again."""
    yield
    r = ferry.call("GET", URL)
    for d in r.json()["drains"]:
        if d["status"] in ("planning", "running"):
            ferry.call("DELETE", "%s/%d" % (URL, d["id"]))
    for d in ferry.call("GET", URL).json()["drains"]:
        if not d["dry_run"]:
            wait_drain(ferry, d["id"], ("completed", "failed", "cancelled",
                                        "error"))
            ferry.call("POST", "%s/%d/action" % (URL, d["id"]),
                       body={"enable_host": None})
    con = sqlite3.connect(os.path.join(ferry.dir, "ferry.db"), timeout=10)
    try:
        assert con.execute("SELECT count(*) FROM hosts_disabled")\
            .fetchone()[0] == 0
    finally:
        con.close()


def kept_running(lab, g):
    """Same boot on b, no new boot, the counter went on."""
    name = g["GUEST_NAME"]
    src_log, dst_log = lab.console(name, "a"), lab.console(name, "b")
    wait_for(lambda: len(ticks(dst_log)) >= 2, 30,
             what="ticks of %s on b" % name)
    assert boots(dst_log) == [], name + " booted again on b"
    assert boots(src_log)[-1] == g["GUEST_BOOT_ID"]
    assert ticks(src_log)[-1] <= ticks(dst_log)[0] <= ticks(src_log)[-1] + 2


def test_drain_moves_three_guests_to_b(lab, ferry, guests, enabled_after):
    gs = [guests("drain-1"), guests("drain-2"),
          guests("drain-3", storage="local")]
    did = drain(ferry, {"host": "lab-a", "max_parallel": 2})
    assert show(ferry, did)["host_enabled"] is False
    d = wait_drain(ferry, did, ("completed", "failed", "error"),
                   timeout=3 * WAIT)
    assert d["status"] == "completed", d
    servers = {s["server_id"]: s for s in d.get("servers") or
               show(ferry, did)["servers"]}
    for g in gs:
        uuid = g["GUEST_UUID"]
        s = servers[uuid]
        assert s["state"] == "moved" and s["planned_host"] == "lab-b", s
        assert s["attempts"] == 1 and s["migration_id"], s
        rec = ferry.records(uuid)[-1]
        assert rec["id"] == s["migration_id"]
        assert rec["status"] == "completed", rec
        assert rec["block_migration"] == (1 if g is gs[2] else 0), rec
        assert lab.state("b", uuid) == "running"
        assert lab.state("a", uuid) is None
        assert ferry.server(uuid)["OS-EXT-SRV-ATTR:host"] == "lab-b"
        kept_running(lab, g)
    # lab-a stays disabled after the drain: the scheduler does not take it
    assert show(ferry, did)["host_enabled"] is False
    r = ferry.migrate(gs[0]["GUEST_UUID"], "2.30", host=None,
                      block_migration="auto")
    assert r.status_code == 400, r.text
    assert "No valid host" in r.text
    r = ferry.call("POST", "%s/%d/action" % (URL, did),
                   body={"enable_host": None})
    assert r.status_code == 202, r.text
    assert show(ferry, did)["host_enabled"] is True
    say("drain of lab-a: 3 guests on lab-b, same boots")


def test_dry_run_reports_the_local_disk_guest(lab, ferry, guests,
                                              enabled_after):
    shared = guests("plan-1")
    local = guests("plan-2", storage="local")
    did = drain(ferry, {"host": "lab-a", "block_migration": False},
                "?dry_run=1")
    d = wait_drain(ferry, did, ("planned", "error"), timeout=60)
    assert d["status"] == "planned", d
    assert d["host_enabled"] is True            # a plan disables nothing
    servers = {s["server_id"]: s for s in show(ferry, did)["servers"]}
    s = servers[shared["GUEST_UUID"]]
    assert s["state"] == "planned" and s["planned_host"] == "lab-b", s
    assert s["reasons"] == []
    s = servers[local["GUEST_UUID"]]
    assert s["state"] == "unmovable" and s["planned_host"] is None, s
    assert s["reasons"] == [
        "lab-b: lab-a is not on shared storage: Shared storage "
        "live-migration requires either shared storage or "
        "boot-from-volume with no local disks."], s
    for g in (shared, local):
        assert ferry.records(g["GUEST_UUID"]) == []
        assert lab.state("a", g["GUEST_UUID"]) == "running"


def test_cancel_lets_the_running_one_finish(lab, ferry, guests,
                                            enabled_after):
    gs = [guests("cancel-1"), guests("cancel-2")]
    did = drain(ferry, {"host": "lab-a", "max_parallel": 1})

    def running():
        return [s for s in show(ferry, did)["servers"]
                if s["state"] == "migrating"]
    first = wait_for(running, 60, step=0.1, what="a migration to start")[0]
    r = ferry.call("DELETE", "%s/%d" % (URL, did))
    assert r.status_code == 202, r.text
    d = wait_drain(ferry, did, ("cancelled",), timeout=2 * WAIT)
    servers = {s["server_id"]: s for s in show(ferry, did)["servers"]}
    assert servers[first["server_id"]]["state"] == "moved", servers
    other = [g for g in gs if g["GUEST_UUID"] != first["server_id"]][0]
    s = servers[other["GUEST_UUID"]]
    assert s["state"] == "cancelled" and s["migration_id"] is None, s
    assert ferry.records(other["GUEST_UUID"]) == []
    assert lab.state("a", other["GUEST_UUID"]) == "running"
    assert boots(lab.console(other["GUEST_NAME"], "a")) == \
        [other["GUEST_BOOT_ID"]]
    assert lab.state("b", first["server_id"]) == "running"
    assert d["status"] == "cancelled"


def test_ferryd_restart_resumes_the_drain(lab, ferry, guests, enabled_after):
    """kill -9 of the whole ferryd while the drain's first transfer runs,
    then a restart: the record is reconciled with libvirt, the drain's
    lease is taken over and the second guest moves too."""
    gs = [guests("resume-1"), guests("resume-2")]
    did = drain(ferry, {"host": "lab-a", "max_parallel": 1})

    def transferring():
        for s in show(ferry, did)["servers"]:
            recs = ferry.records(s["server_id"]) if s["migration_id"] else []
            if recs and recs[-1]["status"] == "running":
                return s
        return None
    wait_for(transferring, 120, step=0.1, what="a transfer to run")
    pids = ferry.kill_all()
    try:
        assert ferry.call("GET", URL).status_code == 502    # nginx alone
    finally:
        ferry.start_ferryd()
    d = wait_drain(ferry, did, ("completed", "failed", "error"),
                   timeout=3 * WAIT)
    assert d["status"] == "completed", show(ferry, did)
    for g in gs:
        assert lab.state("b", g["GUEST_UUID"]) == "running"
        assert lab.state("a", g["GUEST_UUID"]) is None
        kept_running(lab, g)
    say("drain resumed after a kill -9 of ferryd (%d processes)" % len(pids))


def test_shut_off_guest_cold_migrated_or_left(lab, ferry, guests,
                                              enabled_after):
    """A shut-off guest: left where it is with shut_off = leave, moved by
    a cold migration (confirmed by the drain) by default."""
    g = guests("off-1")
    uuid = g["GUEST_UUID"]
    assert lab.virsh("a", "destroy", uuid).returncode == 0
    wait_for(lambda: ferry.server(uuid)["status"] == "SHUTOFF", 30,
             what="the server to read SHUTOFF")
    did = drain(ferry, {"host": "lab-a", "shut_off": "leave"}, "?dry_run=1")
    wait_drain(ferry, did, ("planned",), timeout=60)
    s = {x["server_id"]: x for x in show(ferry, did)["servers"]}[uuid]
    assert s["move"] == "leave" and s["state"] == "left", s
    did = drain(ferry, {"host": "lab-a"})
    d = wait_drain(ferry, did, ("completed", "failed", "error"),
                   timeout=2 * WAIT)
    assert d["status"] == "completed", show(ferry, did)
    s = {x["server_id"]: x for x in show(ferry, did)["servers"]}[uuid]
    assert s["move"] == "cold" and s["state"] == "moved", s
    rec = ferry.records(uuid)[-1]
    assert rec["id"] == s["migration_id"]
    assert rec["migration_type"] == "migration", rec
    assert rec["status"] == "confirmed", rec
    assert lab.state("b", uuid) == "shut off"
    assert lab.state("a", uuid) is None
    assert ferry.server(uuid)["OS-EXT-SRV-ATTR:host"] == "lab-b"
