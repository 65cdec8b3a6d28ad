"""The generic request path (spec 3.1-3.3, 1.1, 1.3): body size, identity,
route, microversion, Content-Type, action lookup, project segment, and
the plain (webob) error formats."""
import json

import pytest

from conftest import (NOSUCH, PLAIN_404, S, assert_fault,
                      assert_no_version_headers, assert_plain_404,
                      assert_request_id, assert_version_headers)

WEB1 = S["web-1"]
LIMIT = 114688
TOO_LARGE = "Request is too large. Larger than max_request_body_size " \
            "(114688)."
TOO_LARGE_CHUNKED = "Request is too large. Larger than 114688."
NOUSER_401 = ("401 Unauthorized\n\nThis server could not verify that you "
              "are authorized to access the document you requested. Either "
              "you supplied the wrong credentials (e.g., bad password), or "
              "your browser does not understand how to supply the "
              "credentials required.\n\n   ")
KEYSTONE_401 = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires "
                                     "authentication."}}
VALID_21 = {"host": None, "block_migration": False,
            "disk_over_commit": False}


def action_path(server=NOSUCH):
    return "/v2.1/servers/%s/action" % server


# ---- 413 (step 1) -------------------------------------------------------------

def test_413_plain_without_token(anon):
    r = anon.post(action_path(), body=b"x" * (LIMIT + 1))
    assert r.status == 413, r
    assert r.reason == "Request Entity Too Large"
    assert r.header("Content-Type") == "text/plain; charset=UTF-8"
    assert r.text == "413 Request Entity Too Large\n\n%s\n\n   " % TOO_LARGE
    assert_no_version_headers(r)
    assert_request_id(r)
    assert not r.has("WWW-Authenticate")


def test_413_json_format(anon):
    r = anon.post(action_path(), body=b"{" * (LIMIT + 100),
                  headers=[("Accept", "application/json")])
    assert r.status == 413, r
    assert r.header("Content-Type") == "application/json"
    assert r.json() == {"message": TOO_LARGE + "<br /><br />\n\n\n",
                        "code": "413 Request Entity Too Large",
                        "title": "Request Entity Too Large"}


def test_413_html_format(anon):
    r = anon.post(action_path(), body=b" " * 200000,
                  headers=[("Accept", "text/html")])
    assert r.status == 413, r
    assert r.header("Content-Type") == "text/html; charset=UTF-8"
    assert r.text == (
        "<html>\n <head>\n  <title>413 Request Entity Too Large</title>\n"
        " </head>\n <body>\n  <h1>413 Request Entity Too Large</h1>\n"
        "  %s<br /><br />\n\n\n\n </body>\n</html>" % TOO_LARGE)


def test_413_comes_before_everything(api, anon):
    big = b"x" * (LIMIT + 1)
    # before the route match, the microversion and the Content-Type
    for r in (anon.post("/v2.1/nowhere", body=big),
              api.post("/v2.1/nowhere", body=big),
              api.request("PUT", "/v2.1/servers", body=big, mv="bogus",
                          content_type="text/html"),
              api.get("/v2.1/servers", body=big)):
        assert r.status == 413, r
        assert r.text.startswith("413 Request Entity Too Large"), r


def test_exactly_the_limit_is_not_too_large(api, anon):
    body = b" " * LIMIT
    r = api.post(action_path(), body=body)
    assert_fault(r, 400, "badRequest", "Malformed request body")
    r = anon.post(action_path(), body=body)
    assert r.status == 401, r


def test_413_chunked_with_token(api):
    r = api.post(action_path(), body=b" " * (LIMIT + 1), chunked=True)
    assert r.status == 413, r
    assert r.text == ("413 Request Entity Too Large\n\n%s\n\n   "
                      % TOO_LARGE_CHUNKED)
    assert_request_id(r)


def test_chunked_exactly_the_limit_is_not_too_large(api):
    r = api.post(action_path(), body=b" " * LIMIT, chunked=True)
    assert_fault(r, 400, "badRequest", "Malformed request body")


