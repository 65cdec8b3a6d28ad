"""DELETE /servers/{id}/migrations/{mid}: abort (spec 6.3, E11, 2.24+) and
POST /servers/{id}/migrations/{mid}/action {"force_complete": null}: force
complete (spec 6.4, E12, 2.22+): every row of both tables in its order,
the generic steps of 3.1 on these routes (action lookup, Content-Type,
project segment, version gate), the policy rules of 7, and what a 202
leaves in the store.

The sandbox runs no runner, so the API leaves the records as it made them:
"queued" after a sync (< 2.34) 202, "accepted" after an async one, "error"
after a refused sync pre-check.  A record "running" (or in any other
status) is written into the store, on servers of this module only.  A
queued or accepted record that no runner has claimed is cancelled by the
abort itself; any other accepted abort or force complete only sets
abort_requested / force_requested for the runner.

The rows the default policy makes unreachable (locked server and a
non-admin caller: 6.3 row 3, 6.4 row 4) and the never-launched rows (the
API cannot start a migration of fresh-1, so its record is written into the
store) run in a sandbox of this module with a policy that lets members
abort and force complete; the shared sandbox is not touched for them.

Other test files add records to the shared store, so every assertion is
about the servers and record ids of this module."""
import json
import sqlite3
import time
import uuid as uuidlib

import pytest

from conftest import (NOSUCH, REPO, S, assert_fault, assert_plain_404,
                      echo, expect_202, mvnum,
                      assert_request_id, assert_version_headers, run_sandbox)

WEB1 = S["web-1"]
LOCKED = S["locked-1"]
FRESH = S["fresh-1"]
FC = {"force_complete": None}

NOT_FOUND = "The resource could not be found."
POLICY_DELETE = ("Policy doesn't allow os_compute_api:servers:migrations:"
                 "delete to be performed.")
POLICY_FORCE = ("Policy doesn't allow os_compute_api:servers:migrations:"
                "force_complete to be performed.")
V = "Invalid input for field/attribute force_complete. Value: "

IN_PROGRESS = ("accepted", "queued", "preparing", "running",
               "running (post-copy)", "post-migrating")




# ---- messages ---------------------------------------------------------------

def m_instance_nf(ident):
    return "Instance %s could not be found." % ident


def m_abort_locked(ident):
    return ("Instance %s is in an invalid state for 'abort live migration'"
            % ident)


def m_force_locked(uuid):
    return "Instance %s is locked" % uuid


def m_abort_task(ident, task="None"):
    return ("Cannot 'abort live migration' instance %s while it is in "
            "task_state %s" % (ident, task))


def m_force_task(ident, task="None"):
    return ("Cannot 'force_complete' instance %s while it is in task_state "
            "%s" % (ident, task))


def m_force_vm(ident, vm_state):
    return ("Cannot 'force_complete' instance %s while it is in vm_state %s"
            % (ident, vm_state))


def m_abort_launched(ident):
    return ("Cannot 'abort live migration' instance %s while it is in "
            "launched_at None" % ident)


def m_force_launched(ident):
    return ("Cannot 'force_complete' instance %s while it is in launched_at "
            "None" % ident)


def m_mig_nf(mid, uuid):
    return "Migration %s not found for instance %s" % (mid, uuid)


def m_abort_state(mid, uuid, status):
    return ("Migration %s state of instance %s is %s. Cannot abort live "
            "migration while the migration is in this state."
            % (mid, uuid, status))


def m_force_state(mid, uuid, status):
    return ("Migration %s state of instance %s is %s. Cannot force complete "
            "while the migration is in this state." % (mid, uuid, status))


# ---- HTTP helpers -----------------------------------------------------------

def abort(c, server, mid, mv="2.24", prefix="/v2.1", **kw):
    return c.request("DELETE", "%s/servers/%s/migrations/%s"
                     % (prefix, server, mid), mv=mv, **kw)


def force(c, server, mid, mv="2.22", body=FC, raw=None, prefix="/v2.1",
          **kw):
    path = "%s/servers/%s/migrations/%s/action" % (prefix, server, mid)
    if raw is not None:
        return c.post(path, body=raw, mv=mv, **kw)
    return c.post(path, json_body=body, mv=mv, **kw)


def fault(r, status, key, message, mv):
    assert_fault(r, status, key, message)
    assert_version_headers(r, echo(mv))
    assert_request_id(r)




def show(c, uuid, mv="2.1"):
    r = c.show(uuid, mv=mv)
    assert r.status == 200, r
    return r.json()["server"]


def expect_migrating(api, uuid, vm_state="active"):
    s = show(api, uuid)
    assert s["status"] == "MIGRATING", s
    assert s["OS-EXT-STS:task_state"] == "migrating"
    assert s["OS-EXT-STS:vm_state"] == vm_state


# ---- the store --------------------------------------------------------------

def db_exec(sb, sql, args=()):
    con = sqlite3.connect(str(sb.db), timeout=10)
    try:
        with con:
            return con.execute(sql, args).lastrowid
    finally:
        con.close()


def rec(sb, mid):
    con = sqlite3.connect(str(sb.db), timeout=10)
    con.row_factory = sqlite3.Row
    try:
        row = con.execute("SELECT * FROM migrations WHERE id = ?",
                          (mid,)).fetchone()
        return dict(row) if row is not None else None
    finally:
        con.close()


def set_rec(sb, mid, **cols):
    db_exec(sb, "UPDATE migrations SET %s WHERE id = ?" %
            ", ".join("%s = ?" % k for k in cols),
            tuple(cols.values()) + (mid,))


