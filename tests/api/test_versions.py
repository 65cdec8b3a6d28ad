"""Version documents (spec 1.4, E1-E3) and the 300 Multiple Choices."""
import pytest

from conftest import (assert_fault, assert_no_version_headers,
                      assert_request_id, assert_version_headers)

V20 = {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
       "updated": "2011-01-21T11:33:21Z"}
V21 = {"id": "v2.1", "status": "CURRENT", "version": "2.93",
       "min_version": "2.1", "updated": "2013-07-23T11:33:21Z"}


def test_root(sandbox, anon):
    r = anon.get("/")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json")
    assert_no_version_headers(r)
    assert not r.has("x-openstack-request-id")
    assert not r.has("x-compute-request-id")
    doc = r.json()
    assert list(doc) == ["versions"]
    vs = doc["versions"]
    assert [v["id"] for v in vs] == ["v2.0", "v2.1"]      # v2.0 first
    assert vs[0] == dict(V20, links=[
        {"rel": "self", "href": sandbox.base + "/v2/"}])
    assert vs[1] == dict(V21, links=[
        {"rel": "self", "href": sandbox.base + "/v2.1/"}])
    # tempest's schema: only these keys
    for v in vs:
        assert set(v) <= {"id", "status", "updated", "links", "version",
                          "min_version", "media-types"}


def test_root_with_token_is_the_same(api, anon):
    assert api.get("/").json() == anon.get("/").json()


@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/"])
def test_v21_document(sandbox, anon, path):
    r = anon.get(path)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json")
    assert_request_id(r)
    assert_version_headers(r, "2.1")
    assert r.json() == {"version": dict(V21, links=[
        {"rel": "self", "href": sandbox.base + "/v2.1/"},
        {"rel": "describedby", "type": "text/html",
         "href": "http://docs.openstack.org/"}],
        **{"media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2.1"}]})}


@pytest.mark.parametrize("path", ["/v2", "/v2/"])
def test_v2_document(sandbox, anon, path):
    r = anon.get(path)
    assert r.status == 200, r
    assert_request_id(r)
    assert_no_version_headers(r)
    assert r.json() == {"version": dict(V20, links=[
        {"rel": "self", "href": sandbox.base + "/v2/"},
        {"rel": "describedby", "type": "text/html",
         "href": "http://docs.openstack.org/"}],
        **{"media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2"}]})}


def test_self_links_match_root(api):
    """Tempest follows every self link of GET / (with a token) and
    requires the document's self link to equal the listed one."""
    for v in api.get("/").json()["versions"]:
        href = v["links"][0]["href"]
        path = href.split("127.0.0.1", 1)[1].split("/", 1)[1]
        r = api.get("/" + path)
        assert r.status == 200, r
        doc = r.json()["version"]
        assert doc["id"] == v["id"]
        selfs = [l["href"] for l in doc["links"] if l["rel"] == "self"]
        assert selfs == [href]


def test_v21_document_echoes_microversion(anon):
    r = anon.get("/v2.1/", mv="2.50")
    assert r.status == 200, r
    assert_version_headers(r, "2.50")
    r = anon.get("/v2.1", mv="latest")
    assert_version_headers(r, "2.93")


def test_v21_document_bad_microversion(anon):
    r = anon.get("/v2.1/", mv="2.01")
    assert_fault(r, 400, "badRequest", "API Version String 2.01 is of "
                 "invalid format. Must be of format MajorNum.MinorNum.")
    assert_no_version_headers(r)
    assert_request_id(r)
    r = anon.get("/v2.1", mv="2.94")
    assert_fault(r, 406, "computeFault", "Version 2.94 is not supported by "
                 "the API. Minimum is 2.1 and maximum is 2.93.")
    assert_version_headers(r, "2.94")
    assert_request_id(r)


@pytest.mark.parametrize("path,rest", [
    ("/v3", "v3"), ("/v3/", "v3/"), ("/v2.10/servers", "v2.10/servers"),
    ("/foo/bar", "foo/bar")])
def test_choices(sandbox, anon, path, rest):
    r = anon.get(path)
    assert r.status == 300, r
    assert r.reason == "Multiple Choices"
    assert r.header("Content-Type").startswith("application/json")
    assert_no_version_headers(r)
    assert r.json() == {"choices": [
        {"id": "v2.0", "status": "SUPPORTED",
         "links": [{"rel": "self",
                    "href": "%s/v2/%s" % (sandbox.base, rest)}],
         "media-types": [{
             "base": "application/json",
             "type": "application/vnd.openstack.compute+json;version=2"}]},
        {"id": "v2.1", "status": "CURRENT",
         "links": [{"rel": "self",
                    "href": "%s/v2.1/%s" % (sandbox.base, rest)}],
         "media-types": [{
             "base": "application/json",
             "type": "application/vnd.openstack.compute+json;version=2.1"}]},
    ]}


@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/"])
def test_v21_document_content_type(anon, path):
    """E2 goes through the same steps 4 and 5 as every API route."""
    r = anon.get(path, content_type="application/x-www-form-urlencoded",
                 mv="2.40")
    assert_fault(r, 415, "badMediaType", "Unsupported Content-Type")
    assert_version_headers(r, "2.40")
    r = anon.get(path, content_type="text/html", mv="2.94")
    assert_fault(r, 406, "computeFault")
    for ctype in ("application/json", "text/plain", ""):
        assert anon.get(path, content_type=ctype).status == 200
