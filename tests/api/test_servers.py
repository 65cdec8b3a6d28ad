"""GET /servers/{id}, /servers and /servers/detail (spec 1.5, 1.6)."""
import hashlib
import re
import urllib.parse

import pytest

from conftest import (MIG, PMIG, S, assert_fault, assert_request_id,
                      assert_version_headers)

WEB1 = S["web-1"]
Z_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
US_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")

BASE_KEYS = {
    "id", "name", "status", "tenant_id", "user_id", "metadata", "hostId",
    "image", "flavor", "created", "updated", "addresses", "accessIPv4",
    "accessIPv6", "links", "OS-DCF:diskConfig", "OS-EXT-AZ:availability_zone",
    "config_drive", "key_name", "OS-SRV-USG:launched_at",
    "OS-SRV-USG:terminated_at", "OS-EXT-STS:vm_state",
    "OS-EXT-STS:task_state", "OS-EXT-STS:power_state",
    "os-extended-volumes:volumes_attached"}
ADMIN_21 = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname",
            "OS-EXT-SRV-ATTR:instance_name"}
ADMIN_23 = {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
            "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:kernel_id",
            "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:root_device_name",
            "OS-EXT-SRV-ATTR:user_data"}
WITH_PROGRESS = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE",
                 "MIGRATING"}


def expected_keys(mv, admin, status="ACTIVE"):
    keys = set(BASE_KEYS)
    if status in WITH_PROGRESS:
        keys.add("progress")
    if admin:
        keys |= ADMIN_21
        if mv >= 3:
            keys |= ADMIN_23
        if mv >= 16:
            keys.add("host_status")
    elif mv >= 90:
        keys.add("OS-EXT-SRV-ATTR:hostname")
    for field, since in (("locked", 9), ("description", 19), ("tags", 26),
                         ("trusted_image_certificates", 63),
                         ("server_groups", 71), ("locked_reason", 73)):
        if mv >= since:
            keys.add(field)
    return keys


BOUNDARIES = [1, 2, 3, 8, 9, 15, 16, 18, 19, 25, 26, 46, 47, 62, 63, 70, 71,
              72, 73, 89, 90, 93]


@pytest.mark.parametrize("mv", BOUNDARIES)
@pytest.mark.parametrize("who,admin", [("ops", True), ("member", False),
                                       ("reader", False),
                                       ("admin", True)])
def test_show_keys_per_microversion(as_, who, admin, mv):
    r = as_(who).show(WEB1, mv="2.%d" % mv)
    assert r.status == 200, r
    assert_version_headers(r, "2.%d" % mv)
    assert_request_id(r)
    srv = r.json()["server"]
    assert set(srv) == expected_keys(mv, admin), \
        (set(srv) ^ expected_keys(mv, admin))


@pytest.mark.parametrize("mv", [1, 46, 47, 93])
def test_flavor_shape(sandbox, as_, mv):
    for who in ("ops", "member"):
        f = as_(who).show(WEB1, mv="2.%d" % mv).json()["server"]["flavor"]
        if mv < 47:
            assert f == {"id": "f1", "links": [
                {"rel": "bookmark", "href": sandbox.base + "/flavors/f1"}]}
        else:
            # extra_specs: servers:show:flavor-extra-specs passes for any
            # role in the owning project and for admins
            assert f == {"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 0,
                         "swap": 0, "original_name": "m1.tiny",
                         "extra_specs": {}}


def test_show_values_2_1(sandbox, api):
    r = api.show(WEB1)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json")
    s = r.json()["server"]
    host_id = hashlib.sha224(b"p1host-a").hexdigest()
    assert s["id"] == WEB1
    assert s["name"] == "web-1"
    assert s["status"] == "ACTIVE"
    assert s["tenant_id"] == "p1"
    assert s["user_id"] == "u1"
    assert s["metadata"] == {"role": "test"}
    assert s["hostId"] == host_id
    assert s["image"] == {"id": "img-0001", "links": [
        {"rel": "bookmark", "href": sandbox.base + "/images/img-0001"}]}
    assert s["links"] == [
        {"rel": "self", "href": "%s/v2.1/servers/%s" % (sandbox.base, WEB1)},
        {"rel": "bookmark", "href": "%s/servers/%s" % (sandbox.base, WEB1)}]
    assert s["created"] == "2026-01-02T10:00:00Z"
    assert Z_RE.match(s["updated"])
    assert s["addresses"] == {}
    assert s["accessIPv4"] == "" and s["accessIPv6"] == ""
    assert s["OS-DCF:diskConfig"] in ("MANUAL", "AUTO")
    assert s["progress"] == 0
    assert s["OS-EXT-AZ:availability_zone"] == "nova"
    assert s["config_drive"] in ("", "True")
    assert s["key_name"] is None
    assert s["OS-SRV-USG:launched_at"] == "2026-01-10T10:00:05.000000"
    assert s["OS-SRV-USG:terminated_at"] is None
    assert s["OS-EXT-STS:vm_state"] == "active"
    assert s["OS-EXT-STS:task_state"] is None
    assert s["OS-EXT-STS:power_state"] == 1
    assert s["os-extended-volumes:volumes_attached"] == []
    assert s["OS-EXT-SRV-ATTR:host"] == "host-a"
    assert isinstance(s["OS-EXT-SRV-ATTR:hypervisor_hostname"], str)
    assert s["OS-EXT-SRV-ATTR:instance_name"] == "instance-00000001"


