"""Two ferryd nodes on one PostgreSQL, behind one nginx upstream (issue
13), driving the lab's two real hosts: tools/sandbox --nodes 2 --store
postgresql://... (each node its own node_name, run dir, socket, pid file
and log; nginx's upstream lists both sockets).

One guest (a still 48 MiB fill, as test_lifecycle's crash tests) serves
the whole module: each test moves it from where it is to the other host.
  - 50 concurrent os-migrateLive through the one nginx, spread over both
    nodes: one 202, the rest 409, one record; the migration completes.
  - kill -9 of the master of the node whose runner holds a running
    migration: the other node's runner takes the record over and it ends
    truthfully; the dead node's children are gone; the node comes back.
  - PostgreSQL stopped for 20 s during a migration: 503 with Nova's fault
    and Retry-After from both nodes within the store timeout, service
    again by itself, the record truthful.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import (ROOT, SANDBOX, Ferry, end_child, free_port, read_env,
                      say, wait_for)
from test_lifecycle import SLOW, STILL, moved, same_boot_on

sys.path.insert(0, os.path.join(ROOT, "tests"))
from pgcluster import PgCluster, pg_bindir  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled", "error")
STORE_TIMEOUT = 3           # ferryd's default store_timeout, seconds
REQ_RE = re.compile(r"ferryd-worker\[\d+\] \w+: (GET|POST|DELETE) (\S+) "
                    r"(\d{3}) ")


def ppid_of(pid):
    """The parent of pid and its state letter, or (None, None)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None, None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), fields[0]


