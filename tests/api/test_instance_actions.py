"""GET /servers/{id}/os-instance-actions[/{request_id}] (issue 8 section 2)
as Nova 26.2.2 serves them (nova/api/openstack/compute/
instance_actions.py), and the actions ferry's API starts.

The module runs its own sandbox (no runner): an action exists as soon as
the API has accepted the request, with no events yet, except where the
request itself does the work: the prechecks of a sync (< 2.34) live
migration (the conductor's migrate_server event) and the abort of a record
no runner holds (the source compute's live_migration_abort event).  A
second sandbox with a stricter policy checks the 403s."""
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import uuid as uuidlib

import pytest

from conftest import (MIG, NOSUCH, S, assert_fault, assert_request_id,
                      assert_version_headers, run_sandbox)

WEB1 = S["web-1"]
BLOCK_21 = {"host": "host-b", "block_migration": True,
            "disk_over_commit": False}
SHARED_21 = {"host": "host-b", "block_migration": False,
             "disk_over_commit": False}
LIVE_25 = {"host": "host-b", "block_migration": "auto"}
REFUSED = ("host-a is not on local storage: Block migration can not be "
           "used with shared storage.")
QP = "Invalid input for query parameters "
ACTION_KEYS = {"action", "instance_uuid", "request_id", "user_id",
               "project_id", "start_time", "message"}
EVENT_KEYS = {"event", "start_time", "finish_time", "result"}
CONDUCTOR = socket.gethostname()
TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$"


def mvi(mv):
    return int(mv.split(".")[1])


def hostid(project, host):
    """nova/utils.py generate_hostid."""
    return hashlib.sha224((project + host).encode()).hexdigest()


@pytest.fixture(scope="module")
def sb():
    yield from run_sandbox("actions")


def cl(sb, who="ops"):
    return sb.client(sb.tokens[who])


def lst(c, uuid, mv="2.1", query=""):
    return c.get("/v2.1/servers/%s/os-instance-actions%s" % (uuid, query),
                 mv=mv)


def show(c, uuid, rid, mv="2.1"):
    return c.get("/v2.1/servers/%s/os-instance-actions/%s" % (uuid, rid),
                 mv=mv)


def db(sb, sql, args=()):
    con = sqlite3.connect(str(sb.db), timeout=10)
    con.row_factory = sqlite3.Row
    try:
        with con:
            return [dict(r) for r in con.execute(sql, args).fetchall()]
    finally:
        con.close()


def record(sb, uuid):
    """The newest migration record of uuid."""
    return db(sb, "SELECT * FROM migrations WHERE instance_uuid = ? ORDER BY"
              " id DESC LIMIT 1", (uuid,))[0]


def actions(sb, uuid):
    return db(sb, "SELECT * FROM instance_actions WHERE instance_uuid = ?"
              " ORDER BY id", (uuid,))


def live(sb, uuid, body, mv):
    r = cl(sb).live(uuid, body, mv=mv)
    return r, assert_request_id(r)


def the_action(sb, uuid, rid, mv="2.93", who="ops"):
    r = show(cl(sb, who), uuid, rid, mv=mv)
    assert r.status == 200, r
    assert_version_headers(r, mv)
    return r.json()["instanceAction"]


# ---- servers the module uses (its own sandbox: any mig-N is free) ---------

REFUSED_SRV, SYNC_SRV, ASYNC_SRV, PAGE_SRV, FORCE_SRV, COLD_SRV, \
    REVERT_SRV, CONFLICT_SRV = MIG[:8]


@pytest.fixture(scope="module")
def refused(sb):
    """A sync live migration whose precheck refuses it: 400, an action
    with the conductor's event in error."""
    r, rid = live(sb, REFUSED_SRV, BLOCK_21, "2.1")
    assert_fault(r, 400, "badRequest", REFUSED)
    return rid


@pytest.fixture(scope="module")
def synced(sb):
    r, rid = live(sb, SYNC_SRV, SHARED_21, "2.1")
    assert r.status == 202, r
    return rid


@pytest.fixture(scope="module")
def queued(sb):
    r, rid = live(sb, ASYNC_SRV, LIVE_25, "2.68")
    assert r.status == 202, r
    return rid


# =============================================================================
# the actions the API starts
# =============================================================================

