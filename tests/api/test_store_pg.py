"""The PostgreSQL store (issue 13): what only a shared database can show.

On a throwaway cluster of its own (or the session's, when the suite runs
with FERRY_TEST_STORE=postgresql): the store's own checks on PostgreSQL
(tests/unit/test_db.c with FERRY_TEST_PG: concurrent opens upgrade once,
claims counted over every node and waiting for a claim in progress;
test_instances.c's host leases), two
ferryd nodes starting together on a new database (one upgrades), two
nodes behind their own nginx on one database (one migration per server
across them), a store URL's password in no error and no log, and the
database stopped: 503 with Nova's fault and Retry-After within the store
timeout, nothing written, service again when it is back.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import conftest
from conftest import (FERRYD, MIG, REPO, PgCluster, pg_bindir,
                      write_hosts_file)

SECRET = "Sekr1tPw-do-not-log"


@pytest.fixture(scope="module")
def pg():
    """The session's cluster, or one of this module's."""
    if conftest.PG is not None:
        yield conftest.PG
        return
    if not os.path.exists(os.path.join(pg_bindir() or "/nonexistent",
                                       "initdb")):
        pytest.skip("PostgreSQL's initdb not installed (tools/deps test)")
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.mark.parametrize("unit", ["test_db", "test_instances"])
def test_store_checks_on_postgresql(pg, unit):
    """The PostgreSQL part of tests/unit/test_db.c (opens, claims) and of
    test_instances.c (host leases), each on a new database."""
    subprocess.run(["make", "build/unit/" + unit], cwd=str(REPO),
                   check=True, capture_output=True, timeout=600)
    env = dict(os.environ, FERRY_TEST_PG=pg.url(pg.new_db()),
               ASAN_OPTIONS="detect_leaks=1")
    p = subprocess.run([str(REPO / "build" / "unit" / unit)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert " 0 failed" in p.stdout and " 0 passed" not in p.stdout


class Node:
    """A ferryd of its own (no nginx): config, socket, log."""

    def __init__(self, store, name, node_name=None):
        self.dir = Path(tempfile.mkdtemp(prefix="ferry-%s-" % name))
        self.hosts = self.dir / "hosts.conf"
        write_hosts_file(self.hosts)
        self.conf = self.dir / "ferry.conf"
        self.conf.write_text(
            "[ferryd]\nsocket = %s/ferryd.sock\nsocket_mode = 0600\n"
            "workers = 1\nrunners = 0\nstore = %s\npolicy = %s\n"
            "%sinclude = %s\n"
            % (self.dir, store, REPO / "policy" / "policy.json",
               "node_name = %s\n" % node_name if node_name else "",
               self.hosts))
        self.log = self.dir / "ferryd.log"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [str(FERRYD), "-c", str(self.conf)],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def up(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if (self.dir / "ferryd.sock").exists():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(str(self.dir), ignore_errors=True)

    def text(self):
        return self.log.read_text(errors="replace")


def test_two_nodes_starting_together_upgrade_once(pg):
    """Two nodes start at once on a new database: both serve, the schema
    is made once (one schema_version row, by one of them)."""
    db = pg.new_db()
    nodes = [Node(pg.url(db), "node%d" % i) for i in (1, 2)]
    try:
        for n in nodes:
            n.start()
        for n in nodes:
            assert n.up(), n.text()
        rows = pg.rows(db, "SELECT version, applied_by FROM schema_version")
        assert [r["version"] for r in rows] == [1], rows
        pids = {str(n.proc.pid) for n in nodes}
        assert rows[0]["applied_by"].split(" pid ")[1] in pids, rows
    finally:
        for n in nodes:
            n.stop()


HOSTS = ["host-a", "host-b", "host-c"]


def holders(pg, db):
    """{host: node} of the inventory leases."""
    return {r["host"]: r["node"] for r in
            pg.rows(db, "SELECT host, node FROM inventory_leases")}


def wait_holders(pg, db, want, timeout):
    """Seconds until every host's lease is held by node want."""
    t0 = time.monotonic()
    while holders(pg, db) != {h: want for h in HOSTS}:
        assert time.monotonic() - t0 < timeout, holders(pg, db)
        time.sleep(0.1)
    return time.monotonic() - t0


