"""A throwaway PostgreSQL cluster for the tests (issue 13): initdb and
pg_ctl in a temp dir, listening only on a Unix socket there, run by a
non-root user (postgres when the tests run as root).  The API suite
(tests/api/conftest.py, test_store_pg.py) and the lab suite
(tests/lab/test_two_nodes.py) both use it."""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def pg_bindir():
    for d in (os.environ.get("FERRY_PG_BINDIR"),
              "/usr/lib/postgresql/15/bin"):
        if d and os.path.exists(os.path.join(d, "initdb")):
            return d
    p = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                       text=True)
    return p.stdout.strip()


class PgCluster:
    """A PostgreSQL cluster of its own in a temp dir, listening only on a
    Unix socket there, run by a non-root user (postgres when the tests run
    as root), trust authentication for its one role, ferry."""

    def __init__(self):
        self.bindir = pg_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="ferry-pg-"))
        self.data = self.dir / "data"
        self.sock = str(self.dir)
        self.user = "postgres" if os.geteuid() == 0 else None
        self.count = 0
        if self.user:
            shutil.chown(str(self.dir), user=self.user)

    def _run(self, *args, **kw):
        return subprocess.run(list(args), user=self.user, cwd=self.sock,
                              capture_output=True, text=True, **kw)

    def start(self):
        if not self.data.exists():
            self._run(os.path.join(self.bindir, "initdb"), "-D",
                      str(self.data), "-A", "trust", "-U", "ferry",
                      "--no-sync", "-E", "UTF8", "--locale=C", check=True,
                      timeout=120)
        p = self._run(os.path.join(self.bindir, "pg_ctl"), "-D",
                      str(self.data), "-l", str(self.dir / "log"), "-w",
                      "-o", "-k %s -c listen_addresses='' -c fsync=off "
                      "-c max_connections=400 -c shared_buffers=16MB"
                      % self.sock, "start", timeout=60)
        if p.returncode != 0:
            raise RuntimeError("pg_ctl start failed:\n%s%s"
                               % (p.stdout, p.stderr))

    def stop(self):
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", str(self.data),
                  "-m", "fast", "-w", "stop", timeout=60)

    def remove(self):
        self.stop()
        shutil.rmtree(str(self.dir), ignore_errors=True)

    def url(self, db):
        return "postgresql:///%s?host=%s&user=ferry" % (db, self.sock)

    def psql(self, db, sql):
        p = subprocess.run(
            [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
             "-v", "ON_ERROR_STOP=1", "-h", self.sock, "-U", "ferry", "-d",
             db, "-c", sql], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("psql: %s" % p.stderr)
        return p.stdout

    def rows(self, db, sql):
        """The rows of query sql as dicts (JSON-typed: ints, None)."""
        out = self.psql(db, "SELECT coalesce(json_agg(q), '[]') FROM (%s) q"
                        % sql).strip()
        return json.loads(out)

    def new_db(self):
        self.count += 1
        name = "ferry_%d" % self.count
        self.psql("postgres", "CREATE DATABASE %s" % name)
        return name