def test_refused_sync_precheck_is_an_action_in_error(sb, refused):
    a = the_action(sb, REFUSED_SRV, refused)
    assert a["action"] == "live-migration"
    assert a["request_id"] == refused
    assert a["instance_uuid"] == REFUSED_SRV
    assert (a["user_id"], a["project_id"]) == ("ops", "p1")
    # action_event_finish sets the action's message on an error
    assert a["message"] == "Error"
    (ev,) = a["events"]
    assert ev["event"] == "conductor_migrate_server"
    assert ev["result"] == "Error"
    assert ev["details"] == REFUSED
    assert ev["traceback"] is None
    assert ev["host"] == CONDUCTOR
    assert ev["hostId"] == hostid("p1", CONDUCTOR)
    assert ev["start_time"] <= ev["finish_time"]
    # the record carries the request id too
    assert record(sb, REFUSED_SRV)["request_id"] == refused


def test_sync_live_migration_prechecks_succeed(sb, synced):
    a = the_action(sb, SYNC_SRV, synced)
    assert a["action"] == "live-migration"
    assert a["message"] is None
    (ev,) = a["events"]
    assert (ev["event"], ev["result"], ev["details"]) == \
        ("conductor_migrate_server", "Success", None)
    assert record(sb, SYNC_SRV)["request_id"] == synced


def test_async_live_migration_has_no_event_yet(sb, queued):
    a = the_action(sb, ASYNC_SRV, queued)
    assert a["action"] == "live-migration"
    assert a["events"] == []
    assert a["message"] is None
    assert record(sb, ASYNC_SRV)["request_id"] == queued


def test_refused_requests_start_no_action(sb, queued):
    before = actions(sb, ASYNC_SRV)
    # in progress already: 409, nothing recorded
    r, _ = live(sb, ASYNC_SRV, LIVE_25, "2.68")
    assert r.status == 409, r
    # refused before the record: nothing either
    r, _ = live(sb, S["stopped-1"], LIVE_25, "2.68")
    assert r.status == 409, r
    assert actions(sb, S["stopped-1"]) == []
    assert actions(sb, ASYNC_SRV) == before


def test_abort_of_a_waiting_record(sb):
    srv = MIG[8]
    r, _ = live(sb, srv, LIVE_25, "2.30")
    assert r.status == 202
    mid = record(sb, srv)["id"]
    r = cl(sb).request("DELETE", "/v2.1/servers/%s/migrations/%d"
                       % (srv, mid), mv="2.65")
    assert r.status == 202, r
    rid = assert_request_id(r)
    a = the_action(sb, srv, rid)
    assert a["action"] == "live_migration_cancel"
    (ev,) = a["events"]
    assert (ev["event"], ev["result"], ev["host"]) == \
        ("compute_live_migration_abort", "Success", "host-a")
    assert record(sb, srv)["status"] == "cancelled"


def test_abort_and_force_complete_of_a_running_record(sb):
    r, _ = live(sb, FORCE_SRV, LIVE_25, "2.68")
    assert r.status == 202
    mid = record(sb, FORCE_SRV)["id"]
    db(sb, "UPDATE migrations SET status = 'running' WHERE id = ?", (mid,))
    r = cl(sb).post("/v2.1/servers/%s/migrations/%d/action"
                    % (FORCE_SRV, mid), json_body={"force_complete": None},
                    mv="2.22")
    assert r.status == 202, r
    frid = assert_request_id(r)
    r = cl(sb).request("DELETE", "/v2.1/servers/%s/migrations/%d"
                       % (FORCE_SRV, mid), mv="2.24")
    assert r.status == 202, r
    arid = assert_request_id(r)
    # a runner acts on these: no event yet
    a = the_action(sb, FORCE_SRV, frid)
    assert (a["action"], a["events"]) == \
        ("live_migration_force_complete", [])
    a = the_action(sb, FORCE_SRV, arid)
    assert (a["action"], a["events"]) == ("live_migration_cancel", [])
    got = [x["action"] for x in
           lst(cl(sb), FORCE_SRV).json()["instanceActions"]]
    assert got == ["live_migration_cancel", "live_migration_force_complete",
                   "live-migration"]


