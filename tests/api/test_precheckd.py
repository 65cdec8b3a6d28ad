"""Issue 10: no libvirt connection in a request worker.  Below microversion
2.34 a live migration's prechecks answer the request itself (spec 4.4); the
request worker hands them to the precheck service (threads of the inventory
process, src/precheckd.c) and waits for its answer, at most precheck_timeout
seconds.

The sandbox here has a fourth host whose libvirt URI is a unix socket this
module listens on: every process that connects to it is named by the
kernel (SO_PEERCRED), so a precheck that asks that host shows which process
speaks to libvirt.  The listener closes each connection at once, so the host
is unreachable and the forced precheck answers Nova's 400."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

import conftest
from conftest import S, assert_fault

TIMEOUT_S = 2
UNAVAILABLE = "Compute service of host-fake is unavailable at this time."


class FakeLibvirt:
    """A unix socket that records the pid of every peer and hangs up."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ferry-lv-")
        self.path = os.path.join(self.dir, "lv.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.peers = []
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        size = struct.calcsize("3i")
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            pid = struct.unpack("3i", c.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, size))[0]
            with self.lock:
                self.peers.append(pid)
            c.close()

    def seen(self):
        with self.lock:
            return list(self.peers)

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def fake():
    lv = FakeLibvirt()
    extra = ("\n[host host-fake]\n"
             "uri = test+unix:///default?socket=%s\n"
             "migration_address = 127.0.0.1\n"
             "\n[ferryd]\nprecheck_timeout = %d\n" % (lv.path, TIMEOUT_S))
    try:
        for sb in conftest.run_sandbox("precheckd", extra_config=extra):
            yield sb, lv
    finally:
        lv.close()


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def state(pid):
    """The process state letter (T: stopped), or None when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def children(sb):
    master = int((sb.dir / "ferryd.pid").read_text())
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def inventory_pid(sb):
    pids = [p for p in children(sb) if comm(p) == "ferry-inventory"]
    assert len(pids) == 1, pids
    return pids[0]


def request_workers(sb):
    """Runners = 0 in the sandbox: every other child is a request
    worker."""
    pids = [p for p in children(sb) if comm(p) != "ferry-inventory"]
    assert pids, "no request workers"
    return pids


def live_forced(sb, uuid=S["web-1"]):
    c = sb.client(sb.tokens["ops"])
    return c.live(uuid, {"host": "host-fake", "block_migration": "auto"},
                  mv="2.25")


def last_record(sb, uuid=S["web-1"]):
    return sb.migrations(uuid)[-1]


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_sync_precheck_answers_without_libvirt_in_a_request_worker(fake):
    """The answer needed the host: some process connected to it, and that
    was the inventory process (its precheck threads), never a request
    worker.  Before the service, the request worker itself connected."""
    sb, lv = fake
    workers, inv = request_workers(sb), inventory_pid(sb)
    before = len(lv.seen())
    r = live_forced(sb)
    assert_fault(r, 400, "badRequest", UNAVAILABLE)
    during = lv.seen()[before:]
    assert inv in during, (during, inv)
    assert not set(lv.seen()) & set(workers), (lv.seen(), workers)
    rec = last_record(sb)
    assert rec["status"] == "error"
    assert rec["error_reason"] == UNAVAILABLE
    assert rec["claimed_by"] is None
    # and the answer was the service's, logged with the record's request
    assert "precheck of migration %d: %s" % (rec["id"], UNAVAILABLE) \
        in (sb.dir / "ferryd.log").read_text()


def test_a_silent_service_is_500_and_the_record_is_released(fake):
    """The inventory stopped (SIGSTOP): the request answers Nova's 500
    after precheck_timeout, the record ends in error and is not left held;
    once the service runs again the abandoned request is dropped, and the
    next one has its precheck answer."""
    sb, lv = fake
    inv = inventory_pid(sb)
    os.kill(inv, signal.SIGSTOP)
    try:
        assert wait_for(lambda: state(inv) == "T"), (state(inv),
                                                      sb.log_tail())
        t0 = time.monotonic()
        r = live_forced(sb)
        took = time.monotonic() - t0
    finally:
        os.kill(inv, signal.SIGCONT)
    assert r.status == 500, (r, sb.log_tail())
    assert_fault(r, 500, "computeFault")
    assert TIMEOUT_S - 0.2 < took < TIMEOUT_S + 3, took
    rec = last_record(sb)
    assert rec["status"] == "error"
    assert rec["error_reason"] == \
        "the precheck service did not answer in %d s" % TIMEOUT_S
    assert rec["claimed_by"] is None
    assert wait_for(lambda: "precheck of migration %d dropped" % rec["id"]
                    in (sb.dir / "ferryd.log").read_text())
    assert_fault(live_forced(sb), 400, "badRequest", UNAVAILABLE)


def test_a_request_waits_through_an_inventory_restart(fake):
    """The channel is the master's: a request sent while the inventory is
    down waits in it, and the restarted inventory answers it."""
    sb, lv = fake
    inv = inventory_pid(sb)
    os.kill(inv, signal.SIGKILL)
    r = live_forced(sb)
    assert_fault(r, 400, "badRequest", UNAVAILABLE)
    assert wait_for(lambda: comm(inv) is None
                    or open("/proc/%d/stat" % inv).read().split()[2] == "Z")
    assert inventory_pid(sb) != inv


def test_concurrent_sync_prechecks_each_get_their_own_answer(fake):
    """Requests at once for different servers: each answer is its own
    (the refusal names its own instance, so a mix-up would show)."""
    sb, lv = fake
    c = sb.client(sb.tokens["ops"])
    uuids = conftest.MIG[:6]
    out = {}

    def one(u):
        out[u] = c.live(u, {"host": "host-a", "block_migration": "auto"},
                        mv="2.25")

    threads = [threading.Thread(target=one, args=(u,)) for u in uuids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for u in uuids:
        msg = "Unable to migrate instance (%s) to current host (host-a)." % u
        assert_fault(out[u], 400, "badRequest", msg)
        rec = sb.migrations(u)[-1]
        assert (rec["status"], rec["error_reason"], rec["claimed_by"]) == \
            ("error", msg, None)
