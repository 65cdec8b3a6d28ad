"""Host drains (issue 15): /v2.1/os-ferry-drains, ferry's own admin API.

Two sandboxes of their own (a drain disables a host: the shared one must
not see it): "drains" without runners (drains stay "planning": the API's
checks, validation, policy, the host disabled at once) and "drainrun"
with one runner (the plan, dry runs with every reason, a drain carried
out: with test:// hosts every migration fails, so each server is tried
twice, on two hosts, and the drain ends failed with the reasons).
"""
import json
import time

import pytest

from conftest import A, B, MIG, S, assert_fault, run_sandbox

V = "Invalid input for field/attribute "
URL = "/v2.1/os-ferry-drains"
NO_VALID = "No valid host was found. There are not enough hosts available."
DRAINED = ("Compute host %s is disabled by a drain: it takes no new servers "
           "until it is enabled again.")
HOST_B = [B(1), B(2), B(3)]

# host-d: a second enabled destination (an empty test:// host), so that a
# failed server has somewhere else to go
RUN_EXTRA = ("\n[host host-d]\nuri = test://%s/host-c.xml\n"
             "migration_address = 127.0.0.1\n\n[ferryd]\nrunners = 1\n")


@pytest.fixture(scope="module")
def sb():
    yield from run_sandbox("drains")


@pytest.fixture(scope="module")
def run_sb():
    from conftest import HOSTS_DIR
    yield from run_sandbox("drainrun", extra_config=RUN_EXTRA % HOSTS_DIR)


def client(sandbox, who="ops"):
    return sandbox.client(sandbox.tokens[who])


def create(c, body, query="", **kw):
    return c.post(URL + query, json_body=body, **kw)


def drains_in_store(sandbox):
    import sqlite3
    con = sqlite3.connect(str(sandbox.db), timeout=10)
    try:
        return con.execute("SELECT count(*) FROM drains").fetchone()[0]
    finally:
        con.close()


def migration_ids(sandbox, after=0):
    import sqlite3
    con = sqlite3.connect(str(sandbox.db), timeout=10)
    try:
        return {r[0] for r in con.execute(
            "SELECT id FROM migrations WHERE id > ?", (after,))}
    finally:
        con.close()


def wait_status(c, did, statuses, timeout=60.0):
    end = time.monotonic() + timeout
    while True:
        r = c.get("%s/%d" % (URL, did))
        assert r.status == 200, r
        d = r.json()["drain"]
        if d["status"] in statuses or time.monotonic() > end:
            return d
        time.sleep(0.2)


# ---- validation: every bad input is a 400 that changes nothing ---------------

BAD = [
    ({}, "'drain' is a required property"),
    ({"drain": {}}, "'host' is a required property"),
    ({"drain": []}, "[] is not of type 'object'"),
    ({"drain": {"host": 1}}, "1 is not of type 'string'"),
    ({"drain": {"host": None}}, "None is not of type 'string'"),
    ({"drain": {"host": ""}}, "'' is too short"),
    ({"drain": {"host": "a/b"}},
     "'a/b' does not match '^[a-zA-Z0-9-._]*$'"),
    ({"drain": {"host": "x" * 256}}, "is too long"),
    ({"drain": {"host": "host-a", "target_hosts": "host-b"}},
     "'host-b' is not of type 'array', 'null'"),
    ({"drain": {"host": "host-a", "target_hosts": [5]}},
     "5 is not of type 'string'"),
    ({"drain": {"host": "host-a", "target_hosts": ["h"] * 65}},
     "is too long"),
    ({"drain": {"host": "host-a", "max_parallel": 0}},
     "0 is less than the minimum of 1"),
    ({"drain": {"host": "host-a", "max_parallel": 65}},
     "65 is greater than the maximum of 64"),
    ({"drain": {"host": "host-a", "max_parallel": "2"}},
     "'2' is not of type 'integer'"),
    ({"drain": {"host": "host-a", "max_parallel": True}},
     "True is not of type 'integer'"),
    ({"drain": {"host": "host-a", "max_parallel": 1.5}},
     "1.5 is not of type 'integer'"),
    ({"drain": {"host": "host-a", "block_migration": "maybe"}},
     "'maybe' is not one of"),
    ({"drain": {"host": "host-a", "shut_off": "destroy"}},
     "'destroy' is not one of ['cold_migrate', 'leave']"),
    ({"drain": {"host": "host-a", "evacuate": True}},
     "Additional properties are not allowed ('evacuate' was unexpected)"),
    ({"drain": {"host": "host-a"}, "x": 1},
     "Additional properties are not allowed ('x' was unexpected)"),
]