def test_cold_migrate_confirm_and_revert(sb):
    for srv, act, status in ((COLD_SRV, "confirmResize", "confirming"),
                             (REVERT_SRV, "revertResize", "reverting")):
        r = cl(sb).action(srv, json_body={"migrate": None}, mv="2.56")
        assert r.status == 202, r
        mrid = assert_request_id(r)
        rec = record(sb, srv)
        assert rec["request_id"] == mrid
        a = the_action(sb, srv, mrid)
        assert (a["action"], a["events"]) == ("migrate", [])
        # the runner would finish the move; the store says so here
        db(sb, "UPDATE migrations SET status = 'finished' WHERE id = ?",
           (rec["id"],))
        r = cl(sb).action(srv, json_body={act: None})
        assert r.status in (202, 204), r
        crid = assert_request_id(r)
        a = the_action(sb, srv, crid)
        assert (a["action"], a["events"]) == (act, [])
        rec = record(sb, srv)
        # the runner's step is now the confirm's (or revert's)
        assert (rec["status"], rec["request_id"]) == (status, crid)
        got = [x["action"] for x in
               lst(cl(sb), srv).json()["instanceActions"]]
        assert got == [act, "migrate"]


def test_not_resized_starts_no_action(sb):
    r = cl(sb).action(WEB1, json_body={"confirmResize": None})
    assert r.status == 409 or r.status == 400, r
    assert actions(sb, WEB1) == []


# =============================================================================
# fields per microversion
# =============================================================================

@pytest.mark.parametrize("mv", ["2.1", "2.57", "2.58", "2.93"])
def test_list_fields(sb, synced, mv):
    r = lst(cl(sb), SYNC_SRV, mv=mv)
    assert r.status == 200, r
    assert_version_headers(r, mv)
    doc = r.json()
    assert set(doc) == {"instanceActions"}
    (a,) = doc["instanceActions"]
    want = ACTION_KEYS | ({"updated_at"} if mvi(mv) >= 58 else set())
    assert set(a) == want
    assert a["request_id"] == synced
    assert a["start_time"] == the_action(sb, SYNC_SRV, synced)["start_time"]


def test_list_of_a_server_without_actions(sb):
    for mv in ("2.1", "2.58", "2.93"):
        r = lst(cl(sb), WEB1, mv=mv)
        assert r.status == 200, r
        assert r.json() == {"instanceActions": []}


def event_keys(mv, admin):
    m = mvi(mv)
    keys = set(EVENT_KEYS)
    if admin:
        keys.add("traceback")
    if admin and m >= 62:
        keys.add("host")
    if m >= 62:
        keys.add("hostId")
    if admin and m >= 84:
        keys.add("details")
    return keys


@pytest.mark.parametrize("mv", ["2.1", "2.50", "2.51", "2.57", "2.58",
                                "2.61", "2.62", "2.83", "2.84", "2.93"])
@pytest.mark.parametrize("who", ["ops", "member", "reader", "noroles"])
def test_show_fields(sb, refused, mv, who):
    admin = who == "ops"
    a = the_action(sb, REFUSED_SRV, refused, mv=mv, who=who)
    m = mvi(mv)
    keys = ACTION_KEYS | ({"updated_at"} if m >= 58 else set())
    # events: always with :events (admin), from 2.51 for anyone
    if admin or m >= 51:
        keys.add("events")
        (ev,) = a["events"]
        assert set(ev) == event_keys(mv, admin), ev
        if "hostId" in ev:
            assert ev["hostId"] == hostid("p1", CONDUCTOR)
    assert set(a) == keys
    assert a["message"] == "Error"


def test_times_and_updated_at(sb, refused):
    a = the_action(sb, REFUSED_SRV, refused)
    (ev,) = a["events"]
    for t in (a["start_time"], a["updated_at"], ev["start_time"],
              ev["finish_time"]):
        assert re.match(TIME_RE, t), t
    # the event's finish is the action's last change (action_event_finish)
    assert a["updated_at"] == ev["finish_time"]
    assert a["start_time"] <= ev["start_time"]


# =============================================================================
# 404s, visibility, policy
# =============================================================================