def test_chunked_without_token_is_401(anon):
    # Nova only counts a chunked body while reading it, after auth
    r = anon.post(action_path(), body=b" " * (LIMIT + 1), chunked=True)
    assert r.status == 401, r


def test_chunked_small_body_works(api):
    body = json.dumps({"os-migrateLive": VALID_21}).encode()
    r = api.post(action_path(), body=body, chunked=True)
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)


# ---- 401 (step 2) -------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "unknown-token-1234567890",
                                   "x", ""])
def test_401_keystone(sandbox, anon, token):
    r = anon.get("/v2.1/servers", token=token)
    assert r.status == 401, r
    assert r.header("Content-Type") == "application/json; charset=UTF-8"
    assert r.header_all("WWW-Authenticate") == [
        'Keystone uri="%s/identity"' % sandbox.base]
    assert r.json() == KEYSTONE_401
    assert_request_id(r)
    assert_no_version_headers(r)


def test_401_wrong_case_token(sandbox, anon):
    t = sandbox.tokens["ops"]
    r = anon.get("/v2.1/servers", token=t.swapcase())
    assert r.status == 401, r
    assert r.json() == KEYSTONE_401


@pytest.mark.parametrize("method,path", [
    ("GET", "/v2.1/servers/%s" % WEB1), ("GET", "/v2.1/nowhere"),
    ("POST", action_path(WEB1)), ("DELETE", "/v2.1/servers"),
    ("GET", "/v2.1/0123abcd/servers"), ("GET", "/v2/servers"),
    ("GET", "/v2.1//"), ("GET", "/v2%2E1/servers"),
    ("GET", "/v2.1/servers/.."), ("GET", "/x/../v2.1/servers")])
def test_401_before_route_and_everything_else(anon, method, path):
    r = anon.request(method, path, body="{", mv="bogus",
                     content_type="text/html")
    assert r.status == 401, r
    assert r.json() == KEYSTONE_401


@pytest.mark.parametrize("accept,ctype,body", [
    (None, "text/plain; charset=UTF-8", NOUSER_401),
    ("text/plain", "text/plain; charset=UTF-8", NOUSER_401),
])
def test_401_token_without_user_id(sandbox, accept, ctype, body):
    c = sandbox.client(sandbox.tokens["nouser"])
    hdrs = [("Accept", accept)] if accept else []
    for path in ("/v2.1/servers", "/v2.1/servers/%s" % WEB1,
                 "/v2.1/nowhere"):
        r = c.get(path, headers=hdrs, mv="bogus")
        assert r.status == 401, r
        assert r.header("Content-Type") == ctype
        assert r.text == body
        assert not r.has("WWW-Authenticate")
        assert_no_version_headers(r)
        assert_request_id(r)


def test_401_token_without_user_id_json_and_html(sandbox):
    c = sandbox.client(sandbox.tokens["nouser"])
    expl = NOUSER_401.split("\n\n")[1]
    r = c.get("/v2.1/servers", headers=[("Accept", "application/json")])
    assert r.status == 401, r
    assert r.header("Content-Type") == "application/json"
    assert r.json() == {"message": expl + "<br /><br />\n\n\n",
                        "code": "401 Unauthorized", "title": "Unauthorized"}
    r = c.get("/v2.1/servers", headers=[("Accept", "*/*")])
    assert r.status == 401, r
    assert r.header("Content-Type") == "text/html; charset=UTF-8"
    assert "<h1>401 Unauthorized</h1>" in r.text


# ---- spoofed identity headers ---------------------------------------------------

SPOOF = [("X-Roles", "admin"), ("X-Role", "admin"),
         ("X-Project-Id", "p2"), ("X-Tenant-Id", "p2"), ("X-Tenant", "p2"),
         ("X-User-Id", "admin"), ("X-User", "admin"),
         ("X-Identity-Status", "Confirmed"), ("X-Service-Roles", "admin"),
         ("Ferry-Roles", "admin"), ("Ferry-Project-Id", "p2"),
         ("Ferry-User-Id", "admin"), ("Ferry-Authenticated", "1"),
         ("FERRY_ROLES", "admin"), ("FERRY_PROJECT_ID", "p2"),
         ("FERRY_USER_ID", "admin"), ("FERRY_AUTHENTICATED", "1"),
         ("X_ROLES", "admin"), ("HTTP_FERRY_ROLES", "admin")]