def test_show_values_latest(api, as_):
    s = api.show(WEB1, mv="latest").json()["server"]
    assert s["locked"] is False
    assert s["host_status"] == "UP"
    assert s["description"] is None
    assert s["tags"] == []
    assert s["trusted_image_certificates"] is None
    assert s["server_groups"] == []
    assert s["locked_reason"] is None
    assert isinstance(s["OS-EXT-SRV-ATTR:launch_index"], int)
    assert isinstance(s["OS-EXT-SRV-ATTR:hostname"], str)
    m = as_("member").show(WEB1, mv="2.90").json()["server"]
    assert isinstance(m["OS-EXT-SRV-ATTR:hostname"], str)


def test_locked_server_fields(api):
    s = api.show(S["locked-1"], mv="2.9").json()["server"]
    assert s["locked"] is True
    s = api.show(S["locked-1"], mv="2.73").json()["server"]
    assert s["locked"] is True
    assert s["locked_reason"] == "maintenance"


@pytest.mark.parametrize("name,status,vm_state,power", [
    ("web-1", "ACTIVE", "active", 1),
    ("paused-1", "PAUSED", "paused", 3),
    ("stopped-1", "SHUTOFF", "stopped", 4),
    ("suspended-1", "SUSPENDED", "suspended", 7),
    ("crashed-1", None, None, 6),
    ("web-b", "ACTIVE", "active", 1),
])
def test_status_mapping(api, name, status, vm_state, power):
    for mv in ("2.1", "2.93"):
        s = api.show(S[name], mv=mv).json()["server"]
        if status is not None:
            assert s["status"] == status
            assert s["OS-EXT-STS:vm_state"] == vm_state
        assert s["OS-EXT-STS:power_state"] == power
        assert s["OS-EXT-STS:task_state"] is None
        assert set(s) == expected_keys(int(mv[2:]), True, s["status"])


def test_host_of_host_b_server(api):
    s = api.show(S["web-b"]).json()["server"]
    assert s["OS-EXT-SRV-ATTR:host"] == "host-b"
    assert s["hostId"] == hashlib.sha224(b"p1host-b").hexdigest()


def test_never_launched(api):
    s = api.show(S["fresh-1"]).json()["server"]
    assert s["OS-SRV-USG:launched_at"] is None


def test_server_without_metadata(api):
    s = api.show(S["bare-1"], mv="2.47").json()["server"]
    assert s["name"] == "instance-00000009"
    assert s["tenant_id"] == "" and s["user_id"] == ""
    assert s["metadata"] == {}
    assert s["image"] == ""
    assert s["hostId"] == hashlib.sha224(b"host-a").hexdigest()


# ---- visibility (1.5) ---------------------------------------------------------

@pytest.mark.parametrize("who,server,visible", [
    ("member", "web-1", True), ("reader", "web-1", True),
    ("noroles", "web-1", True), ("member", "other-1", False),
    ("member", "bare-1", False), ("member2", "other-1", True),
    ("member2", "web-1", False), ("member2", "web-b", False),
    ("hexmember", "web-1", False), ("ops", "other-1", True),
    ("admin", "web-1", True), ("admin", "bare-1", True),
    ("hexadmin", "web-b", True)])
def test_show_visibility(as_, who, server, visible):
    uuid = S[server]
    r = as_(who).show(uuid)
    if visible:
        assert r.status == 200, r
        assert r.json()["server"]["id"] == uuid
    else:
        # another project's server is 404, not 403
        assert_fault(r, 404, "itemNotFound",
                     "Instance %s could not be found." % uuid)
        assert_version_headers(r, "2.1")