def test_unknown_server_404(sb):
    for ident in (NOSUCH, "nope", NOSUCH.upper() + "x"):
        for mv in ("2.1", "2.58", "2.93"):
            assert_fault(lst(cl(sb), ident, mv=mv), 404, "itemNotFound",
                         "Instance %s could not be found." % ident)
            assert_fault(show(cl(sb), ident, "req-x", mv=mv), 404,
                         "itemNotFound",
                         "Instance %s could not be found." % ident)


def test_unknown_action_404(sb, synced):
    for rid in ("req-" + str(uuidlib.uuid4()), "x", synced.upper()):
        for mv in ("2.1", "2.93"):
            assert_fault(show(cl(sb), SYNC_SRV, rid, mv=mv), 404,
                         "itemNotFound", "Action %s not found" % rid)
    # the action of another server is not this server's
    assert_fault(show(cl(sb), WEB1, synced), 404, "itemNotFound",
                 "Action %s not found" % synced)


def test_other_project_gets_404(sb, synced):
    m2 = cl(sb, "member2")
    assert_fault(lst(m2, SYNC_SRV), 404, "itemNotFound",
                 "Instance %s could not be found." % SYNC_SRV)
    assert_fault(show(m2, SYNC_SRV, synced), 404, "itemNotFound",
                 "Instance %s could not be found." % SYNC_SRV)


def test_project_members_may_list_and_show(sb, synced):
    for who in ("member", "reader", "noroles"):
        r = lst(cl(sb, who), SYNC_SRV, mv="2.58")
        assert r.status == 200, r
        assert len(r.json()["instanceActions"]) == 1
        a = the_action(sb, SYNC_SRV, synced, mv="2.51", who=who)
        assert "traceback" not in a["events"][0]


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """Nova's defaults but: list for admins only, show for admins and
    readers (members are refused), and events:details for members too."""
    from conftest import REPO
    rules = json.loads((REPO / "policy" / "policy.json").read_text())
    rules["os_compute_api:os-instance-actions:list"] = \
        "rule:context_is_admin"
    rules["os_compute_api:os-instance-actions:show"] = \
        "rule:context_is_admin or role:reader"
    rules["os_compute_api:os-instance-actions:events:details"] = \
        "rule:context_is_admin or role:reader"
    path = tmp_path_factory.mktemp("policy-ia") / "policy.json"
    path.write_text(json.dumps(rules, indent=1))
    yield from run_sandbox("actions-strict", policy=path)


def test_policy_403(strict):
    member = strict.client(strict.tokens["member"])
    for mv in ("2.1", "2.93"):
        assert_fault(lst(member, WEB1, mv=mv), 403, "forbidden",
                     "Policy doesn't allow os_compute_api:os-instance-"
                     "actions:list to be performed.")
        assert_fault(show(member, WEB1, "req-x", mv=mv), 403, "forbidden",
                     "Policy doesn't allow os_compute_api:os-instance-"
                     "actions:show to be performed.")
    # the lookup comes first: 404 for a server the caller cannot see
    assert_fault(lst(member, NOSUCH), 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)
    # the policy before the action lookup
    reader = strict.client(strict.tokens["reader"])
    assert_fault(show(reader, WEB1, "req-x"), 404, "itemNotFound",
                 "Action req-x not found")
    ops = strict.client(strict.tokens["ops"])
    assert lst(ops, WEB1).status == 200


def test_details_rule_alone_shows_details(strict):
    """events:details gates details only (from 2.84): a reader granted it
    still gets no traceback and no host, which :events gates."""
    ops = strict.client(strict.tokens["ops"])
    r = ops.live(MIG[0], BLOCK_21, mv="2.1")
    assert r.status == 400
    rid = assert_request_id(r)
    reader = strict.client(strict.tokens["reader"])
    (ev,) = show(reader, MIG[0], rid, mv="2.84").json()[
        "instanceAction"]["events"]
    assert set(ev) == EVENT_KEYS | {"hostId", "details"}
    assert ev["details"] == REFUSED
    (ev,) = show(reader, MIG[0], rid, mv="2.83").json()[
        "instanceAction"]["events"]
    assert set(ev) == EVENT_KEYS | {"hostId"}


# =============================================================================
# paging, changes-since / changes-before (2.58, 2.66)
# =============================================================================