def test_spoofed_headers_gain_member_nothing(as_):
    m = as_("member")
    r = m.live(WEB1, VALID_21, headers=SPOOF)
    assert_fault(r, 403, "forbidden", "Policy doesn't allow os_compute_api:"
                 "os-migrate-server:migrate_live to be performed.")
    # not another project's view
    r = m.show(S["other-1"], headers=SPOOF)
    assert r.status == 404, r
    r = m.get("/v2.1/servers?all_tenants=1", headers=SPOOF)
    assert r.status == 403, r
    # no admin-only fields
    r = m.show(WEB1, headers=SPOOF, mv="2.3")
    assert r.status == 200
    assert not [k for k in r.json()["server"] if k.startswith("OS-EXT-SRV")]
    # and the project is still p1
    names = {s["name"] for s in m.get("/v2.1/servers",
                                      headers=SPOOF).json()["servers"]}
    assert "web-1" in names and "other-1" not in names


def test_spoofed_headers_do_not_authenticate(anon):
    r = anon.get("/v2.1/servers", headers=SPOOF + [("X-Auth-Token", "")])
    assert r.status == 401, r
    r = anon.live(WEB1, VALID_21, headers=SPOOF)
    assert r.status == 401, r


def test_spoofed_user_header_does_not_fix_empty_user(sandbox):
    c = sandbox.client(sandbox.tokens["nouser"])
    r = c.get("/v2.1/servers", headers=SPOOF)
    assert r.status == 401, r
    assert r.text == NOUSER_401


# ---- route miss: the plain 404 (step 3, spec 3.3) --------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/v2.1/flavors"), ("GET", "/v2.1/flavors/f1"),
    ("GET", "/v2.1/images/img-0001"), ("GET", "/v2.1/os-hypervisors"),
    ("GET", "/v2.1/servers/%s/foo" % WEB1),
    ("GET", "/v2.1/servers/%s/action" % WEB1),
    ("PUT", "/v2.1/servers/%s/action" % WEB1),
    ("DELETE", "/v2.1/servers/%s" % WEB1),
    ("PUT", "/v2.1/servers/%s" % WEB1),
    ("POST", "/v2.1/servers"), ("DELETE", "/v2.1/servers"),
    ("POST", "/v2.1/servers/detail"), ("PATCH", "/v2.1/servers"),
    ("GET", "/v2.1/Servers"),
    ("GET", "/v2.1/p1/servers"),            # p is not hex: a resource name
    ("GET", "/v2.1/ABCD/servers"),          # upper case is not [0-9a-f-]
    ("GET", "/v2.1/0123abcd/0123abcd/servers"),
    ("GET", "/v2.1/servers/a/b/c/d/e/f/g/h/i/j/k/l"),
    ("POST", "/v2.1/servers/%s/action/x" % WEB1),
])
def test_plain_404(api, method, path):
    r = api.request(method, path, body="{}" if method != "GET" else None,
                    mv="2.50")
    assert_plain_404(r)
    assert_request_id(r)