def insert(sb, instance, status, mtype="live-migration", deleted=0,
           user="ops", project="p1"):
    """A record written into the store; returns its id."""
    now = int(time.time() * 1000000)
    return db_exec(
        sb,
        "INSERT INTO migrations (uuid, instance_uuid, migration_type,"
        " status, source_compute, source_node, dest_compute, dest_node,"
        " user_id, project_id, deleted, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (str(uuidlib.uuid4()), instance, mtype, status, "host-a", "host-a",
         "host-b", "host-b", user, project, deleted, now, now))


def new_record(sb, uuid, known):
    """The id of the one record of uuid not in known (an async record MAY
    appear just after the 202)."""
    deadline = time.time() + 3
    while True:
        got = [m for m in sb.migrations(uuid) if m["id"] not in known]
        if got or time.time() > deadline:
            break
        time.sleep(0.05)
    assert len(got) == 1, got
    return got[0]["id"]


BLOCK_21 = {"host": "host-b", "block_migration": True,
            "disk_over_commit": False}
LIVE_25 = {"host": "host-b", "block_migration": "auto"}


def start(api, sb, uuid, mv, body=LIVE_25):
    """A live migration through the API; returns the id of its record."""
    known = {m["id"] for m in sb.migrations(uuid)}
    r = api.live(uuid, body, mv=mv)
    assert r.status == 202, r
    mid = new_record(sb, uuid, known)
    assert rec(sb, mid)["status"] == ("queued" if mvnum(mv) < 34
                                      else "accepted")
    return mid


def flags(sb, mid):
    m = rec(sb, mid)
    return m["status"], m["abort_requested"], m["force_requested"]


class Recs:
    pass


@pytest.fixture(scope="module")
def recs(api, sandbox, migs, pmigs):
    """Q: an error record (refused sync pre-check), a queued one (2.30),
    and records of other types written into the store, plus a soft-deleted
    one.  A: accepted (2.68).  C: queued (2.30), the one that gets
    cancelled.  R: accepted (2.68), then "running" in the store.  T: a
    record whose status the tests rewrite, plus finished live migrations
    written into the store.  P: a PAUSED server, accepted then "running"."""
    R = Recs()
    R.Q, R.A, R.C, R.R, R.T = (migs.take() for _ in range(5))
    R.P = pmigs.take()

    r = api.live(R.Q, BLOCK_21, mv="2.1")
    assert_fault(r, 400, "badRequest", "host-a is not on local storage: "
                 "Block migration can not be used with shared storage.")
    (R.q_error,) = [m["id"] for m in sandbox.migrations(R.Q)]
    assert rec(sandbox, R.q_error)["status"] == "error"
    R.q_queued = start(api, sandbox, R.Q, "2.30")
    R.q_resize = insert(sandbox, R.Q, "confirmed", "resize")
    R.q_cold = insert(sandbox, R.Q, "failed", "migration")
    R.q_evac = insert(sandbox, R.Q, "done", "evacuation")
    R.q_deleted = insert(sandbox, R.Q, "completed", deleted=1)

    R.a_acc = start(api, sandbox, R.A, "2.68")
    R.c_queued = start(api, sandbox, R.C, "2.30")
    R.r_run = start(api, sandbox, R.R, "2.68")
    set_rec(sandbox, R.r_run, status="running")
    R.t_rec = start(api, sandbox, R.T, "2.68")
    R.t_done = {st: insert(sandbox, R.T, st)
                for st in ("completed", "failed", "cancelled", "error")}
    R.p_run = start(api, sandbox, R.P, "2.68")
    set_rec(sandbox, R.p_run, status="running")
    return R


# =============================================================================
# microversion gates (6.3 row 0, 6.4 row 0)
# =============================================================================

@pytest.mark.parametrize("mv", [None, "2.1", "2.22", "2.23"])
def test_abort_gate_below_2_24(api, as_, sandbox, recs, mv):
    before = flags(sandbox, recs.r_run)
    for r in (abort(api, recs.R, recs.r_run, mv=mv),
              abort(api, recs.C, recs.c_queued, mv=mv),
              # the gate comes before the lookup, the policy and the rest
              abort(api, NOSUCH, "1", mv=mv),
              abort(as_("member2"), recs.R, recs.r_run, mv=mv),
              abort(as_("member"), recs.R, recs.r_run, mv=mv),
              abort(api, WEB1, "abc", mv=mv)):
        fault(r, 404, "itemNotFound", NOT_FOUND, mv)
    assert flags(sandbox, recs.r_run) == before
    assert rec(sandbox, recs.c_queued)["status"] == "queued"


@pytest.mark.parametrize("mv", [None, "2.1", "2.21"])
def test_force_gate_below_2_22(api, as_, sandbox, recs, mv):
    before = flags(sandbox, recs.r_run)
    for r in (force(api, recs.R, recs.r_run, mv=mv),
              # the gate comes before the schema, lookup and policy
              force(api, recs.R, recs.r_run, mv=mv,
                    body={"force_complete": {}}),
              force(api, NOSUCH, "1", mv=mv),
              force(as_("member2"), recs.R, recs.r_run, mv=mv),
              force(as_("member"), recs.R, recs.r_run, mv=mv),
              force(api, recs.Q, recs.q_queued, mv=mv)):
        fault(r, 404, "itemNotFound", NOT_FOUND, mv)
    assert flags(sandbox, recs.r_run) == before


