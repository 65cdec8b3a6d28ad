"""POST /servers/{id}/action {"os-migrateLive": ...} (spec 4): the schema
messages of 3.4/4.6 per microversion, the checks of 4.3 in their order,
success (4.5) with the record in the store, and a race for one server.

Bodies that should pass validation are sent for a server that does not
exist (NOSUCH), so that passing shows as 404 and nothing migrates.  Every
test that expects a 202 takes its own server from the migs/pmigs pools,
because no runner exists yet and the server stays MIGRATING."""
import re
import threading
import time

import pytest

from conftest import (BOOL_ENUM as E, BOOL_ENUM_AUTO as EA, NOSUCH, S,
                      echo, expect_202, mvnum,
                      assert_fault, assert_request_id,
                      assert_version_headers)

WEB1 = S["web-1"]
V = "Invalid input for field/attribute "
POLICY_403 = ("Policy doesn't allow os_compute_api:os-migrate-server:"
              "migrate_live to be performed.")
SYNC = ["2.1", "2.24", "2.25", "2.29", "2.30", "2.33"]
ASYNC = ["2.34", "2.67", "2.68", "2.93"]
ALL_MV = SYNC + ASYNC




def valid_body(mv, host="host-b", **extra):
    """A body that passes the schema of mv."""
    n = mvnum(mv)
    if n < 25:
        body = {"host": host, "block_migration": False,
                "disk_over_commit": False}
    else:
        body = {"host": host, "block_migration": "auto"}
    body.update(extra)
    return body


def post(api, server, value, mv):
    return api.action(server, json_body={"os-migrateLive": value}, mv=mv)


def raw(api, server, inner, mv):
    """inner: the raw JSON text of the os-migrateLive value."""
    return api.action(server, body='{"os-migrateLive": %s}' % inner, mv=mv)


def expect_400(r, message, mv):
    assert_fault(r, 400, "badRequest", message)
    assert_version_headers(r, echo(mv))


def expect_passes_schema(r):
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)


# ---- schema (row 1): the messages of 4.6 ------------------------------------

H256 = "a" * 256