@pytest.fixture(scope="module")
def paged(sb):
    """Five actions on one server, newest first: live, cancel, live,
    cancel, live."""
    rids = []
    for i in range(3):
        r, rid = live(sb, PAGE_SRV, LIVE_25, "2.30")
        assert r.status == 202, r
        rids.append(rid)
        if i < 2:
            mid = record(sb, PAGE_SRV)["id"]
            r = cl(sb).request("DELETE", "/v2.1/servers/%s/migrations/%d"
                               % (PAGE_SRV, mid), mv="2.65")
            assert r.status == 202, r
            rids.append(assert_request_id(r))
        time.sleep(0.01)
    rids.reverse()
    return rids


def page_ids(r):
    assert r.status == 200, r
    return [a["request_id"] for a in r.json()["instanceActions"]]


def test_order_newest_first(sb, paged):
    assert page_ids(lst(cl(sb), PAGE_SRV, mv="2.58")) == paged
    assert page_ids(lst(cl(sb), PAGE_SRV, mv="2.1")) == paged


def test_limit_marker_and_next_link(sb, paged):
    c = cl(sb)
    r = lst(c, PAGE_SRV, mv="2.58", query="?limit=2")
    assert page_ids(r) == paged[:2]
    (link,) = r.json()["links"]
    assert link["rel"] == "next"
    assert link["href"] == ("%s/v2.1/servers/%s/os-instance-actions?"
                            "limit=2&marker=%s" % (sb.base, PAGE_SRV,
                                                   paged[1]))
    path = link["href"][link["href"].index("/v2.1/"):]
    r = c.get(path, mv="2.58")
    assert page_ids(r) == paged[2:4]
    assert "links" in r.json()
    r = lst(c, PAGE_SRV, mv="2.58",
            query="?limit=2&marker=%s" % paged[3])
    assert page_ids(r) == paged[4:]
    assert "links" not in r.json()        # a short page: the last one
    # no limit: 1000, no link for five
    r = lst(c, PAGE_SRV, mv="2.58", query="?marker=%s" % paged[0])
    assert page_ids(r) == paged[1:]
    assert "links" not in r.json()
    # limit 0: an empty page, before the marker is looked at
    r = lst(c, PAGE_SRV, mv="2.58", query="?limit=0&marker=nope")
    assert page_ids(r) == []
    assert "links" not in r.json()
    # a limit over 1000 is 1000
    assert page_ids(lst(c, PAGE_SRV, mv="2.58",
                        query="?limit=5000")) == paged


def test_unknown_marker(sb, paged):
    # actions_get raises MarkerNotFound(marker=<the lookup's None>)
    for m in ("nope", "", paged[0].upper()):
        assert_fault(lst(cl(sb), PAGE_SRV, mv="2.58", query="?marker=" + m),
                     400, "badRequest", "Marker None could not be found.")


def test_paging_ignored_below_2_58(sb, paged):
    r = lst(cl(sb), PAGE_SRV, mv="2.57", query="?limit=1&marker=x&foo=1")
    assert page_ids(r) == paged
    assert "links" not in r.json()


def test_changes_since_and_before(sb, paged):
    c = cl(sb)
    acts = {a["request_id"]: a for a in
            lst(c, PAGE_SRV, mv="2.66").json()["instanceActions"]}
    mid = acts[paged[2]]["updated_at"]
    got = page_ids(lst(c, PAGE_SRV, mv="2.58",
                       query="?changes-since=%s" % mid))
    assert got == [r for r in paged if acts[r]["updated_at"] >= mid]
    assert paged[2] in got and paged[4] not in got
    got = page_ids(lst(c, PAGE_SRV, mv="2.66",
                       query="?changes-before=%s" % mid))
    assert got == [r for r in paged if acts[r]["updated_at"] <= mid]
    assert page_ids(lst(c, PAGE_SRV, mv="2.66",
                        query="?changes-since=2099-01-01T00:00:00Z")) == []
    assert page_ids(lst(c, PAGE_SRV, mv="2.66",
                        query="?changes-since=%s&changes-before=%s"
                        % (mid, mid))) == [paged[2]]
    # with a zone offset: the same instant
    assert page_ids(lst(c, PAGE_SRV, mv="2.58",
                        query="?changes-since=2000-01-01T01:00:00%2B01:00"
                        )) == paged


