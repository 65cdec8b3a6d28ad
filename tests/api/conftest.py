"""Black-box API tests of ferry: nginx (TLS, token map) + ferryd, started
from the build tree with tools/sandbox on a free loopback port.

Session fixtures:
  sandbox   the running sandbox (URL, CA, tokens, store path); always
            stopped at the end of the session, pass or fail
  api       a Client with the p1 admin token ("ops")
  migs      hands out servers for tests that expect a 202 (the sandbox
            runs no migration runner, so each 202 leaves its server
            MIGRATING and its record queued/accepted for the whole run)

Only the Python standard library is used (http.client + ssl).
"""
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOSTS_DIR = REPO / "tests" / "api" / "hosts"
SANDBOX = REPO / "tools" / "sandbox"
FERRY_TOKEN = REPO / "tools" / "ferry-token"
FERRYD = REPO / "build" / "ferryd"

MAX_MV = 93


def A(n):
    """UUID of server n on host-a."""
    return "a0000000-0000-4000-8000-%012d" % n


def B(n):
    """UUID of server n on host-b."""
    return "b0000000-0000-4000-8000-%012d" % n


# The servers of tests/api/hosts/*.xml by name.
S = {
    "web-1": A(1), "paused-1": A(2), "stopped-1": A(3), "locked-1": A(4),
    "tpm-1": A(5), "sev-1": A(6), "fresh-1": A(7), "other-1": A(8),
    "bare-1": A(9), "suspended-1": A(10), "vm1": A(11), "myvm10": A(12),
    "crashed-1": A(13), "web-b": B(1), "dup-name-1": B(2), "dup-name-2": B(3),
}
MIG = [A(100 + i) for i in range(1, 41)]       # mig-1 .. mig-40, ACTIVE
PMIG = [A(200 + i) for i in range(1, 4)]       # pmig-1 .. pmig-3, PAUSED
NOSUCH = "c0000000-0000-4000-8000-000000000999"   # a UUID nobody has

REQ_ID_RE = re.compile(
    r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
    r"[0-9a-f]{12}$")

BOOL_ENUM = ("[True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', "
             "'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', "
             "'Off', 'off', 'NO', 'No', 'no']")
BOOL_ENUM_AUTO = BOOL_ENUM[:-1] + ", 'auto']"

PLAIN_404 = "404 Not Found\n\nThe resource could not be found.\n\n   "
VERSION_HEADERS = ("openstack-api-version", "x-openstack-nova-api-version")


# ---- HTTP client ------------------------------------------------------------

class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # [(name, value)], as received
        self.body = body                # bytes

    def header(self, name):
        """The first value of header name (any case), or None."""
        vals = self.header_all(name)
        return vals[0] if vals else None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return bool(self.header_all(name))

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def fault(self):
        """(faultKey, code, message) of a Nova JSON fault body."""
        doc = self.json()
        assert isinstance(doc, dict) and len(doc) == 1, doc
        key, val = next(iter(doc.items()))
        return key, val.get("code"), val.get("message")

    def __repr__(self):
        return "<Resp %d %r %r>" % (self.status, self.headers,
                                    self.body[:600])