SCHEMA_CASES = [
    # (microversions, value, message)
    (["2.1", "2.24"],
     {"host": "h1", "block_migration": "auto", "disk_over_commit": False},
     V + "block_migration. Value: auto. 'auto' is not one of " + E),
    (["2.1", "2.24"], {"host": "h1"},
     V + "os-migrateLive. Value: {'host': 'h1'}. 'block_migration' is a "
     "required property"),
    (["2.1", "2.24"], {"host": "h1", "block_migration": False},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': False}. "
     "'disk_over_commit' is a required property"),
    (["2.1"], {"block_migration": False, "disk_over_commit": False},
     V + "os-migrateLive. Value: {'block_migration': False, "
     "'disk_over_commit': False}. 'host' is a required property"),
    (ALL_MV, None,
     V + "os-migrateLive. Value: None. None is not of type 'object'"),
    (ALL_MV, "x",
     V + "os-migrateLive. Value: x. 'x' is not of type 'object'"),
    (ALL_MV, {},
     V + "os-migrateLive. Value: {}. 'block_migration' is a required "
     "property"),
    (ALL_MV, [],
     V + "os-migrateLive. Value: []. [] is not of type 'object'"),
    (ALL_MV, 5, V + "os-migrateLive. Value: 5. 5 is not of type 'object'"),
    (ALL_MV, True,
     V + "os-migrateLive. Value: True. True is not of type 'object'"),
    (["2.25", "2.30", "2.67", "2.68", "2.93"],
     {"host": "h1", "block_migration": False, "disk_over_commit": False},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': False, "
     "'disk_over_commit': False}. Additional properties are not allowed "
     "('disk_over_commit' was unexpected)"),
    (["2.25", "2.29", "2.68", "2.93"],
     {"host": "h1", "block_migration": "auto", "force": True},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': 'auto', "
     "'force': True}. Additional properties are not allowed ('force' was "
     "unexpected)"),
    (["2.1", "2.24"],
     {"host": "h1", "block_migration": False, "disk_over_commit": False,
      "force": True},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': False, "
     "'disk_over_commit': False, 'force': True}. Additional properties are "
     "not allowed ('force' was unexpected)"),
    (["2.30", "2.67"],
     {"host": "h1", "block_migration": "auto", "force": "maybe"},
     V + "force. Value: maybe. 'maybe' is not one of " + E),
    (["2.30"], {"host": "h1", "block_migration": "auto", "force": "auto"},
     V + "force. Value: auto. 'auto' is not one of " + E),
    (["2.30"], {"host": "h1", "block_migration": "auto", "force": None},
     V + "force. Value: None. None is not of type 'boolean', 'string'"),
    (["2.25", "2.30", "2.68", "2.93"], {"block_migration": "auto"},
     V + "os-migrateLive. Value: {'block_migration': 'auto'}. 'host' is a "
     "required property"),
    (["2.25", "2.30", "2.68", "2.93"],
     {"host": "h1", "block_migration": "AUTO"},
     V + "block_migration. Value: AUTO. 'AUTO' is not one of " + EA),
    (["2.25", "2.30", "2.68", "2.93"],
     {"host": "", "block_migration": "auto"},
     V + "host. Value: . '' is too short"),
    (["2.1"], {"host": "", "block_migration": False,
               "disk_over_commit": False},
     V + "host. Value: . '' is too short"),
    (["2.25", "2.30", "2.68", "2.93"],
     {"host": "bad host!", "block_migration": "auto"},
     V + "host. Value: bad host!. 'bad host!' does not match "
     "'^[a-zA-Z0-9-._]*$'"),
    (["2.25", "2.93"], {"host": H256, "block_migration": "auto"},
     V + "host. Value: %s. '%s' is too long" % (H256, H256)),
    (["2.1"], {"host": H256, "block_migration": True,
               "disk_over_commit": True},
     V + "host. Value: %s. '%s' is too long" % (H256, H256)),
    (["2.25", "2.30", "2.68", "2.93"], {"host": 5, "block_migration": "auto"},
     V + "host. Value: 5. 5 is not of type 'string', 'null'"),
    (["2.25", "2.30", "2.68", "2.93"],
     {"host": "h1", "block_migration": "auto", "dummy": 1},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': 'auto', "
     "'dummy': 1}. Additional properties are not allowed ('dummy' was "
     "unexpected)"),
    # several extras: sorted by code point, not in request order
    (["2.25", "2.68"],
     {"host": "h1", "block_migration": "auto", "zz": 1, "aa": 2, "B": 3,
      "\u00e9": 4},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': 'auto', "
     "'zz': 1, 'aa': 2, 'B': 3, '\u00e9': 4}. Additional properties are not "
     "allowed ('B', 'aa', 'zz', '\u00e9' were unexpected)"),
    # required before additionalProperties
    (["2.25"], {"x": 1},
     V + "os-migrateLive. Value: {'x': 1}. 'block_migration' is a required "
     "property"),
    # properties before required
    (["2.25"], {"block_migration": 1},
     V + "block_migration. Value: 1. 1 is not of type 'boolean', 'string'"),
    # properties in schema order, not request order
    (["2.1"], {"host": 5, "block_migration": 1, "disk_over_commit": False},
     V + "block_migration. Value: 1. 1 is not of type 'boolean', 'string'"),
    (["2.1"], {"host": 5, "disk_over_commit": "x", "block_migration": True},
     V + "disk_over_commit. Value: x. 'x' is not one of " + E),
    (["2.30"], {"force": "x", "host": 5, "block_migration": "auto"},
     V + "host. Value: 5. 5 is not of type 'string', 'null'"),
    # length is reported before the pattern
    (["2.25"], {"host": "!" * 256, "block_migration": "auto"},
     V + "host. Value: %s. '%s' is too long" % ("!" * 256, "!" * 256)),
    # block_migration values
    (["2.1"], {"host": "h1", "block_migration": "tRue",
               "disk_over_commit": False},
     V + "block_migration. Value: tRue. 'tRue' is not one of " + E),
    (["2.25"], {"host": "h1", "block_migration": " true"},
     V + "block_migration. Value:  true. ' true' is not one of " + EA),
    (["2.25"], {"host": "h1", "block_migration": "t"},
     V + "block_migration. Value: t. 't' is not one of " + EA),
    (["2.25"], {"host": "h1", "block_migration": "y"},
     V + "block_migration. Value: y. 'y' is not one of " + EA),
    (["2.25"], {"host": "h1", "block_migration": 0},
     V + "block_migration. Value: 0. 0 is not of type 'boolean', 'string'"),
    (["2.25"], {"host": "h1", "block_migration": 1.5},
     V + "block_migration. Value: 1.5. 1.5 is not of type 'boolean', "
     "'string'"),
    (["2.25"], {"host": "h1", "block_migration": 1.0},
     V + "block_migration. Value: 1.0. 1.0 is not of type 'boolean', "
     "'string'"),
    (["2.25"], {"host": "h1", "block_migration": 1e16},
     V + "block_migration. Value: 1e+16. 1e+16 is not of type 'boolean', "
     "'string'"),
    (["2.25"], {"host": "h1", "block_migration": 1e-7},
     V + "block_migration. Value: 1e-07. 1e-07 is not of type 'boolean', "
     "'string'"),
    (["2.25"], {"host": "h1", "block_migration": {}},
     V + "block_migration. Value: {}. {} is not of type 'boolean', 'string'"),
    (["2.25"], {"host": "h1", "block_migration": [True, None, "a"]},
     V + "block_migration. Value: [True, None, 'a']. [True, None, 'a'] is "
     "not of type 'boolean', 'string'"),
    (["2.1"], {"host": "h1", "block_migration": False,
               "disk_over_commit": "maybe"},
     V + "disk_over_commit. Value: maybe. 'maybe' is not one of " + E),
    (["2.1"], {"host": "h1", "block_migration": False,
               "disk_over_commit": "auto"},
     V + "disk_over_commit. Value: auto. 'auto' is not one of " + E),
    # host values and Python's repr
    (["2.25"], {"host": True, "block_migration": "auto"},
     V + "host. Value: True. True is not of type 'string', 'null'"),
    (["2.25"], {"host": ["h1"], "block_migration": "auto"},
     V + "host. Value: ['h1']. ['h1'] is not of type 'string', 'null'"),
    (["2.25"], {"host": {"a": 1}, "block_migration": "auto"},
     V + "host. Value: {'a': 1}. {'a': 1} is not of type 'string', 'null'"),
    (["2.25"], {"host": "h\u00f4st", "block_migration": "auto"},
     V + "host. Value: h\u00f4st. 'h\u00f4st' does not match "
     "'^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": "a'b", "block_migration": "auto"},
     V + "host. Value: a'b. \"a'b\" does not match '^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": 'a"b', "block_migration": "auto"},
     V + "host. Value: a\"b. 'a\"b' does not match '^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": "a'\"b", "block_migration": "auto"},
     V + "host. Value: a'\"b. 'a\\'\"b' does not match '^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": "a\tb", "block_migration": "auto"},
     V + "host. Value: a\tb. 'a\\tb' does not match '^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": "a\\b", "block_migration": "auto"},
     V + "host. Value: a\\b. 'a\\\\b' does not match '^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": "a\x01b\r", "block_migration": "auto"},
     V + "host. Value: a\x01b\r. 'a\\x01b\\r' does not match "
     "'^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": "abc\n\n", "block_migration": "auto"},
     V + "host. Value: abc\n\n. 'abc\\n\\n' does not match "
     "'^[a-zA-Z0-9-._]*$'"),
    (["2.25"], {"host": "\U0001F600", "block_migration": "auto"},
     V + "host. Value: \U0001F600. '\U0001F600' does not match "
     "'^[a-zA-Z0-9-._]*$'"),
    # nested values keep request key order
    (["2.25"], {"host": "h1", "block_migration": "auto",
                "x": {"b": [1, None, True, 1.5, "s"], "a": {}}},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': 'auto', "
     "'x': {'b': [1, None, True, 1.5, 's'], 'a': {}}}. Additional "
     "properties are not allowed ('x' was unexpected)"),
    (["2.25"], {"host": "h1", "block_migration": "auto", "a'b": 1},
     V + "os-migrateLive. Value: {'host': 'h1', 'block_migration': 'auto', "
     "\"a'b\": 1}. Additional properties are not allowed (\"a'b\" was "
     "unexpected)"),
]