def test_gates_open(api):
    # 2.24 / 2.22 reach the handler: an unknown server is looked up
    for mv in ("2.24", "2.93", "latest"):
        fault(abort(api, NOSUCH, "1", mv=mv), 404, "itemNotFound",
              m_instance_nf(NOSUCH), mv)
    for mv in ("2.22", "2.23", "2.93", "latest"):
        fault(force(api, NOSUCH, "1", mv=mv), 404, "itemNotFound",
              m_instance_nf(NOSUCH), mv)


def test_version_string_errors_come_first(api):
    r = abort(api, WEB1, "1", mv="2.94")
    assert_fault(r, 406, "computeFault", "Version 2.94 is not supported by "
                 "the API. Minimum is 2.1 and maximum is 2.93.")
    assert_version_headers(r, "2.94")
    r = force(api, WEB1, "1", mv="2.x", body={"x": None})
    assert_fault(r, 400, "badRequest", "API Version String 2.x is of invalid "
                 "format. Must be of format MajorNum.MinorNum.")
    assert not r.has("OpenStack-API-Version")


# =============================================================================
# 3.1: route, Content-Type, action lookup, project segment
# =============================================================================

@pytest.mark.parametrize("method,tail", [
    ("PUT", "/migrations/1"), ("PATCH", "/migrations/1"),
    ("POST", "/migrations/1"), ("DELETE", "/migrations"),
    ("DELETE", "/migrations/"), ("DELETE", "/migrations/1/action"),
    ("GET", "/migrations/1/action"), ("PUT", "/migrations/1/action"),
    ("POST", "/migrations/1/action/x"), ("POST", "/migrations//action"),
    ("DELETE", "/migrations/1/x")])
def test_wrong_path_or_method_plain_404(api, method, tail):
    r = api.request(method, "/v2.1/servers/%s%s" % (WEB1, tail),
                    body="{}" if method != "GET" else None, mv="2.93")
    assert_plain_404(r)
    assert_request_id(r)


def test_415_before_the_gates(api):
    for mv in ("2.23", "2.24"):
        r = abort(api, WEB1, "1", mv=mv, content_type="application/xml")
        fault(r, 415, "badMediaType", "Unsupported Content-Type", mv)
    for mv in ("2.21", "2.22"):
        r = force(api, WEB1, "1", mv=mv, content_type="text/html")
        fault(r, 415, "badMediaType", "Unsupported Content-Type", mv)
    # the accepted types, parameters ignored
    for ct in ("application/json; charset=UTF-8", "text/plain",
               "application/vnd.openstack.compute+json", ""):
        fault(force(api, NOSUCH, "1", content_type=ct), 404, "itemNotFound",
              m_instance_nf(NOSUCH), "2.22")
        fault(abort(api, NOSUCH, "1", content_type=ct), 404, "itemNotFound",
              m_instance_nf(NOSUCH), "2.24")


MALFORMED = [b"", b"{", b"{}", b"[]", b"[1, 2]", b'""', b'"ab"',
             b'{"force_complete": null, "x": 1}',
             b'{"force_complete": null} x', b'\xef\xbb\xbf{"force_complete":'
             b' null}', b"\xff", b"nonsense"]
SCALARS = [b"[1]", b'["force_complete"]', b'"a"', b"1", b"null", b"true",
           b"false", b"-1.5", b"NaN"]
NO_SUCH = ["x", "os-migrateLive", "migrate", "FORCE_COMPLETE",
           "force-complete", "forceComplete", "force_complete ", "abort", ""]


@pytest.mark.parametrize("mv", ["2.21", "2.22", "2.93"])
def test_action_lookup(api, mv):
    """Step 6 of 3.1 runs before the version gate (2.21) and before the
    server lookup (NOSUCH)."""
    for body in MALFORMED:
        fault(force(api, NOSUCH, "1", mv=mv, raw=body), 400, "badRequest",
              "Malformed request body", mv)
    for body in SCALARS:
        fault(force(api, NOSUCH, "1", mv=mv, raw=body), 404, "itemNotFound",
              NOT_FOUND, mv)
    for key in NO_SUCH:
        for val in (None, {}):
            fault(force(api, NOSUCH, "1", mv=mv, body={key: val}), 400,
                  "badRequest", "There is no such action: %s" % key, mv)


def test_action_lookup_json_rules(api):
    # surrounding whitespace, a duplicate key (the last value wins)
    for raw in (b' \r\n{"force_complete": null}\t\n',
                b'{"force_complete": 1, "force_complete": null}',
                b'{"force_complete":null}'):
        fault(force(api, NOSUCH, "1", raw=raw), 404, "itemNotFound",
              m_instance_nf(NOSUCH), "2.22")
    fault(force(api, NOSUCH, "1",
                raw=b'{"force_complete": null, "force_complete": {}}'),
          400, "badRequest", V + "{}. {} is not of type 'null'", "2.22")


def test_force_complete_is_not_a_server_action(api, recs):
    """force_complete belongs to the migration's action route only, and
    os-migrateLive to the server's."""
    for server in (WEB1, recs.R):
        r = api.action(server, json_body=FC, mv="2.22")
        fault(r, 400, "badRequest",
              "There is no such action: force_complete", "2.22")
    r = force(api, recs.R, recs.r_run, body={"os-migrateLive": LIVE_25},
              mv="2.30")
    fault(r, 400, "badRequest", "There is no such action: os-migrateLive",
          "2.30")