@pytest.mark.parametrize("body,message", BAD)
def test_bad_body_is_400_and_records_nothing(sb, body, message):
    c = client(sb)
    before = drains_in_store(sb)
    r = create(c, body)
    msg = assert_fault(r, 400, "badRequest")
    assert message in msg, msg
    assert drains_in_store(sb) == before


@pytest.mark.parametrize("body,message", [
    ({"drain": {"host": "nope"}}, "Compute host nope could not be found."),
    ({"drain": {"host": "host-a", "target_hosts": ["nope"]}},
     "Compute host nope could not be found."),
    ({"drain": {"host": "host-a", "target_hosts": []}},
     "target_hosts is empty: name at least one host, or leave it out for "
     "the scheduler."),
    ({"drain": {"host": "host-a", "target_hosts": ["host-a"]}},
     "Cannot drain host host-a to itself."),
    ({"drain": {"host": "host-a", "target_hosts": ["host-b", "host-b"]}},
     "Host host-b is named twice in target_hosts."),
])
def test_bad_hosts_are_400_and_record_nothing(sb, body, message):
    c = client(sb)
    before = drains_in_store(sb)
    assert_fault(create(c, body), 400, "badRequest", message)
    assert_fault(create(c, body, "?dry_run=1"), 400, "badRequest", message)
    assert drains_in_store(sb) == before


@pytest.mark.parametrize("raw", [None, b"", b"{", b"[1]x", b"\xff"])
def test_malformed_body_is_400(sb, raw):
    c = client(sb)
    r = c.post(URL, body=raw, content_type="application/json")
    assert_fault(r, 400, "badRequest", "Malformed request body")


def test_bad_dry_run_value_is_400(sb):
    c = client(sb)
    before = drains_in_store(sb)
    r = create(c, {"drain": {"host": "host-a"}}, "?dry_run=maybe")
    msg = assert_fault(r, 400, "badRequest")
    assert msg.startswith("Invalid input for query parameters dry_run. "
                          "Value: maybe."), msg
    assert drains_in_store(sb) == before


@pytest.mark.parametrize("path", ["/0", "/abc", "/-1", "/99999",
                                  "/1x", "/%s" % ("9" * 30)])
def test_unknown_drain_is_404(sb, path):
    c = client(sb)
    for r in (c.get(URL + path), c.request("DELETE", URL + path),
              c.post(URL + path + "/action",
                     json_body={"enable_host": None})):
        assert_fault(r, 404, "itemNotFound",
                     "Drain %s could not be found." % path[1:])


def test_unknown_action_is_400(sb):
    c = client(sb)
    r = c.post(URL + "/1/action", json_body={"evacuate": None})
    assert_fault(r, 400, "badRequest", "There is no such action: evacuate")
    r = c.post(URL + "/1/action", json_body={"enable_host": 1})
    msg = assert_fault(r, 400, "badRequest")
    assert "1 is not of type 'null'" in msg, msg


# ---- policy ------------------------------------------------------------------

@pytest.mark.parametrize("who", ["member", "reader", "noroles", "member2"])
def test_non_admins_are_refused(sb, who):
    c = client(sb, who)
    before = drains_in_store(sb)
    for rule, r in [
            ("create", create(c, {"drain": {"host": "host-a"}})),
            ("create", create(c, {"drain": {"host": "host-a"}},
                              "?dry_run=1")),
            ("index", c.get(URL)),
            ("show", c.get(URL + "/1")),
            ("cancel", c.request("DELETE", URL + "/1")),
            ("enable_host", c.post(URL + "/1/action",
                                   json_body={"enable_host": None}))]:
        assert_fault(r, 403, "forbidden",
                     "Policy doesn't allow ferry:drains:%s to be performed."
                     % rule)
    assert drains_in_store(sb) == before


# ---- create, list, show, cancel; the host disabled ---------------------------

