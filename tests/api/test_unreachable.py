"""A host that cannot be asked is not a host without the server (issue 16,
item 1): while any host is unreachable, a server found on no reachable host
is 503 serviceUnavailable (it may be on the silent host), never 404; a
server found on a reachable host reads as usual.

The sandbox here has a fourth host whose libvirt URI points at a closed
loopback port (connection refused at once)."""
import shutil

import pytest

import conftest
from conftest import NOSUCH, S, assert_fault

DOWN_HOST = ("\n[host host-down]\n"
             "uri = qemu+tcp://127.0.0.1:1/system\n"
             "migration_address = 127.0.0.1\n")


@pytest.fixture(scope="module")
def down():
    sb = conftest.make_sandbox("down")
    plain = conftest.write_hosts_file

    def with_down_host(path):
        plain(path)
        with open(path, "a") as f:
            f.write(DOWN_HOST)
    conftest.write_hosts_file = with_down_host
    try:
        sb.start()
    finally:
        conftest.write_hosts_file = plain
    try:
        yield sb
    finally:
        sb.stop()
        shutil.rmtree(sb.workdir, ignore_errors=True)


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