@pytest.mark.parametrize(
    "mv,value,message",
    [(mv, value, msg) for mvl, value, msg in SCHEMA_CASES for mv in mvl],
    ids=lambda x: x if isinstance(x, str) and len(x) < 12 else None)
def test_schema_message(api, mv, value, message):
    expect_400(post(api, NOSUCH, value, mv), message, mv)


RAW_CASES = [
    # (microversion, raw JSON of the value, message); Python json semantics
    ("2.25", '{"host": "h1", "block_migration": NaN}',
     V + "block_migration. Value: nan. nan is not of type 'boolean', "
     "'string'"),
    ("2.25", '{"host": "h1", "block_migration": Infinity}',
     V + "block_migration. Value: inf. inf is not of type 'boolean', "
     "'string'"),
    ("2.25", '{"host": "h1", "block_migration": -Infinity}',
     V + "block_migration. Value: -inf. -inf is not of type 'boolean', "
     "'string'"),
    ("2.25", '{"host": "h1", "block_migration": 1e400}',
     V + "block_migration. Value: inf. inf is not of type 'boolean', "
     "'string'"),
    ("2.25", '{"host": "h1", "block_migration": -0}',
     V + "block_migration. Value: 0. 0 is not of type 'boolean', 'string'"),
    ("2.25", '{"host": "h1", "block_migration": -0.0}',
     V + "block_migration. Value: -0.0. -0.0 is not of type 'boolean', "
     "'string'"),
    ("2.25", '{"host": "h1", "block_migration": 1E2}',
     V + "block_migration. Value: 100.0. 100.0 is not of type 'boolean', "
     "'string'"),
    ("2.25", '{"host": "h1", "block_migration": 123456789.123456789}',
     V + "block_migration. Value: 123456789.12345679. 123456789.12345679 "
     "is not of type 'boolean', 'string'"),
    ("2.25", '{"host": "h1", "block_migration": '
             '123456789012345678901234567890}',
     V + "block_migration. Value: 123456789012345678901234567890. "
     "123456789012345678901234567890 is not of type 'boolean', 'string'"),
    ("2.25", '{"host": NaN, "block_migration": "auto"}',
     V + "host. Value: nan. nan is not of type 'string', 'null'"),
    ("2.25", '{"host": "\\u0068\\u0031\\u0000", "block_migration": "auto"}',
     V + "host. Value: h1\x00. 'h1\\x00' does not match "
     "'^[a-zA-Z0-9-._]*$'"),
    ("2.25", '{"host": "h1", "host": 7, "block_migration": "auto"}',
     V + "host. Value: 7. 7 is not of type 'string', 'null'"),
]