@pytest.mark.parametrize("accept,ctype", [
    (None, "text/plain"), ("", "text/plain"), ("text/plain", "text/plain"),
    ("image/png", "text/plain"), ("text/html", "text/html"),
    ("*/*", "text/html"), ("text/*", "text/html"),
    ("application/json", "application/json"),
    ("application/*", "application/json"),
    ("application/json, */*", "text/html"),
    ("application/json, text/html", "text/html"),
    ("text/html;q=0.5, application/json;q=0.9", "application/json"),
    ("application/json;q=0.2, text/html;q=0.1", "application/json"),
    ("application/json, text/html;q=0", "application/json"),
    ("text/html, application/json;q=0", "text/html"),
    ("application/json;q=0", "text/plain"),
    ("text/*;q=0.3, application/json;q=0.4", "application/json"),
    ("*/*;q=0.5, application/json", "application/json"),
])
def test_404_format_by_accept(api, accept, ctype):
    hdrs = [("Accept", accept)] if accept is not None else []
    r = api.get("/v2.1/flavors", headers=hdrs)
    assert r.status == 404, r
    assert_no_version_headers(r)
    if ctype == "text/plain":
        assert r.header("Content-Type") == "text/plain; charset=UTF-8"
        assert r.text == PLAIN_404
    elif ctype == "text/html":
        assert r.header("Content-Type") == "text/html; charset=UTF-8"
        assert r.text == (
            "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n"
            " <body>\n  <h1>404 Not Found</h1>\n  The resource could not "
            "be found.<br /><br />\n\n\n\n </body>\n</html>")
    else:
        assert r.header("Content-Type") == "application/json"
        assert r.json() == {
            "message": "The resource could not be found.<br /><br />\n\n\n",
            "code": "404 Not Found", "title": "Not Found"}


def test_route_miss_beats_version_and_content_type(api):
    r = api.request("DELETE", "/v2.1/servers/%s" % WEB1, body="{",
                    mv="2.0", content_type="text/html")
    assert_plain_404(r)


# ---- microversion (step 4) before Content-Type (step 5) -------------------

def test_version_400_before_415(api):
    r = api.live(NOSUCH, VALID_21, mv="2.x", content_type="text/html")
    assert_fault(r, 400, "badRequest")
    assert "API Version String" in r.fault()[2]


def test_version_406_before_415(api):
    r = api.live(NOSUCH, VALID_21, mv="2.94", content_type="text/html")
    assert_fault(r, 406, "computeFault")


# ---- Content-Type (step 5) --------------------------------------------------

BAD_TYPES = ["application/x-www-form-urlencoded", "text/html",
             "application/xml", "multipart/form-data; boundary=x",
             "application/jsonx", "application/json-patch+json",
             "text/json", "json", "application/vnd.openstack.compute",
             # webob's content_type is the raw text before ';', compared
             # exactly by nova/api/openstack/wsgi.py get_content_type
             "application/json ; charset=utf-8", "APPLICATION/JSON",
             "Application/Json ; charset=x", "TEXT/PLAIN"]


@pytest.mark.parametrize("ctype", BAD_TYPES)
def test_415_on_post(api, ctype):
    r = api.live(NOSUCH, VALID_21, content_type=ctype, mv="2.20")
    assert_fault(r, 415, "badMediaType", "Unsupported Content-Type")
    assert r.reason == "Unsupported Media Type"
    assert_version_headers(r, "2.20")
    assert_request_id(r)


def test_415_on_get(api):
    for path in ("/v2.1/servers", "/v2.1/servers/detail",
                 "/v2.1/servers/%s" % WEB1):
        r = api.get(path, content_type="application/x-www-form-urlencoded")
        assert_fault(r, 415, "badMediaType", "Unsupported Content-Type")


def test_415_before_action_lookup(api):
    r = api.action(NOSUCH, body="not json", content_type="text/html")
    assert_fault(r, 415, "badMediaType")


@pytest.mark.parametrize("ctype", [
    None, "", "text/plain", "text/plain; charset=utf-8", "application/json",
    "application/json; charset=UTF-8", "; charset=x",
    "application/vnd.openstack.compute+json",
    "application/vnd.openstack.compute+json; version=2.1"])
def test_accepted_content_types(api, ctype):
    r = api.live(NOSUCH, VALID_21, content_type=ctype)
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)
    r = api.get("/v2.1/servers/%s" % WEB1, content_type=ctype)
    assert r.status == 200, r


# ---- action lookup (step 6) ---------------------------------------------------