def test_project_segment(api, as_, sandbox, recs):
    hexadmin = as_("hexadmin")            # project 0123abcd, admin
    seg = "/v2.1/0123abcd"
    fault(abort(hexadmin, recs.Q, "999999999", prefix=seg), 404,
          "itemNotFound", m_mig_nf("999999999", recs.Q), "2.24")
    fault(force(hexadmin, recs.Q, "999999999", prefix=seg), 400,
          "badRequest", m_mig_nf("999999999", recs.Q), "2.22")
    bad = ("Malformed request URL: URL's project_id '0123abcd' doesn't "
           "match Context's project_id 'p1'")
    # the project check comes after the action lookup, before the gate
    for mv in ("2.23", "2.24"):
        fault(abort(api, recs.R, recs.r_run, mv=mv, prefix=seg), 400,
              "badRequest", bad, mv)
    for mv in ("2.21", "2.22"):
        fault(force(api, recs.R, recs.r_run, mv=mv, prefix=seg), 400,
              "badRequest", bad, mv)
        fault(force(api, recs.R, recs.r_run, mv=mv, prefix=seg,
                    body={"x": None}), 400, "badRequest",
              "There is no such action: x", mv)
    assert flags(sandbox, recs.r_run)[0] == "running"


# =============================================================================
# 6.4 row 1: schema
# =============================================================================

SCHEMA = [
    ({}, "{}. {} is not of type 'null'"),
    ({"a": 1}, "{'a': 1}. {'a': 1} is not of type 'null'"),
    ([], "[]. [] is not of type 'null'"),
    ([None], "[None]. [None] is not of type 'null'"),
    (1, "1. 1 is not of type 'null'"),
    (0, "0. 0 is not of type 'null'"),
    (1.5, "1.5. 1.5 is not of type 'null'"),
    (True, "True. True is not of type 'null'"),
    (False, "False. False is not of type 'null'"),
    ("x", "x. 'x' is not of type 'null'"),
    ("", ". '' is not of type 'null'"),
    ("null", "null. 'null' is not of type 'null'"),
    ("it's", "it's. \"it's\" is not of type 'null'"),
]


@pytest.mark.parametrize("mv", ["2.22", "2.65", "latest"])
@pytest.mark.parametrize("i", range(len(SCHEMA)))
def test_force_schema(api, as_, sandbox, recs, mv, i):
    value, msg = SCHEMA[i]
    before = flags(sandbox, recs.r_run)
    # before the lookup, the policy and every state check
    for c, server, mid in ((api, NOSUCH, "1"), (api, recs.R, recs.r_run),
                           (as_("member"), recs.R, recs.r_run),
                           (as_("member2"), recs.R, recs.r_run),
                           (api, WEB1, "abc")):
        r = force(c, server, mid, mv=mv, body={"force_complete": value})
        fault(r, 400, "badRequest", V + msg, mv)
    assert flags(sandbox, recs.r_run) == before


# =============================================================================
# row 1 / row 2: the server is not visible
# =============================================================================

@pytest.mark.parametrize("server", [NOSUCH, NOSUCH.upper(), "nosuch", "1",
                                    S["web-b"][:-1] + "9"])
def test_unknown_server_404(api, server):
    for mv in ("2.24", "2.65", "2.93"):
        fault(abort(api, server, "1", mv=mv), 404, "itemNotFound",
              m_instance_nf(server), mv)
    for mv in ("2.22", "2.93"):
        fault(force(api, server, "1", mv=mv), 404, "itemNotFound",
              m_instance_nf(server), mv)


def test_server_of_another_project_404(as_, sandbox, recs):
    """The lookup comes before the policy: a member of p2 gets 404 for p1's
    servers, a member of p1 for p2's (other-1)."""
    before = flags(sandbox, recs.r_run)
    for c, server in ((as_("member2"), recs.R), (as_("member2"),
                                                 recs.R.upper()),
                      (as_("member2"), WEB1), (as_("member"), S["other-1"]),
                      (as_("hexmember"), recs.R)):
        fault(abort(c, server, recs.r_run), 404, "itemNotFound",
              m_instance_nf(server), "2.24")
        fault(force(c, server, recs.r_run, mv="2.93"), 404, "itemNotFound",
              m_instance_nf(server), "2.93")
    assert flags(sandbox, recs.r_run) == before


# =============================================================================
# row 2 / row 3: policy
# =============================================================================

@pytest.mark.parametrize("who", ["member", "reader", "noroles"])
def test_policy_403(as_, sandbox, recs, who):
    """Not admin: 403, after the lookup and before every state check (the
    running record of R would pass, web-1 is not migrating, locked-1 is
    locked, P is paused, fresh-1 was never launched)."""
    c = as_(who)
    before = flags(sandbox, recs.r_run)
    for server, mid in ((recs.R, recs.r_run), (recs.R.upper(), recs.r_run),
                        (WEB1, "1"), (LOCKED, "1"), (recs.P, recs.p_run),
                        (FRESH, "1"), (recs.Q, "999999999"),
                        (recs.A, recs.a_acc)):
        for mv in ("2.24", "2.65", "2.93"):
            fault(abort(c, server, mid, mv=mv), 403, "forbidden",
                  POLICY_DELETE, mv)
        for mv in ("2.22", "2.93"):
            fault(force(c, server, mid, mv=mv), 403, "forbidden",
                  POLICY_FORCE, mv)
    assert flags(sandbox, recs.r_run) == before