@pytest.mark.parametrize("mv,inner,message", RAW_CASES)
def test_schema_message_raw(api, mv, inner, message):
    expect_400(raw(api, NOSUCH, inner, mv), message, mv)


VALID_CASES = [
    ("2.1", {"host": None, "block_migration": False,
             "disk_over_commit": False}),
    ("2.1", {"host": "h1", "block_migration": True,
             "disk_over_commit": True}),
    ("2.1", {"disk_over_commit": "No", "host": "h1",
             "block_migration": "YES"}),
    ("2.24", {"host": "x" * 255, "block_migration": "0",
              "disk_over_commit": "off"}),
    ("2.25", {"host": None, "block_migration": "auto"}),
    ("2.25", {"host": "abc\n", "block_migration": "auto"}),
    ("2.25", {"host": "a-b.c_D9", "block_migration": "On"}),
    ("2.29", {"host": "h1", "block_migration": False}),
    ("2.30", {"host": "h1", "block_migration": "auto", "force": "TRUE"}),
    ("2.30", {"host": None, "block_migration": "auto", "force": False}),
    ("2.30", {"host": None, "block_migration": "auto", "force": "no"}),
    ("2.67", {"host": "h1", "block_migration": True, "force": True}),
    ("2.68", {"host": None, "block_migration": "auto"}),
    ("latest", {"host": "h1", "block_migration": "auto"}),
]


@pytest.mark.parametrize("mv,value", VALID_CASES)
def test_valid_bodies_pass_the_schema(api, mv, value):
    expect_passes_schema(post(api, NOSUCH, value, mv))


# ---- rows 2 and 3: visibility, then policy -------------------------------

@pytest.mark.parametrize("mv", ["2.1", "2.30", "2.93"])
def test_row1_schema_before_lookup(as_, mv):
    bad = {"host": 5, "block_migration": "auto"}
    for who, server in (("ops", NOSUCH), ("member", NOSUCH),
                        ("member", S["other-1"]), ("member2", WEB1)):
        r = post(as_(who), server, bad, mv)
        assert r.status == 400, (who, server, r)


@pytest.mark.parametrize("mv", ["2.1", "2.30", "2.93"])
@pytest.mark.parametrize("who,server", [
    ("ops", NOSUCH), ("member", NOSUCH), ("member", "other-1"),
    ("member", "bare-1"), ("member2", "web-1"), ("hexmember", "web-1"),
    ("reader", "other-1"), ("ops", "web-1x"), ("member", "x"),
    ("ops", "detail"), ("ops", S["web-1"].upper()[:-1])])
def test_row2_not_visible_404(as_, who, server, mv):
    ident = S.get(server, server)
    r = post(as_(who), ident, valid_body(mv), mv)
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % ident)


@pytest.mark.parametrize("mv", ["2.1", "2.25", "2.30", "2.34", "2.68",
                                "latest"])
@pytest.mark.parametrize("who,server", [
    ("member", "web-1"), ("reader", "web-1"), ("noroles", "web-1"),
    ("member2", "other-1"), ("member", "tpm-1"), ("member", "stopped-1"),
    ("member", "locked-1"), ("member", "fresh-1")])
def test_row3_policy_403(as_, who, server, mv):
    r = post(as_(who), S[server], valid_body(mv, host="nosuch"), mv)
    assert_fault(r, 403, "forbidden", POLICY_403)


def test_role_names_compare_case_insensitively(as_):
    # token roles "reader,ADMIN": admin; the policy passes, row 9 answers
    r = post(as_("caseadmin"), S["tpm-1"], valid_body("2.68"), "2.68")
    assert_fault(r, 400, "badRequest", "Operation 'live-migration' not "
                 "supported for vTPM-enabled instance (%s)." % S["tpm-1"])
    r = as_("caseadmin").show(S["other-1"])
    assert r.status == 200, r
    assert "OS-EXT-SRV-ATTR:host" in r.json()["server"]
    assert as_("caseadmin").get("/v2.1/servers?all_tenants=1").status == 200


def test_row3_before_row4(as_):
    r = post(as_("member"), WEB1, {"host": None, "block_migration": "auto",
                                   "force": True}, "2.30")
    assert_fault(r, 403, "forbidden", POLICY_403)