@pytest.mark.parametrize("ident", [
    "web-1", "x", "0", "a0000000-0000-4000-8000-00000000000",
    "a0000000-0000-4000-8000-0000000000010", "c0000000-0000-4000-8000-000000000001",
    "a0000000000040008000000000000001", "{a0000000-0000-4000-8000-000000000001}",
    "urn:uuid:a0000000-0000-4000-8000-000000000001",
    "a0000000-0000-4000-8000-00000000000g"])
def test_show_not_found(api, ident):
    r = api.get("/v2.1/servers/" + urllib.parse.quote(ident, safe=":{}"))
    assert_fault(r, 404, "itemNotFound", "Instance %s could not be found."
                 % ident)


def test_show_percent_decoded_id(api):
    r = api.get("/v2.1/servers/abc%20def%2Fx")
    assert_fault(r, 404, "itemNotFound",
                 "Instance abc def/x could not be found.")
    r = api.get("/v2.1/servers/%s" % "".join("%%%02x" % ord(c) for c in WEB1))
    assert r.status == 200, r


def test_show_upper_case_uuid(api):
    r = api.show(WEB1.upper())
    assert r.status == 200, r
    assert r.json()["server"]["id"] == WEB1


# ---- lists (1.6) -----------------------------------------------------------

P1_HOST_A = (["web-1", "paused-1", "stopped-1", "locked-1", "tpm-1", "sev-1",
              "fresh-1", "suspended-1", "vm1", "myvm10", "crashed-1"]
             + ["mig-%d" % i for i in range(1, 41)]
             + ["pmig-%d" % i for i in range(1, 4)])
P1_NAMES = sorted(P1_HOST_A + ["web-b", "dup-name", "dup-name"])
ALL_COUNT = len(P1_NAMES) + 2           # + other-1, bare-1


def names(r):
    assert r.status == 200, r
    return sorted(s["name"] for s in r.json()["servers"])


def test_index_shape(sandbox, as_):
    r = as_("member").get("/v2.1/servers")
    assert r.status == 200, r
    assert_version_headers(r, "2.1")
    doc = r.json()
    assert list(doc) == ["servers"]
    for s in doc["servers"]:
        assert set(s) == {"id", "name", "links"}
        assert s["links"] == [
            {"rel": "self",
             "href": "%s/v2.1/servers/%s" % (sandbox.base, s["id"])},
            {"rel": "bookmark",
             "href": "%s/servers/%s" % (sandbox.base, s["id"])}]
    assert sorted(s["name"] for s in doc["servers"]) == P1_NAMES


@pytest.mark.parametrize("path", ["/v2.1/servers", "/v2.1/servers/detail"])
def test_list_visibility(as_, path):
    assert names(as_("member").get(path)) == P1_NAMES
    assert names(as_("reader").get(path)) == P1_NAMES
    assert names(as_("ops").get(path)) == P1_NAMES      # admins too
    assert names(as_("member2").get(path)) == ["other-1"]
    assert names(as_("admin").get(path)) == []          # project "admin"
    assert names(as_("hexmember").get(path)) == []


@pytest.mark.parametrize("value", ["", "1", "true", "True", "yes", "on",
                                   "t", "y", "YES"])
def test_all_tenants_true(as_, value):
    for path in ("/v2.1/servers", "/v2.1/servers/detail"):
        r = as_("admin").get(path + "?all_tenants=" + value)
        assert len(names(r)) == ALL_COUNT
    r = as_("admin").get("/v2.1/servers?all_tenants")
    assert len(names(r)) == ALL_COUNT


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off", "f",
                                   "n"])
def test_all_tenants_false(as_, value):
    assert names(as_("admin").get("/v2.1/servers?all_tenants=" + value)) \
        == []
    assert names(as_("member").get("/v2.1/servers?all_tenants=" + value)) \
        == P1_NAMES


@pytest.mark.parametrize("who", ["member", "reader", "member2", "noroles"])
def test_all_tenants_forbidden_for_non_admin(as_, who):
    r = as_(who).get("/v2.1/servers?all_tenants=1")
    assert_fault(r, 403, "forbidden", "Policy doesn't allow os_compute_api:"
                 "servers:index:get_all_tenants to be performed.")
    r = as_(who).get("/v2.1/servers/detail?all_tenants=")
    assert_fault(r, 403, "forbidden", "Policy doesn't allow os_compute_api:"
                 "servers:detail:get_all_tenants to be performed.")


