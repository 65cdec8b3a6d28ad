"""Microversion headers (spec 2) and request-id headers."""
import pytest

from conftest import (S, assert_fault, assert_no_version_headers,
                      assert_plain_404, assert_request_id,
                      assert_version_headers)

WEB1 = S["web-1"]


def show(api, headers):
    return api.get("/v2.1/servers/%s" % WEB1, headers=headers)


def test_default_is_2_1(api):
    r = show(api, [])
    assert r.status == 200, r
    assert_version_headers(r, "2.1")


@pytest.mark.parametrize("headers,echo", [
    ([("X-OpenStack-Nova-API-Version", "2.30")], "2.30"),
    ([("x-openstack-nova-api-version", "2.9")], "2.9"),
    ([("OpenStack-API-Version", "compute 2.40")], "2.40"),
    ([("openstack-api-version", "COMPUTE 2.41")], "2.41"),
    ([("OpenStack-API-Version", "  compute   2.42  ")], "2.42"),
    ([("OpenStack-API-Version", "compute\t2.43")], "2.43"),
    # both headers: the new one wins when it names compute
    ([("OpenStack-API-Version", "compute 2.40"),
      ("X-OpenStack-Nova-API-Version", "2.30")], "2.40"),
    ([("X-OpenStack-Nova-API-Version", "2.30"),
      ("OpenStack-API-Version", "compute 2.40")], "2.40"),
    # no compute entry: the legacy header is used
    ([("OpenStack-API-Version", "volume 3.0"),
      ("X-OpenStack-Nova-API-Version", "2.30")], "2.30"),
    ([("OpenStack-API-Version", "volume 3.0")], "2.1"),
    # entries without whitespace are skipped
    ([("OpenStack-API-Version", "compute"),
      ("X-OpenStack-Nova-API-Version", "2.31")], "2.31"),
    ([("OpenStack-API-Version", "compute2.5")], "2.1"),
    # scanned from last to first
    ([("OpenStack-API-Version", "compute 2.5, compute 2.7")], "2.7"),
    ([("OpenStack-API-Version", "compute 2.7, volume 3.1")], "2.7"),
    ([("OpenStack-API-Version", "compute 2.7,volume 3.1, identity 3")],
     "2.7"),
    # legacy: the part after the last comma
    ([("X-OpenStack-Nova-API-Version", "2.3, 2.5")], "2.5"),
    ([("X-OpenStack-Nova-API-Version", "  2.6 ")], "2.6"),
    # latest
    ([("X-OpenStack-Nova-API-Version", "latest")], "2.93"),
    ([("OpenStack-API-Version", "compute latest")], "2.93"),
    # numeric comparison
    ([("X-OpenStack-Nova-API-Version", "2.10")], "2.10"),
    ([("X-OpenStack-Nova-API-Version", "2.93")], "2.93"),
])
def test_resolution_and_echo(api, headers, echo):
    r = show(api, headers)
    assert r.status == 200, r
    assert_version_headers(r, echo)


def test_new_header_wins_even_when_invalid(api):
    r = show(api, [("OpenStack-API-Version", "compute 2.x"),
                   ("X-OpenStack-Nova-API-Version", "2.30")])
    assert_fault(r, 400, "badRequest", "API Version String 2.x is of "
                 "invalid format. Must be of format MajorNum.MinorNum.")


@pytest.mark.parametrize("value", [
    "2", "2.01", "02.1", "2.1.1", "v2.1", "Latest", "LATEST", "2.", ".1",
    "2.1a", "x", "2..1", "-2.1", "2.-1", "2 .1"])
def test_invalid_format_400(api, value):
    r = show(api, [("X-OpenStack-Nova-API-Version", value)])
    assert_fault(r, 400, "badRequest", "API Version String %s is of invalid "
                 "format. Must be of format MajorNum.MinorNum." % value)
    assert_no_version_headers(r)
    assert_request_id(r)


@pytest.mark.parametrize("value,version", [
    ("compute 2.1.1", "2.1.1"), ("compute 2.5 x", "2.5 x"),
    ("compute  latest x", "latest x"), ("volume 3.0, compute v2", "v2")])
def test_invalid_format_via_new_header(api, value, version):
    r = show(api, [("OpenStack-API-Version", value)])
    assert_fault(r, 400, "badRequest", "API Version String %s is of "
                 "invalid format. Must be of format MajorNum.MinorNum."
                 % version)
    assert_no_version_headers(r)