# ---- row 4: force without a host (2.30-2.67) ----------------------------

@pytest.mark.parametrize("mv", ["2.30", "2.33", "2.34", "2.67"])
@pytest.mark.parametrize("force", [True, "True", "yes", "1", "on"])
def test_row4_force_without_host(api, mv, force):
    r = post(api, WEB1, {"host": None, "block_migration": "auto",
                         "force": force}, mv)
    expect_400(r, "Can't force to a non-provided destination", mv)


@pytest.mark.parametrize("server", ["tpm-1", "sev-1", "stopped-1",
                                    "fresh-1"])
def test_row4_before_later_rows(api, server):
    r = post(api, S[server], {"host": None, "block_migration": "auto",
                              "force": True}, "2.30")
    expect_400(r, "Can't force to a non-provided destination", "2.30")


# ---- rows 9 and 10: vTPM, SEV ------------------------------------------------

@pytest.mark.parametrize("mv", ["2.1", "2.25", "2.30", "2.34", "2.68",
                                "latest"])
@pytest.mark.parametrize("host", ["host-b", "nosuch", None])
def test_row9_vtpm(api, mv, host):
    uuid = S["tpm-1"]
    for ident in (uuid, uuid.upper()):
        r = post(api, ident, valid_body(mv, host=host), mv)
        expect_400(r, "Operation 'live-migration' not supported for "
                   "vTPM-enabled instance (%s)." % uuid, mv)


@pytest.mark.parametrize("mv", ["2.1", "2.25", "2.30", "2.34", "2.68",
                                "latest"])
@pytest.mark.parametrize("host", ["host-b", "nosuch", None])
def test_row10_sev(api, mv, host):
    uuid = S["sev-1"]
    r = post(api, uuid, valid_body(mv, host=host), mv)
    expect_400(r, "Operation 'live-migration' not supported for "
               "SEV-enabled instance (%s)." % uuid, mv)


# ---- rows 12 to 14: state ------------------------------------------------------

@pytest.mark.parametrize("mv", ["2.1", "2.30", "2.34", "latest"])
@pytest.mark.parametrize("server,state", [
    ("stopped-1", "stopped"), ("suspended-1", "suspended")])
@pytest.mark.parametrize("host", ["host-b", "nosuch"])
def test_row12_vm_state(api, mv, server, state, host):
    uuid = S[server]
    for ident in (uuid, uuid.upper()):
        r = post(api, ident, valid_body(mv, host=host), mv)
        assert_fault(r, 409, "conflictingRequest",
                     "Cannot 'os-migrateLive' instance %s while it is in "
                     "vm_state %s" % (ident, state))
        assert_version_headers(r, echo(mv))


def test_row12_crashed(api):
    uuid = S["crashed-1"]
    r = post(api, uuid, valid_body("2.1"), "2.1")
    msg = assert_fault(r, 409, "conflictingRequest")
    assert re.match(r"^Cannot 'os-migrateLive' instance %s while it is in "
                    r"vm_state [a-z_-]+$" % uuid, msg), msg
    assert "vm_state active" not in msg and "vm_state paused" not in msg


@pytest.mark.parametrize("mv", ["2.1", "2.30", "2.34", "latest"])
@pytest.mark.parametrize("host", ["host-b", "nosuch", None])
def test_row14_never_launched(api, mv, host):
    uuid = S["fresh-1"]
    for ident in (uuid, uuid.upper()):
        r = post(api, ident, valid_body(mv, host=host), mv)
        assert_fault(r, 409, "conflictingRequest",
                     "Cannot 'os-migrateLive' instance %s while it is in "
                     "launched_at None" % ident)


# ---- row 15: unknown host --------------------------------------------------

@pytest.mark.parametrize("mv", ["2.1", "2.24", "2.25", "2.30", "2.33",
                                "2.34", "2.67", "2.68", "latest"])
@pytest.mark.parametrize("host", ["nosuch", "host-d", "host-a.", "hosta",
                                  "abc\n", "x" * 255])
def test_row15_unknown_host(api, sandbox, mv, host):
    r = post(api, WEB1, valid_body(mv, host=host), mv)
    expect_400(r, "Compute host %s could not be found." % host, mv)


@pytest.mark.parametrize("mv", ["2.30", "2.67"])
def test_row15_unknown_host_forced(api, mv):
    r = post(api, WEB1, valid_body(mv, host="nosuch", force=True), mv)
    expect_400(r, "Compute host nosuch could not be found.", mv)


def test_row15_leaves_the_server_alone(api, sandbox):
    """tempest test_invalid_host_for_migration: 400, then ACTIVE with
    task_state null, and no migration record."""
    r = post(api, WEB1, {"host": "nosuch-host", "block_migration": False,
                         "disk_over_commit": False}, None)
    expect_400(r, "Compute host nosuch-host could not be found.", "2.1")
    s = api.show(WEB1).json()["server"]
    assert s["status"] == "ACTIVE"
    assert s["OS-EXT-STS:task_state"] is None
    assert s["OS-EXT-SRV-ATTR:host"] == "host-a"
    assert sandbox.migrations(WEB1) == []


