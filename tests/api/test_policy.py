"""A sandbox of its own with a non-default policy (spec 7): the checks that
the default policy makes unreachable for non-admins (4.3 row 11, the 403
of 1.5 step 2), a rule absent from the file, and the requester recorded
for a non-admin migration."""
import json

import pytest

from conftest import (REPO, S, assert_fault, assert_version_headers,
                      run_sandbox)

WEB1 = S["web-1"]
LOCKED = S["locked-1"]


@pytest.fixture(scope="module")
def psb(tmp_path_factory):
    rules = json.loads((REPO / "policy" / "policy.json").read_text())
    rules["os_compute_api:os-migrate-server:migrate_live"] = \
        "rule:context_is_admin or role:member"
    rules["os_compute_api:servers:show"] = "role:admin or role:reader"
    rules["os_compute_api:os-extended-server-attributes"] = "role:reader"
    del rules["os_compute_api:servers:detail"]
    path = tmp_path_factory.mktemp("policy") / "policy.json"
    path.write_text(json.dumps(rules, indent=1))
    yield from run_sandbox("policy", policy=path)


def c(psb, who):
    return psb.client(psb.tokens[who])


def live(client, uuid, mv, host="host-b"):
    body = ({"host": host, "block_migration": False,
             "disk_over_commit": False} if mv == "2.1"
            else {"host": host, "block_migration": "auto"})
    return client.live(uuid, body, mv=mv)


@pytest.mark.parametrize("mv", ["2.1", "2.68"])
@pytest.mark.parametrize("host", ["host-b", "nosuch"])
def test_row11_locked_non_admin(psb, mv, host):
    for ident in (LOCKED, LOCKED.upper()):
        r = live(c(psb, "member"), ident, mv, host)
        assert_fault(r, 409, "conflictingRequest",
                     "Instance %s is locked" % LOCKED)
        assert_version_headers(r, mv)


def test_row9_before_row11_and_policy_passes(psb):
    r = live(c(psb, "member"), S["tpm-1"], "2.68")
    assert_fault(r, 400, "badRequest", "Operation 'live-migration' not "
                 "supported for vTPM-enabled instance (%s)." % S["tpm-1"])


def test_lookup_before_policy(psb):
    r = live(c(psb, "member"), S["other-1"], "2.68")
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % S["other-1"])


def test_reader_still_denied(psb):
    r = live(c(psb, "reader"), S["web-b"], "2.68")
    assert_fault(r, 403, "forbidden", "Policy doesn't allow os_compute_api:"
                 "os-migrate-server:migrate_live to be performed.")


@pytest.mark.parametrize("who,uuid,user,project", [
    ("member", WEB1, "u1", "p1"), ("member2", S["other-1"], "u2", "p2")])
def test_non_admin_migration_records_the_requester(psb, who, uuid, user,
                                                   project):
    r = live(c(psb, who), uuid, "2.68")
    assert r.status == 202, r
    assert r.body == b""
    (m,) = psb.migrations(uuid)
    assert (m["user_id"], m["project_id"]) == (user, project)
    assert m["status"] == "accepted"
    s = c(psb, "ops").show(uuid).json()["server"]
    assert s["status"] == "MIGRATING"
    r = live(c(psb, who), uuid, "2.68")
    assert_fault(r, 409, "conflictingRequest",
                 "Cannot 'os-migrateLive' instance %s while it is in "
                 "task_state migrating" % uuid)


def test_show_policy_403_after_lookup(psb):
    r = c(psb, "member").show(WEB1)
    assert_fault(r, 403, "forbidden", "Policy doesn't allow os_compute_api:"
                 "servers:show to be performed.")
    assert_version_headers(r, "2.1")
    # an invisible server is still 404, not 403
    r = c(psb, "member").show(S["other-1"])
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % S["other-1"])
    assert c(psb, "reader").show(WEB1).status == 200


def test_absent_rule_denies_even_admins(psb):
    r = c(psb, "ops").get("/v2.1/servers/detail")
    assert_fault(r, 403, "forbidden", "Policy doesn't allow os_compute_api:"
                 "servers:detail to be performed.")
    assert c(psb, "ops").get("/v2.1/servers").status == 200


def test_extended_attributes_follow_their_policy(psb):
    srv = c(psb, "reader").show(S["web-b"], mv="2.3").json()["server"]
    assert srv["OS-EXT-SRV-ATTR:host"] == "host-b"
    assert "OS-EXT-SRV-ATTR:launch_index" in srv
    assert "host_status" not in c(psb, "reader").show(
        S["web-b"], mv="2.16").json()["server"]
    srv = c(psb, "ops").show(S["web-b"], mv="2.16").json()["server"]
    assert not [k for k in srv if k.startswith("OS-EXT-SRV-ATTR:")]
    assert srv["host_status"] == "UP"