def test_empty_legacy_header_400_two_spaces(api):
    r = show(api, [("X-OpenStack-Nova-API-Version", "")])
    assert_fault(r, 400, "badRequest", "API Version String  is of invalid "
                 "format. Must be of format MajorNum.MinorNum.")
    assert_no_version_headers(r)


@pytest.mark.parametrize("value", ["2.0", "2.94", "3.0", "1.5", "2.100",
                                   "2.999999999999999999999", "10.1"])
def test_unsupported_406(api, value):
    r = show(api, [("X-OpenStack-Nova-API-Version", value)])
    assert_fault(r, 406, "computeFault", "Version %s is not supported by "
                 "the API. Minimum is 2.1 and maximum is 2.93." % value)
    assert r.reason == "Not Acceptable"
    assert_version_headers(r, value)
    assert_request_id(r)


def test_unsupported_406_via_new_header(api):
    r = show(api, [("OpenStack-API-Version", "compute 3.0")])
    assert_fault(r, 406, "computeFault", "Version 3.0 is not supported by "
                 "the API. Minimum is 2.1 and maximum is 2.93.")
    assert_version_headers(r, "3.0")


def test_version_headers_on_faults_of_matched_routes(api, as_):
    # 404 from the lookup
    r = api.get("/v2.1/servers/nope", mv="2.60")
    assert_fault(r, 404, "itemNotFound", "Instance nope could not be found.")
    assert_version_headers(r, "2.60")
    # 403 from policy
    r = as_("member").live(WEB1, {"host": None, "block_migration": "auto"},
                           mv="2.70")
    assert r.status == 403, r
    assert_version_headers(r, "2.70")
    # 400 from the schema
    r = api.live(WEB1, {}, mv="2.25")
    assert r.status == 400, r
    assert_version_headers(r, "2.25")


def test_latest_echoes_2_93_in_both_headers(api):
    r = show(api, [("X-OpenStack-Nova-API-Version", "latest")])
    assert r.header("OpenStack-API-Version") == "compute 2.93"
    assert r.header("X-OpenStack-Nova-API-Version") == "2.93"


# ---- request ids --------------------------------------------------------------

def test_request_id_fresh_per_request(api):
    ids = {assert_request_id(show(api, [])) for _ in range(5)}
    assert len(ids) == 5


def test_inbound_request_id_not_echoed(api):
    inbound = "req-11111111-2222-4333-8444-555555555555"
    r = show(api, [("X-OpenStack-Request-ID", inbound)])
    assert r.status == 200
    rid = assert_request_id(r)
    assert rid != inbound
    assert inbound not in repr(r.headers)


@pytest.mark.parametrize("case", [
    "ok", "401-none", "401-unknown", "401-nouser", "404-route", "404-item",
    "413", "400-version", "406", "415", "v2-doc", "v21-doc", "v2-resource"])
def test_request_id_everywhere_under_v2(sandbox, api, anon, case):
    big = b"x" * 114689
    nouser = sandbox.client(sandbox.tokens["nouser"])
    r = {
        "ok": lambda: api.get("/v2.1/servers"),
        "401-none": lambda: anon.get("/v2.1/servers"),
        "401-unknown": lambda: anon.get("/v2.1/servers", token="nope" * 10),
        "401-nouser": lambda: nouser.get("/v2.1/servers"),
        "404-route": lambda: api.get("/v2.1/flavors"),
        "404-item": lambda: api.get("/v2.1/servers/x"),
        "413": lambda: anon.post("/v2.1/servers/x/action", body=big),
        "400-version": lambda: api.get("/v2.1/servers", mv="x"),
        "406": lambda: api.get("/v2.1/servers", mv="2.94"),
        "415": lambda: api.get("/v2.1/servers", content_type="text/html"),
        "v2-doc": lambda: anon.get("/v2/"),
        "v21-doc": lambda: anon.get("/v2.1/"),
        "v2-resource": lambda: api.get("/v2/servers"),
    }[case]()
    assert r.status < 500, r
    assert_request_id(r)


def test_no_request_id_on_root_and_choices(anon):
    for path in ("/", "/v3"):
        r = anon.get(path)
        assert not r.has("x-openstack-request-id"), r
        assert not r.has("x-compute-request-id"), r


def test_route_miss_has_no_version_headers_even_with_bad_version(api):
    r = api.get("/v2.1/flavors", mv="bogus")
    assert_plain_404(r)
    r = api.get("/v2.1/flavors", mv="2.94")
    assert_plain_404(r)
