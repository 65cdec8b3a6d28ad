"""Cold migration (spec §5) in the lab: `migrate` shuts the guest down,
moves it and starts it on the other host (RESIZE, then VERIFY_RESIZE);
confirmResize keeps it there, revertResize brings it back.  Records show
in /os-migrations with Nova's status names."""
import pytest

from conftest import boots, say, ticks, wait_for


# The lab guest ignores ACPI shutdown: 2 s, not Nova's 60 (conftest).
pytestmark = pytest.mark.usefixtures("quick_shutdown")


def status_of(ferry, uuid):
    return ferry.server(uuid)["status"]


def os_migration(ferry, uuid):
    r = ferry.call("GET", "/os-migrations?instance_uuid=" + uuid, mv="2.23")
    assert r.status_code == 200
    return r.json()["migrations"][-1]


def test_cold_migration_confirm_of_a_running_guest(lab, ferry, guests):
    g = guests("cold-1")
    uuid = g["GUEST_UUID"]
    r = ferry.call("POST", "/servers/%s/action" % uuid, mv="2.56",
                   body={"migrate": {"host": "lab-b"}})
    assert r.status_code == 202 and r.content == b""
    assert status_of(ferry, uuid) == "RESIZE"
    wait_for(lambda: status_of(ferry, uuid) == "VERIFY_RESIZE", 180,
             what="VERIFY_RESIZE")
    s = ferry.server(uuid)
    assert s["OS-EXT-SRV-ATTR:host"] == "lab-b"
    assert lab.state("b", uuid) == "running"
    assert lab.state("a", uuid) == "shut off"     # kept for a revert
    rec = os_migration(ferry, uuid)
    assert rec["migration_type"] == "migration"
    assert rec["status"] == "finished"
    assert rec["dest_compute"] == "lab-b" and rec["source_compute"] == "lab-a"
    # a new boot on b: cold migration restarts the guest
    wait_for(lambda: len(boots(lab.console("cold-1", "b"))) == 1, 60,
             what="the guest to boot on b")
    r = ferry.call("POST", "/servers/%s/action" % uuid,
                   body={"confirmResize": None})
    assert r.status_code == 204, r.text
    wait_for(lambda: os_migration(ferry, uuid)["status"] == "confirmed",
             60, what="confirmed")
    assert status_of(ferry, uuid) == "ACTIVE"
    assert lab.state("a", uuid) is None
    assert lab.state("b", uuid) == "running"
    say("cold migration confirmed on lab-b")


def test_cold_migration_revert_of_a_local_disk_guest(lab, ferry, guests):
    g = guests("cold-2", storage="local")
    uuid = g["GUEST_UUID"]
    marker = ("FERRY-DISK " + g["GUEST_BOOT_ID"]).encode()
    r = ferry.call("POST", "/servers/%s/action" % uuid, body={"migrate": None})
    assert r.status_code == 202
    wait_for(lambda: status_of(ferry, uuid) == "VERIFY_RESIZE", 180,
             what="VERIFY_RESIZE")
    dst_disk = g["GUEST_DISK_ROOT"].replace(lab.env["LAB_LOCAL_A"],
                                            lab.env["LAB_LOCAL_B"])
    assert marker in open(dst_disk, "rb").read()     # the disk was copied
    assert ferry.server(uuid)["OS-EXT-SRV-ATTR:host"] == "lab-b"
    # not resized any more once reverted; a second confirm is refused
    r = ferry.call("POST", "/servers/%s/action" % uuid,
                   body={"revertResize": None})
    assert r.status_code == 202, r.text
    wait_for(lambda: os_migration(ferry, uuid)["status"] == "reverted", 120,
             what="reverted")
    s = ferry.server(uuid)
    assert s["status"] == "ACTIVE" and s["OS-EXT-SRV-ATTR:host"] == "lab-a"
    assert lab.state("a", uuid) == "running"
    assert lab.state("b", uuid) is None
    r = ferry.call("POST", "/servers/%s/action" % uuid,
                   body={"confirmResize": None})
    assert r.status_code == 409
    assert r.json()["conflictingRequest"]["message"] == (
        "Cannot 'confirmResize' instance %s while it is in vm_state active"
        % uuid)
    say("cold migration reverted to lab-a")


def test_cold_migration_refusals(lab, ferry, guests):
    g = guests("cold-3")
    uuid = g["GUEST_UUID"]
    r = ferry.call("POST", "/servers/%s/action" % uuid, mv="2.56",
                   body={"migrate": {"host": "lab-a"}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == (
        "Cannot migrate to the host where the server exists.")
    r = ferry.call("POST", "/servers/%s/action" % uuid, mv="2.56",
                   body={"migrate": {"host": "nowhere"}})
    assert r.json() == {"badRequest": {"code": 400, "message":
                        "Compute host nowhere could not be found."}}
    r = ferry.call("POST", "/servers/%s/action" % uuid,
                   body={"confirmResize": None})
    assert r.status_code == 409
    assert lab.state("a", uuid) == "running"
    assert ticks(lab.console("cold-3", "a"))