@pytest.mark.parametrize("pattern,expected", [
    ("vm1", ["myvm10", "vm1"]), ("VM1", ["myvm10", "vm1"]),
    ("^vm1$", ["vm1"]), ("vm1$", ["vm1"]), ("web", ["web-1", "web-b"]),
    ("WEB-", ["web-1", "web-b"]), ("dup-name", ["dup-name", "dup-name"]),
    ("^pmig-[12]", ["pmig-1", "pmig-2"]), ("nomatch", []),
    ("mig-4", ["mig-4", "mig-40"]), ("ed-1|^sev", ["crashed-1", "locked-1", "paused-1", "sev-1",
                      "stopped-1", "suspended-1"]),
    ("^(vm|myvm)1", ["myvm10", "vm1"]), ("suspended-1", ["suspended-1"]),
    (".*crash", ["crashed-1"])])
def test_name_regex(as_, pattern, expected):
    q = urllib.parse.quote(pattern)
    for path in ("/v2.1/servers?name=", "/v2.1/servers/detail?name="):
        assert names(as_("member").get(path + q)) == expected


def test_name_regex_other_projects_only_with_all_tenants(as_):
    assert names(as_("ops").get("/v2.1/servers?name=other")) == []
    assert names(as_("ops").get(
        "/v2.1/servers?name=other&all_tenants=1")) == ["other-1"]


@pytest.mark.parametrize("pattern", ["(", "[", "a(b", "*"])
def test_name_bad_regex(as_, pattern):
    q = urllib.parse.quote(pattern)
    r = as_("member").get("/v2.1/servers?name=" + q)
    assert_fault(r, 400, "badRequest", "Invalid input for query parameters "
                 "name. Value: %s. '%s' is not a 'regex'" % (pattern,
                                                            pattern))


def test_name_empty_pattern(as_):
    r = as_("member").get("/v2.1/servers?name=")
    assert_fault(r, 400, "badRequest")


@pytest.mark.parametrize("path", ["/v2.1/servers", "/v2.1/servers/detail"])
def test_query_not_utf8(api, path):
    r = api.get(path + "?name=%ff")
    assert_fault(r, 400, "badRequest", "Query string is not UTF-8 encoded")


def test_unknown_query_parameters(api):
    r = api.get("/v2.1/servers?foo=bar", mv="2.74")
    assert r.status == 200, r
    r = api.get("/v2.1/servers?foo=bar", mv="2.75")
    assert_fault(r, 400, "badRequest", "Additional properties are not "
                 "allowed ('foo' was unexpected)")


def test_paging(sandbox, as_):
    c = as_("member")
    detail = c.get("/v2.1/servers/detail").json()["servers"]
    order = [s["id"] for s in detail]
    # created_at descending
    created = [s["created"] for s in detail]
    assert created == sorted(created, reverse=True)
    r = c.get("/v2.1/servers?limit=2")
    doc = r.json()
    assert [s["id"] for s in doc["servers"]] == order[:2]
    (link,) = doc["servers_links"]
    assert link["rel"] == "next"
    href = link["href"]
    assert href.startswith(sandbox.base + "/v2.1/servers?")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
    assert q["marker"] == [order[1]]
    assert q["limit"] == ["2"]
    r = c.get(href[len(sandbox.base):])
    assert [s["id"] for s in r.json()["servers"]] == order[2:4]
    # the marker is exclusive
    r = c.get("/v2.1/servers?marker=%s" % order[0])
    assert [s["id"] for s in r.json()["servers"]] == order[1:]
    # fewer than the limit: no link
    r = c.get("/v2.1/servers?limit=999")
    assert "servers_links" not in r.json()
    assert len(r.json()["servers"]) == len(order)
    # exactly the limit: a link
    r = c.get("/v2.1/servers/detail?limit=%d" % len(order))
    assert "servers_links" in r.json()