def test_admins_of_any_project_pass_the_policy(as_):
    """context_is_admin holds for the admin role in any project, in any
    case: these reach the task_state check of web-1."""
    for who in ("admin", "hexadmin", "caseadmin"):
        c = as_(who)
        fault(abort(c, WEB1, "1"), 409, "conflictingRequest",
              m_abort_task(WEB1), "2.24")
        fault(force(c, WEB1, "1"), 409, "conflictingRequest",
              m_force_task(WEB1), "2.22")


# =============================================================================
# state checks: vm_state (force only), task_state
# =============================================================================

@pytest.mark.parametrize("name,vm_state", [
    ("web-1", "active"), ("paused-1", "paused"), ("stopped-1", "stopped"),
    ("suspended-1", "suspended"), ("crashed-1", "error"),
    ("web-b", "active")])
def test_task_state_none(api, name, vm_state, recs):
    """6.3 row 4: any vm_state, task_state None.  6.4: vm_state (row 5)
    comes before task_state (row 6).  Both before the record lookup; <id>
    is the id as sent.  (locked-1 is left to the module's own sandbox:
    test_migrate_live.py migrates it in this one.)"""
    uuid = S[name]
    s = show(api, uuid)
    assert s["OS-EXT-STS:task_state"] is None, s
    assert s["OS-EXT-STS:vm_state"] == vm_state, s
    for ident in (uuid, uuid.upper()):
        for mid in ("1", "999999999", "abc", str(recs.q_queued)):
            for mv in ("2.24", "2.65", "2.93"):
                fault(abort(api, ident, mid, mv=mv), 409,
                      "conflictingRequest", m_abort_task(ident), mv)
            for mv in ("2.22", "2.93"):
                want = (m_force_task(ident) if vm_state == "active"
                        else m_force_vm(ident, vm_state))
                fault(force(api, ident, mid, mv=mv), 409,
                      "conflictingRequest", want, mv)


def test_force_paused_server_migrating(api, sandbox, recs):
    """6.4 row 5: a PAUSED server with a running migration cannot be
    force-completed (before the record lookup); 6.3 accepts any vm_state,
    so its abort is a 202."""
    P, mid = recs.P, recs.p_run
    expect_migrating(api, P, vm_state="paused")
    for ident in (P, P.upper()):
        for m in (mid, "999999999", recs.a_acc):
            for mv in ("2.22", "2.65", "2.93"):
                fault(force(api, ident, m, mv=mv), 409, "conflictingRequest",
                      m_force_vm(ident, "paused"), mv)
    assert flags(sandbox, mid) == ("running", 0, 0)
    r = abort(api, P, mid, mv="2.24")
    expect_202(r, "2.24")
    assert flags(sandbox, mid) == ("running", 1, 0)
    expect_migrating(api, P, vm_state="paused")


# =============================================================================
# row 6 / row 8: no such record for this server
# =============================================================================

def test_no_such_record(api, recs):
    Q = recs.Q
    others = [recs.a_acc, recs.r_run, recs.p_run, recs.t_rec]
    for ident in (Q, Q.upper()):
        for mid in ["999999999", "abc", "0", "-1", "1.0", "%d.0" %
                    recs.q_queued, "%dx" % recs.q_queued,
                    str(recs.q_deleted)] + [str(m) for m in others]:
            for mv in ("2.24", "2.64", "2.65", "2.93"):
                fault(abort(api, ident, mid, mv=mv), 404, "itemNotFound",
                      m_mig_nf(mid, Q), mv)
            for mv in ("2.22", "2.93"):
                fault(force(api, ident, mid, mv=mv), 400, "badRequest",
                      m_mig_nf(mid, Q), mv)


# =============================================================================
# row 7 / row 9: the record's status
# =============================================================================

def test_abort_status_not_allowed(api, sandbox, recs):
    Q, A = recs.Q, recs.A
    cases = [
        # (server, mid, status, microversions)
        (A, recs.a_acc, "accepted", ("2.24", "2.64", "2.65", "2.93")),
        (Q, recs.q_queued, "queued", ("2.24", "2.25", "2.64")),
        (Q, recs.q_error, "error", ("2.24", "2.64", "2.65", "2.93")),
        # a record of any type is found (6.3 row 6), then refused here
        (Q, recs.q_resize, "confirmed", ("2.24", "2.65")),
        (Q, recs.q_cold, "failed", ("2.24", "2.65")),
        (Q, recs.q_evac, "done", ("2.24", "2.93")),
    ]
    for server, mid, status, mvs_ in cases:
        for ident in (server, server.upper()):
            for mv in mvs_:
                fault(abort(api, ident, mid, mv=mv), 400, "badRequest",
                      m_abort_state(mid, server, status), mv)
        assert flags(sandbox, mid) == (status, 0, 0)
    expect_migrating(api, A)
    expect_migrating(api, Q)


def test_force_status_not_running(api, sandbox, recs):
    Q, A = recs.Q, recs.A
    cases = [
        (A, recs.a_acc, "accepted"), (Q, recs.q_queued, "queued"),
        (Q, recs.q_error, "error"), (Q, recs.q_resize, "confirmed"),
        (Q, recs.q_cold, "failed"), (Q, recs.q_evac, "done")]
    for server, mid, status in cases:
        for ident in (server, server.upper()):
            for mv in ("2.22", "2.65", "2.93"):
                fault(force(api, ident, mid, mv=mv), 400, "badRequest",
                      m_force_state(mid, server, status), mv)
        assert flags(sandbox, mid) == (status, 0, 0)