def test_each_host_kept_by_one_node_then_taken_over(pg):
    """Inventory leases: of two nodes on one store, one keeps each host
    and the other leaves it alone; a node stopped hands its hosts over at
    its successor's next lease round (3 s), a node killed with SIGKILL
    within its lease (12 s) and one round; the taker connects and syncs."""
    db = pg.new_db()
    n1 = Node(pg.url(db), "lease1", node_name="n1")
    n2 = Node(pg.url(db), "lease2", node_name="n2")
    try:
        n1.start()
        assert n1.up(), n1.text()
        wait_holders(pg, db, "n1", 10)
        n2.start()
        assert n2.up(), n2.text()
        time.sleep(3.5)  # a lease round of n2's: it takes nothing
        assert holders(pg, db) == {h: "n1" for h in HOSTS}
        assert "keeping it" not in n2.text()

        n1.stop()  # SIGTERM: its leases are released on the way out
        assert wait_holders(pg, db, "n2", 5) < 4.5

        n1 = Node(pg.url(db), "lease1", node_name="n1")
        n1.start()
        assert n1.up(), n1.text()
        t_kill = time.time() * 1e6
        n2.proc.kill()  # its children die with it; its leases stay
        n2.proc.wait(10)
        took = wait_holders(pg, db, "n1", 20)
        assert took < 16, took
        rows = pg.rows(db, "SELECT name, up, synced_at FROM"
                       " inventory_hosts")
        wait_until = time.monotonic() + 5
        while not all(r["up"] == 1 and r["synced_at"] > t_kill
                      for r in rows):
            assert time.monotonic() < wait_until, rows
            time.sleep(0.1)
            rows = pg.rows(db, "SELECT name, up, synced_at FROM"
                           " inventory_hosts")
        assert {r["name"] for r in rows} == set(HOSTS)
    finally:
        n1.stop()
        n2.stop()


@pytest.mark.parametrize("form", [
    "postgresql://ferry:%s@/%s?host=%s",
    "host=%s dbname=%s user=ferry password=%s",
])
def test_password_in_no_error_and_no_log(pg, form):
    """A store that cannot be opened (no such database): ferryd says so,
    naming the store with its password as ***, never the password."""
    if form.startswith("postgresql"):
        url = form % (SECRET, "no_such_db", pg.sock)
    else:
        url = form % (pg.sock, "no_such_db", SECRET)
    node = Node(url, "pw")
    try:
        node.start()
        node.proc.wait(30)
        out = node.text()
        assert node.proc.returncode != 0
        assert "no_such_db" in out and "password=***" in out \
            or "ferry:***@" in out, out
        assert SECRET not in out
        # ferryd -t (the config check) does not print it either
        p = subprocess.run([str(FERRYD), "-c", str(node.conf), "-t"],
                           capture_output=True, text=True, timeout=30)
        assert SECRET not in p.stdout + p.stderr
    finally:
        node.stop()


@pytest.fixture(scope="module")
def two_nodes(pg):
    """Two sandboxes (ferryd + nginx each) on one database."""
    db = pg.new_db()
    made = []
    try:
        for name in ("pg-node1", "pg-node2"):
            sb = conftest.make_sandbox(name)
            sb.pg, sb.pgdb = pg, db
            made.append(sb)
            sb.start()
        yield made, db
    finally:
        for sb in made:
            sb.stop()
            shutil.rmtree(str(sb.workdir), ignore_errors=True)