@pytest.mark.parametrize("mv,query,message", [
    ("2.58", "?limit=1&limit=2", QP + "limit. Value: ['1', '2']. ['1', '2'] "
     "is too long"),
    ("2.58", "?limit=x", QP + "limit. Value: x. 'x' does not match "
     "'^[0-9]*$'"),
    ("2.58", "?limit=-1", QP + "limit. Value: -1. '-1' does not match "
     "'^[0-9]*$'"),
    ("2.58", "?changes-since=x", QP + "changes-since. Value: x. 'x' is not "
     "a 'date-time'"),
    ("2.66", "?changes-before=x", QP + "changes-before. Value: x. 'x' is "
     "not a 'date-time'"),
    ("2.58", "?foo=1", "Additional properties are not allowed ('foo' was "
     "unexpected)"),
    ("2.65", "?changes-before=2020-01-01T00:00:00Z", "Additional "
     "properties are not allowed ('changes-before' was unexpected)"),
    ("2.58", "?marker=a&marker=b", QP + "marker. Value: ['a', 'b']. "
     "['a', 'b'] is too long"),
])
def test_query_errors(sb, mv, query, message):
    # the query schema comes before the server lookup
    for srv in (PAGE_SRV, NOSUCH):
        assert_fault(lst(cl(sb), srv, mv=mv, query=query), 400,
                     "badRequest", message)


def test_changes_order(sb):
    """changes-since after changes-before: 400, after the lookup."""
    q = ("?changes-since=2020-01-02T00:00:00Z&changes-before="
         "2020-01-01T00:00:00Z")
    assert_fault(lst(cl(sb), PAGE_SRV, mv="2.66", query=q), 400,
                 "badRequest", "The value of changes-since must be less "
                 "than or equal to changes-before.")
    assert_fault(lst(cl(sb), NOSUCH, mv="2.66", query=q), 404,
                 "itemNotFound", "Instance %s could not be found." % NOSUCH)


# =============================================================================
# the store: an older store gets the tables, a record keeps its request id
# =============================================================================

def test_tables_exist(sb):
    names = {r["name"] for r in
             db(sb, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"instance_actions", "instance_actions_events"} <= names
    cols = {r["name"] for r in db(sb, "PRAGMA table_info(migrations)")}
    assert "request_id" in cols


def test_api_log_carries_the_request_id(sb, refused):
    log = (sb.dir / "ferryd.log").read_text(errors="replace")
    assert refused in log


# =============================================================================
# the real clients: openstack server event list / show (novaclient)
# =============================================================================

OPENSTACK = shutil.which("openstack") or "/usr/bin/openstack"


def osc(sb, *args, token="ops"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(sb.workdir)
    cmd = [OPENSTACK, "--os-auth-type", "admin_token", "--os-endpoint",
           sb.url, "--os-token", sb.tokens[token], "--os-cacert",
           sb.cacert] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.skipif(not os.path.exists(OPENSTACK),
                    reason="python3-openstackclient missing")
def test_openstack_server_event_list_and_show(sb, refused):
    p = osc(sb, "--os-compute-api-version", "2.84", "server", "event",
            "list", "--long", "-f", "json", REFUSED_SRV)
    assert p.returncode == 0, p
    (row,) = json.loads(p.stdout)
    assert row["Request ID"] == refused
    assert (row["Action"], row["Message"]) == ("live-migration", "Error")
    p = osc(sb, "--os-compute-api-version", "2.84", "server", "event",
            "show", "-f", "json", REFUSED_SRV, refused)
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    (ev,) = doc["events"]
    assert (ev["event"], ev["result"], ev["details"]) == \
        ("conductor_migrate_server", "Error", REFUSED)
    # paging as the client does it (2.58: limit and marker)
    p = osc(sb, "--os-compute-api-version", "2.58", "server", "event",
            "list", "--limit", "1", "-f", "json", REFUSED_SRV)
    assert p.returncode == 0, p
    assert [r["Request ID"] for r in json.loads(p.stdout)] == [refused]
    # a member of the project: events from 2.51, no details
    p = osc(sb, "--os-compute-api-version", "2.84", "server", "event",
            "show", "-f", "json", REFUSED_SRV, refused, token="member")
    assert p.returncode == 0, p
    (ev,) = json.loads(p.stdout)["events"]
    assert "details" not in ev and "traceback" not in ev
