"""Hardening of the front door (issue 7): duplicate X-Auth-Token headers,
the modes of files that hold a token, and the release build's hardening.
"""
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, S, assert_request_id

WEB1 = S["web-1"]
KEYSTONE_401 = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires "
                                     "authentication."}}
FERRY_TOKEN = REPO / "tools" / "ferry-token"


# ---- more than one X-Auth-Token: 401 whatever the tokens are --------------

@pytest.mark.parametrize("pair", [
    ("ops", "admin"),           # two valid tokens of different users
    ("member", "admin"),        # a member first, admin second
    ("admin", "admin"),         # the same valid token twice
    ("ops", None),              # a valid token, then an unknown one
])
@pytest.mark.parametrize("path", [
    "/v2.1/servers", "/v2.1/servers/%s" % WEB1, "/v2.1/os-migrations"])
def test_two_token_headers_401(sandbox, anon, pair, path):
    toks = [sandbox.tokens[p] if p else "unknown-token-1234567890"
            for p in pair]
    r = anon.get(path, token=None,
                 headers=[("X-Auth-Token", t) for t in toks])
    assert r.status == 401, r
    assert r.json() == KEYSTONE_401
    assert r.header_all("WWW-Authenticate") == [
        'Keystone uri="%s/identity"' % sandbox.base]
    assert_request_id(r)


def test_two_token_headers_change_nothing(sandbox, anon):
    """An os-migrateLive with two tokens is refused before it is looked at:
    no record."""
    before = sandbox.migrations(WEB1)
    toks = [sandbox.tokens["ops"], sandbox.tokens["admin"]]
    r = anon.live(WEB1, {"host": None, "block_migration": "auto"},
                  token=None, mv="2.30",
                  headers=[("X-Auth-Token", t) for t in toks])
    assert r.status == 401, r
    assert sandbox.migrations(WEB1) == before


def test_one_token_header_still_works(sandbox, anon):
    r = anon.get("/v2.1/servers", token=None,
                 headers=[("X-Auth-Token", sandbox.tokens["ops"])])
    assert r.status == 200, r


def test_two_token_headers_on_version_documents(sandbox, anon):
    """The version documents need no token (spec 1.4): still 200."""
    toks = [sandbox.tokens["ops"], sandbox.tokens["admin"]]
    r = anon.get("/v2.1/", token=None,
                 headers=[("X-Auth-Token", t) for t in toks])
    assert r.status == 200, r


# ---- files that hold a token -----------------------------------------------

def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_sandbox_secret_files_are_private(sandbox):
    """The token map, the env file (admin token), the store and the
    sandbox's key are readable by their owner only."""
    d = sandbox.dir
    for name in ("tokens.map", "env", "ferry.db", "server.key",
                 "ferry.conf"):
        p = d / name
        assert p.exists(), p
        assert _mode(p) & 0o077 == 0, "%s is %o" % (p, _mode(p))
    for extra in ("ferry.db-wal", "ferry.db-shm"):
        p = d / extra
        if p.exists():
            assert _mode(p) & 0o077 == 0, "%s is %o" % (p, _mode(p))


def _token(f, *args):
    return subprocess.run(["sh", str(FERRY_TOKEN), "-f", str(f)] +
                          list(args), capture_output=True, text=True)


@pytest.fixture
def tdir():
    d = tempfile.mkdtemp(prefix="ferry-tok-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def test_ferry_token_new_file_is_0600(tdir):
    f = tdir / "tokens.map"
    p = _token(f, "add", "--user", "u", "--project", "p", "--roles", "r")
    assert p.returncode == 0, p.stderr
    assert _mode(f) == 0o600


@pytest.mark.parametrize("old,new", [(0o644, 0o640), (0o666, 0o640),
                                     (0o604, 0o600), (0o660, 0o640),
                                     (0o755, 0o640), (0o640, 0o640),
                                     (0o600, 0o600), (0o400, 0o400)])
def test_ferry_token_tightens_a_loose_file(tdir, old, new):
    f = tdir / "tokens.map"
    f.write_text("")
    os.chmod(f, old)
    p = _token(f, "add", "--user", "u", "--project", "p", "--roles", "r")
    assert p.returncode == 0, p.stderr
    assert _mode(f) == new, "%o -> %o" % (old, _mode(f))
    if old != new:
        assert "was %04o, now %04o" % (old, new) in p.stderr, p.stderr
    else:
        assert "now" not in p.stderr, p.stderr


def test_ferry_token_list_warns_on_a_loose_file(tdir):
    """list does not write: it says the file is too open."""
    f = tdir / "tokens.map"
    f.write_text("")
    os.chmod(f, 0o644)
    p = _token(f, "list")
    assert p.returncode == 0, p.stderr
    assert "readable by others" in p.stderr, p.stderr
    assert _mode(f) == 0o644


# ---- the release build -------------------------------------------------------

def test_release_build_is_hardened():
    """tools/check-hardening: PIE, full RELRO (BIND_NOW), stack protector
    and _FORTIFY_SOURCE in build/ferryd."""
    p = subprocess.run(["sh", str(REPO / "tools" / "check-hardening"),
                        str(REPO / "build" / "ferryd")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    for what in ("pie", "relro", "bind_now", "stack_protector", "fortify"):
        assert "%s: yes" % what in p.stdout, p.stdout