@pytest.mark.parametrize("status", IN_PROGRESS)
def test_status_matrix(api, sandbox, recs, status):
    """T's record in every in-progress status (so that the server stays
    MIGRATING): abort passes for running at every microversion and for
    queued/preparing from 2.65; force complete only for running.  A
    queued record held by a runner (claimed_by) is not cancelled at once:
    the abort is a request to the runner, like for preparing and
    running."""
    T, mid = recs.T, recs.t_rec
    try:
        set_rec(sandbox, mid, status=status, abort_requested=0,
                force_requested=0, claimed_by=4242)
        expect_migrating(api, T)
        for mv in ("2.24", "2.64", "2.65", "2.93"):
            ok = status == "running" or (
                mvnum(mv) >= 65 and status in ("queued", "preparing"))
            r = abort(api, T, mid, mv=mv)
            if ok:
                expect_202(r, mv)
                assert flags(sandbox, mid) == (status, 1, 0), mv
                set_rec(sandbox, mid, abort_requested=0)
            else:
                fault(r, 400, "badRequest", m_abort_state(mid, T, status),
                      mv)
                assert flags(sandbox, mid) == (status, 0, 0), mv
        for mv in ("2.22", "2.64", "2.65", "2.93"):
            r = force(api, T, mid, mv=mv)
            if status == "running":
                expect_202(r, mv)
                assert flags(sandbox, mid) == (status, 0, 1), mv
                set_rec(sandbox, mid, force_requested=0)
            else:
                fault(r, 400, "badRequest", m_force_state(mid, T, status),
                      mv)
                assert flags(sandbox, mid) == (status, 0, 0), mv
        expect_migrating(api, T)
        # the finished live migrations of the same server
        for st, old in recs.t_done.items():
            for mv in ("2.24", "2.65"):
                fault(abort(api, T, old, mv=mv), 400, "badRequest",
                      m_abort_state(old, T, st), mv)
            fault(force(api, T, old), 400, "badRequest",
                  m_force_state(old, T, st), "2.22")
            assert flags(sandbox, old) == (st, 0, 0)
    finally:
        set_rec(sandbox, mid, status="accepted", abort_requested=0,
                force_requested=0, claimed_by=None)


# =============================================================================
# success
# =============================================================================

def test_abort_running_202(api, as_, sandbox, recs):
    R, mid = recs.R, recs.r_run
    force_before = rec(sandbox, mid)["force_requested"]
    expect_migrating(api, R)
    r = abort(api, R, mid, mv="2.24")
    expect_202(r, "2.24")
    m = rec(sandbox, mid)
    assert (m["status"], m["abort_requested"]) == ("running", 1), m
    assert m["force_requested"] == force_before
    # the runner does the rest: the server stays MIGRATING meanwhile, and
    # E9 still lists the record
    expect_migrating(api, R)
    r = api.get("/v2.1/servers/%s/migrations" % R, mv="2.23")
    assert [x["id"] for x in r.json()["migrations"]] == [mid]
    # again, with the id in upper case, at other microversions, by an
    # admin of another project
    expect_202(abort(api, R.upper(), mid, mv="2.65"), "2.65")
    expect_202(abort(api, R, str(mid), mv="latest"), "latest")
    expect_202(abort(as_("hexadmin"), R, mid, mv="2.80"), "2.80")
    expect_202(abort(as_("caseadmin"), R, mid, mv="2.93"), "2.93")
    assert flags(sandbox, mid)[:2] == ("running", 1)


def test_force_complete_running_202(api, as_, sandbox, recs):
    R, mid = recs.R, recs.r_run
    abort_before = rec(sandbox, mid)["abort_requested"]
    r = force(api, R, mid, mv="2.22")
    expect_202(r, "2.22")
    m = rec(sandbox, mid)
    assert (m["status"], m["force_requested"]) == ("running", 1), m
    assert m["abort_requested"] == abort_before
    expect_migrating(api, R)
    expect_202(force(api, R.upper(), mid, mv="2.93"), "2.93")
    expect_202(force(api, R, mid, mv="latest"), "latest")
    expect_202(force(as_("hexadmin"), R, mid, mv="2.24",
                     prefix="/v2.1/0123abcd"), "2.24")
    expect_202(force(as_("admin"), R, mid, mv="2.30",
                     raw=b' {"force_complete" : null} '), "2.30")
    assert flags(sandbox, mid)[0::2] == ("running", 1)