MALFORMED = [
    b"", b" ", b"{", b"}", b"nul", b"{'a': 1}", b'{"a": 1,}', b"[1,]",
    b'{"os-migrateLive": {}} x', b'{"os-migrateLive": {}}}',
    b'{"os-migrateLive": {}}{}', b'{"os-migrateLive": {}} 1',
    b"\xef\xbb\xbf" + json.dumps({"os-migrateLive": VALID_21}).encode(),
    b'{"os-migrateLive": "\xff"}', b'{"os-migrateLive\xc3": 1}',
    b'{"os-migrateLive": "\xed\xa0\x80"}',      # UTF-8-encoded surrogate
    b'{"a": 1, "b": 2}', b"{}",
    json.dumps({"os-migrateLive": VALID_21, "x": 1}).encode(),
    b"[]", b"[1, 2]", b'""', b'"ab"', b'["os-migrateLive", {}]',
    b'"\\u00e9\\u00e9"', b"\x00", b'{"a": 1}\x00',
    b'{"os-migrateLive": undefined}', b"{\"os-migrateLive\": 01}",
    b'{"os-migrateLive": .5}', b'{"os-migrateLive": +1}',
    b'{"os-migrateLive": nan}', b'{"os-migrateLive": "\t"}',
    b'{"os-migrateLive": "a\\x41"}',
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_body_400(api, body):
    r = api.action(NOSUCH, body=body)
    assert_fault(r, 400, "badRequest", "Malformed request body")
    assert_version_headers(r, "2.1")


@pytest.mark.parametrize("body", [
    b"[1]", b'["os-migrateLive"]', b"[{}]", b'"a"', b'"\\u00e9"',
    '"é"'.encode(), b'"\\ud83d\\ude00"', "\"\U0001F600\"".encode(),
    b"5", b"-1", b"1.5", b"1e400", b"true", b"false", b"null", b"NaN",
    b"Infinity", b"-Infinity", b" \n\t 7 \r\n"])
def test_array_or_string_of_one_or_scalar_404(api, body):
    r = api.action(WEB1, body=body)
    assert_fault(r, 404, "itemNotFound", "The resource could not be found.")
    assert_version_headers(r, "2.1")


@pytest.mark.parametrize("key", ["pause", "migrate-live", "os-migratelive",
                                 "OS-MIGRATELIVE", "os-migrateLive ", "",
                                 "évacuer", "a b", "forceDelete"])
def test_no_such_action(api, key):
    r = api.action(WEB1, json_body={key: {}})
    assert_fault(r, 400, "badRequest", "There is no such action: %s" % key)


def test_action_lookup_before_project_segment_check(api):
    r = api.post("/v2.1/abcdef/servers/%s/action" % NOSUCH, body="{")
    assert_fault(r, 400, "badRequest", "Malformed request body")
    r = api.post("/v2.1/abcdef/servers/%s/action" % NOSUCH, body="[1]")
    assert_fault(r, 404, "itemNotFound", "The resource could not be found.")
    r = api.post("/v2.1/abcdef/servers/%s/action" % NOSUCH,
                 json_body={"pause": None})
    assert_fault(r, 400, "badRequest", "There is no such action: pause")


def test_whitespace_around_body_is_fine(api):
    body = "\r\n \t" + json.dumps({"os-migrateLive": VALID_21}) + " \n"
    r = api.action(NOSUCH, body=body)
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)


def test_duplicate_key_last_value_wins(api):
    body = '{"os-migrateLive": 5, "os-migrateLive": %s}' % json.dumps(
        VALID_21)
    r = api.action(NOSUCH, body=body)
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)
    body = '{"os-migrateLive": %s, "os-migrateLive": 5}' % json.dumps(
        VALID_21)
    r = api.action(NOSUCH, body=body)
    assert_fault(r, 400, "badRequest", "Invalid input for field/attribute "
                 "os-migrateLive. Value: 5. 5 is not of type 'object'")


def test_duplicate_inner_key_keeps_first_position(api):
    # {'host': .., 'block_migration': .., 'x': ..}: "host" stays first
    body = ('{"os-migrateLive": {"host": "a", "block_migration": "auto", '
            '"x": 1, "host": "b"}}')
    r = api.action(NOSUCH, body=body, mv="2.25")
    assert_fault(r, 400, "badRequest", "Invalid input for field/attribute "
                 "os-migrateLive. Value: {'host': 'b', 'block_migration': "
                 "'auto', 'x': 1}. Additional properties are not allowed "
                 "('x' was unexpected)")