@pytest.mark.parametrize("path", ["servers", "servers/detail"])
def test_next_link_encodes_query(sandbox, as_, path):
    """The next link writes the query as Nova's _get_next_link does:
    sorted, marker appended (or set in place), every value form-encoded
    (urlencode).  A decoded
    '&' put raw into href split the name filter in two."""
    c = as_("member")
    name = "web|a&b c+d/%"
    r = c.get("/v2.1/%s?name=%s&limit=1" % (
        path, urllib.parse.quote(name, safe="")))
    doc = r.json()
    (first,) = doc["servers"]
    (link,) = doc["servers_links"]
    assert link["href"] == "%s/v2.1/%s?%s" % (
        sandbox.base, path, urllib.parse.urlencode(
            [("limit", "1"), ("name", name), ("marker", first["id"])]))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(link["href"]).query,
                              keep_blank_values=True)
    assert q == {"limit": ["1"], "marker": [first["id"]], "name": [name]}
    # following it gives the next page of the same filter
    r = c.get(link["href"][len(sandbox.base):])
    (second,) = r.json()["servers"]
    assert second["name"].startswith("web"), second
    assert second["id"] != first["id"]


def test_unknown_marker(api):
    r = api.get("/v2.1/servers?marker=nope")
    assert_fault(r, 400, "badRequest", "marker [nope] not found")


# common.get_limit_and_marker after the query schema (limit:
# multi_params(non_negative_integer), '^[0-9]*$' with Python's '$', which
# also matches before a final "\n"): int() takes "2\n" and refuses "\n";
# an empty marker is no marker (the lists test "if marker:").
@pytest.mark.parametrize("mv", ["2.1", "2.26", "2.75", "2.93"])
@pytest.mark.parametrize("path", ["/v2.1/servers", "/v2.1/servers/detail"])
def test_limit_only_whitespace(as_, path, mv):
    r = as_("member").get(path + "?limit=%0A", mv=mv)
    assert_fault(r, 400, "badRequest",
                 "Invalid input received: limit must be an integer")
    r = as_("member").get(path + "?limit=3&limit=%0A", mv=mv)
    assert_fault(r, 400, "badRequest",
                 "Invalid input received: limit must be an integer")


@pytest.mark.parametrize("mv", ["2.1", "2.93"])
@pytest.mark.parametrize("path", ["/v2.1/servers", "/v2.1/servers/detail"])
def test_limit_with_final_newline(as_, path, mv):
    c = as_("member")
    order = [s["id"] for s in c.get(path, mv=mv).json()["servers"]]
    for lim in ("2%0A", "002%0A", "%0A&limit=2"):
        doc = c.get(path + "?limit=" + lim, mv=mv).json()
        assert [s["id"] for s in doc["servers"]] == order[:2], lim
        assert "servers_links" in doc


@pytest.mark.parametrize("lim,shown", [
    ("%202", " 2"), ("2%20", "2 "), ("%092", "\t2"), ("2%0A%0A", "2\n\n"),
    ("%0A2", "\n2"), ("2%0D", "2\r")])
def test_limit_padded_refused_by_schema(as_, lim, shown):
    r = as_("member").get("/v2.1/servers?limit=" + lim)
    assert_fault(r, 400, "badRequest", "Invalid input for query parameters "
                 "limit. Value: %s. %r does not match '^[0-9]*$'"
                 % (shown, shown))


@pytest.mark.parametrize("path", ["/v2.1/servers", "/v2.1/servers/detail"])
def test_empty_marker_is_no_marker(as_, path):
    c = as_("member")
    order = [s["id"] for s in c.get(path).json()["servers"]]
    doc = c.get(path + "?marker=").json()
    assert [s["id"] for s in doc["servers"]] == order
    doc = c.get(path + "?limit=2&marker=").json()
    assert [s["id"] for s in doc["servers"]] == order[:2]
    r = c.get(path + "?marker=%20")
    assert_fault(r, 400, "badRequest", "marker [ ] not found")


def test_detail_items_equal_show(as_):
    for who in ("ops", "member"):
        c = as_(who)
        for mv in ("2.1", "2.47", "2.93"):
            items = c.get("/v2.1/servers/detail?name=^web-1$",
                          mv=mv).json()["servers"]
            assert items == [c.show(WEB1, mv=mv).json()["server"]]


@pytest.mark.parametrize("mv", [1, 3, 16, 47, 90, 93])
def test_detail_keys(as_, mv):
    for who, admin in (("ops", True), ("member", False)):
        r = as_(who).get("/v2.1/servers/detail", mv="2.%d" % mv)
        assert r.status == 200, r
        for s in r.json()["servers"]:
            assert set(s) == expected_keys(mv, admin, s["status"]), s["name"]


def test_paused_and_mig_servers_exist(api):
    for uuid in MIG + PMIG:
        assert api.show(uuid).status == 200