class Client:
    """One request per connection, so every request is independent."""

    def __init__(self, host, port, cafile, token=None, prefix=""):
        self.host = host
        self.port = port
        self.token = token
        self.prefix = prefix
        self.ctx = ssl.create_default_context(cafile=cafile)

    def with_token(self, token):
        c = Client.__new__(Client)
        c.__dict__.update(self.__dict__)
        c.token = token
        return c

    def request(self, method, path, body=None, headers=None, token="default",
                mv=None, api_mv=None, json_body=None, chunked=False,
                content_type="default", timeout=30):
        """path is sent as is (it may carry a query).  body: bytes/str, or
        json_body: an object to serialise.  mv sets the legacy microversion
        header (as tempest does), api_mv the OpenStack-API-Version one
        ("compute X.Y").  headers: a list of (name, value) or a dict, sent
        after the defaults (duplicates allowed)."""
        if json_body is not None:
            body = json.dumps(json_body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = []
        if token == "default":
            token = self.token
        if token is not None:
            hdrs.append(("X-Auth-Token", token))
        if mv is not None:
            hdrs.append(("X-OpenStack-Nova-API-Version", mv))
        if api_mv is not None:
            hdrs.append(("OpenStack-API-Version", "compute " + api_mv))
        if content_type == "default":
            content_type = "application/json" if body is not None else None
        if content_type is not None:
            hdrs.append(("Content-Type", content_type))
        if isinstance(headers, dict):
            headers = list(headers.items())
        hdrs.extend(headers or [])
        names = {k.lower() for k, _ in hdrs}
        conn = http.client.HTTPSConnection(self.host, self.port,
                                           context=self.ctx, timeout=timeout)
        try:
            conn.putrequest(method, self.prefix + path,
                            skip_accept_encoding=True)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            elif body is not None and "content-length" not in names:
                conn.putheader("Content-Length", str(len(body)))
            for k, v in hdrs:
                conn.putheader(k, v)
            conn.endheaders()
            if body is not None:
                if chunked:
                    step = 16384
                    for i in range(0, len(body), step):
                        part = body[i:i + step]
                        conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
                    conn.send(b"0\r\n\r\n")
                else:
                    conn.send(body)
            r = conn.getresponse()
            data = r.read()
            return Resp(r.status, r.reason, list(r.getheaders()), data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    # ---- API shortcuts ----
    def show(self, server_id, **kw):
        return self.get("/v2.1/servers/%s" % server_id, **kw)

    def action(self, server_id, body=None, json_body=None, **kw):
        return self.post("/v2.1/servers/%s/action" % server_id, body=body,
                         json_body=json_body, **kw)

    def live(self, server_id, args, **kw):
        """POST {"os-migrateLive": args}."""
        return self.action(server_id, json_body={"os-migrateLive": args},
                           **kw)


# ---- the store's backend ----------------------------------------------------
#
# FERRY_TEST_STORE=postgresql runs the suite on PostgreSQL: a throwaway
# cluster (initdb/pg_ctl in a temp dir, on a Unix socket only, as a
# non-root user) for the session, a database of its own per sandbox.
# Tests that read or write the store with sqlite3 get the same on
# PostgreSQL (PgShim); what only SQLite has makes them skip, saying so.

STORE = os.environ.get("FERRY_TEST_STORE", "sqlite")
if STORE not in ("sqlite", "postgresql"):
    raise RuntimeError("FERRY_TEST_STORE: sqlite or postgresql, not %r"
                       % STORE)


# the cluster helper both suites use (tests/pgcluster.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pgcluster import PgCluster, pg_bindir  # noqa: E402,F401


PG = None       # the session's cluster, when STORE is postgresql

# SQLite-specific tests that do not open the file through sqlite3: by name,
# with why.
SQLITE_ONLY = {
    "test_sandbox_secret_files_are_private":
        "the file modes of the store's SQLite files",
}


def pytest_collection_modifyitems(config, items):
    if STORE != "postgresql":
        return
    for item in items:
        reason = SQLITE_ONLY.get(getattr(item, "originalname", item.name))
        if reason:
            item.add_marker(pytest.mark.skip(
                reason="SQLite-specific: %s (FERRY_TEST_STORE=postgresql)"
                % reason))


# A sandbox's ferry.db path -> (cluster, database), for the tests that read
# or write the store with sqlite3: on PostgreSQL they get PgShim, which runs
# their SQL with psql.  SQL that only SQLite speaks (PRAGMA, sqlite_master,
# BEGIN EXCLUSIVE, its functions) makes the test skip, saying so.
PG_STORES = {}

# tables whose INSERT gives sqlite3's lastrowid (their id)
PG_ID_TABLES = ("migrations", "instance_actions", "instance_actions_events",
                "drains", "runners")


class PgRow:
    """sqlite3.Row's face: r[0], r["name"], keys(), dict(r)."""

    def __init__(self, d):
        self._keys = list(d.keys())
        self._vals = list(d.values())

    def keys(self):
        return list(self._keys)

    def __getitem__(self, k):
        if isinstance(k, (int, slice)):
            return self._vals[k]
        return self._vals[self._keys.index(k)]

    def __iter__(self):
        return iter(self._vals)

    def __len__(self):
        return len(self._vals)


class PgCursor:
    def __init__(self, rows, lastrowid=None):
        self.rows = rows
        self.lastrowid = lastrowid
        self.rowcount = len(rows)

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(self.rows)


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, bytes):
        return "'\\x%s'::bytea" % v.hex()
    return "'%s'" % str(v).replace("'", "''")


class PgShim:
    """What the tests use of a sqlite3 connection, on a PostgreSQL store:
    each statement one psql run (autocommit)."""

    SQLITE_ONLY = ("PRAGMA", "SQLITE_", "BEGIN", "ROLLBACK", "STRFTIME",
                   "JULIANDAY", "DATETIME(", "INSERT OR ", "UPDATE OR ")

    def __init__(self, cluster, db):
        self.cluster, self.db = cluster, db
        self.row_factory = None

    def _bind(self, sql, args):
        parts = sql.split("?")
        if len(parts) - 1 != len(args):
            pytest.skip("SQLite-specific SQL (parameters): %s" % sql[:60])
        out = parts[0]
        for v, rest in zip(args, parts[1:]):
            out += _sql_literal(v) + rest
        return out

    def execute(self, sql, args=()):
        up = sql.upper()
        for word in self.SQLITE_ONLY:
            if word in up:
                pytest.skip("SQLite-specific: the test's own SQL (%s) "
                            "(FERRY_TEST_STORE=postgresql)" % word.strip())
        text = self._bind(sql, tuple(args)).strip().rstrip(";")
        head = up.lstrip().split(None, 3)
        try:
            if head[0] in ("SELECT", "WITH", "VALUES"):
                rows = self.cluster.rows(self.db, text)
                return PgCursor([PgRow(r) if self.row_factory else
                                 tuple(r.values()) for r in rows])
            if head[0] == "INSERT" and head[2].split("(")[0].lower() in \
                    PG_ID_TABLES and "RETURNING" not in up:
                ids = json.loads(self.cluster.psql(
                    self.db, "WITH x AS (%s RETURNING id) SELECT"
                    " coalesce(json_agg(x.id), '[]') FROM x" % text))
                return PgCursor([], ids[0] if ids else None)
            self.cluster.psql(self.db, text)
        except RuntimeError as e:
            pytest.skip("SQLite-specific SQL the test runs (%s)" % e)
        return PgCursor([])

    def executemany(self, sql, seq):
        for args in seq:
            self.execute(sql, args)

    def commit(self):
        pass

    def rollback(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="session", autouse=True)
def store_backend():
    """The session's PostgreSQL cluster (FERRY_TEST_STORE=postgresql),
    removed at the end; nothing on SQLite."""
    global PG
    if STORE != "postgresql":
        yield None
        return
    real_connect = sqlite3.connect

    def connect(path, *a, **kw):
        where = PG_STORES.get(str(path))
        if where is not None:
            return PgShim(*where)
        return real_connect(path, *a, **kw)

    PG = PgCluster()
    try:
        PG.start()
        sqlite3.connect = connect
        yield PG
    finally:
        sqlite3.connect = real_connect
        PG.remove()
        PG = None


# ---- sandbox ----------------------------------------------------------------

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def write_hosts_file(path):
    text = (
        "# written by tests/api/conftest.py\n"
        "[host host-a]\n"
        "uri = test://%(d)s/host-a.xml\n"
        "migration_address = 127.0.0.1\n"
        "\n"
        "[host host-b]\n"
        "uri = test://%(d)s/host-b.xml\n"
        "migration_address = 127.0.0.1\n"
        "\n"
        "[host host-c]\n"
        "uri = test://%(d)s/host-c.xml\n"
        "migration_address = 127.0.0.1\n"
        "enabled = false\n" % {"d": HOSTS_DIR})
    Path(path).write_text(text)


def read_env(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


class Sandbox:
    """tools/sandbox start/stop around one run directory."""

    TOKENS = {
        # name: (user, project, roles)
        "ops": ("ops", "p1", "admin"),
        "member": ("u1", "p1", "member"),
        "reader": ("r1", "p1", "reader"),
        "member2": ("u2", "p2", "member"),
        "hexadmin": ("hexops", "0123abcd", "admin"),
        "hexmember": ("hexu", "0123abcd", "member"),
        "noroles": ("u1", "p1", ""),
        "caseadmin": ("cadm", "p1", "reader,ADMIN"),
    }

    def __init__(self, workdir, workers=3, policy=None):
        self.workdir = Path(workdir)
        self.policy = policy
        self.dir = self.workdir / "run"
        self.workers = workers
        self.hosts_file = self.workdir / "hosts.conf"
        self.started = False
        self.tokens = {}

    pg = None                   # its PostgreSQL cluster (the session's
    pgdb = None                 # with FERRY_TEST_STORE) and database
    extra_config = ""           # appended to the hosts file ferry.conf
                                # includes: more hosts or [ferryd] keys

    def start(self):
        write_hosts_file(self.hosts_file)
        if self.extra_config:
            with open(self.hosts_file, "a") as f:
                f.write(self.extra_config)
        if self.pg is None:
            self.pg = PG
        if self.pg is not None:
            # the included hosts file comes last: its store wins
            if self.pgdb is None:
                self.pgdb = self.pg.new_db()
            with open(self.hosts_file, "a") as f:
                f.write("\n[ferryd]\nstore = %s\n" % self.pg.url(self.pgdb))
            PG_STORES[str(self.dir / "ferry.db")] = (self.pg, self.pgdb)
        last = None
        for _ in range(5):
            port = free_port()
            p = subprocess.run(
                ["sh", str(SANDBOX), "start", "--hosts", str(self.hosts_file),
                 "--port", str(port), "--dir", str(self.dir),
                 "--workers", str(self.workers),
                 # no runners: test:// hosts cannot migrate, and an accepted
                 # migration must stay visible; tests/lab covers runners
                 "--runners", "0"] +
                (["--policy", str(self.policy)] if self.policy else []),
                cwd=str(REPO), capture_output=True, text=True, timeout=60)
            self.started = True
            if p.returncode == 0:
                self.port = port
                break
            last = p.stdout + p.stderr
            self.stop()             # ferryd may be running; nginx not
        else:
            raise RuntimeError("tools/sandbox start failed:\n%s" % last)
        env = read_env(self.dir / "env")
        self.env = env
        self.url = env["FERRY_URL"]
        self.cacert = env["FERRY_CACERT"]
        self.tokens["admin"] = env["FERRY_TOKEN"]     # user admin, project admin
        self.token_file = env["FERRY_TOKENS"]
        self.db = self.dir / "ferry.db"
        self.base = "https://127.0.0.1:%d" % self.port
        for name, (user, project, roles) in self.TOKENS.items():
            self.tokens[name] = self.add_token(user, project, roles)
        self.tokens["nouser"] = self.add_token("", "p1", "member",
                                               "--allow-empty-user")
        self.reload()

    def add_token(self, user, project, roles, *extra):
        p = subprocess.run(
            ["sh", str(FERRY_TOKEN), "-f", self.token_file, "add",
             "--user", user, "--project", project, "--roles", roles] +
            list(extra), capture_output=True, text=True, check=True)
        return p.stdout.strip()

    def reload(self):
        subprocess.run(["sh", str(SANDBOX), "reload", "--dir", str(self.dir),
                        "--nginx"],
                       cwd=str(REPO), capture_output=True, check=True,
                       timeout=30)
        # nginx reloads asynchronously: wait until the new workers answer
        # with every token added, several times in a row
        c = self.client()
        ok = 0
        deadline = time.time() + 15
        while time.time() < deadline and ok < 5:
            good = all(
                c.get("/v2.1/servers", token=self.tokens[t]).status == 200
                for t in ("ops", "member2"))
            ok = ok + 1 if good else 0
            if not good:
                time.sleep(0.1)
        if ok < 5:
            raise RuntimeError("nginx did not pick up the new tokens")

    def client(self, token=None):
        return Client("127.0.0.1", self.port, self.cacert, token)

    def stop(self):
        if not self.started:
            return
        subprocess.run(["sh", str(SANDBOX), "stop", "--dir", str(self.dir)],
                       cwd=str(REPO), capture_output=True, timeout=60)
        self.started = False

    # ---- the store ----
    def migrations(self, instance_uuid):
        if self.pgdb is not None:
            return self.pg.rows(self.pgdb,
                           "SELECT * FROM migrations WHERE instance_uuid = "
                           "'%s' ORDER BY id" % instance_uuid.replace("'", ""))
        con = sqlite3.connect(str(self.db), timeout=10)
        con.row_factory = sqlite3.Row
        try:
            rows = con.execute(
                "SELECT * FROM migrations WHERE instance_uuid = ? "
                "ORDER BY id", (instance_uuid,)).fetchall()
            return [dict(r) for r in rows]
        finally:
            con.close()

    def log_tail(self, n=40):
        out = []
        for name in ("ferryd.log", "error.log"):
            p = self.dir / name
            if p.exists():
                lines = p.read_text(errors="replace").splitlines()[-n:]
                out.append("== %s\n%s" % (name, "\n".join(lines)))
        return "\n".join(out)


def make_sandbox(name, workers=3, policy=None):
    if not FERRYD.exists():
        subprocess.run(["make"], cwd=str(REPO), check=True,
                       capture_output=True)
    # short path: the unix socket path must fit in sun_path
    workdir = tempfile.mkdtemp(prefix="ferry-%s-" % name)
    return Sandbox(workdir, workers, policy)


def run_sandbox(name, policy=None, extra_config="", tokens=None):
    """Generator for fixtures: a started sandbox of its own, always stopped
    (and its directory removed unless FERRY_KEEP_SANDBOX=1) when the
    fixture ends.  extra_config ends the hosts file its ferry.conf
    includes (more hosts, or a [ferryd] section with more keys); tokens
    adds NAME: (user, project, roles) tokens to the standard ones."""
    sb = make_sandbox(name, policy=policy)
    sb.extra_config = extra_config
    if tokens:
        sb.TOKENS = dict(Sandbox.TOKENS, **tokens)
    try:
        sb.start()
        yield sb
    finally:
        sb.stop()
        if os.environ.get("FERRY_KEEP_SANDBOX") != "1":
            shutil.rmtree(sb.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox():
    yield from run_sandbox("api")


@pytest.fixture(scope="session")
def tokens(sandbox):
    return sandbox.tokens


@pytest.fixture(scope="session")
def api(sandbox):
    """Client with the p1 admin token (user ops, project p1, role admin)."""
    return sandbox.client(sandbox.tokens["ops"])


@pytest.fixture(scope="session")
def anon(sandbox):
    return sandbox.client(None)


@pytest.fixture(scope="session")
def as_(sandbox):
    """as_("member") -> a Client with that token."""
    def make(name):
        return sandbox.client(sandbox.tokens[name])
    return make


class Pool:
    def __init__(self, ids, what):
        self.ids = list(ids)
        self.what = what

    def take(self):
        if not self.ids:
            raise RuntimeError("out of %s servers: add more to "
                               "tests/api/hosts/host-a.xml" % self.what)
        return self.ids.pop(0)


@pytest.fixture(scope="session")
def migs():
    """Fresh ACTIVE servers (mig-1 ..), one per test that expects a 202."""
    return Pool(MIG, "mig-N")


@pytest.fixture(scope="session")
def pmigs():
    return Pool(PMIG, "pmig-N")


def mvs(lo, hi):
    """Microversion strings 2.lo .. 2.hi."""
    return ["2.%d" % i for i in range(lo, hi + 1)]


def mvnum(mv):
    """The minor of a microversion header value; None means no header."""
    if mv is None:
        return 1
    return 93 if mv == "latest" else int(mv.split(".")[1])


def echo(mv):
    """What the version headers echo for a request sent with mv."""
    return "2.%d" % mvnum(mv)


def expect_202(r, mv):
    """Spec 4.5: 202, empty body, Content-Length 0, version and id headers."""
    assert r.status == 202, r
    assert r.reason == "Accepted"
    assert r.body == b""
    assert r.header_all("Content-Length") == ["0"]
    assert r.header("Content-Type") == "application/json"
    assert_version_headers(r, echo(mv))
    assert_request_id(r)


def assert_version_headers(r, echo):
    assert r.header_all("OpenStack-API-Version") == ["compute " + echo], r
    assert r.header_all("X-OpenStack-Nova-API-Version") == [echo], r
    assert r.header_all("Vary") == ["OpenStack-API-Version",
                                    "X-OpenStack-Nova-API-Version"], r


def assert_no_version_headers(r):
    for h in VERSION_HEADERS:
        assert not r.has(h), r
    assert not r.has("Vary"), r


def assert_request_id(r):
    rid = r.header_all("x-openstack-request-id")
    cid = r.header_all("x-compute-request-id")
    assert len(rid) == 1 and len(cid) == 1, r
    assert REQ_ID_RE.match(rid[0]), rid
    assert rid == cid, r
    return rid[0]


def assert_fault(r, status, key, message=None):
    assert r.status == status, r
    assert r.header("Content-Type").lower().replace(" ", "") == \
        "application/json;charset=utf-8", r
    k, code, msg = r.fault()
    assert (k, code) == (key, status), r
    if message is not None:
        assert msg == message, r
    return msg


def assert_plain_404(r):
    assert r.status == 404, r
    assert r.header("Content-Type") == "text/plain; charset=UTF-8", r
    assert r.text == PLAIN_404, r
    assert_no_version_headers(r)
