"""Migrations leave nothing behind (issue 8, section 1): a local disk is
on exactly one host after every block live migration (a -> b -> a -> b),
after a failed one and after a cold migration confirmed or reverted; a
destination that already holds a file at the disk's path is refused
before the guest is touched.  Also the record fields of section 3 that
only a real transfer fills (disk bytes of a shared-storage migration)."""
import os
import time

import pytest

from conftest import WAIT, boots, say, ticks, wait_for

EXISTS = ("The supplied disk path (%s) already exists, it is expected not "
          "to exist.")


# The lab guest ignores ACPI shutdown: 2 s, not Nova's 60 (conftest).
pytestmark = pytest.mark.usefixtures("quick_shutdown")


def paths(lab, g):
    """The guest's disk file as each host sees it (test's view)."""
    name = os.path.basename(g["GUEST_DISK_ROOT"])
    return {"a": os.path.join(lab.env["LAB_LOCAL_A"], name),
            "b": os.path.join(lab.env["LAB_LOCAL_B"], name)}


def holders(lab, g):
    return sorted(h for h, p in paths(lab, g).items() if os.path.exists(p))


def marker(g):
    return ("FERRY-DISK " + g["GUEST_BOOT_ID"]).encode()


def disk_only_on(lab, g, host, timeout=30):
    """Exactly one host holds the disk file, with the guest's marker."""
    wait_for(lambda: holders(lab, g) == [host], timeout,
             what="the disk of %s only on %s (now on %s)" % (
                 g["GUEST_NAME"], host, holders(lab, g)))
    with open(paths(lab, g)[host], "rb") as f:
        assert marker(g) in f.read(), "the disk marker is not on " + host


def still_running(lab, ferry, g, host):
    """Running on host, the same boot, ticking."""
    uuid = g["GUEST_UUID"]
    assert lab.state(host, uuid) == "running"
    s = ferry.server(uuid)
    assert s["status"] == "ACTIVE", s
    assert s["OS-EXT-SRV-ATTR:host"] == "lab-" + host
    log = lab.console(g["GUEST_NAME"], host)
    assert set(boots(log)) <= {g["GUEST_BOOT_ID"]}, "a new boot on " + host
    n = len(ticks(log))
    wait_for(lambda: len(ticks(log)) > n, 30, what="the guest to tick")


def block_migrate(ferry, uuid, host):
    r = ferry.migrate(uuid, "2.25", host="lab-" + host, block_migration=True)
    assert r.status_code == 202, r.text
    return ferry.wait_done(uuid)


def test_block_round_trips_leave_one_copy(lab, ferry, guests):
    g = guests("cleanup-rt", storage="local")
    uuid = g["GUEST_UUID"]
    disk_only_on(lab, g, "a")
    times = []
    for src, dst in (("a", "b"), ("b", "a"), ("a", "b")):
        t0 = time.monotonic()
        rec = block_migrate(ferry, uuid, dst)
        assert rec["status"] == "completed", rec
        assert rec["block_migration"] == 1
        assert rec["source_compute"] == "lab-" + src
        assert rec["disk_total"] and rec["disk_total"] > 0, rec
        assert lab.state(src, uuid) is None
        disk_only_on(lab, g, dst)
        wall = time.monotonic() - t0
        times.append(wall)
        still_running(lab, ferry, g, dst)
        say("block round trip %s -> %s: %d ms (libvirt), %.1f s request to "
            "one copy, downtime %s ms" % (src, dst, rec["total_time_ms"],
                                          wall, rec["downtime_ms"]))
    assert "removing %s on lab-a" % g["GUEST_DISK"] in ferry.log_text()


def test_failed_block_migration_leaves_no_copy_on_b(lab, ferry, guests):
    g = guests("cleanup-fail", storage="local", mem=256, fill=48, dirty=True)
    uuid = g["GUEST_UUID"]
    ferry.reconfigure(bandwidth=8)      # MiB/s: slow enough to interrupt
    try:
        r = ferry.migrate(uuid, "2.25", host="lab-b", block_migration=True)
        assert r.status_code == 202, r.text
        wait_for(lambda: ferry.records(uuid)[-1]["status"] == "running"
                 and os.path.exists(paths(lab, g)["b"]), 60,
                 what="the transfer to start")
        time.sleep(2)
        lab.daemon("b", "kill")
        t0 = time.monotonic()
        rec = ferry.wait_done(uuid)
    finally:
        lab.daemon("b", "start")
        ferry.reconfigure(bandwidth=0)
    assert rec["status"] in ("failed", "cancelled"), rec
    # the destination's copy goes once b answers again without the guest
    disk_only_on(lab, g, "a", timeout=90)
    say("failed block migration (%s: %s): the copy on b removed %.1f s "
        "after b's libvirtd died" % (rec["status"], rec["error_reason"],
                                     time.monotonic() - t0))
    still_running(lab, ferry, g, "a")


def foreign_file(lab, g):
    p = paths(lab, g)["b"]
    with open(p, "wb") as f:
        f.write(b"not ours\n")
    return p