# ---- success (4.5) ---------------------------------------------------------------



def expect_migrating(api, uuid, vm_state="active"):
    for mv in ("2.1", "2.93"):
        s = api.show(uuid, mv=mv).json()["server"]
        assert s["status"] == "MIGRATING", s
        assert s["OS-EXT-STS:task_state"] == "migrating"
        assert s["OS-EXT-STS:vm_state"] == vm_state
        assert s["OS-EXT-SRV-ATTR:host"] == "host-a"
        assert s["progress"] == 0
        assert s["OS-EXT-STS:power_state"] == (1 if vm_state == "active"
                                               else 3)


def record(sandbox, uuid, mv):
    # sync mode: the record exists before the 202; async: MAY come later
    deadline = time.time() + (0 if mvnum(mv) < 34 else 3)
    while True:
        rows = sandbox.migrations(uuid)
        if rows or time.time() >= deadline:
            break
        time.sleep(0.05)
    assert len(rows) == 1, rows
    return rows[0]


def expect_record(sandbox, uuid, mv, user="ops", project="p1", dest=None):
    """dest: the host the request named (forced or requested) or None.
    Sync mode (< 2.34) runs the pre-checks in the request, which choose
    and record the destination and hand the record on ("queued"; spec
    9.1); async mode records what was asked ("accepted"; dest_compute
    only for a forced host) and leaves the rest to a runner, and the
    sandbox runs none."""
    m = record(sandbox, uuid, mv)
    if mvnum(mv) < 34:
        assert m["status"] in ("accepted", "queued"), m
        assert m["dest_compute"] == (dest or "host-b"), m
    else:
        assert m["status"] == "accepted", m
        assert m["dest_compute"] == dest, m
    assert m["migration_type"] == "live-migration"
    assert m["source_compute"] == "host-a"
    assert m["user_id"] == user and m["project_id"] == project
    assert m["hidden"] == 0
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                    r"[0-9a-f]{12}$", m["uuid"])
    return m


SUCCESS_CASES = [
    # (id, microversion, body, forced destination recorded)
    ("tempest-2.1", None, {"host": "host-b", "block_migration": False,
                           "disk_over_commit": False}, "host-b"),
    ("2.1-scheduler", "2.1", {"host": None, "block_migration": False,
                              "disk_over_commit": False}, None),
    ("2.24-strings", "2.24", {"host": "host-b", "block_migration": "False",
                              "disk_over_commit": "no"}, "host-b"),
    ("tempest-2.25", "2.25", {"host": "host-b", "block_migration": "auto"},
     "host-b"),
    ("2.29-scheduler", "2.29", {"host": None, "block_migration": "auto"},
     None),
    ("2.30-force", "2.30", {"host": "host-b", "block_migration": "auto",
                            "force": True}, "host-b"),
    ("2.30-validated", "2.30", {"host": "host-b", "block_migration": "auto"},
     None),
    ("2.33-force-false", "2.33", {"host": "host-b", "block_migration": False,
                                  "force": "false"}, None),
    ("2.34-async", "2.34", {"host": "host-b", "block_migration": "auto"},
     None),
    ("2.67-force", "2.67", {"host": "host-b", "block_migration": True,
                            "force": "yes"}, "host-b"),
    ("2.68", "2.68", {"host": "host-b", "block_migration": "auto"}, None),
    ("latest", "latest", {"host": None, "block_migration": "auto"}, None),
]


@pytest.mark.parametrize("case", SUCCESS_CASES, ids=lambda c: c[0])
def test_success(api, sandbox, migs, case):
    _, mv, body, dest = case
    uuid = migs.take()
    r = post(api, uuid, body, mv)
    expect_202(r, mv)
    expect_migrating(api, uuid)
    expect_record(sandbox, uuid, mv or "2.1", dest=dest)
    # row 13: a second request finds task_state migrating
    for mv2 in ("2.1", "2.93"):
        r = post(api, uuid, valid_body(mv2), mv2)
        assert_fault(r, 409, "conflictingRequest",
                     "Cannot 'os-migrateLive' instance %s while it is in "
                     "task_state migrating" % uuid)
    # <id> in the message is the id as sent
    r = post(api, uuid.upper(), valid_body("2.68"), "2.68")
    assert_fault(r, 409, "conflictingRequest",
                 "Cannot 'os-migrateLive' instance %s while it is in "
                 "task_state migrating" % uuid.upper())
    # row 13 comes before row 15
    r = post(api, uuid, valid_body("2.25", host="nosuch"), "2.25")
    assert r.status == 409, r
    assert len(sandbox.migrations(uuid)) == 1