def test_create_list_show_cancel_and_host_disabled(sb):
    c = client(sb)
    r = create(c, {"drain": {"host": "host-b", "max_parallel": 2,
                             "target_hosts": ["host-a"],
                             "block_migration": False,
                             "shut_off": "leave"}})
    assert r.status == 202, r
    d = r.json()["drain"]
    assert d["host"] == "host-b" and d["status"] == "planning"
    assert d["dry_run"] is False and d["max_parallel"] == 2
    assert d["target_hosts"] == ["host-a"]
    assert d["block_migration"] is False and d["shut_off"] == "leave"
    assert d["host_enabled"] is False
    assert r.header("Location").endswith("/v2.1/os-ferry-drains/%d"
                                         % d["id"])
    did = d["id"]

    # one drain per host at a time
    r = create(c, {"drain": {"host": "host-b"}})
    assert_fault(r, 409, "conflictingRequest",
                 "Host host-b is already being drained (drain %d)." % did)

    r = c.get(URL)
    assert r.status == 200
    assert did in [x["id"] for x in r.json()["drains"]]
    r = c.get("%s/%d" % (URL, did))
    assert r.status == 200
    assert r.json()["drain"]["servers"] == []      # no runner: not planned

    # the host takes no incoming migration: scheduled (named) or forced
    r = c.live(MIG[0], {"host": "host-b", "block_migration": False},
               mv="2.30")
    assert_fault(r, 400, "badRequest", NO_VALID)
    r = c.live(MIG[0], {"host": "host-b", "block_migration": False,
                        "force": True}, mv="2.30")
    assert_fault(r, 400, "badRequest", DRAINED % "host-b")

    # the host stays disabled until its drain ends and enable_host
    r = c.post("%s/%d/action" % (URL, did), json_body={"enable_host": None})
    assert_fault(r, 409, "conflictingRequest",
                 "Cannot 'enable_host' for drain %d while it is in status "
                 "planning." % did)
    # ... and the metrics say so, as for a host the configuration disables
    r = sb.client().get("/metrics")
    assert r.status == 200, r
    assert 'ferry_host_reachable{host="host-b",enabled="false"}' in r.text
    assert 'ferry_host_reachable{host="host-a",enabled="true"}' in r.text
    r = c.request("DELETE", "%s/%d" % (URL, did))
    assert r.status == 202, r
    assert c.get("%s/%d" % (URL, did)).json()["drain"]["status"] == \
        "cancelling"
    r = c.request("DELETE", "%s/%d" % (URL, did))
    assert_fault(r, 409, "conflictingRequest",
                 "Cannot cancel drain %d while it is in status cancelling."
                 % did)


def test_servers_of_a_drained_host_show_maintenance(sb):
    """A host a drain disabled is a disabled compute service to Nova's
    host_status (2.16): MAINTENANCE, as a host disabled in the config."""
    c = client(sb)
    r = create(c, {"drain": {"host": "host-b"}})
    assert r.status in (202, 409), r       # 409: drained by a test above
    r = c.get("/v2.1/servers/detail?all_tenants=1", mv="2.16")
    assert r.status == 200, r
    by_host = {}
    for s in r.json()["servers"]:
        by_host.setdefault(s["OS-EXT-SRV-ATTR:host"], set()).add(
            s["host_status"])
    assert by_host.get("host-b") == {"MAINTENANCE"}, by_host
    assert by_host.get("host-a") == {"UP"}, by_host


def test_defaults_and_dry_run_disables_nothing(sb):
    c = client(sb)
    r = create(c, {"drain": {"host": "host-a"}}, "?dry_run=1")
    assert r.status == 202, r
    d = r.json()["drain"]
    assert d["dry_run"] is True and d["target_hosts"] is None
    assert d["block_migration"] == "auto" and d["shut_off"] == "cold_migrate"
    assert d["max_parallel"] == 1          # max_concurrent_live_migrations
    assert d["host_enabled"] is True
    r = c.post("%s/%d/action" % (URL, d["id"]),
               json_body={"enable_host": None})
    assert_fault(r, 409, "conflictingRequest")


def test_metrics_have_drain_families(sb):
    r = sb.client().get("/metrics")
    if r.status != 200:
        pytest.skip("metrics not reachable from here: %d" % r.status)
    text = r.text
    assert "# TYPE ferry_drains gauge" in text
    assert 'ferry_drains{status="planning"}' in text
    assert 'ferry_drains_servers{state="waiting"}' in text


# ---- with a runner: plans, dry runs with every reason, a drain carried out ---

def test_dry_run_plans_every_server_with_every_reason(run_sb):
    c = client(run_sb)
    r = create(c, {"drain": {"host": "host-b"}}, "?dry_run=1")
    assert r.status == 202, r
    d = wait_status(c, r.json()["drain"]["id"], ("planned", "error"))
    assert d["status"] == "planned", d
    servers = {s["server_id"]: s for s in
               c.get("%s/%d" % (URL, d["id"])).json()["drain"]["servers"]}
    assert set(servers) == set(HOST_B), servers
    for s in servers.values():
        assert s["state"] == "planned", s
        assert s["planned_host"] in ("host-a", "host-d"), s
        assert s["reasons"] == [] and s["migration_id"] is None, s

    # block migration asked on shared storage, a disabled host named: every
    # reason of every candidate, at once
    r = create(c, {"drain": {"host": "host-b", "block_migration": True,
                             "target_hosts": ["host-c", "host-a"]}},
               "?dry_run=true")
    d = wait_status(c, r.json()["drain"]["id"], ("planned", "error"))
    assert d["status"] == "planned", d
    for s in c.get("%s/%d" % (URL, d["id"])).json()["drain"]["servers"]:
        assert s["state"] == "unmovable", s
        assert s["planned_host"] is None, s
        assert "host-c: Compute host host-c is disabled." in s["reasons"]
        assert ("host-a: host-b is not on local storage: Block migration "
                "can not be used with shared storage.") in s["reasons"], s
        assert ("host-c: host-b is not on local storage: Block migration "
                "can not be used with shared storage.") in s["reasons"], s
    # a dry run moves nothing and disables nothing
    assert all(run_sb.migrations(u) == [] for u in HOST_B)
    assert d["host_enabled"] is True