def test_escaped_key_is_the_action(api):
    body = '{"os-migrate\\u004cive": %s}' % json.dumps(VALID_21)
    r = api.action(NOSUCH, body=body)
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)


# ---- project segment (step 7, spec 1.1) -------------------------------------

def test_project_segment_matching(sandbox, as_):
    c = as_("hexadmin")          # project 0123abcd
    r = c.get("/v2.1/0123abcd/servers/%s" % WEB1)
    assert r.status == 200, r
    links = {l["rel"]: l["href"] for l in r.json()["server"]["links"]}
    assert links == {
        "self": "%s/v2.1/0123abcd/servers/%s" % (sandbox.base, WEB1),
        "bookmark": "%s/0123abcd/servers/%s" % (sandbox.base, WEB1)}
    img = r.json()["server"]["image"]["links"][0]["href"]
    assert img == "%s/0123abcd/images/img-0001" % sandbox.base
    flv = r.json()["server"]["flavor"]["links"][0]["href"]
    assert flv == "%s/0123abcd/flavors/f1" % sandbox.base
    # without the segment: no project in the links
    r = c.get("/v2.1/servers/%s" % WEB1)
    links = {l["rel"]: l["href"] for l in r.json()["server"]["links"]}
    assert links["self"] == "%s/v2.1/servers/%s" % (sandbox.base, WEB1)
    assert links["bookmark"] == "%s/servers/%s" % (sandbox.base, WEB1)


def test_project_segment_on_lists_and_actions(sandbox, as_):
    c = as_("hexadmin")
    r = c.get("/v2.1/0123abcd/servers?all_tenants=1&name=^web-1$")
    assert r.status == 200, r
    (srv,) = r.json()["servers"]
    assert srv["links"][0]["href"] == \
        "%s/v2.1/0123abcd/servers/%s" % (sandbox.base, WEB1)
    r = c.get("/v2.1/0123abcd/servers/detail?all_tenants=1&name=^web-1$")
    assert r.status == 200, r
    assert [s["id"] for s in r.json()["servers"]] == [WEB1]
    r = c.post("/v2.1/0123abcd/servers/%s/action" % NOSUCH,
               json_body={"os-migrateLive": VALID_21})
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)


@pytest.mark.parametrize("who,seg,ctx", [
    ("hexadmin", "0123abce", "0123abcd"), ("hexadmin", "0123", "0123abcd"),
    ("ops", "abc", "p1"), ("ops", "0-0", "p1"), ("member", "dead-beef", "p1"),
    ("hexmember", "0123abcd0", "0123abcd")])
def test_project_segment_mismatch(as_, who, seg, ctx):
    c = as_(who)
    msg = ("Malformed request URL: URL's project_id '%s' doesn't match "
           "Context's project_id '%s'" % (seg, ctx))
    for r in (c.get("/v2.1/%s/servers" % seg),
              c.get("/v2.1/%s/servers/detail" % seg),
              c.get("/v2.1/%s/servers/%s" % (seg, NOSUCH)),
              c.post("/v2.1/%s/servers/%s/action" % (seg, NOSUCH),
                     json_body={"os-migrateLive": {}}, mv="2.30")):
        assert_fault(r, 400, "badRequest", msg)
        assert_request_id(r)


def test_project_segment_check_after_version_and_415(api):
    r = api.get("/v2.1/abc/servers", mv="2.94")
    assert_fault(r, 406, "computeFault")
    r = api.get("/v2.1/abc/servers", content_type="text/html")
    assert_fault(r, 415, "badMediaType")


def test_project_segment_non_hex_is_a_resource(api):
    assert_plain_404(api.get("/v2.1/p1/servers/%s" % WEB1))
    assert_plain_404(api.get("/v2.1/admin/servers"))


