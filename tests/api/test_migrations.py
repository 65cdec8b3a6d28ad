"""GET /servers/{id}/migrations[/{migration_id}] (spec 6.2, E9/E10) and
GET /os-migrations (spec 6.5, E13): microversion gates, key sets per
microversion, the in-progress rule of 9.1, the E10 errors, policy (7),
the filters, the query schemas and their messages, and paging from 2.59.

Records come from POST os-migrateLive (the sandbox runs no runner, so
they keep their status): below 2.34 the request runs the pre-checks and
leaves the record "queued", a refused sync pre-check leaves an "error"
record, and from 2.34 the record stays "accepted".  States that no API
request can produce here (cold migrations, running, hidden, deleted,
fixed timestamps) are written into the store directly, on servers of this
module only.  Other test files create records in the same session, so
every assertion filters by instance_uuid or by the ids created here."""
import calendar
import datetime
import re
import sqlite3
import urllib.parse
import uuid as uuidlib

import pytest

from conftest import (NOSUCH, assert_fault, assert_version_headers, echo,
                      mvnum)

US_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")

IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")
STATUSES = ("accepted", "queued", "preparing", "running",
            "running (post-copy)", "post-migrating", "completed", "failed",
            "error", "cancelled")

# E9/E10 objects (6.2)
SM_BASE = {"created_at", "dest_compute", "dest_host", "dest_node",
           "disk_processed_bytes", "disk_remaining_bytes", "disk_total_bytes",
           "id", "memory_processed_bytes", "memory_remaining_bytes",
           "memory_total_bytes", "server_uuid", "source_compute",
           "source_node", "status", "updated_at"}

# /os-migrations items (6.5)
OSM_BASE = {"created_at", "updated_at", "id", "source_compute",
            "dest_compute", "source_node", "dest_node", "dest_host",
            "old_instance_type_id", "new_instance_type_id", "instance_uuid",
            "status"}

OSM_POLICY = ("Policy doesn't allow os_compute_api:os-migrations:index to "
              "be performed.")
QP = "Invalid input for query parameters "

BLOCK_REFUSED = ("host-a is not on local storage: Block migration can not "
                 "be used with shared storage.")




def sm_keys(mv):
    n = mvnum(mv)
    keys = set(SM_BASE)
    if n >= 59:
        keys.add("uuid")
    if n >= 80:
        keys |= {"user_id", "project_id"}
    return keys


def osm_keys(mv, links=False):
    n = mvnum(mv)
    keys = set(OSM_BASE)
    if n >= 23:
        keys.add("migration_type")
        if links:
            keys.add("links")
    if n >= 59:
        keys.add("uuid")
    if n >= 80:
        keys |= {"user_id", "project_id"}
    return keys


def us(dt):
    """µs since the epoch of a naive UTC datetime."""
    return calendar.timegm(dt.timetuple()) * 1000000 + dt.microsecond