@pytest.mark.parametrize("mv", ["2.1", "latest"])
def test_success_paused_server(api, sandbox, pmigs, mv):
    uuid = pmigs.take()
    r = post(api, uuid, valid_body(mv), mv)
    expect_202(r, mv)
    expect_migrating(api, uuid, vm_state="paused")
    expect_record(sandbox, uuid, mv, dest="host-b" if mvnum(mv) < 30
                  else None)


def test_locked_server_admin_passes(api, sandbox):
    uuid = S["locked-1"]
    r = post(api, uuid, valid_body("2.1"), "2.1")
    expect_202(r, "2.1")
    expect_migrating(api, uuid)
    expect_record(sandbox, uuid, "2.1", dest="host-b")


def test_requester_of_another_project(sandbox, as_, migs):
    """The record holds the requester's user and project, not the
    owner's; an admin of any project may migrate."""
    uuid = migs.take()
    c = as_("admin")                    # user admin, project admin
    r = post(c, uuid, valid_body("2.25"), "2.25")
    expect_202(r, "2.25")
    expect_record(sandbox, uuid, "2.25", user="admin", project="admin",
                  dest="host-b")


def test_with_project_segment(sandbox, as_, migs):
    uuid = migs.take()
    c = as_("hexadmin")
    r = c.post("/v2.1/0123abcd/servers/%s/action" % uuid,
               json_body={"os-migrateLive": valid_body("2.68")}, mv="2.68")
    expect_202(r, "2.68")
    expect_record(sandbox, uuid, "2.68", user="hexops", project="0123abcd")


@pytest.mark.parametrize("mv,dest", [("2.1", "host-c"), ("2.68", None)])
def test_disabled_host_passes_row15(api, sandbox, migs, mv, dest):
    uuid = migs.take()
    r = post(api, uuid, valid_body(mv, host="host-c"), mv)
    expect_202(r, mv)
    expect_record(sandbox, uuid, mv, dest=dest)


def test_source_host_passes_row15_async(api, sandbox, migs):
    uuid = migs.take()
    r = post(api, uuid, valid_body("2.68", host="host-a"), "2.68")
    expect_202(r, "2.68")
    expect_record(sandbox, uuid, "2.68")


# ---- sync mode (< 2.34): pre-checks inside the request (4.4) --------------

def expect_refused(api, sandbox, uuid):
    """After a sync 4xx: vm_state kept, task_state back to null, and the
    record (if one was made) in status error."""
    s = api.show(uuid).json()["server"]
    assert s["status"] == "ACTIVE", s
    assert s["OS-EXT-STS:task_state"] is None
    assert s["OS-EXT-SRV-ATTR:host"] == "host-a"
    assert [m["status"] for m in sandbox.migrations(uuid)] in ([], ["error"])


@pytest.mark.parametrize("mv", ["2.1", "2.25", "2.30"])
def test_sync_precheck_self(api, sandbox, migs, mv):
    uuid = migs.take()
    body = valid_body(mv, host="host-a")
    if mvnum(mv) >= 30:
        body["force"] = True
    r = post(api, uuid, body, mv)
    expect_400(r, "Unable to migrate instance (%s) to current host "
               "(host-a)." % uuid, mv)
    expect_refused(api, sandbox, uuid)
    # the refusal leaves the server free: a good request now passes
    r = post(api, uuid, valid_body("2.68"), "2.68")
    expect_202(r, "2.68")


@pytest.mark.parametrize("mv,host", [("2.30", "host-c"), ("2.30", "host-a"),
                                     ("2.33", "host-c")])
def test_sync_precheck_requested_host_not_eligible(api, sandbox, migs, mv,
                                                   host):
    uuid = migs.take()
    r = post(api, uuid, valid_body(mv, host=host), mv)
    expect_400(r, "No valid host was found. There are not enough hosts "
               "available.", mv)
    expect_refused(api, sandbox, uuid)


@pytest.mark.parametrize("mv,host", [("2.1", "host-b"), ("2.1", None),
                                     ("2.25", "host-b")])
def test_sync_precheck_block_on_shared_storage(api, sandbox, migs, mv, host):
    """The test:// guests have no local disks, so their storage counts as
    shared (spec 8.4) and an explicit block migration is refused."""
    uuid = migs.take()
    body = valid_body(mv, host=host)
    body["block_migration"] = True
    r = post(api, uuid, body, mv)
    expect_400(r, "host-a is not on local storage: Block migration can not "
               "be used with shared storage.", mv)
    expect_refused(api, sandbox, uuid)


# ---- a race for one server --------------------------------------------------