def test_abort_queued_cancels_at_once(api, sandbox, recs):
    """From 2.65 the abort of a queued record that no runner holds cancels
    it in the request: the record is cancelled, the server leaves
    MIGRATING (task_state null, ACTIVE)."""
    C, mid = recs.C, recs.c_queued
    expect_migrating(api, C)
    fault(abort(api, C, mid, mv="2.64"), 400, "badRequest",
          m_abort_state(mid, C, "queued"), "2.64")
    assert flags(sandbox, mid) == ("queued", 0, 0)
    t0 = int(time.time() * 1000000) - 1000000
    r = abort(api, C, mid, mv="2.65")
    expect_202(r, "2.65")
    m = rec(sandbox, mid)
    assert (m["status"], m["abort_requested"], m["force_requested"]) == \
        ("cancelled", 1, 0), m
    assert m["updated_at"] >= t0
    for mv in ("2.1", "2.93"):
        s = show(api, C, mv=mv)
        assert s["status"] == "ACTIVE", s
        assert s["OS-EXT-STS:task_state"] is None
        assert s["OS-EXT-STS:vm_state"] == "active"
        assert s["OS-EXT-SRV-ATTR:host"] == "host-a"
    # E9 no longer lists it; E10 and /os-migrations show it cancelled
    r = api.get("/v2.1/servers/%s/migrations" % C, mv="2.23")
    assert r.json() == {"migrations": []}
    r = api.get("/v2.1/servers/%s/migrations/%d" % (C, mid), mv="2.23")
    assert_fault(r, 404, "itemNotFound", "Live migration %d for server %s "
                 "is not in progress." % (mid, C))
    r = api.get("/v2.1/os-migrations?instance_uuid=%s" % C, mv="2.80")
    assert [(x["id"], x["status"]) for x in r.json()["migrations"]] == \
        [(mid, "cancelled")]
    # the server is no longer migrating: row 4 / row 6
    fault(abort(api, C, mid, mv="2.65"), 409, "conflictingRequest",
          m_abort_task(C), "2.65")
    fault(force(api, C, mid), 409, "conflictingRequest", m_force_task(C),
          "2.22")
    assert flags(sandbox, mid) == ("cancelled", 1, 0)

    # the server can migrate again; the next queued record is cancelled
    # at the latest microversion, with the id in upper case
    mid2 = start(api, sandbox, C, "2.30")
    expect_migrating(api, C)
    fault(abort(api, C, mid, mv="2.93"), 400, "badRequest",
          m_abort_state(mid, C, "cancelled"), "2.93")
    fault(force(api, C, mid), 400, "badRequest",
          m_force_state(mid, C, "cancelled"), "2.22")
    fault(force(api, C, mid2), 400, "badRequest",
          m_force_state(mid2, C, "queued"), "2.22")
    expect_202(abort(api, C.upper(), mid2, mv="latest"), "latest")
    assert flags(sandbox, mid2) == ("cancelled", 1, 0)
    assert show(api, C)["status"] == "ACTIVE"

    # an accepted record (async request) is refused at every microversion
    mid3 = start(api, sandbox, C, "2.68")
    for mv in ("2.65", "2.93"):
        fault(abort(api, C, mid3, mv=mv), 400, "badRequest",
              m_abort_state(mid3, C, "accepted"), mv)
    assert flags(sandbox, mid3) == ("accepted", 0, 0)
    expect_migrating(api, C)


# =============================================================================
# a sandbox with a policy that lets members abort and force complete:
# the locked rows (6.3 row 3, 6.4 row 4) and the never-launched rows
# =============================================================================

@pytest.fixture(scope="module")
def msb(tmp_path_factory):
    rules = json.loads((REPO / "policy" / "policy.json").read_text())
    for rule in ("delete", "force_complete"):
        rules["os_compute_api:servers:migrations:" + rule] = \
            "rule:context_is_admin or role:member"
    path = tmp_path_factory.mktemp("policy-af") / "policy.json"
    path.write_text(json.dumps(rules, indent=1))
    yield from run_sandbox("abortforce", policy=path)


def cl(sb, who):
    return sb.client(sb.tokens[who])


def test_locked_non_admin(msb):
    member = cl(msb, "member")
    # not migrating: the lock comes before the task_state
    for ident in (LOCKED, LOCKED.upper()):
        for mid in ("1", "abc"):
            for mv in ("2.24", "2.65", "2.93"):
                fault(abort(member, ident, mid, mv=mv), 409,
                      "conflictingRequest", m_abort_locked(ident), mv)
            for mv in ("2.22", "2.93"):
                fault(force(member, ident, mid, mv=mv), 409,
                      "conflictingRequest", m_force_locked(LOCKED), mv)
    # the schema still comes first, the lookup before the lock
    fault(force(member, LOCKED, "1", body={"force_complete": {}}), 400,
          "badRequest", V + "{}. {} is not of type 'null'", "2.22")
    fault(abort(cl(msb, "member2"), LOCKED, "1"), 404, "itemNotFound",
          m_instance_nf(LOCKED), "2.24")
    fault(force(cl(msb, "member2"), LOCKED, "1"), 404, "itemNotFound",
          m_instance_nf(LOCKED), "2.22")
    # a role the policy does not name
    fault(abort(cl(msb, "reader"), LOCKED, "1"), 403, "forbidden",
          POLICY_DELETE, "2.24")
    fault(force(cl(msb, "reader"), LOCKED, "1"), 403, "forbidden",
          POLICY_FORCE, "2.22")
    # the admin passes the lock
    fault(abort(cl(msb, "ops"), LOCKED, "1"), 409, "conflictingRequest",
          m_abort_task(LOCKED), "2.24")
    fault(force(cl(msb, "ops"), LOCKED, "1"), 409, "conflictingRequest",
          m_force_task(LOCKED), "2.22")


def test_locked_migrating(msb):
    """locked-1 with a running migration: still 409 for the member, 202 for
    admins of any project."""
    mid = insert(msb, LOCKED, "running")
    try:
        expect_migrating(cl(msb, "ops"), LOCKED)
        member = cl(msb, "member")
        for m in (mid, "999999999"):
            fault(abort(member, LOCKED.upper(), m, mv="2.65"), 409,
                  "conflictingRequest", m_abort_locked(LOCKED.upper()),
                  "2.65")
            fault(force(member, LOCKED.upper(), m), 409,
                  "conflictingRequest", m_force_locked(LOCKED), "2.22")
        assert flags(msb, mid) == ("running", 0, 0)
        expect_202(force(cl(msb, "caseadmin"), LOCKED, mid), "2.22")
        assert flags(msb, mid) == ("running", 0, 1)
        expect_202(abort(cl(msb, "hexadmin"), LOCKED, mid), "2.24")
        assert flags(msb, mid) == ("running", 1, 1)
    finally:
        set_rec(msb, mid, status="failed")


