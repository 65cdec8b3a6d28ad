"""Issue 8: the server's fault after a failed cold migration (section 1)
and the record fields as Nova 26.2.2 fills them (section 3).

The sandbox runs no migration runner, so a runner's failure is written
into the store as a runner writes it (tests/lab covers real failures)."""
import re
import sqlite3
import time

from conftest import S, assert_fault

FE_BADREQ, FE_INTERNAL = 1, 9           # include/ferry/err.h
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Fault:
    """A fault row (and the record that ended with it) for one server,
    removed afterwards so the server is as before."""

    def __init__(self, sandbox, uuid, code, message, vm_error):
        self.db, self.uuid = str(sandbox.db), uuid
        now = int(time.time() * 1e6)
        with self.con() as con:
            cur = con.execute(
                "INSERT INTO migrations (uuid, instance_uuid,"
                " migration_type, status, source_compute, dest_compute,"
                " dest_host, created_at, updated_at, finished_at,"
                " error_reason) VALUES (?, ?, 'migration', 'error',"
                " 'host-a', 'host-b', '127.0.0.1', ?, ?, ?, ?)",
                ("f0000000-0000-4000-8000-%012d" % (now % 10 ** 12), uuid,
                 now, now, now, message))
            self.mid = cur.lastrowid
            con.execute("INSERT OR REPLACE INTO instance_faults"
                        " (instance_uuid, code, message, created_at,"
                        " vm_error, migration_id) VALUES (?, ?, ?, ?, ?, ?)",
                        (uuid, code, message, now, vm_error, self.mid))
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                     time.gmtime(now // 10 ** 6))

    def con(self):
        return sqlite3.connect(self.db, timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        with self.con() as con:
            con.execute("DELETE FROM instance_faults WHERE instance_uuid = ?",
                        (self.uuid,))
            con.execute("DELETE FROM migrations WHERE id = ?", (self.mid,))


def server(api, uuid, mv=None):
    r = api.show(uuid, mv=mv)
    assert r.status == 200, r
    return r.json()["server"]


def test_failed_cold_migration_shows_error_with_its_fault(api, sandbox):
    """Nova's _error_out_instance_on_exception: vm_state error, no task;
    views/servers.py _get_fault: {code, created, message} in ERROR."""
    uuid = S["myvm10"]
    msg = "disk copy: storage volume failed (\u00e9)"
    with Fault(sandbox, uuid, FE_INTERNAL, msg, 1) as f:
        for mv in (None, "2.56", "latest"):
            s = server(api, uuid, mv)
            assert s["status"] == "ERROR", s
            assert s["OS-EXT-STS:vm_state"] == "error"
            assert s["OS-EXT-STS:task_state"] is None
            assert s["fault"] == {"code": 500, "created": f.created,
                                  "message": msg}
            assert ISO_Z.match(s["fault"]["created"])
            keys = list(s)
            assert keys.index("fault") == keys.index("OS-DCF:diskConfig") + 1
            assert "progress" not in s
        r = api.get("/v2.1/servers/detail?all_tenants=1")
        (d,) = [x for x in r.json()["servers"] if x["id"] == uuid]
        assert d["status"] == "ERROR" and d["fault"]["message"] == msg
        # nothing moves a server in ERROR (Nova: check_instance_state)
        r = api.action(uuid, json_body={"migrate": None})
        assert_fault(r, 409, "conflictingRequest", "Cannot 'migrate' "
                     "instance %s while it is in vm_state error" % uuid)
        r = api.live(uuid, {"host": None, "block_migration": "auto"},
                     mv="2.30")
        assert_fault(r, 409, "conflictingRequest", "Cannot 'os-migrateLive' "
                     "instance %s while it is in vm_state error" % uuid)
    s = server(api, uuid)
    assert s["status"] == "ACTIVE" and "fault" not in s


def test_refused_cold_migration_keeps_vm_state_and_hides_fault(api,
                                                                 sandbox):
    """A refusal before the guest is touched (Nova: InstanceFaultRollback)
    leaves the vm_state; the fault is kept but shown only in ERROR."""
    uuid = S["myvm10"]
    msg = ("The supplied disk path (/var/lib/x.qcow2) already exists, it "
           "is expected not to exist.")
    with Fault(sandbox, uuid, FE_BADREQ, msg, 0):
        s = server(api, uuid, "latest")
        assert s["status"] == "ACTIVE", s
        assert s["OS-EXT-STS:vm_state"] == "active"
        assert "fault" not in s
    with Fault(sandbox, uuid, FE_BADREQ, msg, 1):
        assert server(api, uuid)["fault"]["code"] == 400


def os_migration(api, uuid):
    r = api.get("/v2.1/os-migrations?instance_uuid=%s" % uuid, mv="2.80")
    assert r.status == 200, r
    return r.json()["migrations"][0]     # newest first from 2.59


def test_refused_after_acceptance_keeps_what_nova_keeps(api, sandbox):
    """dest_compute after a refusal: the forced host stays (Nova's
    conductor live_migrate_instance records it from the request); a
    scheduler-validated host is never recorded (compute/api.py
    live_migrate sets host_name None when force is False).  dest_host
    stays null: Nova fills it only in a resource claim on the
    destination (resource_tracker._claim_existing_migration), which a
    live migration makes only for a NUMA guest."""
    uuid = S["dup-name-1"]              # on host-b; a refusal frees it
    r = api.live(uuid, {"host": "host-a", "block_migration": True,
                        "disk_over_commit": False}, mv="2.1")
    assert r.status == 400, r
    m = os_migration(api, uuid)
    assert m["status"] == "error"
    assert m["dest_compute"] == "host-a"
    assert m["dest_host"] is None
    r = api.live(uuid, {"host": "host-c", "block_migration": "auto"},
                 mv="2.30")
    assert r.status == 400, r
    m = os_migration(api, uuid)
    assert m["status"] == "error"
    assert m["dest_compute"] is None
    assert m["dest_host"] is None
    assert server(api, uuid)["status"] == "ACTIVE"