def test_drain_retries_elsewhere_then_ends_and_enable_host(run_sb):
    c = client(run_sb)
    r = create(c, {"drain": {"host": "host-b", "max_parallel": 2}})
    assert r.status == 202, r
    did = r.json()["drain"]["id"]
    d = wait_status(c, did, ("completed", "failed", "error"), timeout=120)
    # test:// hosts have no peer-to-peer migration: every try fails
    assert d["status"] == "failed", d
    assert d["error"] == "3 of 3 servers were not moved", d
    assert d["host_enabled"] is False
    servers = c.get("%s/%d" % (URL, did)).json()["drain"]["servers"]
    for s in servers:
        assert s["state"] == "failed", s
        assert s["attempts"] == 2, s
        assert s["failed_host"] in ("host-a", "host-d"), s
        assert s["planned_host"] in ("host-a", "host-d"), s
        assert s["planned_host"] != s["failed_host"], s   # elsewhere
        recs = run_sb.migrations(s["server_id"])
        assert len(recs) == 2, recs
        assert {m["requested_host"] for m in recs} == {"host-a", "host-d"}
        assert all(m["status"] in ("failed", "error") for m in recs), recs
        assert s["migration_id"] == recs[-1]["id"]
        assert "p2p" in s["error"] or "migration" in s["error"], s

    # the host stays disabled: a migration to it is refused
    r = c.live(MIG[1], {"host": "host-b", "block_migration": False,
                        "force": True}, mv="2.30")
    assert_fault(r, 400, "badRequest", DRAINED % "host-b")
    # an ended drain cannot be cancelled; enable_host re-enables
    r = c.request("DELETE", "%s/%d" % (URL, did))
    assert_fault(r, 409, "conflictingRequest")
    r = c.post("%s/%d/action" % (URL, did), json_body={"enable_host": None})
    assert r.status == 202, r
    assert c.get("%s/%d" % (URL, did)).json()["drain"]["host_enabled"]


def test_cancel_in_the_middle_starts_nothing_new(run_sb):
    c = client(run_sb)
    # host-a has some 50 servers; one at a time to host-d
    last = max(migration_ids(run_sb) or {0})
    r = create(c, {"drain": {"host": "host-a", "max_parallel": 1,
                             "target_hosts": ["host-d"]}})
    assert r.status == 202, r
    did = r.json()["drain"]["id"]
    end = time.monotonic() + 60
    while time.monotonic() < end:
        servers = c.get("%s/%d" % (URL, did)).json()["drain"]["servers"]
        if any(s["migration_id"] is not None for s in servers):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no migration started")
    r = c.request("DELETE", "%s/%d" % (URL, did))
    assert r.status == 202, r
    d = wait_status(c, did, ("cancelled",), timeout=120)
    assert d["status"] == "cancelled", d
    assert d["finished_at"] is not None
    servers = c.get("%s/%d" % (URL, did)).json()["drain"]["servers"]
    states = [s["state"] for s in servers]
    assert "waiting" not in states and "migrating" not in states, states
    cancelled = [s for s in servers if s["state"] == "cancelled"]
    assert cancelled, states
    assert all(s["migration_id"] is None for s in cancelled), cancelled
    # every migration the drain started has ended, and none starts later
    started = [s for s in servers if s["migration_id"] is not None]
    ids = set()
    for s in started:
        recs = [m for m in run_sb.migrations(s["server_id"])
                if m["id"] > last]
        assert recs and all(m["finished_at"] for m in recs), recs
        ids |= {m["id"] for m in recs}
    assert migration_ids(run_sb, last) == ids
    time.sleep(1.0)
    assert migration_ids(run_sb, last) == ids
    # a cancelled drain's host stays disabled until enable_host
    assert d["host_enabled"] is False
    r = c.post("%s/%d/action" % (URL, did), json_body={"enable_host": None})
    assert r.status == 202, r
    assert c.get("%s/%d" % (URL, did)).json()["drain"]["host_enabled"]