class Nodes(Ferry):
    """tools/sandbox with two nodes on one PostgreSQL database.  Ferry's
    helpers (call, server, migrate, write_hosts, add_token) as they are;
    what concerns one ferryd takes a node number (1 or 2)."""

    def __init__(self, base, lab, pg):
        self.dir = os.path.join(base, "two")
        self.hosts = os.path.join(base, "hosts-two.conf")
        self.lab, self.pg = lab, pg
        self.db = pg.new_db()
        self.popen = {}
        self.write_hosts()
        self.port = free_port()
        subprocess.run([SANDBOX, "start", "--hosts", self.hosts, "--port",
                        str(self.port), "--dir", self.dir, "--nodes", "2",
                        "--store", pg.url(self.db), "--workers", "2",
                        "--runners", "1"], check=True,
                       stdout=subprocess.DEVNULL)
        env = read_env(os.path.join(self.dir, "env"))
        self.url, self.ca = env["FERRY_URL"], env["FERRY_CACERT"]
        self.token = self.add_token("operator", "admin")
        subprocess.run([SANDBOX, "reload", "--dir", self.dir, "--nginx"],
                       check=True)
        time.sleep(0.3)
        self.http = requests.Session()

    def node_dir(self, n):
        return os.path.join(self.dir, "node%d" % n)

    def node_log(self, n):
        with open(os.path.join(self.node_dir(n), "ferryd.log"),
                  errors="replace") as f:
            return f.read()

    def master(self, n):
        with open(os.path.join(self.node_dir(n), "ferryd.pid")) as f:
            return int(f.read().strip())

    def node_children(self, n):
        master = self.master(n)
        return sorted(int(d) for d in os.listdir("/proc") if d.isdigit()
                      and ppid_of(int(d))[0] == master
                      and ppid_of(int(d))[1] != "Z")

    def node_of_pid(self, pid):
        ppid = ppid_of(pid)[0]
        for n in (1, 2):
            if ppid == self.master(n):
                return n
        return None

    def requests_of(self, n, since=0):
        """(method, path, status) of node n's request lines after offset
        since of its log."""
        return [m.groups() for m in REQ_RE.finditer(self.node_log(n)[since:])]

    def alive(self, n):
        return ppid_of(self.master(n))[1] not in (None, "Z")

    def reconfigure(self, **kw):
        """write_hosts, then SIGHUP the masters that live and wait for
        them (a node started later reads the file as it is)."""
        self.write_hosts(**kw)
        up = [n for n in (1, 2) if self.alive(n)]
        before = {n: self.node_log(n).count("reloaded") for n in up}
        for n in up:
            os.kill(self.master(n), signal.SIGHUP)
        for n in up:
            wait_for(lambda: self.node_log(n).count("reloaded") > before[n],
                     10, what="node%d to reload" % n)
        time.sleep(0.5)

    def records(self, uuid):
        return self.pg.rows(self.db, "SELECT * FROM migrations WHERE "
                            "instance_uuid = '%s' ORDER BY id" % uuid)

    def runner_of(self, mid):
        """(runner id, pid, node name) holding record mid, from the
        runners table."""
        rows = self.pg.rows(self.db, "SELECT r.id, r.pid, r.node FROM "
                            "migrations m JOIN runners r ON r.id = "
                            "m.claimed_by WHERE m.id = %d" % mid)
        return tuple(rows[0].values()) if rows else (None, None, None)

    def kill_node(self, n):
        """kill -9 of node n's master alone; its children die with it
        (PR_SET_PDEATHSIG).  Returns the master's and children's pids."""
        master, kids = self.master(n), self.node_children(n)
        os.kill(master, signal.SIGKILL)
        p = self.popen.pop(n, None)
        if p is not None:
            p.wait(10)
        return master, kids

    def start_node(self, n):
        """Starts node n's ferryd again, as tools/sandbox does, makes nginx
        forget that it failed (reload) and waits until it serves through
        nginx."""
        d = self.node_dir(n)
        since = len(self.node_log(n))
        with open(os.path.join(d, "ferryd.log"), "ab") as logf:
            p = subprocess.Popen([os.path.join(ROOT, "build", "ferryd"), "-c",
                                  os.path.join(d, "ferry.conf")],
                                 stdout=logf, stderr=logf,
                                 stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        with open(os.path.join(d, "ferryd.pid"), "w") as f:
            f.write("%d\n" % p.pid)
        self.popen[n] = p
        subprocess.run([SANDBOX, "reload", "--dir", self.dir, "--nginx"],
                       check=True)

        def served():
            self.call("GET", "/servers")
            return any(s == "200" for _, _, s in self.requests_of(n, since))
        wait_for(served, 30, step=0.2, what="node%d to serve again" % n)

    def stop(self):
        for p in self.popen.values():
            end_child(p)
        subprocess.run([SANDBOX, "stop", "--dir", self.dir],
                       stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def nodes(lab):
    bindir = pg_bindir()
    if not os.path.exists(os.path.join(bindir or "/nonexistent", "initdb")):
        why = "PostgreSQL's initdb not installed (tools/deps test)"
        say("SKIPPED: the two-node tests: " + why)
        pytest.skip(why)
    pg, two = PgCluster(), None
    t0 = time.monotonic()
    try:
        pg.start()
        two = Nodes(os.path.dirname(lab.dir), lab, pg)
        say("two nodes on one PostgreSQL behind one nginx up in %.1fs"
            % (time.monotonic() - t0))
        yield two
    finally:
        if two is not None:
            two.stop()
        pg.remove()


@pytest.fixture(scope="module")
def guest(lab, nodes):
    g = lab.guest("two-nodes", **STILL)
    wait_for(lambda: nodes.call("GET", "/servers/" + g["GUEST_UUID"])
             .status_code == 200, 20, what="the inventory to see the guest")
    try:
        yield g
    finally:
        lab.remove(g["GUEST_UUID"])


def where(lab, uuid):
    """The one host the guest runs on ('a' or 'b'); fails unless it is
    defined on exactly one host, running."""
    states = {h: lab.state(h, uuid) for h in ("a", "b")}
    on = [h for h, s in states.items() if s is not None]
    assert len(on) == 1 and states[on[0]] == "running", states
    return on[0]


def other(h):
    return "b" if h == "a" else "a"


def wait_status(nodes, uuid, mid, pred, timeout, what):
    def check():
        rec = [r for r in nodes.records(uuid) if r["id"] == mid][0]
        return rec if pred(rec) else None
    return wait_for(check, timeout, step=0.2, what="migration %d %s" % (
        mid, what))


def wait_end(nodes, uuid, mid, timeout=90):
    rec = wait_status(nodes, uuid, mid, lambda r: r["status"] in TERMINAL,
                      timeout, "to end")
    wait_for(lambda: nodes.server(uuid)["OS-EXT-STS:task_state"] is None,
             15, what="task_state null")
    return rec


def truthful(lab, nodes, g, rec, src, dst):
    """The record's final status agrees with where the guest runs: on dst
    alone after completed, on src alone otherwise; same boot, ticking."""
    host = where(lab, g["GUEST_UUID"])
    assert host == (dst if rec["status"] == "completed" else src), (
        rec["status"], rec["error_reason"], host)
    same_boot_on(lab, nodes, g, host)
    return host


def start_slow(nodes, uuid, dst):
    r = nodes.migrate(uuid, "2.30", host="lab-" + dst, block_migration=False)
    assert r.status_code == 202, r.text
    mid = nodes.records(uuid)[-1]["id"]
    wait_status(nodes, uuid, mid, lambda r: r["status"] == "running"
                and (r["memory_processed"] or 0) > 0, 60,
                "to be transferring")
    return mid


def lift_cap(lab, src, uuid):
    """ferry has no call to change a running migration's speed (nor has
    Nova): the operator lifts the cap through libvirt."""
    if "Unbounded" in lab.virsh(src, "domjobinfo", uuid).stdout:
        lab.virsh(src, "migrate-setspeed", uuid, "1000")


def test_fifty_concurrent_posts_over_two_nodes_one_202(lab, nodes, guest):
    """50 concurrent os-migrateLive for one server through the one nginx,
    which spreads them over both nodes: exactly one 202, the others 409,
    one record; that migration then completes on the real hosts."""
    uuid = guest["GUEST_UUID"]
    src = where(lab, uuid)
    dst = other(src)
    since = [len(nodes.node_log(n)) for n in (1, 2)]
    body = json.dumps({"os-migrateLive": {"host": "lab-" + dst,
                                          "block_migration": False}})
    hdrs = {"X-Auth-Token": nodes.token, "Content-Type": "application/json",
            "OpenStack-API-Version": "compute 2.30"}
    got, lock, go = [], threading.Lock(), threading.Barrier(50)

    def post():
        with requests.Session() as s:
            go.wait()
            r = s.post(nodes.url + "/servers/%s/action" % uuid, data=body,
                       headers=hdrs, verify=nodes.ca, timeout=60)
        with lock:
            got.append((r.status_code, r.text))

    t0 = time.monotonic()
    threads = [threading.Thread(target=post) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    took = time.monotonic() - t0
    codes = sorted(c for c, _ in got)
    assert codes == [202] + [409] * 49, got
    per_node = [sum(1 for m, p, _ in nodes.requests_of(n, since[n - 1])
                    if m == "POST" and uuid in p) for n in (1, 2)]
    assert sum(per_node) == 50 and min(per_node) > 0, per_node
    (rec,) = nodes.records(uuid)
    say("two nodes: 50 concurrent POSTs in %.2fs, node1 answered %d, node2 "
        "%d: one 202, 49 409, one record" % (took, per_node[0], per_node[1]))
    rec = wait_end(nodes, uuid, rec["id"])
    assert rec["status"] == "completed", rec
    assert where(lab, uuid) == dst
    moved(lab, guest, src, dst)
    same_boot_on(lab, nodes, guest, dst)
    say("two nodes: that migration completed in %d ms, guest on %s only, "
        "same boot" % (rec["total_time_ms"], dst))


def test_node_killed_mid_migration_other_node_takes_over(lab, nodes, guest):
    """kill -9 of the master of the node whose runner holds a running live
    migration: its children die with it, nginx sends everything to the
    other node, whose runner takes the record over once the dead runner's
    heartbeat is stale and ends it truthfully.  The node then comes back."""
    uuid = guest["GUEST_UUID"]
    src = where(lab, uuid)
    dst = other(src)
    nodes.reconfigure(bandwidth=SLOW)
    dead = None
    try:
        mid = start_slow(nodes, uuid, dst)
        rid, rpid, rnode = nodes.runner_of(mid)
        assert rid is not None, nodes.records(uuid)
        dead = nodes.node_of_pid(rpid)
        assert dead in (1, 2) and rnode == "node%d" % dead, (rpid, rnode)
        live = 3 - dead
        live_log = len(nodes.node_log(live))
        master, kids = nodes.kill_node(dead)
        t0 = time.monotonic()
        assert rpid in kids
        wait_for(lambda: all(ppid_of(p)[0] is None or ppid_of(p)[1] == "Z"
                             for p in kids + [master]), 10,
                 what="node%d's processes to die" % dead)
        # libvirt goes on without the runner; nginx uses the live node
        assert "Unbounded" in lab.virsh(src, "domjobinfo", uuid).stdout
        r = nodes.call("GET", "/servers/" + uuid)
        assert r.status_code == 200, r.text
        pat = "migration %d of %s: reconciling a running record left by " \
              "a stopped runner" % (mid, uuid)
        line = wait_for(lambda: [l for l in nodes.node_log(live)[live_log:]
                                 .splitlines() if pat in l], 40,
                        what="node%d to take the record over" % live)[0]
        taken = time.monotonic() - t0
        pid = int(re.search(r"ferryd-runner\[(\d+)\]", line).group(1))
        assert nodes.node_of_pid(pid) == live
        assert nodes.runner_of(mid)[1:] == (pid, "node%d" % live)
        say("two nodes: node%d killed mid-transfer; node%d's runner took "
            "the record over %.1f s later" % (dead, live, taken))
        lift_cap(lab, src, uuid)
        rec = wait_end(nodes, uuid, mid)
    finally:
        nodes.reconfigure()
        if dead is not None and not nodes.alive(dead):
            t0 = time.monotonic()
            nodes.start_node(dead)      # later tests need both nodes
            say("two nodes: node%d serving again %.1f s after its restart"
                % (dead, time.monotonic() - t0))
    host = truthful(lab, nodes, guest, rec, src, dst)
    say("two nodes: after the takeover migration %d %s%s (%s); guest on %s "
        "only, same boot" % (mid, rec["status"], " (%s)" % rec["error_reason"]
                             if rec["error_reason"] else "",
                             who_ran(nodes, uuid, mid), host))


def who_ran(nodes, uuid, mid, quote=False):
    """Which node claimed record mid, took it over, or let go of it: from
    the nodes' logs, for the report (quote: says each such line)."""
    out = []
    for n in (1, 2):
        for line in nodes.node_log(n).splitlines():
            if "migration %d of %s: " % (mid, uuid) not in line:
                continue
            for what in ("claimed", "reconciling", "lets go"):
                if what in line:
                    out.append("node%d %s" % (n, what))
                    if quote:
                        say("  node%d: %s" % (n, line))
    return ", ".join(out)


def expect_503(r, took):
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.json() == {"serviceUnavailable": {
        "code": 503, "message": r.json()["serviceUnavailable"]["message"]}}
    assert "store is unavailable" in r.json()[
        "serviceUnavailable"]["message"], r.text
    assert r.headers.get("Retry-After") == "2", r.headers
    assert took < STORE_TIMEOUT + 2, took


def test_database_stopped_mid_migration(lab, nodes, guest):
    """PostgreSQL stopped for 20 s during a live migration: requests that
    need the store answer 503 with Nova's fault and Retry-After from both
    nodes within the store timeout; the migration keeps running; when the
    database is back both nodes serve again by themselves and the record
    ends truthful, carried out by the runner that had it."""
    uuid = guest["GUEST_UUID"]
    src = where(lab, uuid)
    dst = other(src)
    nodes.reconfigure(bandwidth=SLOW)
    try:
        mid = start_slow(nodes, uuid, dst)
        n_records = len(nodes.records(uuid))
        since = [len(nodes.node_log(n)) for n in (1, 2)]
        nodes.pg.stop()
        down = time.monotonic()
        slowest, n_503 = 0.0, 0
        try:
            while time.monotonic() - down < 20:
                for method, path, body in (
                        ("GET", "/servers/" + uuid, None),
                        ("POST", "/servers/%s/action" % uuid,
                         {"os-migrateLive": {"host": None,
                                             "block_migration": False}}),
                        ("GET", "/servers/%s/migrations" % uuid, None)):
                    t0 = time.monotonic()
                    r = nodes.call(method, path, mv="2.30", body=body)
                    took = time.monotonic() - t0
                    expect_503(r, took)
                    slowest, n_503 = max(slowest, took), n_503 + 1
                time.sleep(1)
            per_node = [sum(1 for _, _, s in nodes.requests_of(n, since[n - 1])
                            if s == "503") for n in (1, 2)]
            assert min(per_node) > 0, per_node
            # the migration went on without the store
            assert "Unbounded" in lab.virsh(src, "domjobinfo", uuid).stdout \
                or lab.state(dst, uuid) == "running"
        finally:
            nodes.pg.start()
        back = time.monotonic()
        say("two nodes: PostgreSQL down %.1f s: %d requests, all 503 with "
            "Retry-After (node1 %d, node2 %d), slowest %.2f s"
            % (back - down, n_503, per_node[0], per_node[1], slowest))
        since = [len(nodes.node_log(n)) for n in (1, 2)]

        def both_serve():
            nodes.call("GET", "/servers/" + uuid)
            return all(any(s == "200" for _, _, s in
                           nodes.requests_of(n, since[n - 1]))
                       for n in (1, 2))
        wait_for(both_serve, 30, step=0.2, what="both nodes to serve")
        say("two nodes: both serve again %.1f s after PostgreSQL restarted"
            % (time.monotonic() - back))
        lift_cap(lab, src, uuid)
        rec = wait_end(nodes, uuid, mid)
    finally:
        nodes.reconfigure()
    assert len(nodes.records(uuid)) == n_records, nodes.records(uuid)
    host = truthful(lab, nodes, guest, rec, src, dst)
    # its runner lived through the outage: no other runner took it over
    # (every heartbeat was old when the store came back)
    ran = who_ran(nodes, uuid, mid)
    assert "reconciling" not in ran and "lets go" not in ran, ran
    say("two nodes: after the outage migration %d %s%s (%s); guest on %s "
        "only, same boot" % (mid, rec["status"], " (%s)" % rec["error_reason"]
                             if rec["error_reason"] else "",
                             who_ran(nodes, uuid, mid, quote=True),
                             host))