def parse_us(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f")


def fmt_us(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


# ---- HTTP helpers -----------------------------------------------------------

def sm_list(c, server, mv="2.23", **kw):
    return c.get("/v2.1/servers/%s/migrations" % server, mv=mv, **kw)


def sm_show(c, server, mid, mv="2.23", **kw):
    return c.get("/v2.1/servers/%s/migrations/%s" % (server, mid), mv=mv,
                 **kw)


def osm(c, query="", mv=None, prefix="/v2.1", **kw):
    return c.get("%s/os-migrations%s" % (prefix, "?" + query if query
                                         else ""), mv=mv, **kw)


def osm_ok(c, query="", mv=None, **kw):
    r = osm(c, query, mv, **kw)
    assert r.status == 200, r
    assert_version_headers(r, echo(mv))
    return r.json()


def ids_of(doc):
    return [m["id"] for m in doc["migrations"]]


def q(**params):
    return urllib.parse.urlencode(params)


# ---- the store --------------------------------------------------------------

def db_exec(sandbox, sql, args=()):
    con = sqlite3.connect(str(sandbox.db), timeout=10)
    try:
        with con:
            return con.execute(sql, args).lastrowid
    finally:
        con.close()


def insert(sandbox, instance, mtype, status, created, updated=None,
           hidden=0, deleted=0, source="host-a", dest="host-b",
           user="ops", project="p1"):
    """A record written into the store (created/updated: naive UTC
    datetimes); returns (id, uuid)."""
    u = str(uuidlib.uuid4())
    mid = db_exec(
        sandbox,
        "INSERT INTO migrations (uuid, instance_uuid, migration_type,"
        " status, source_compute, source_node, dest_compute, dest_node,"
        " dest_host, old_instance_type_id, new_instance_type_id, user_id,"
        " project_id, hidden, deleted, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (u, instance, mtype, status, source, source, dest, dest,
         "192.0.2.7", 5, 6, user, project, hidden, deleted, us(created),
         us(updated) if updated else None))
    return mid, u


# ---- records ----------------------------------------------------------------

LIVE_21 = {"host": "host-b", "block_migration": False,
           "disk_over_commit": False}
BLOCK_21 = {"host": "host-b", "block_migration": True,
            "disk_over_commit": False}
LIVE_25 = {"host": "host-b", "block_migration": "auto"}


def refused(c, server):
    """One "error" record: a sync block migration on shared storage."""
    r = c.live(server, BLOCK_21, mv="2.1")
    assert_fault(r, 400, "badRequest", BLOCK_REFUSED)


def accepted(c, server, mv, body):
    r = c.live(server, body, mv=mv)
    assert r.status == 202, r


class Recs:
    pass


T_OLD = datetime.datetime(2001, 2, 3, 4, 5, 6, 7)
T_TIE = datetime.datetime(2001, 2, 3, 4, 5, 10, 0)
T_UPD = datetime.datetime(2002, 3, 4, 5, 6, 7, 8)


@pytest.fixture(scope="module")
def recs(api, as_, sandbox, migs):
    """Q: error then queued (2.30 sync).  A: accepted (2.68).  P: four
    error records by ops, one by admin (user admin, project admin), then a
    queued one (2.1, forced host-b).  S: one accepted record whose state
    the tests rewrite.  X: records written into the store: cold ones, a
    hidden and a deleted one, two with one created_at."""
    R = Recs()
    R.Q, R.A, R.P, R.S, R.X = (migs.take() for _ in range(5))

    refused(api, R.Q)
    accepted(api, R.Q, "2.30", LIVE_25)
    accepted(api, R.A, "2.68", LIVE_25)
    for _ in range(4):
        refused(api, R.P)
    refused(as_("admin"), R.P)
    accepted(api, R.P, "2.1", LIVE_21)
    accepted(api, R.S, "2.68", LIVE_25)

    R.x_mig = insert(sandbox, R.X, "migration", "finished", T_OLD, T_UPD)
    R.x_resize = insert(sandbox, R.X, "resize", "confirmed",
                        T_OLD + datetime.timedelta(seconds=1), T_UPD,
                        dest="host-c")
    R.x_evac = insert(sandbox, R.X, "evacuation", "done",
                      T_OLD + datetime.timedelta(seconds=2), T_UPD)
    R.x_tie1 = insert(sandbox, R.X, "migration", "error", T_TIE, T_UPD)
    R.x_tie2 = insert(sandbox, R.X, "migration", "failed", T_TIE, T_UPD)
    R.x_hidden = insert(sandbox, R.X, "resize", "confirmed", T_OLD, T_UPD,
                        hidden=1)
    R.x_deleted = insert(sandbox, R.X, "resize", "confirmed", T_OLD, T_UPD,
                         deleted=1)

    # the records by id, as the store has them
    R.db = {}
    for s in (R.Q, R.A, R.P, R.S, R.X):
        for m in sandbox.migrations(s):
            R.db[m["id"]] = m
    by = lambda s: [m["id"] for m in sandbox.migrations(s)]   # noqa: E731
    R.q_error, R.q_queued = by(R.Q)
    (R.a_acc,) = by(R.A)
    R.p_all = by(R.P)
    R.p_error, R.p_queued = R.p_all[:5], R.p_all[5]
    R.p_admin = R.p_all[4]
    (R.s_rec,) = by(R.S)
    R.x_visible = [R.x_mig[0], R.x_resize[0], R.x_evac[0], R.x_tie1[0],
                   R.x_tie2[0]]
    assert [R.db[i]["status"] for i in by(R.Q)] == ["error", "queued"]
    assert R.db[R.a_acc]["status"] == "accepted"
    assert [R.db[i]["status"] for i in R.p_all] == ["error"] * 5 + ["queued"]
    assert (R.db[R.p_admin]["user_id"], R.db[R.p_admin]["project_id"]) == \
        ("admin", "admin")
    return R


def desc(R, ids):
    """ids in the 2.59 order: created_at, then id, descending."""
    return sorted(ids, key=lambda i: (R.db[i]["created_at"], i),
                  reverse=True)


# =============================================================================
# E9 / E10: GET /servers/{id}/migrations[/{migration_id}]
# =============================================================================

@pytest.mark.parametrize("mv", [None, "2.1", "2.22"])
def test_sm_gate_below_2_23(api, as_, recs, mv):
    for r in (sm_list(api, recs.Q, mv=mv),
              sm_show(api, recs.Q, recs.q_queued, mv=mv),
              sm_show(api, NOSUCH, "1", mv=mv),
              # the gate comes before the lookup and the policy
              sm_list(as_("member2"), recs.Q, mv=mv),
              sm_list(as_("member"), recs.Q, mv=mv)):
        assert_fault(r, 404, "itemNotFound",
                     "The resource could not be found.")
        assert_version_headers(r, echo(mv))


def test_sm_list_only_in_progress_live(api, recs):
    # Q: an error record and a queued one (2.30, sync): only the queued one
    r = sm_list(api, recs.Q)
    assert r.status == 200, r
    assert_version_headers(r, "2.23")
    doc = r.json()
    assert list(doc) == ["migrations"]
    assert [m["id"] for m in doc["migrations"]] == [recs.q_queued]
    assert doc["migrations"][0]["status"] == "queued"
    # A: an accepted record (2.68) is not listed
    for mv in ("2.23", "2.59", "2.80", "latest"):
        assert sm_list(api, recs.A, mv=mv).json() == {"migrations": []}
    # P: five error records and a queued one
    assert [m["id"] for m in sm_list(api, recs.P).json()["migrations"]] == \
        [recs.p_queued]
    # X: cold migrations, resizes, evacuations are never listed
    assert sm_list(api, recs.X, mv="2.93").json() == {"migrations": []}


@pytest.mark.parametrize("mv", ["2.23", "2.24", "2.58", "2.59", "2.79",
                                "2.80", "2.93", "latest"])
def test_sm_keys_per_microversion(api, recs, mv):
    (m,) = sm_list(api, recs.Q, mv=mv).json()["migrations"]
    assert set(m) == sm_keys(mv)
    r = sm_show(api, recs.Q, recs.q_queued, mv=mv)
    assert r.status == 200, r
    assert_version_headers(r, echo(mv))
    doc = r.json()
    assert list(doc) == ["migration"]
    assert doc["migration"] == m


def test_sm_values(api, recs):
    (m,) = sm_list(api, recs.Q, mv="2.80").json()["migrations"]
    rec = recs.db[recs.q_queued]
    assert type(m["id"]) is int and m["id"] == recs.q_queued
    assert m["uuid"] == rec["uuid"] and UUID_RE.match(m["uuid"])
    assert m["server_uuid"] == recs.Q
    assert m["status"] == "queued"
    assert m["source_compute"] == "host-a"
    assert m["dest_compute"] == "host-b"
    assert (m["user_id"], m["project_id"]) == ("ops", "p1")
    for k in ("memory_total_bytes", "memory_processed_bytes",
              "memory_remaining_bytes", "disk_total_bytes",
              "disk_processed_bytes", "disk_remaining_bytes"):
        assert m[k] is None, k
    assert US_RE.match(m["created_at"]), m
    assert US_RE.match(m["updated_at"]), m
    assert us(parse_us(m["created_at"])) == rec["created_at"]
    assert us(parse_us(m["updated_at"])) == rec["updated_at"]
    assert m["created_at"] <= m["updated_at"]
    # the same record through /os-migrations
    (o,) = osm_ok(api, q(instance_uuid=recs.Q, status="queued"),
                  mv="2.80")["migrations"]
    for k in ("id", "uuid", "created_at", "updated_at", "source_compute",
              "dest_compute", "source_node", "dest_node", "dest_host",
              "status", "user_id", "project_id"):
        assert o[k] == m[k], k
    assert o["instance_uuid"] == m["server_uuid"]


def test_sm_show_errors(api, recs):
    Q, X = recs.Q, recs.X

    def nf(server, mid, msg):
        for mv in ("2.23", "2.80", "latest"):
            r = sm_show(api, server, mid, mv=mv)
            assert_fault(r, 404, "itemNotFound", msg)
            assert_version_headers(r, echo(mv))

    # no record with that id for this server
    for mid in ("999999999", "abc", "0", "-1", str(recs.a_acc),
                str(recs.p_queued), str(recs.x_mig[0])):
        nf(Q, mid, "In-progress live migration %s is not found for server "
           "%s." % (mid, Q))
    # the server id as sent
    nf(Q.upper(), "999999999", "In-progress live migration 999999999 is "
       "not found for server %s." % Q.upper())
    # not a live migration (checked before the status)
    for mid in (recs.x_mig[0], recs.x_resize[0], recs.x_evac[0],
                recs.x_tie1[0]):
        nf(X, str(mid), "Migration %d for server %s is not "
           "live-migration." % (mid, X))
    nf(X.upper(), str(recs.x_mig[0]), "Migration %d for server %s is not "
       "live-migration." % (recs.x_mig[0], X.upper()))
    # a live migration that is not in progress: error, accepted
    nf(Q, str(recs.q_error), "Live migration %d for server %s is not in "
       "progress." % (recs.q_error, Q))
    nf(recs.A, str(recs.a_acc), "Live migration %d for server %s is not "
       "in progress." % (recs.a_acc, recs.A))
    for mid in recs.p_error:
        nf(recs.P, str(mid), "Live migration %d for server %s is not in "
           "progress." % (mid, recs.P))
    # soft-deleted and hidden records are never output
    for mid in (recs.x_deleted[0], recs.x_hidden[0]):
        nf(X, str(mid), "In-progress live migration %d is not found for "
           "server %s." % (mid, X))


def test_sm_show_in_progress(api, recs):
    r = sm_show(api, recs.P, recs.p_queued, mv="2.59")
    assert r.status == 200, r
    m = r.json()["migration"]
    assert set(m) == sm_keys("2.59")
    assert (m["id"], m["server_uuid"], m["status"], m["uuid"]) == \
        (recs.p_queued, recs.P, "queued", recs.db[recs.p_queued]["uuid"])
    # 2.1 with a forced host: the destination is the named host
    assert m["dest_compute"] == "host-b"
    # the server id may be sent in upper case
    r = sm_show(api, recs.P.upper(), recs.p_queued, mv="2.59")
    assert r.status == 200 and r.json()["migration"] == m, r


@pytest.mark.parametrize("server", [NOSUCH, NOSUCH.upper(), "nosuch", "1"])
def test_sm_unknown_server(api, recs, server):
    for mv, r in (("2.23", sm_list(api, server)),
                  ("2.23", sm_show(api, server, "1")),
                  ("2.80", sm_show(api, server, str(recs.q_queued),
                                   mv="2.80"))):
        assert_fault(r, 404, "itemNotFound",
                     "Instance %s could not be found." % server)
        assert_version_headers(r, mv)


def test_sm_member_of_another_project_404(as_, recs):
    c = as_("member2")                  # u2, p2; the servers are p1's
    for server in (recs.Q, recs.Q.upper()):
        for mv, r in (("2.23", sm_list(c, server)),
                      ("2.23", sm_show(c, server, recs.q_queued)),
                      ("2.80", sm_show(c, server, "999999999", mv="2.80"))):
            assert_fault(r, 404, "itemNotFound",
                         "Instance %s could not be found." % server)
            assert_version_headers(r, mv)


@pytest.mark.parametrize("who", ["member", "reader", "noroles"])
def test_sm_policy_own_project_403(as_, recs, who):
    c = as_(who)                        # project p1, no admin role
    for mv in ("2.23", "2.93"):
        r = sm_list(c, recs.Q, mv=mv)
        assert_fault(r, 403, "forbidden", "Policy doesn't allow os_compute_"
                     "api:servers:migrations:index to be performed.")
        assert_version_headers(r, mv)
        # the policy comes before the migration lookup
        for mid in (recs.q_queued, recs.q_error, "999999999", "abc"):
            r = sm_show(c, recs.Q, mid, mv=mv)
            assert_fault(r, 403, "forbidden", "Policy doesn't allow os_"
                         "compute_api:servers:migrations:show to be "
                         "performed.")
            assert_version_headers(r, mv)


def test_sm_admin_of_any_project(as_, recs):
    for who in ("admin", "hexadmin", "caseadmin"):
        r = sm_list(as_(who), recs.Q, mv="2.80")
        assert r.status == 200, r
        (m,) = r.json()["migrations"]
        assert m["id"] == recs.q_queued
        # the requester, not the caller
        assert (m["user_id"], m["project_id"]) == ("ops", "p1")


def test_sm_with_project_segment(as_, recs):
    c = as_("hexadmin")
    r = c.get("/v2.1/0123abcd/servers/%s/migrations" % recs.Q, mv="2.23")
    assert r.status == 200, r
    assert [m["id"] for m in r.json()["migrations"]] == [recs.q_queued]
    r = c.get("/v2.1/0123abcd/servers/%s/migrations/%d" %
              (recs.Q, recs.q_queued), mv="2.23")
    assert r.status == 200, r


# ---- every status, the type, hidden and deleted (records rewritten) --------

def test_status_set(api, sandbox, recs):
    """One record of S through every status: listed (E9), shown (E10) and
    linked (/os-migrations 2.23) exactly when it is an in-progress live
    migration; /os-migrations lists it in every status."""
    S, mid = recs.S, recs.s_rec

    def set_(**cols):
        db_exec(sandbox, "UPDATE migrations SET %s WHERE id = ?" %
                ", ".join("%s = ?" % k for k in cols),
                tuple(cols.values()) + (mid,))

    try:
        for st in STATUSES:
            set_(status=st)
            live = st in IN_PROGRESS
            got = sm_list(api, S).json()["migrations"]
            assert [m["id"] for m in got] == ([mid] if live else []), st
            r = sm_show(api, S, mid)
            if live:
                assert r.status == 200, r
                assert r.json()["migration"]["status"] == st
                assert r.json()["migration"] == got[0]
            else:
                assert_fault(r, 404, "itemNotFound", "Live migration %d for "
                             "server %s is not in progress." % (mid, S))
            for mv in ("2.1", "2.23", "2.59", "2.80"):
                (m,) = osm_ok(api, q(instance_uuid=S), mv=mv)["migrations"]
                assert m["status"] == st
                assert set(m) == osm_keys(mv, links=live), (st, mv)
            (m,) = osm_ok(api, q(instance_uuid=S, status=st))["migrations"]
            assert m["id"] == mid

        # not a live migration, in an in-progress status
        for st in IN_PROGRESS:
            set_(status=st, migration_type="migration")
            assert sm_list(api, S).json() == {"migrations": []}
            assert_fault(sm_show(api, S, mid), 404, "itemNotFound",
                         "Migration %d for server %s is not live-migration."
                         % (mid, S))
            (m,) = osm_ok(api, q(instance_uuid=S), mv="2.23")["migrations"]
            assert set(m) == osm_keys("2.23")
            assert m["migration_type"] == "migration"
        set_(migration_type="live-migration")

        # hidden and soft-deleted records are never output
        for col in ("hidden", "deleted"):
            set_(status="running", **{col: 1})
            assert sm_list(api, S).json() == {"migrations": []}
            assert_fault(sm_show(api, S, mid), 404, "itemNotFound",
                         "In-progress live migration %d is not found for "
                         "server %s." % (mid, S))
            for query in ("", "hidden=1", "hidden=0", "hidden=true"):
                doc = osm_ok(api, "&".join(
                    [x for x in (query, "instance_uuid=" + S) if x]),
                    mv="2.80")
                assert doc == {"migrations": []}, (col, query)
                assert mid not in ids_of(osm_ok(api, query))
            set_(**{col: 0})
        assert [m["id"] for m in sm_list(api, S).json()["migrations"]] == \
            [mid]
        assert ids_of(osm_ok(api, "hidden=0&instance_uuid=" + S)) == [mid]
    finally:
        set_(status="accepted", migration_type="live-migration", hidden=0,
             deleted=0)


# =============================================================================
# GET /os-migrations
# =============================================================================

@pytest.mark.parametrize("mv", [None, "2.1", "2.22", "2.23", "2.58", "2.59",
                                "2.65", "2.66", "2.79", "2.80", "2.93",
                                "latest"])
def test_osm_keys_per_microversion(api, recs, mv):
    doc = osm_ok(api, q(instance_uuid=recs.Q), mv=mv)
    assert list(doc) == ["migrations"]
    got = {m["id"]: m for m in doc["migrations"]}
    assert set(got) == {recs.q_error, recs.q_queued}
    # links only on the in-progress live migration
    assert set(got[recs.q_error]) == osm_keys(mv)
    assert set(got[recs.q_queued]) == osm_keys(mv, links=True)
    for s in (recs.A, recs.X):
        for m in osm_ok(api, q(instance_uuid=s), mv=mv)["migrations"]:
            assert set(m) == osm_keys(mv), m


def test_osm_values(api, recs):
    doc = osm_ok(api, q(instance_uuid=recs.P), mv="2.80")
    got = {m["id"]: m for m in doc["migrations"]}
    assert set(got) == set(recs.p_all)
    for i, m in got.items():
        rec = recs.db[i]
        assert type(m["id"]) is int
        assert m["uuid"] == rec["uuid"]
        assert m["instance_uuid"] == recs.P
        assert m["migration_type"] == "live-migration"
        assert m["source_compute"] == "host-a"
        assert m["status"] == rec["status"]
        assert US_RE.match(m["created_at"]), m
        assert us(parse_us(m["created_at"])) == rec["created_at"]
        assert US_RE.match(m["updated_at"]), m
        assert us(parse_us(m["updated_at"])) == rec["updated_at"]
        who = ("admin", "admin") if i == recs.p_admin else ("ops", "p1")
        assert (m["user_id"], m["project_id"]) == who
    # an accepted record has no updated_at yet, and no destination when
    # the scheduler is to choose one
    (m,) = osm_ok(api, q(instance_uuid=recs.A), mv="2.80")["migrations"]
    assert m["status"] == "accepted" and m["updated_at"] is None
    assert m["dest_compute"] is None
    assert US_RE.match(m["created_at"])
    # the stored fields of a record written into the store
    (m,) = [m for m in osm_ok(api, q(instance_uuid=recs.X),
                              mv="2.80")["migrations"]
            if m["id"] == recs.x_resize[0]]
    assert m == {
        "id": recs.x_resize[0], "uuid": recs.x_resize[1],
        "instance_uuid": recs.X, "migration_type": "resize",
        "status": "confirmed", "source_compute": "host-a",
        "source_node": "host-a", "dest_compute": "host-c",
        "dest_node": "host-c", "dest_host": "192.0.2.7",
        "old_instance_type_id": 5, "new_instance_type_id": 6,
        "created_at": "2001-02-03T04:05:07.000007",
        "updated_at": "2002-03-04T05:06:07.000008",
        "user_id": "ops", "project_id": "p1"}


def test_osm_links(api, sandbox, recs):
    doc = osm_ok(api, q(instance_uuid=recs.Q), mv="2.23")
    (m,) = [m for m in doc["migrations"] if m["id"] == recs.q_queued]
    path = "servers/%s/migrations/%d" % (recs.Q, recs.q_queued)
    assert m["links"] == [
        {"rel": "self", "href": "%s/v2.1/%s" % (sandbox.base, path)},
        {"rel": "bookmark", "href": "%s/%s" % (sandbox.base, path)}]
    # the link leads to E10
    r = api.get(m["links"][0]["href"][len(sandbox.base):], mv="2.23")
    assert r.status == 200, r
    assert r.json()["migration"]["id"] == recs.q_queued


def test_osm_links_with_project(api, as_, sandbox, recs):
    path = "servers/%s/migrations/%d" % (recs.Q, recs.q_queued)
    # a project segment in the URL
    c = as_("hexadmin")
    r = c.get("/v2.1/0123abcd/os-migrations?instance_uuid=%s&status=queued"
              % recs.Q, mv="2.23")
    assert r.status == 200, r
    (m,) = r.json()["migrations"]
    assert m["links"] == [
        {"rel": "self",
         "href": "%s/v2.1/0123abcd/%s" % (sandbox.base, path)},
        {"rel": "bookmark", "href": "%s/0123abcd/%s" % (sandbox.base, path)}]
    # Nova's substring test (spec 1.1): the caller's project p1 occurs in
    # the query
    (m,) = osm_ok(api, q(instance_uuid=recs.Q, status="queued",
                         project_id="p1"), mv="2.80")["migrations"]
    assert m["links"] == [
        {"rel": "self", "href": "%s/v2.1/p1/%s" % (sandbox.base, path)},
        {"rel": "bookmark", "href": "%s/p1/%s" % (sandbox.base, path)}]


@pytest.mark.parametrize("mv", ["2.1", "2.23", "2.59", "2.80", "latest"])
def test_osm_every_status_listed(api, recs, mv):
    doc = osm_ok(api, "", mv=mv)
    got = {m["id"]: m["status"] for m in doc["migrations"]}
    mine = ([recs.q_error, recs.q_queued, recs.a_acc, recs.s_rec] +
            recs.p_all + recs.x_visible)
    for i in mine:
        assert got.get(i) == recs.db[i]["status"] or i == recs.s_rec, i
    assert {got[recs.a_acc], got[recs.q_error], got[recs.q_queued]} == \
        {"accepted", "error", "queued"}
    assert recs.x_hidden[0] not in got and recs.x_deleted[0] not in got
    if mvnum(mv) < 59:
        assert "migrations_links" not in doc
    assert len(set(ids_of(doc))) == len(doc["migrations"])


# ---- filters ----------------------------------------------------------------

def FILTERS(R):
    """(microversions, query, expected ids); the order is not compared."""
    return [
        (["2.1", "2.59", "2.80"], q(instance_uuid=R.P), R.p_all),
        (["2.1", "2.80"], q(instance_uuid=R.P, status="error"), R.p_error),
        (["2.1", "2.80"], q(instance_uuid=R.P, status="queued"),
         [R.p_queued]),
        (["2.1"], q(instance_uuid=R.P, status="Queued"), []),
        (["2.1"], q(instance_uuid=R.P, status="queued "), []),
        (["2.1", "2.80"], q(status="accepted", instance_uuid=R.A), [R.a_acc]),
        (["2.1"], q(instance_uuid=R.P.upper()), []),
        # host: source or destination
        (["2.1", "2.80"], q(instance_uuid=R.A, host="host-a"), [R.a_acc]),
        (["2.1", "2.80"], q(instance_uuid=R.A, host="host-b"), []),
        (["2.1", "2.80"], q(instance_uuid=R.Q, host="host-b"),
         [R.q_error, R.q_queued]),
        (["2.1"], q(instance_uuid=R.X, host="host-c"), [R.x_resize[0]]),
        (["2.1"], q(instance_uuid=R.Q, host="HOST-B"), []),
        # source_compute; host wins over it
        (["2.1", "2.80"], q(instance_uuid=R.Q, source_compute="host-a"),
         [R.q_error, R.q_queued]),
        (["2.1", "2.80"], q(instance_uuid=R.Q, source_compute="host-b"), []),
        (["2.1", "2.80"], q(instance_uuid=R.Q, source_compute="nosuch",
                            host="host-b"), [R.q_error, R.q_queued]),
        (["2.1"], q(instance_uuid=R.Q, source_compute="host-a",
                    host="nosuch"), []),
        (["2.1"], q(instance_uuid=R.X, source_compute="host-a",
                    host="host-c"), [R.x_resize[0]]),
        # migration_type (filters at every microversion)
        (["2.1", "2.23", "2.80"], q(instance_uuid=R.X,
                                    migration_type="resize"),
         [R.x_resize[0]]),
        (["2.1", "2.80"], q(instance_uuid=R.X, migration_type="evacuation"),
         [R.x_evac[0]]),
        (["2.1", "2.80"], q(instance_uuid=R.X, migration_type="migration"),
         [R.x_mig[0], R.x_tie1[0], R.x_tie2[0]]),
        (["2.1", "2.80"], q(instance_uuid=R.X,
                            migration_type="live-migration"), []),
        (["2.1"], q(instance_uuid=R.Q, migration_type="live-migration"),
         [R.q_error, R.q_queued]),
        # several filters together
        (["2.1", "2.80"], q(instance_uuid=R.X, migration_type="migration",
                            status="failed"), [R.x_tie2[0]]),
        # the last value of a repeated key
        (["2.1", "2.80"], "instance_uuid=%s&instance_uuid=%s" % (R.Q, R.A),
         [R.a_acc]),
        (["2.1", "2.80"], "instance_uuid=%s&status=queued&status=error" %
         R.Q, [R.q_error]),
        (["2.1"], "instance_uuid=%s&host=nosuch&host=host-b" % R.Q,
         [R.q_error, R.q_queued]),
        (["2.1"], "instance_uuid=%s&migration_type=migration&migration_type"
         "=resize" % R.X, [R.x_resize[0]]),
        (["2.1"], "instance_uuid=%s&source_compute=host-a&source_compute="
         "host-b" % R.Q, []),
        # user_id and project_id from 2.80: the requester
        (["2.80", "2.93"], q(instance_uuid=R.P, user_id="admin"),
         [R.p_admin]),
        (["2.80"], q(instance_uuid=R.P, project_id="admin"), [R.p_admin]),
        (["2.80"], q(instance_uuid=R.P, user_id="ops"),
         R.p_error[:4] + [R.p_queued]),
        (["2.80"], q(instance_uuid=R.P, project_id="p1", user_id="admin"),
         []),
        (["2.80"], q(instance_uuid=R.P, user_id="nosuch"), []),
        (["2.80"], q(instance_uuid=R.P, user_id="u1"), []),
        # ... and before 2.59 they are ignored (6.5)
        (["2.1", "2.58"], q(instance_uuid=R.P, user_id="admin",
                            project_id="admin"), R.p_all),
        # hidden: compared with the flag, hidden records dropped anyway
        (["2.1", "2.80"], q(instance_uuid=R.X, hidden="0"), R.x_visible),
        (["2.1", "2.80"], q(instance_uuid=R.X, hidden="1"), []),
        # an empty value is a value
        (["2.1"], "instance_uuid=%s&status=" % R.Q, []),
        (["2.1"], "instance_uuid=", []),
    ]


def test_osm_filters(api, recs):
    for mvl, query, want in FILTERS(recs):
        for mv in mvl:
            doc = osm_ok(api, query, mv=mv)
            assert sorted(ids_of(doc)) == sorted(want), (mv, query, doc)


def test_osm_filter_without_instance(api, recs):
    """Filters alone, over every record of the session: the records of
    this module are in or out as the filter says."""
    mine = {recs.q_error, recs.q_queued, recs.a_acc, recs.s_rec,
            *recs.p_all, *recs.x_visible}
    for query, pred in [
            ("status=error", lambda m: m["status"] == "error"),
            ("status=accepted", lambda m: m["status"] == "accepted"),
            ("host=host-c", lambda m: "host-c" in (m["source_compute"],
                                                   m["dest_compute"])),
            ("source_compute=host-a", lambda m: m["source_compute"] ==
             "host-a"),
            ("migration_type=resize", lambda m: m["migration_type"] ==
             "resize"),
            ("user_id=admin", lambda m: m["user_id"] == "admin"),
            ("project_id=p1&user_id=ops",
             lambda m: (m["user_id"], m["project_id"]) == ("ops", "p1"))]:
        doc = osm_ok(api, query, mv="2.80")
        got = set(ids_of(doc))
        for m in doc["migrations"]:
            assert pred(m), (query, m)
        for i in mine:
            assert (i in got) == pred(
                {"status": recs.db[i]["status"],
                 "source_compute": recs.db[i]["source_compute"],
                 "dest_compute": recs.db[i]["dest_compute"],
                 "migration_type": recs.db[i]["migration_type"],
                 "user_id": recs.db[i]["user_id"],
                 "project_id": recs.db[i]["project_id"]}), (query, i)


# ---- query schemas ----------------------------------------------------------

@pytest.mark.parametrize("mv", [None, "2.1", "2.23", "2.58"])
def test_osm_unknown_and_later_params_ignored_below_2_59(api, recs, mv):
    want = sorted(recs.p_all)
    base = "instance_uuid=" + recs.P
    for extra in ("foo=bar", "limit=1", "limit=x", "limit=-1", "limit=",
                  "limit=1&limit=2", "marker=nosuch",
                  "marker=%s" % recs.db[recs.p_all[2]]["uuid"],
                  "changes-since=wrong_time", "changes-since=2100-01-01",
                  "changes-before=2000-01-01", "changes-before=x",
                  "user_id=nosuch", "project_id=nosuch", "sort_key=id",
                  "a=1&a=2&b", "%C3%A9=%C3%A9"):
        doc = osm_ok(api, base + "&" + extra, mv=mv)
        assert sorted(ids_of(doc)) == want, extra
        assert "migrations_links" not in doc


QUERY_ERRORS = [
    # (microversions, query, message)
    (["2.59", "2.66", "2.80", "2.93"], "limit=x",
     QP + "limit. Value: x. 'x' does not match '^[0-9]*$'"),
    (["2.59", "2.93"], "limit=-1",
     QP + "limit. Value: -1. '-1' does not match '^[0-9]*$'"),
    (["2.59", "2.93"], "limit=1.5",
     QP + "limit. Value: 1.5. '1.5' does not match '^[0-9]*$'"),
    (["2.59", "2.93"], "limit=",
     QP + "limit. Value: . '' is too short"),
    (["2.59", "2.80"], "limit=1&limit=2",
     QP + "limit. Value: ['1', '2']. ['1', '2'] is too long"),
    # items before maxItems
    (["2.59"], "limit=x&limit=2",
     QP + "limit. Value: x. 'x' does not match '^[0-9]*$'"),
    (["2.59"], "limit=2&limit=",
     QP + "limit. Value: . '' is too short"),
    (["2.59", "2.80"], "marker=a&marker=b",
     QP + "marker. Value: ['a', 'b']. ['a', 'b'] is too long"),
    (["2.59", "2.66", "2.93"], "changes-since=wrong_time",
     QP + "changes-since. Value: wrong_time. 'wrong_time' is not a "
     "'date-time'"),
    (["2.59"], "changes-since=",
     QP + "changes-since. Value: . '' is not a 'date-time'"),
    (["2.59"], "changes-since=2020-01-01&changes-since=2020-01-02",
     QP + "changes-since. Value: ['2020-01-01', '2020-01-02']. "
     "['2020-01-01', '2020-01-02'] is too long"),
    (["2.66", "2.93"], "changes-before=wrong_time",
     QP + "changes-before. Value: wrong_time. 'wrong_time' is not a "
     "'date-time'"),
    (["2.80"], "user_id=a&user_id=b",
     QP + "user_id. Value: ['a', 'b']. ['a', 'b'] is too long"),
    (["2.80"], "project_id=a&project_id=b",
     QP + "project_id. Value: ['a', 'b']. ['a', 'b'] is too long"),
    # additionalProperties from 2.59
    (["2.59", "2.65", "2.66", "2.79", "2.80", "2.93"], "foo=bar",
     "Additional properties are not allowed ('foo' was unexpected)"),
    (["2.59", "2.93"], "zz=1&aa=2&B=3&foo",
     "Additional properties are not allowed ('B', 'aa', 'foo', 'zz' were "
     "unexpected)"),
    (["2.59", "2.65"], "changes-before=2020-01-01",
     "Additional properties are not allowed ('changes-before' was "
     "unexpected)"),
    (["2.59", "2.65", "2.66", "2.79"], "user_id=ops",
     "Additional properties are not allowed ('user_id' was unexpected)"),
    (["2.59", "2.79"], "project_id=p1",
     "Additional properties are not allowed ('project_id' was "
     "unexpected)"),
    (["2.59", "2.79"], "user_id=ops&project_id=p1",
     "Additional properties are not allowed ('project_id', 'user_id' were "
     "unexpected)"),
    (["2.80"], "sort_key=id",
     "Additional properties are not allowed ('sort_key' was unexpected)"),
    # properties (schema order) before additionalProperties
    (["2.59", "2.93"], "foo=bar&limit=x",
     QP + "limit. Value: x. 'x' does not match '^[0-9]*$'"),
    (["2.66"], "changes-before=x&limit=x&changes-since=x",
     QP + "limit. Value: x. 'x' does not match '^[0-9]*$'"),
    (["2.66"], "changes-before=x&changes-since=x",
     QP + "changes-since. Value: x. 'x' is not a 'date-time'"),
    # the semantic checks
    (["2.66", "2.80", "2.93"],
     "changes-since=2020-01-02&changes-before=2020-01-01",
     "The value of changes-since must be less than or equal to "
     "changes-before."),
    (["2.66"], "changes-since=2020-01-01T00:00:00.000001&"
     "changes-before=2020-01-01T00:00:00",
     "The value of changes-since must be less than or equal to "
     "changes-before."),
    (["2.66"], "changes-since=2020-01-01T01:00:00%2B00:00&"
     "changes-before=2020-01-01T01:30:00%2B01:00",
     "The value of changes-since must be less than or equal to "
     "changes-before."),
    # that check comes before the marker lookup
    (["2.66"], "changes-since=2020-01-02&changes-before=2020-01-01&"
     "marker=nosuch",
     "The value of changes-since must be less than or equal to "
     "changes-before."),
    (["2.59", "2.66", "2.80", "2.93"], "marker=nosuch",
     "Marker nosuch could not be found."),
    (["2.59"], "marker=" + NOSUCH,
     "Marker %s could not be found." % NOSUCH),
    # "+" is a space in a query
    (["2.59"], "changes-since=2001-06-01T10:20:30+02:00",
     QP + "changes-since. Value: 2001-06-01T10:20:30 02:00. "
     "'2001-06-01T10:20:30 02:00' is not a 'date-time'"),
    (["2.59"], "marker=%20a%2Fb",
     "Marker  a/b could not be found."),
    # any microversion
    ([None, "2.1", "2.58", "2.59", "2.80", "2.93"], "status=%FF",
     "Query string is not UTF-8 encoded"),
    (["2.1", "2.93"], "%FF=1", "Query string is not UTF-8 encoded"),
    (["2.59"], "limit=x&status=%C3", "Query string is not UTF-8 encoded"),
]


@pytest.mark.parametrize(
    "mv,query,message",
    [(mv, qs, msg) for mvl, qs, msg in QUERY_ERRORS for mv in mvl])
def test_osm_query_errors(api, mv, query, message):
    r = osm(api, query, mv=mv)
    assert_fault(r, 400, "badRequest", message)
    assert_version_headers(r, echo(mv))


def test_osm_marker_unknown_deleted(api, recs):
    m = recs.x_deleted[1]
    r = osm(api, "marker=" + m, mv="2.59")
    assert_fault(r, 400, "badRequest", "Marker %s could not be found." % m)


@pytest.mark.parametrize("value", [
    "2001", "2001-06", "2001-6", "2001-06-01", "2001-6-1", "20010601",
    "2001-06-01T10", "2001-06-01T10:20", "2001-06-01T1020",
    "2001-06-01T10:20:30", "2001-06-01T102030", "2001-06-01T10:20:30.5",
    "2001-06-01T10:20:30.123456", "2001-06-01T10:20:30Z",
    "2001-06-01%2010:20:30", "2001-06-01T10:20:30%2B02:00",
    "2001-06-01T10:20:30-0130", "2001-06-01T10:20:30%2B02",
    "20010601T102030Z"])
def test_osm_datetime_accepted(api, recs, value):
    for param, mv in (("changes-since", "2.59"), ("changes-before", "2.66")):
        r = osm(api, "instance_uuid=%s&%s=%s" % (recs.X, param, value),
                mv=mv)
        assert r.status == 200, (param, value, r)


@pytest.mark.parametrize("value", [
    "wrong_time", "2001-13-01", "2001-02-30", "2001-06-01T25:00",
    "2001-06-01T10:61", "2001-06-01t10:20:30", "10:20:30", "01-06-2001",
    "2001-06-01T10:20:30 02:00", "2001-06-01T10:20:30Zjunk", "200106",
    "2001-06-01T1", "2001-06-01T", "2001-06-01T10:20:30%", "01"])
def test_osm_datetime_refused(api, value):
    quoted = urllib.parse.quote(value)
    r = osm(api, "changes-since=" + quoted, mv="2.59")
    assert_fault(r, 400, "badRequest", QP + "changes-since. Value: %s. %r "
                 "is not a 'date-time'" % (value, value))


# ---- policy -----------------------------------------------------------------

@pytest.mark.parametrize("who", ["member", "reader", "member2", "noroles",
                                 "hexmember"])
@pytest.mark.parametrize("mv", [None, "2.23", "2.59", "2.80", "latest"])
def test_osm_policy(as_, recs, who, mv):
    c = as_(who)
    for query in ("", q(instance_uuid=recs.Q), "status=error&foo=1"
                  if mvnum(mv) < 59 else "limit=1"):
        r = osm(c, query, mv=mv)
        assert_fault(r, 403, "forbidden", OSM_POLICY)
        assert_version_headers(r, echo(mv))


def test_osm_schema_before_policy(as_):
    c = as_("member")
    r = osm(c, "limit=x", mv="2.59")
    assert_fault(r, 400, "badRequest",
                 QP + "limit. Value: x. 'x' does not match '^[0-9]*$'")
    r = osm(c, "foo=1", mv="2.80")
    assert_fault(r, 400, "badRequest", "Additional properties are not "
                 "allowed ('foo' was unexpected)")
    r = osm(c, "status=%FF", mv="2.1")
    assert_fault(r, 400, "badRequest", "Query string is not UTF-8 encoded")
    # the policy before the semantic checks
    r = osm(c, "marker=nosuch", mv="2.59")
    assert_fault(r, 403, "forbidden", OSM_POLICY)
    r = osm(c, "changes-since=2020-01-02&changes-before=2020-01-01",
            mv="2.66")
    assert_fault(r, 403, "forbidden", OSM_POLICY)


def test_osm_admins_of_any_project(as_, recs):
    for who in ("admin", "hexadmin", "caseadmin"):
        doc = osm_ok(as_(who), q(instance_uuid=recs.P), mv="2.80")
        assert sorted(ids_of(doc)) == sorted(recs.p_all)


# ---- paging (2.59) ----------------------------------------------------------

def link_of(doc):
    links = doc.get("migrations_links")
    if links is None:
        return None
    (link,) = links
    assert set(link) == {"rel", "href"} and link["rel"] == "next", links
    return link["href"]


@pytest.mark.parametrize("mv", ["2.59", "2.66", "2.80", "latest"])
def test_osm_order(api, recs, mv):
    doc = osm_ok(api, "", mv=mv)
    ms = doc["migrations"]
    keys = [(m["created_at"], m["id"]) for m in ms]
    assert keys == sorted(keys, reverse=True)
    assert len(ms) < 1000 and "migrations_links" not in doc
    # the records written with one created_at: the larger id first
    got = ids_of(doc)
    assert got.index(recs.x_tie2[0]) + 1 == got.index(recs.x_tie1[0])
    assert ids_of(osm_ok(api, q(instance_uuid=recs.P), mv=mv)) == \
        desc(recs, recs.p_all)
    assert ids_of(osm_ok(api, q(instance_uuid=recs.X), mv=mv)) == \
        [recs.x_tie2[0], recs.x_tie1[0], recs.x_evac[0], recs.x_resize[0],
         recs.x_mig[0]]


def test_osm_limit(api, sandbox, recs):
    P = recs.P
    order = desc(recs, recs.p_all)
    for n in range(0, 9):
        doc = osm_ok(api, q(instance_uuid=P, limit=n), mv="2.59")
        assert ids_of(doc) == order[:n], n
        if 0 < n <= len(order):
            assert link_of(doc) == "%s/v2.1/os-migrations?%s" % (
                sandbox.base, q(instance_uuid=P, limit=n,
                                marker=recs.db[order[n - 1]]["uuid"])), n
        else:
            assert "migrations_links" not in doc, n
    for lim in ("1000", "1001", "99999999999999999999", "007"):
        doc = osm_ok(api, "instance_uuid=%s&limit=%s" % (P, lim), mv="2.93")
        assert ids_of(doc) == order[:7 if lim == "007" else 1000]
        assert "migrations_links" not in doc, lim
    # limit=0 with a marker, and over every record
    doc = osm_ok(api, "limit=0&marker=" + recs.db[order[0]]["uuid"],
                 mv="2.59")
    assert doc == {"migrations": []}
    assert osm_ok(api, "limit=0", mv="2.80") == {"migrations": []}


# common.get_limit_and_marker after the 2.59 query schema (limit:
# single_param(non_negative_integer), '^[0-9]*$' with Python's '$', which
# also matches before a final "\n"): int() refuses "\n" and takes "2\n".
# Below 2.59 limit and marker are not read at all.
@pytest.mark.parametrize("mv", ["2.59", "2.65", "2.66", "2.80", "2.93"])
def test_osm_limit_whitespace(api, recs, mv):
    assert_fault(osm(api, "limit=%0A", mv=mv), 400, "badRequest",
                 "Invalid input received: limit must be an integer")
    order = desc(recs, recs.p_all)
    doc = osm_ok(api, "instance_uuid=%s&limit=2%%0A" % recs.P, mv=mv)
    assert ids_of(doc) == order[:2]
    assert "migrations_links" in doc
    for lim, shown in (("%202", " 2"), ("2%0A%0A", "2\n\n"),
                       ("%0A2", "\n2"), ("%09", "\t")):
        assert_fault(osm(api, "limit=" + lim, mv=mv), 400, "badRequest",
                     QP + "limit. Value: %s. %r does not match '^[0-9]*$'"
                     % (shown, shown))


@pytest.mark.parametrize("mv", ["2.59", "2.66", "2.80", "2.93"])
def test_osm_empty_marker_is_no_marker(api, sandbox, recs, mv):
    P = recs.P
    order = desc(recs, recs.p_all)
    assert ids_of(osm_ok(api, q(instance_uuid=P, marker=""), mv=mv)) == \
        order
    doc = osm_ok(api, q(instance_uuid=P, limit=2, marker=""), mv=mv)
    assert ids_of(doc) == order[:2]
    assert link_of(doc) == "%s/v2.1/os-migrations?%s" % (
        sandbox.base, q(instance_uuid=P, limit=2,
                        marker=recs.db[order[1]]["uuid"]))
    assert_fault(osm(api, "marker=%20", mv=mv), 400, "badRequest",
                 "Marker   could not be found.")


@pytest.mark.parametrize("mv", [None, "2.23", "2.58"])
def test_osm_limit_marker_whitespace_ignored_below_2_59(api, recs, mv):
    want = sorted(recs.p_all)
    for extra in ("limit=%0A", "marker=", "limit=%0A&marker="):
        doc = osm_ok(api, "instance_uuid=%s&%s" % (recs.P, extra), mv=mv)
        assert sorted(ids_of(doc)) == want, extra


def test_osm_marker(api, recs):
    P = recs.P
    order = desc(recs, recs.p_all)
    for i, mid in enumerate(order):
        doc = osm_ok(api, q(instance_uuid=P, marker=recs.db[mid]["uuid"]),
                     mv="2.59")
        assert ids_of(doc) == order[i + 1:], i
        assert "migrations_links" not in doc
    # the marker need not pass the filters: its place in the order counts
    all_doc = osm_ok(api, "", mv="2.59")
    everything = ids_of(all_doc)
    uuid_of = {m["id"]: m["uuid"] for m in all_doc["migrations"]}
    for marker in (recs.q_queued, recs.a_acc, recs.x_tie1[0]):
        after = everything[everything.index(marker) + 1:]
        doc = osm_ok(api, q(instance_uuid=P,
                            marker=recs.db[marker]["uuid"]), mv="2.59")
        assert ids_of(doc) == [i for i in after if i in recs.p_all]
    # the same, without filters
    m = everything[len(everything) // 2]
    doc = osm_ok(api, q(marker=uuid_of[m]), mv="2.80")
    assert ids_of(doc) == everything[everything.index(m) + 1:]
    # the uuid in upper case is another string
    u = recs.db[order[0]]["uuid"].upper()
    assert_fault(osm(api, q(marker=u), mv="2.59"), 400, "badRequest",
                 "Marker %s could not be found." % u)


def test_osm_walk_the_links(api, sandbox, recs):
    """Following next links gives every record once, in order; the last
    full page still has a link and the page after it is empty."""
    P = recs.P
    order = desc(recs, recs.p_all)
    for limit in (1, 2, 3, 4, 5, 6):
        path = "/v2.1/os-migrations?" + q(instance_uuid=P, limit=limit)
        seen, pages = [], 0
        while path is not None:
            doc = osm_ok(api, path.split("?", 1)[1], mv="2.59")
            seen += ids_of(doc)
            pages += 1
            href = link_of(doc)
            if href is None:
                path = None
            else:
                assert href.startswith(sandbox.base + "/v2.1/os-migrations?")
                path = href[len(sandbox.base):]
            assert pages <= 10
        assert seen == order, limit
        assert pages == len(order) // limit + 1, limit
    # the whole list, three at a time
    everything = ids_of(osm_ok(api, "", mv="2.80"))
    path, seen = "limit=3", []
    while path is not None:
        doc = osm_ok(api, path, mv="2.80")
        seen += ids_of(doc)
        href = link_of(doc)
        path = href.split("?", 1)[1] if href else None
    assert seen == everything


def test_osm_next_link_query(api, as_, sandbox, recs):
    P = recs.P
    order = desc(recs, recs.p_all)
    base = sandbox.base + "/v2.1/os-migrations?"

    def href(query, mv="2.59", c=api):
        doc = osm_ok(c, query, mv=mv)
        return link_of(doc), ids_of(doc)

    m1 = recs.db[order[0]]["uuid"]
    m2 = recs.db[order[1]]["uuid"]
    m3 = recs.db[order[2]]["uuid"]
    # sorted by name; marker appended after the last name
    h, got = href("status=error&limit=1&instance_uuid=" + P)
    assert got == [order[1]]            # order[0] is the queued one
    assert h == base + "instance_uuid=%s&limit=1&status=error&marker=%s" % (
        P, m2)
    # marker replaced in place
    h, got = href("marker=%s&limit=1&instance_uuid=%s" % (m1, P))
    assert got == [order[1]]
    assert h == base + "instance_uuid=%s&limit=1&marker=%s" % (P, m2)
    h, got = href("status=error&marker=%s&limit=1&instance_uuid=%s" % (m1, P))
    assert h == base + "instance_uuid=%s&limit=1&marker=%s&status=error" % (
        P, m2)
    # a repeated name: the filter takes the last value, the link keeps one
    # value, the greatest
    h, got = href("status=zzz&status=error&limit=1&instance_uuid=" + P)
    assert got == [order[1]]
    assert h == base + "instance_uuid=%s&limit=1&status=zzz&marker=%s" % (
        P, m2)
    h, got = href("instance_uuid=%s&instance_uuid=%s&limit=2" % (P, recs.Q))
    assert got == desc(recs, [recs.q_error, recs.q_queued])
    assert h == base + "instance_uuid=%s&limit=2&marker=%s" % (
        max(P, recs.Q), recs.db[got[-1]]["uuid"])
    h, got = href("host=host-a&host=host-b&limit=2&instance_uuid=" + P)
    assert got == order[:2]
    assert h == base + "host=host-b&instance_uuid=%s&limit=2&marker=%s" % (
        P, m2)
    # form encoding (quote_plus) of the values
    since = "2000-01-01T00:00:00"
    h, got = href(q(instance_uuid=P, limit=3, **{"changes-since": since}))
    assert got == order[:3]
    assert h == base + ("changes-since=2000-01-01T00%%3A00%%3A00&"
                        "instance_uuid=%s&limit=3&marker=%s" % (P, m3))
    h, got = href("instance_uuid=%s&limit=1&changes-since=2000-01-01%%20"
                  "00:00%%2B00:00" % P, mv="2.66")
    assert h == base + ("changes-since=2000-01-01+00%%3A00%%2B00%%3A00&"
                        "instance_uuid=%s&limit=1&marker=%s" % (P, m1))
    # at 2.80 with user_id and project_id; the caller's project p1 occurs
    # in the URL, so the link carries it (spec 1.1)
    h, got = href(q(project_id="p1", user_id="ops", instance_uuid=P,
                    limit=1), mv="2.80")
    assert h == sandbox.base + (
        "/v2.1/p1/os-migrations?instance_uuid=%s&limit=1&project_id=p1&"
        "user_id=ops&marker=%s" % (P, m1))
    # with a project segment
    r = as_("hexadmin").get("/v2.1/0123abcd/os-migrations?limit=2&"
                            "instance_uuid=" + P, mv="2.59")
    assert r.status == 200, r
    assert link_of(r.json()) == sandbox.base + (
        "/v2.1/0123abcd/os-migrations?instance_uuid=%s&limit=2&marker=%s"
        % (P, m2))


# ---- changes-since / changes-before -----------------------------------------

def test_osm_changes_since_before(api, recs):
    P = recs.P
    epoch = datetime.datetime(1970, 1, 1)
    upd = {i: epoch + datetime.timedelta(
        microseconds=recs.db[i]["updated_at"]) for i in recs.p_all}
    times = sorted(set(upd.values()))
    assert len(times) == len(recs.p_all)
    one = datetime.timedelta(microseconds=1)

    def got(query, mv="2.66"):
        return sorted(ids_of(osm_ok(api, "instance_uuid=%s&%s" % (P, query),
                                    mv=mv)))

    def want(pred):
        return sorted(i for i in recs.p_all if pred(upd[i]))

    t = times[2]
    for fmt in (fmt_us(t), fmt_us(t) + "Z", fmt_us(t) + "%2B00:00",
                fmt_us(t).replace("T", "%20"),
                (t + datetime.timedelta(hours=2)).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f") + "%2B02:00",
                (t - datetime.timedelta(minutes=90)).strftime(
                    "%Y%m%dT%H%M%S.%f") + "-0130"):
        assert got("changes-since=" + fmt, "2.59") == \
            want(lambda u: u >= t), fmt
        assert got("changes-before=" + fmt) == want(lambda u: u <= t), fmt
        assert got("changes-since=%s&changes-before=%s" % (fmt, fmt)) == \
            want(lambda u: u == t), fmt
    # one microsecond off
    assert got("changes-since=" + fmt_us(t + one)) == want(lambda u: u > t)
    assert got("changes-before=" + fmt_us(t - one)) == want(lambda u: u < t)
    # a window
    a, b = times[1], times[4]
    assert got("changes-since=%s&changes-before=%s" % (fmt_us(a), fmt_us(b))
               ) == want(lambda u: a <= u <= b)
    # wide ranges
    assert got("changes-since=2000", "2.59") == sorted(recs.p_all)
    assert got("changes-since=2100-01-01", "2.93") == []
    assert got("changes-before=2000-01-01") == []
    assert got("changes-before=2100-01-01T00:00:00Z") == sorted(recs.p_all)
    # the last value of a repeated filter is not possible (maxItems 1), but
    # changes-before below 2.66 is refused, so only the schema is left


def test_osm_changes_filter_updated_at(api, recs):
    """updated_at, not created_at; a null updated_at never matches."""
    X, A = recs.X, recs.A

    def got(s, query, mv="2.66"):
        return sorted(ids_of(osm_ok(api, "instance_uuid=%s&%s" % (s, query),
                                    mv=mv)))

    # X: created in 2001, updated on 2002-03-04T05:06:07.000008
    assert got(X, "changes-since=2001-06-01") == sorted(recs.x_visible)
    assert got(X, "changes-before=2001-06-01") == []
    assert got(X, "changes-since=2002-03-04T05:06:07.000008") == \
        sorted(recs.x_visible)
    assert got(X, "changes-since=2002-03-04T05:06:07.000009") == []
    assert got(X, "changes-before=2002-03-04T05:06:07.000008") == \
        sorted(recs.x_visible)
    assert got(X, "changes-before=2002-03-04T05:06:07.000007") == []
    assert got(X, "changes-since=2002") == sorted(recs.x_visible)
    assert got(X, "changes-since=2002-3-4") == sorted(recs.x_visible)
    assert got(X, "changes-since=2002-03-05") == []
    assert got(X, "changes-before=2002-03-04T06%2B01:00") == []
    assert got(X, "changes-before=2002-03-04T07%2B01:00") == \
        sorted(recs.x_visible)
    # A: accepted, updated_at null
    for query in ("changes-since=2000-01-01", "changes-before=2100-01-01",
                  "changes-since=2000-01-01&changes-before=2100-01-01"):
        assert got(A, query) == [], query
    assert got(A, "") == [recs.a_acc]
    # changes-since with a marker and a limit
    order = desc(recs, recs.x_visible)
    doc = osm_ok(api, q(instance_uuid=X, limit=2,
                        marker=recs.db[order[0]]["uuid"],
                        **{"changes-since": "2002"}), mv="2.59")
    assert ids_of(doc) == order[1:3]
    assert link_of(doc) is not None


def test_osm_default_limit_1000(api, sandbox, recs):
    """limit defaults to 1000 and is capped there: 1005 more records of X
    (created in 1999, older than any other), removed afterwards."""
    X = recs.X
    t0 = datetime.datetime(1999, 1, 1)
    # confirmed, not finished: a finished cold migration holds its
    # instance until it is confirmed or reverted (one at a time)
    rows = [(str(uuidlib.uuid4()), X, "migration", "confirmed", "host-a",
             "host-b", "ops", "p1",
             us(t0 + datetime.timedelta(seconds=i)),
             us(t0 + datetime.timedelta(seconds=i))) for i in range(1005)]
    con = sqlite3.connect(str(sandbox.db), timeout=10)
    try:
        with con:
            con.executemany(
                "INSERT INTO migrations (uuid, instance_uuid, migration_type,"
                " status, source_compute, dest_compute, user_id, project_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?)", rows)
        bulk = [r[0] for r in con.execute(
            "SELECT id FROM migrations WHERE instance_uuid = ? AND"
            " created_at < ? ORDER BY created_at DESC", (X, us(t0) + 10 ** 10
                                                        ))]
        uuid_of = dict(con.execute(
            "SELECT id, uuid FROM migrations WHERE instance_uuid = ?", (X,)))
        assert len(bulk) == 1005
        order = desc(recs, recs.x_visible) + bulk
        base = sandbox.base + "/v2.1/os-migrations?"

        doc = osm_ok(api, q(instance_uuid=X), mv="2.59")
        assert ids_of(doc) == order[:1000]
        assert link_of(doc) == base + q(instance_uuid=X,
                                        marker=uuid_of[order[999]])
        doc = osm_ok(api, link_of(doc).split("?", 1)[1], mv="2.59")
        assert ids_of(doc) == order[1000:]
        assert "migrations_links" not in doc
        for lim in ("1000", "5000", "999"):
            n = min(int(lim), 1000)
            doc = osm_ok(api, "instance_uuid=%s&limit=%s" % (X, lim),
                         mv="2.80")
            assert ids_of(doc) == order[:n], lim
            assert link_of(doc) == base + q(instance_uuid=X, limit=lim,
                                            marker=uuid_of[order[n - 1]])
        # below 2.59: everything, no link
        doc = osm_ok(api, q(instance_uuid=X), mv="2.58")
        assert sorted(ids_of(doc)) == sorted(order)
        assert list(doc) == ["migrations"]
    finally:
        with con:
            con.executemany("DELETE FROM migrations WHERE uuid = ?",
                            [(r[0],) for r in rows])
        con.close()
    assert sorted(ids_of(osm_ok(api, q(instance_uuid=X)))) == \
        sorted(recs.x_visible)