def test_non_admin_member_202(msb):
    """With the policy passed, a member of the owning project aborts and
    force-completes an unlocked server's running migration."""
    mid = insert(msb, WEB1, "running")
    try:
        member = cl(msb, "member")
        expect_202(force(member, WEB1, mid, mv="2.93"), "2.93")
        assert flags(msb, mid) == ("running", 0, 1)
        expect_202(abort(member, WEB1, mid, mv="2.24"), "2.24")
        assert flags(msb, mid) == ("running", 1, 1)
        fault(force(member, WEB1, "999999999"), 400, "badRequest",
              m_mig_nf("999999999", WEB1), "2.22")
        # a queued one that nobody holds is cancelled at once
        set_rec(msb, mid, status="failed")
        q = insert(msb, WEB1, "queued")
        expect_202(abort(member, WEB1, q, mv="2.65"), "2.65")
        assert flags(msb, q) == ("cancelled", 1, 0)
        assert show(member, WEB1)["status"] == "ACTIVE"
    finally:
        set_rec(msb, mid, status="failed")


def test_never_launched(msb):
    """fresh-1 has no launched_at.  The API cannot start a migration of it
    (4.3 row 14), so a running record is written into the store: then
    6.3 row 5 and 6.4 row 7 answer, after the task_state and before the
    record lookup.  Without the record the task_state answers first."""
    ops = cl(msb, "ops")
    s = show(ops, FRESH)
    assert s["OS-SRV-USG:launched_at"] is None, s
    assert s["OS-EXT-STS:vm_state"] == "active"
    fault(abort(ops, FRESH, "1"), 409, "conflictingRequest",
          m_abort_task(FRESH), "2.24")
    fault(force(ops, FRESH, "1"), 409, "conflictingRequest",
          m_force_task(FRESH), "2.22")
    mid = insert(msb, FRESH, "running")
    try:
        expect_migrating(ops, FRESH)
        for c in (ops, cl(msb, "member")):
            for ident in (FRESH, FRESH.upper()):
                for m in (mid, "999999999"):
                    for mv in ("2.24", "2.65", "2.93"):
                        fault(abort(c, ident, m, mv=mv), 409,
                              "conflictingRequest", m_abort_launched(ident),
                              mv)
                    for mv in ("2.22", "2.93"):
                        fault(force(c, ident, m, mv=mv), 409,
                              "conflictingRequest", m_force_launched(ident),
                              mv)
        assert flags(msb, mid) == ("running", 0, 0)
    finally:
        set_rec(msb, mid, status="failed")
    assert show(ops, FRESH)["OS-EXT-STS:task_state"] is None


@pytest.mark.parametrize("status", ["pre-migrating", "migrating",
                                    "post-migrating", "finished",
                                    "confirming", "reverting"])
def test_cold_migration_in_progress(msb, status):
    """A cold migration (spec 5.3) holds the server in Nova's resize states:
    its task_state is not migrating, or its vm_state is resized.  Abort
    answers row 4 with the task_state shown; force complete answers row 5
    (vm_state resized) or row 6.  Both come before the record lookup, so
    the cold record itself gets the same answer."""
    ops = cl(msb, "ops")
    uuid = S["vm1"]
    mid = insert(msb, uuid, status, "migration")
    try:
        s = show(ops, uuid)
        vm, task = s["OS-EXT-STS:vm_state"], s["OS-EXT-STS:task_state"]
        assert task != "migrating", s
        if status == "pre-migrating":
            assert (vm, task, s["status"]) == ("active", "resize_prep",
                                               "RESIZE"), s
        if status == "finished":
            assert (vm, task, s["status"]) == ("resized", None,
                                               "VERIFY_RESIZE"), s
        for ident in (uuid, uuid.upper()):
            for m in (mid, "999999999"):
                for mv in ("2.24", "2.65", "2.93"):
                    fault(abort(ops, ident, m, mv=mv), 409,
                          "conflictingRequest",
                          m_abort_task(ident, task or "None"), mv)
                for mv in ("2.22", "2.93"):
                    want = (m_force_task(ident, task or "None")
                            if vm == "active" else m_force_vm(ident, vm))
                    fault(force(ops, ident, m, mv=mv), 409,
                          "conflictingRequest", want, mv)
        assert flags(msb, mid) == (status, 0, 0)
    finally:
        set_rec(msb, mid, status="error")
    assert show(ops, uuid)["status"] == "ACTIVE"


@pytest.mark.parametrize("act", ["confirmResize", "revertResize"])
def test_resize_actions_check_the_task_state(msb, act):
    """confirm_resize and revert_resize carry check_instance_state's
    defaults in Nova (nova/compute/api.py): a resized server with a task
    (a revert in progress: resize_reverting) is refused 409 by its task
    state before any migration record is looked for."""
    ops = cl(msb, "ops")
    uuid = S["vm1"]
    mid = insert(msb, uuid, "reverting", "migration")
    try:
        s = show(ops, uuid)
        assert (s["OS-EXT-STS:vm_state"], s["OS-EXT-STS:task_state"]) == (
            "resized", "resize_reverting"), s
        for ident in (uuid, uuid.upper()):
            r = ops.action(ident, json_body={act: None})
            assert_fault(r, 409, "conflictingRequest",
                         "Cannot '%s' instance %s while it is in task_state "
                         "resize_reverting" % (act, ident))
        assert flags(msb, mid) == ("reverting", 0, 0)
    finally:
        set_rec(msb, mid, status="error")