def test_concurrent_requests_one_wins(api, sandbox, migs):
    uuid = migs.take()
    n = 12
    barrier = threading.Barrier(n)
    results = [None] * n

    def go(i):
        barrier.wait()
        results[i] = post(api, uuid, valid_body("2.25"), "2.25")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(r.status for r in results)
    assert statuses == [202] + [409] * (n - 1), results
    for r in results:
        if r.status == 409:
            assert_fault(r, 409, "conflictingRequest",
                         "Cannot 'os-migrateLive' instance %s while it is "
                         "in task_state migrating" % uuid)
    assert len(sandbox.migrations(uuid)) == 1
    expect_migrating(api, uuid)


# ---- bad input never gives 5xx --------------------------------------------

def deep(n, open_, close, inner="1"):
    return open_ * n + inner + close * n


FUZZ = [
    deep(20000, "[", "]"),
    deep(5000, '{"a": ', "}"),
    deep(50000, "[", "]", ""),
    '{"host": %s, "block_migration": "auto"}' % deep(30000, "[", "]"),
    '{"host": "h1", "block_migration": 1%s}' % ("0" * 5000),
    '{"host": "h1", "block_migration": 1e999999999999}',
    '{"host": "h1", "block_migration": -1e-999999999999}',
    '{"host": "h1", "block_migration": %s}' % ("9" * 100000),
    '{"host": "h1", "block_migration": 0.%s1}' % ("0" * 50000),
    '{"host": NaN, "block_migration": NaN, "disk_over_commit": NaN}',
    '{"host": "\\ud800", "block_migration": "auto"}',
    '{"host": "\\udc00\\ud800", "block_migration": "auto"}',
    '{"host": "\\u0000", "block_migration": "\\u0000"}',
    '{"host": "%s", "block_migration": "auto"}' % ("\u4e3b\u673a" * 100),
    '{"host": "%s", "block_migration": "auto"}' % ("h" * 110000),
    '{"host": "%s", "block_migration": "auto"}' % ("\U0001F600" * 20000),
    '{"host": "%s", "block_migration": "auto"}' % ("\\u00e9" * 18000),
    '{"host": "h\u0301\u200f\u202e\ufeff", "block_migration": "auto"}',
    '{"host": "h1", "block_migration": "auto", %s}' % ", ".join(
        '"k%d": %d' % (i, i) for i in range(8000)),
    '{"host": "h1", "block_migration": "auto", "%s": 1}' % ("k" * 100000),
    '{"host": [%s], "block_migration": "auto"}' % ",".join(["1"] * 50000),
    '{"host": "h1", "block_migration": "auto"' + " " * 100000 + "}",
    '{"host": "\\x41"}', '{"host": "\t"}', '{"host": "\\u12"}',
    '{"host": "h1" "block_migration": "auto"}', '{"host": }',
    '{"host": "h1", "block_migration": tru}',
    '{"host": "h1", "block_migration": True}',
    '{"host": "h1", "block_migration": 0x10}',
    '{"host": "h1", "block_migration": 1.}',
    '{"host": "h1", "block_migration": 1e}',
    '{"host": "h1", "block_migration": -}',
    '{"host": "h1", "block_migration": --1}',
    '{"host": "h1", "block_migration": infinity}',
    '{"host": "h1", "block_migration": "auto"}}}}]]]',
]


@pytest.mark.parametrize("mv", ["2.1", "2.30", "latest"])
@pytest.mark.parametrize("i", range(len(FUZZ)))
def test_fuzz_never_5xx(api, sandbox, mv, i):
    body = '{"os-migrateLive": %s}' % FUZZ[i]
    assert len(body.encode()) <= 114688 or True
    r = api.action(WEB1, body=body.encode("utf-8", "surrogatepass"), mv=mv)
    assert 400 <= r.status < 500, (r.status, r.body[:300])
    assert r.status != 413 or len(body.encode()) > 114688
    if r.status != 413:
        # a Nova fault body
        key, code, msg = r.fault()
        assert code == r.status and isinstance(msg, str)
    s = api.show(WEB1).json()["server"]
    assert s["OS-EXT-STS:task_state"] is None


@pytest.mark.parametrize("body", [
    b'{"os-migrateLive": {"host": "\xff\xfe", "block_migration": "auto"}}',
    b'{"os-migrateLive": {"host": "\xc0\x80"}}',
    b'{"os-migrateLive": {"host": "\xf4\x90\x80\x80"}}',
    b'{"os-migrateLive": {"host": "\xed\xb0\x80"}}',
    b'{"os-migrateLive": {"host": "h1\x00"}}',
    b'{"os-migrateLive\x00": {}}',
    b"\xff" * 1000, b"\x00" * 1000, bytes(range(256)),
])
def test_fuzz_bytes(api, body):
    r = api.action(WEB1, body=body, mv="2.30")
    assert 400 <= r.status < 500, r
    assert_fault(r, r.status, {400: "badRequest",
                               404: "itemNotFound"}[r.status])


def test_server_still_usable_after_fuzz(api):
    r = api.show(WEB1)
    assert r.status == 200
    assert r.json()["server"]["status"] == "ACTIVE"