def test_destination_file_refused_before_anything(lab, ferry, guests):
    g = guests("cleanup-exists", storage="local")
    uuid = g["GUEST_UUID"]
    p = foreign_file(lab, g)
    inhost = g["GUEST_DISK"]            # the path as the hosts see it
    try:
        # sync prechecks: 400 with Nova's DestinationDiskExists message
        r = ferry.migrate(uuid, "2.1", host="lab-b", block_migration=True,
                          disk_over_commit=False)
        assert r.status_code == 400, r.text
        assert r.json() == {"badRequest": {"code": 400,
                                           "message": EXISTS % inhost}}
        still_running(lab, ferry, g, "a")
        # async: the record errors out with the reason; dest kept
        r = ferry.migrate(uuid, "2.68", host="lab-b", block_migration="auto")
        assert r.status_code == 202, r.text
        rec = ferry.wait_done(uuid, 60)
        assert rec["status"] == "error", rec
        assert rec["error_reason"] == EXISTS % inhost
        assert rec["dest_compute"] is None      # scheduler path (Nova)
        still_running(lab, ferry, g, "a")
        # cold: refused before the guest is shut down
        bid = boots(lab.console(g["GUEST_NAME"], "a"))
        t0 = time.monotonic()
        r = ferry.call("POST", "/servers/%s/action" % uuid, mv="2.56",
                       body={"migrate": {"host": "lab-b"}})
        assert r.status_code == 202, r.text
        rec = ferry.wait_done(uuid, 60)
        took = time.monotonic() - t0
        assert rec["status"] == "error", rec
        assert rec["error_reason"] == EXISTS % inhost
        s = ferry.server(uuid)
        assert s["status"] == "ACTIVE" and "fault" not in s, s
        assert boots(lab.console(g["GUEST_NAME"], "a")) == bid
        still_running(lab, ferry, g, "a")
        with open(p, "rb") as f:
            assert f.read() == b"not ours\n"    # never touched
        say("destination file refused: live sync 400, async error, cold "
            "error after %.1f s with no shutdown" % took)
    finally:
        os.unlink(p)


def cold(ferry, uuid, then):
    r = ferry.call("POST", "/servers/%s/action" % uuid, mv="2.56",
                   body={"migrate": {"host": "lab-b"}})
    assert r.status_code == 202, r.text
    wait_for(lambda: ferry.server(uuid)["status"] == "VERIFY_RESIZE", WAIT,
             what="VERIFY_RESIZE")
    r = ferry.call("POST", "/servers/%s/action" % uuid, body={then: None})
    assert r.status_code in (202, 204), r.text
    wait_for(lambda: ferry.records(uuid)[-1]["status"] in (
        "confirmed", "reverted", "error"), WAIT, what=then)
    return ferry.records(uuid)[-1]


def test_cold_confirm_and_revert_leave_one_copy(lab, ferry, guests):
    for then, where, status in (("confirmResize", "b", "confirmed"),
                                ("revertResize", "a", "reverted")):
        g = guests("cleanup-" + status, storage="local")
        uuid = g["GUEST_UUID"]
        t0 = time.monotonic()
        rec = cold(ferry, uuid, then)
        assert rec["status"] == status, rec
        # Nova's resize claim fills dest_host with the destination's
        # address (resource_tracker._claim_existing_migration)
        assert rec["dest_host"] == lab.env["LAB_B_ADDR"], rec
        disk_only_on(lab, g, where)
        assert lab.state(where, uuid) == "running"
        assert lab.state("b" if where == "a" else "a", uuid) is None
        s = ferry.server(uuid)
        assert s["status"] == "ACTIVE", s
        assert s["OS-EXT-SRV-ATTR:host"] == "lab-" + where
        say("cold migration + %s: disk only on %s, %.1f s" % (
            then, where, time.monotonic() - t0))
        lab.remove(uuid)


def test_shared_storage_disk_bytes_are_zero(lab, ferry, guests):
    """libvirt reports 0 disk bytes for a shared-storage migration: the
    record shows 0, as Nova saves it (migration.py save_stats), not
    null; a live migration's dest_host stays null, as in Nova for a
    guest without a NUMA topology."""
    g = guests("cleanup-shared")
    uuid = g["GUEST_UUID"]
    r = ferry.migrate(uuid, "2.30", host="lab-b", block_migration=False)
    assert r.status_code == 202, r.text
    seen = []

    def sample():
        r = ferry.call("GET", "/servers/%s/migrations" % uuid, mv="2.80")
        ms = r.json().get("migrations", []) if r.status_code == 200 else []
        for m in ms:
            if m["memory_total_bytes"]:
                seen.append(m)
        return seen or ferry.server(uuid)["OS-EXT-STS:task_state"] is None
    wait_for(sample, WAIT, step=0.1, what="a progress sample")
    rec = ferry.wait_done(uuid)
    assert rec["status"] == "completed", rec
    assert (rec["disk_total"], rec["disk_processed"],
            rec["disk_remaining"]) == (0, 0, 0), rec
    assert rec["dest_host"] is None
    for m in seen:
        assert (m["disk_total_bytes"], m["disk_processed_bytes"],
                m["disk_remaining_bytes"]) == (0, 0, 0), m
        assert m["dest_host"] is None
    say("shared-storage migration: disk bytes 0 (%d samples seen)"
        % len(seen))