def test_links_project_when_url_contains_it(sandbox, as_):
    """Nova adds the project to links when the caller's project id occurs
    anywhere in the request URL (a plain substring test, spec 1.1)."""
    c = as_("hexadmin")
    r = c.get("/v2.1/servers/%s?x=0123abcd" % WEB1)
    assert r.status == 200, r
    links = {l["rel"]: l["href"] for l in r.json()["server"]["links"]}
    assert links == {
        "self": "%s/v2.1/0123abcd/servers/%s" % (sandbox.base, WEB1),
        "bookmark": "%s/0123abcd/servers/%s" % (sandbox.base, WEB1)}
    r = c.get("/v2.1/servers?all_tenants=1&name=0123abcd|^web-1$")
    (srv,) = r.json()["servers"]
    assert srv["links"][0]["href"] == \
        "%s/v2.1/0123abcd/servers/%s" % (sandbox.base, WEB1)


def test_version_gate_404_has_version_headers(api):
    """A route that exists only from a later microversion: 404 itemNotFound
    with the version headers (spec 2, 1.2 E9), not the plain 404."""
    r = api.get("/v2.1/servers/%s/migrations" % WEB1, mv="2.22")
    assert_fault(r, 404, "itemNotFound", "The resource could not be found.")
    assert_version_headers(r, "2.22")
    r = api.get("/v2.1/servers/%s/migrations" % WEB1)
    assert_fault(r, 404, "itemNotFound", "The resource could not be found.")
    assert_version_headers(r, "2.1")
    r = api.get("/v2.1/servers/%s/migrations" % WEB1, mv="2.23")
    assert r.status == 200, r


# ---- hostile paths and bodies (issue 7) -------------------------------------

@pytest.mark.parametrize("path", [
    "/v2.1/a/b/c/d/e/f/g/h/", "/v2.1/x////////", "/v2.1/a/b/c/d/e/f/g/h/i",
    "/v2.1/" + "a/" * 300,
    "/v2.1/servers/x/migrations/y/action/z",
    "/v2.1/servers/%s/migrations/1/action/x/y" % NOSUCH,
    "/v2.1/servers/%s/migrations/1/a/b/c/d" % NOSUCH])
def test_deep_paths_plain_404(api, path):
    for method in ("GET", "POST", "DELETE"):
        r = api.request(method, path, body=b"{}" if method == "POST"
                        else None)
        assert r.status == 404, r
        assert r.text.startswith("404 Not Found"), r


def test_action_key_with_nul_is_no_action(api):
    r = api.action(NOSUCH, body=b'{"os-migrateLive\\u0000junk": '
                   b'{"host": null, "block_migration": "auto"}}', mv="2.30")
    assert_fault(r, 400, "badRequest",
                 "There is no such action: os-migrateLive\x00junk")
    r = api.action(WEB1, body=b'{"migrate\\u0000": null}')
    assert_fault(r, 400, "badRequest", "There is no such action: migrate\x00")


def test_server_id_with_nul_is_not_cut(api):
    # nginx itself refuses a %00 in the path (400); ferryd keeps the NUL
    # in the segment (tests/unit/test_route.c), never finds WEB1 by it
    r = api.get("/v2.1/servers/%s%%00junk" % WEB1)
    assert r.status in (400, 404), r


# Nova's URLMap merges every run of slashes before routing (paste
# normalize_url: '//+' -> '/'); nginx passes the raw REQUEST_URI.
@pytest.mark.parametrize("path, want", [
    ("//v2.1/os-migrations", 200), ("/v2.1//os-migrations", 200),
    ("/v2.1///os-migrations", 200), ("//v2.1//servers//detail", 200),
    ("/v2.1//servers/%s" % WEB1, 200), ("/v2.1/servers//%s" % WEB1, 200),
    ("//v2.1//", 200), ("//", 200), ("/v2.1/servers//", 404),
    ("/v2.1/servers%2F%2Fdetail", 404)])
def test_repeated_slashes(api, path, want):
    r = api.get(path)
    assert r.status == want, r


def test_repeated_slashes_action(api):
    r = api.post("/v2.1//servers/%s//action" % NOSUCH,
                 json_body={"os-migrateLive": VALID_21})
    assert_fault(r, 404, "itemNotFound",
                 "Instance %s could not be found." % NOSUCH)