def test_one_migration_per_server_across_two_nodes(pg, two_nodes):
    """50 concurrent live migration requests for one server, spread over
    two nodes: exactly one 202, the others 409, one record."""
    (n1, n2), db = two_nodes
    uuid = MIG[-1]
    body = {"host": None, "block_migration": "auto"}
    clients = [n1.client(n1.tokens["ops"]), n2.client(n2.tokens["ops"])]
    # both nodes' inventories know the server
    for c in clients:
        deadline = time.time() + 20
        while c.show(uuid, mv="2.68").status != 200:
            assert time.time() < deadline
            time.sleep(0.1)
    got = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def post(i):
        start.wait()
        r = clients[i % 2].live(uuid, body, mv="2.68")
        with lock:
            got.append(r.status)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(got) == [202] + [409] * 49, got
    rows = pg.rows(db, "SELECT id FROM migrations WHERE instance_uuid = "
                   "'%s'" % uuid)
    assert len(rows) == 1



# ---- the database unreachable ------------------------------------------------

@pytest.fixture
def outage():
    """A sandbox on a cluster of its own, which the test may stop."""
    if not os.path.exists(os.path.join(pg_bindir() or "/nonexistent",
                                       "initdb")):
        pytest.skip("PostgreSQL's initdb not installed (tools/deps test)")
    cluster = PgCluster()
    sb = None
    try:
        cluster.start()
        sb = conftest.make_sandbox("pg-outage")
        sb.pg, sb.pgdb = cluster, cluster.new_db()
        sb.start()
        yield sb, cluster
    finally:
        if sb is not None:
            sb.stop()
            shutil.rmtree(str(sb.workdir), ignore_errors=True)
        cluster.remove()


def expect_503(r):
    assert r.status == 503, r
    key, code, msg = r.fault()
    assert (key, code) == ("serviceUnavailable", 503), r
    assert "store is unavailable" in msg, msg
    assert r.header("Retry-After") == "2", r


def test_database_down_is_503_then_service_resumes(outage):
    """PostgreSQL stopped: a read and a write answer 503 with Nova's fault
    and Retry-After within store_timeout, and record nothing; started
    again: the same requests are served, by the same processes."""
    sb, cluster = outage
    api = sb.client(sb.tokens["ops"])
    uuid = MIG[-2]
    body = {"host": None, "block_migration": "auto"}
    assert api.show(uuid).status == 200
    cluster.stop()
    for _ in range(2):              # the lost connection, then a new try
        t0 = time.monotonic()
        expect_503(api.show(uuid))
        expect_503(api.live(uuid, body, mv="2.68"))
        assert time.monotonic() - t0 < 8
    r = api.get("/healthz")
    assert r.status == 503, r
    cluster.start()
    deadline = time.time() + 15
    while api.show(uuid).status != 200:
        assert time.time() < deadline, "no recovery"
        time.sleep(0.2)
    assert sb.migrations(uuid) == []
    r = api.live(uuid, body, mv="2.68")
    assert r.status == 202, r
    assert len(sb.migrations(uuid)) == 1


def test_writer_lock_held_is_503_within_the_store_timeout(outage):
    """Another node's write transaction that does not end (the writer lock
    held): a POST answers 503 after store_timeout, records nothing, and is
    accepted once the lock is gone."""
    sb, cluster = outage
    api = sb.client(sb.tokens["ops"])
    uuid = MIG[-3]
    body = {"host": None, "block_migration": "auto"}
    holder = subprocess.Popen(
        [os.path.join(cluster.bindir, "psql"), "-X", "-q", "-h",
         cluster.sock, "-U", "ferry", "-d", sb.pgdb],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        holder.stdin.write("BEGIN; SELECT pg_advisory_xact_lock(%d);\n"
                           % 0x6665727279000001)
        holder.stdin.flush()
        time.sleep(0.5)
        t0 = time.monotonic()
        r = api.live(uuid, body, mv="2.68")
        took = time.monotonic() - t0
        expect_503(r)
        assert 2.5 < took < 6, took
        assert sb.migrations(uuid) == []
    finally:
        holder.stdin.write("ROLLBACK;\n\\q\n")
        holder.stdin.close()
        holder.wait(10)
    r = api.live(uuid, body, mv="2.68")
    assert r.status == 202, r
