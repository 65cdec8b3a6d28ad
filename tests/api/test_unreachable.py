"""Faults outside ferry (issue 16): a host that cannot be asked is not a
host without the server (item 1), and a store another process holds is
503, not 500 (item 3).

Item 1: while any host is unreachable, a server found on no reachable host
is 503 serviceUnavailable (it may be on the silent host), never 404; a
server found on a reachable host reads as usual.

The sandbox here has a fourth host whose libvirt URI points at a closed
loopback port (connection refused at once)."""
import pytest

import conftest
from conftest import NOSUCH, S, assert_fault

DOWN_HOST = ("\n[host host-down]\n"
             "uri = qemu+tcp://127.0.0.1:1/system\n"
             "migration_address = 127.0.0.1\n")


@pytest.fixture(scope="module")
def down():
    yield from conftest.run_sandbox("down", extra_config=DOWN_HOST)


def test_unknown_server_is_503_while_a_host_is_down(down):
    c = down.client(down.tokens["ops"])
    r = c.show(NOSUCH)
    assert_fault(r, 503, "serviceUnavailable",
                 "Compute service of host-down is unavailable at this time.")


def test_migrate_unknown_server_is_503_while_a_host_is_down(down):
    c = down.client(down.tokens["ops"])
    r = c.live(NOSUCH, {"host": None, "block_migration": "auto"},
               mv="2.30")
    assert r.status == 503, r
    assert down.migrations(NOSUCH) == []


def test_known_server_reads_while_a_host_is_down(down):
    c = down.client(down.tokens["ops"])
    r = c.show(S["web-1"])
    assert r.status == 200, r
    assert r.json()["server"]["id"] == S["web-1"]


def test_unknown_server_is_404_when_every_host_answers(api):
    r = api.show(NOSUCH)
    assert r.status == 404, r


# ---- a store another process holds locked (issue 16, item 3) ---------------

@pytest.fixture
def locked_store(sandbox):
    """The sandbox's store with its write lock held by another process (a
    sqlite3 shell, a backup) for the length of a test."""
    import sqlite3
    con = sqlite3.connect(str(sandbox.db), isolation_level=None, timeout=10)
    con.execute("BEGIN EXCLUSIVE")
    try:
        yield con
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_locked_store_is_503_within_the_store_timeout(sandbox, api, migs,
                                                      locked_store):
    """A POST that cannot write its record answers 503 serviceUnavailable
    with Retry-After after store_timeout (3 s), not 500 after 10 s, and
    records nothing."""
    import time
    uuid = migs.take()
    t0 = time.monotonic()
    r = api.live(uuid, {"host": None, "block_migration": "auto"},
                 mv="2.30")
    took = time.monotonic() - t0
    assert r.status == 503, r
    key, code, msg = r.fault()
    assert (key, code) == ("serviceUnavailable", 503)
    assert "database is locked" in msg, msg
    assert r.header("Retry-After") == "2"
    assert 2.5 < took < 6, took
    locked_store.execute("ROLLBACK")
    assert sandbox.migrations(uuid) == []
    # the lock gone, the same request is accepted
    locked_store.execute("BEGIN")
    locked_store.execute("ROLLBACK")
    r = api.live(uuid, {"host": None, "block_migration": "auto"},
                 mv="2.30")
    assert r.status == 202, r
    locked_store.execute("BEGIN EXCLUSIVE")     # for the fixture's ROLLBACK


def test_reads_go_on_while_the_store_is_locked(api, locked_store):
    """WAL: a locked writer does not stop readers."""
    r = api.show(S["web-1"])
    assert r.status == 200, r
