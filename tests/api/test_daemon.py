"""ferryd as a daemon: configuration errors at start-up, SIGHUP reloads of
policy and config without dropping requests, a bad reload refused, a dead
worker restarted, SIGTERM stopping everything.  Each test runs its own
sandbox (nginx + ferryd) so that signals and policy edits touch nothing
else."""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest
import requests

import conftest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FERRYD = os.path.join(ROOT, "build", "ferryd")
SANDBOX = os.path.join(ROOT, "tools", "sandbox")
TOKEN = os.path.join(ROOT, "tools", "ferry-token")
HOSTS = os.path.join(ROOT, "tests", "api", "hosts")
LIVE_RULE = "os_compute_api:os-migrate-server:migrate_live"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Sandbox:
    def __init__(self, tmp, workers=2):
        self.tmp = tmp
        self.dir = os.path.join(tmp, "sb")
        self.hosts = os.path.join(tmp, "hosts.conf")
        with open(self.hosts, "w") as f:
            f.write("[host host-a]\nuri = test://%s/host-a.xml\n"
                    "[host host-b]\nuri = test://%s/host-b.xml\n"
                    % (HOSTS, HOSTS))
        self.policy = os.path.join(tmp, "policy.json")
        shutil.copy(os.path.join(ROOT, "policy", "policy.json"), self.policy)
        self.port = free_port()
        subprocess.run([SANDBOX, "start", "--hosts", self.hosts, "--port",
                        str(self.port), "--dir", self.dir, "--workers",
                        str(workers), "--policy", self.policy,
                        "--runners", "0"], check=True,
                       stdout=subprocess.DEVNULL)
        env = dict(line.split("=", 1) for line in
                   open(os.path.join(self.dir, "env")).read().split())
        self.url = env["FERRY_URL"]
        self.ca = env["FERRY_CACERT"]
        self.admin = env["FERRY_TOKEN"]
        self.member = subprocess.run(
            [TOKEN, "-f", env["FERRY_TOKENS"], "add", "--user", "u1",
             "--project", "p1", "--roles", "member"], check=True,
            capture_output=True, text=True).stdout.strip()
        old = self.nginx_workers()
        subprocess.run([SANDBOX, "reload", "--dir", self.dir, "--nginx"],
                       check=True)
        # nginx reloads asynchronously: until its old workers are gone, a
        # new connection may still meet the old token map (401), also
        # after one that met a new worker
        assert wait_for(lambda: not (old & self.nginx_workers()),
                        timeout=15)
        assert wait_for(lambda: self.get("/servers", token=self.member)
                        .status_code == 200, timeout=15)

    def nginx_workers(self):
        master = open(os.path.join(self.dir, "nginx.pid")).read().strip()
        out = subprocess.run(["pgrep", "-P", master], capture_output=True,
                             text=True).stdout
        return set(out.split())

    @property
    def master(self):
        return int(open(os.path.join(self.dir, "ferryd.pid")).read())

    def workers(self):
        return children(self.master)

    def get(self, path, token=None, **kw):
        return requests.get(self.url + path, verify=self.ca, timeout=10,
                            headers={"X-Auth-Token": token or self.admin},
                            **kw)

    def migrate(self, uuid, token):
        return requests.post(
            "%s/servers/%s/action" % (self.url, uuid), verify=self.ca,
            timeout=10, json={"os-migrateLive": {
                "host": "host-b", "block_migration": False,
                "disk_over_commit": False}},
            headers={"X-Auth-Token": token})

    def log(self):
        return open(os.path.join(self.dir, "ferryd.log")).read()

    def stop(self):
        subprocess.run([SANDBOX, "stop", "--dir", self.dir],
                       stdout=subprocess.DEVNULL)


@pytest.fixture
def sandbox():
    tmp = tempfile.mkdtemp(prefix="ferry-daemon-")
    sb = Sandbox(tmp)
    try:
        yield sb
    finally:
        sb.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run_ferryd(conf_text, *args, files=None):
    """ferryd -c ferry.conf ARGS with ferry.conf holding conf_text and
    files ({name: text}) beside it."""
    tmp = tempfile.mkdtemp(prefix="ferry-conf-")
    try:
        for name, text in dict(files or {}, **{"ferry.conf": conf_text}) \
                .items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        return subprocess.run([FERRYD, "-c", os.path.join(tmp, "ferry.conf")]
                              + list(args), capture_output=True, text=True,
                              timeout=20)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_bad_config_line_fails_at_start_naming_file_and_line():
    r = run_ferryd("[ferryd]\nworkers = 2\nwrokers = 3\n"
                   "[host a]\nuri = test:///default\n")
    assert r.returncode == 1
    assert "ferry.conf:3: unknown key 'wrokers'" in r.stderr


def test_bad_value_fails_at_start():
    r = run_ferryd("[host a]\nuri = test:///default\nenabled = perhaps\n")
    assert r.returncode == 1
    assert "ferry.conf:3: expected true or false, got 'perhaps'" in r.stderr


def test_host_key_in_included_file_is_an_error_not_a_crash():
    # it used to dereference the NULL host of the ended [host a] section
    r = run_ferryd("[host a]\nuri = test:///default\ninclude = hosts.conf\n",
                   "-t", files={"hosts.conf": "# no section\n"
                                "uri = test:///default\n"})
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "hosts.conf:2: 'uri' outside a section" in r.stderr
    r = run_ferryd("[host a]\nuri = test:///default\ninclude = ferry.conf\n",
                   "-t")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "ferry.conf:3: include " in r.stderr
    assert "include loop" in r.stderr


def test_bad_policy_fails_at_start():
    tmp = tempfile.mkdtemp(prefix="ferry-pol-")
    try:
        pol = os.path.join(tmp, "policy.json")
        with open(pol, "w") as f:
            f.write('{"context_is_admin": "role:admin and ("}')
        r = run_ferryd("[ferryd]\npolicy = %s\n[host a]\nuri = "
                       "test:///default\n" % pol)
        assert r.returncode == 1
        assert pol in r.stderr and "context_is_admin" in r.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_check_mode_accepts_a_good_config():
    r = run_ferryd("[ferryd]\npolicy = %s/policy/policy.json\n"
                   "[host a]\nuri = test:///default\n" % ROOT, "-t")
    assert r.returncode == 0, r.stderr
    assert "configuration ok (1 hosts)" in r.stdout


def test_sighup_reloads_policy_without_restart(sandbox):
    uuid = "a0000000-0000-4000-8000-000000000131"
    r = sandbox.migrate(uuid, sandbox.member)
    assert r.status_code == 403
    assert r.json()["forbidden"]["message"] == (
        "Policy doesn't allow %s to be performed." % LIVE_RULE)
    master = sandbox.master
    import json
    rules = json.load(open(sandbox.policy))
    rules[LIVE_RULE] = "role:member and project_id:%(project_id)s"
    json.dump(rules, open(sandbox.policy, "w"))
    os.kill(master, signal.SIGHUP)
    assert wait_for(lambda: "reloaded" in sandbox.log())
    assert wait_for(lambda: sandbox.migrate(uuid, sandbox.member)
                    .status_code == 202)
    assert sandbox.master == master


def test_bad_reload_keeps_running_configuration(sandbox):
    with open(sandbox.policy, "w") as f:
        f.write("{not json")
    before = sandbox.workers()
    os.kill(sandbox.master, signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in sandbox.log())
    assert sandbox.workers() == before
    r = sandbox.get("/servers/a0000000-0000-4000-8000-000000000001")
    assert r.status_code == 200
    # the old policy is still in force: a member is still refused
    r = sandbox.migrate("a0000000-0000-4000-8000-000000000132",
                        sandbox.member)
    assert r.status_code == 403


def reloads_under_load(sandbox, send, pause):
    """Five SIGHUPs, pause s apart, while 4 threads send(session) over and
    over: the status of every answer (or the error's repr)."""
    statuses = []
    stop = threading.Event()

    def hammer():
        s = requests.Session()
        while not stop.is_set():
            try:
                statuses.append(send(s).status_code)
            except requests.RequestException as e:
                statuses.append(repr(e))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(5):
            time.sleep(pause)
            os.kill(sandbox.master, signal.SIGHUP)
            # one reload at a time: signals sent closer than the master
            # handles them coalesce (as signals do)
            assert wait_for(lambda: sandbox.log().count("reloaded") > i)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return statuses


def test_reload_under_load_drops_no_request(sandbox):
    statuses = reloads_under_load(sandbox, lambda s: s.get(
        sandbox.url + "/servers/a0000000-0000-4000-8000-000000000001",
        verify=sandbox.ca, timeout=10,
        headers={"X-Auth-Token": sandbox.admin}), 0.3)
    assert len(statuses) > 50
    assert set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    assert sandbox.log().count("reloaded") == 5


def test_reload_under_load_answers_every_post(sandbox):
    """nginx keeps its connections to ferryd and does not retry a POST
    that failed on one.  A worker stopping for a reload stops accepting
    but serves its kept connections until nginx closes them (nginx's
    keepalive_time), so no POST is lost to a closed connection (502)."""
    url = (sandbox.url + "/servers/a0000000-0000-4000-8000-000000000001"
           "/action")
    # refused by the 2.30 schema: a 400 that changes nothing
    body = {"os-migrateLive": {"host": "h1", "block_migration": "AUTO"}}
    statuses = reloads_under_load(sandbox, lambda s: s.post(
        url, json=body, verify=sandbox.ca, timeout=10,
        headers={"X-Auth-Token": sandbox.admin,
                 "X-OpenStack-Nova-API-Version": "2.30"}), 0.5)
    assert len(statuses) > 50
    assert set(statuses) == {400}, [s for s in statuses if s != 400][:5]


def test_dead_worker_is_restarted(sandbox):
    before = sandbox.workers()
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)
    assert wait_for(lambda: len(sandbox.workers()) == 2
                    and before[0] not in sandbox.workers())
    r = sandbox.get("/servers/a0000000-0000-4000-8000-000000000001")
    assert r.status_code == 200
    assert "restarting" in sandbox.log()


def test_sigterm_stops_master_and_workers(sandbox):
    master, workers = sandbox.master, sandbox.workers()
    os.kill(master, signal.SIGTERM)

    def gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie child of the sandbox's shell is gone too
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split()[2] == "Z"
        except FileNotFoundError:
            return True
        return False

    assert wait_for(lambda: all(gone(p) for p in [master] + workers))
    assert not os.path.exists(os.path.join(sandbox.dir, "ferryd.sock"))
    assert "stopped" in sandbox.log()


def children(pid):
    """The request workers and runners of master pid: its children but the
    inventory process (named ferry-inventory), of which there is one."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout
    return sorted(int(p) for p in out.split() if not is_inventory(int(p)))


def is_inventory(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip() == "ferry-inventory"
    except OSError:
        return False


def test_most_workers_and_runners_the_config_accepts_start_and_stop():
    # workers = 256 with runners = 64 passed -t and then overran the
    # master's fixed table of 256 children (stack-buffer-overflow in
    # spawn()); the table now grows to what the config asks for
    tmp = tempfile.mkdtemp(prefix="ferry-max-")

    def text(workers, runners):
        # workers on line 4, runners on line 5
        return ("[ferryd]\nsocket = %s/s.sock\nsocket_mode = 0600\n"
                "workers = %d\nrunners = %d\nstore = %s/ferry.db\n"
                "policy = %s/policy/policy.json\n"
                "[host host-a]\nuri = test://%s/host-a.xml\n"
                % (tmp, workers, runners, tmp, ROOT, HOSTS))

    r = run_ferryd(text(257, 64), "-t")
    assert r.returncode == 1, r.stderr
    assert "ferry.conf:4: expected a whole number in 1..256" in r.stderr
    r = run_ferryd(text(256, 65), "-t")
    assert r.returncode == 1, r.stderr
    assert "ferry.conf:5: expected a whole number in 0..64" in r.stderr
    conf = os.path.join(tmp, "ferry.conf")
    with open(conf, "w") as f:
        f.write(text(256, 64))
    logpath = os.path.join(tmp, "ferryd.log")
    log = open(logpath, "w")
    p = None
    try:
        r = subprocess.run([FERRYD, "-c", conf, "-t"], capture_output=True,
                           text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        p = subprocess.Popen([FERRYD, "-c", conf], stdout=log,
                             stderr=subprocess.STDOUT)
        assert wait_for(lambda: len(children(p.pid)) == 320, timeout=120), \
            (len(children(p.pid)), open(logpath).read()[-2000:])
        assert wait_for(lambda: "listening on" in open(logpath).read())
        time.sleep(1)
        assert p.poll() is None
        kids = children(p.pid)
        assert len(kids) == 320
        assert "restarting" not in open(logpath).read()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=120) == 0
        assert all(not os.path.exists("/proc/%d" % k) for k in kids)
        assert "stopped" in open(logpath).read()
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


FCGI_GET = os.path.join(ROOT, "tests", "api", "fcgi_get.py")


def fcgi_get(sock, *setpriv):
    """What a FastCGI GET /v2.1 on sock gets back, run under setpriv
    with the given arguments (none: as root)."""
    cmd = (["setpriv"] + list(setpriv) if setpriv else []) + \
        ["/usr/bin/python3", FCGI_GET, sock, "/v2.1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return eval(r.stdout)       # repr(bytes) from our own script


def test_fastcgi_peers_are_checked_and_the_socket_is_as_configured():
    # ferryd believes FERRY_* identity from whoever speaks FastCGI on its
    # socket: only allowed peers (SO_PEERCRED) get an answer, even when
    # the socket's mode lets anyone connect
    tmp = tempfile.mkdtemp(prefix="ferry-peer-")
    os.chmod(tmp, 0o755)
    sock = os.path.join(tmp, "s.sock")
    conf = os.path.join(tmp, "ferry.conf")
    with open(conf, "w") as f:
        f.write("[ferryd]\nsocket = %s\nsocket_mode = 0666\n"
                "socket_group = daemon\nworkers = 1\nrunners = 0\n"
                "store = %s/ferry.db\npolicy = %s/policy/policy.json\n"
                "[host host-a]\nuri = test://%s/host-a.xml\n"
                % (sock, tmp, ROOT, HOSTS))
    logpath = os.path.join(tmp, "ferryd.log")
    log = open(logpath, "w")
    p = subprocess.Popen([FERRYD, "-c", conf], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: "listening on" in open(logpath).read()), \
            open(logpath).read()
        st = os.stat(sock)
        assert oct(st.st_mode & 0o777) == oct(0o666)
        assert st.st_gid == 1                   # daemon
        # root (allowed by default) is answered
        assert fcgi_get(sock).startswith(b"\x01\x06"), "no FCGI_STDOUT"
        assert b"Status: 200" in fcgi_get(sock)
        # nobody/nogroup: connected (mode 0666) but closed unanswered
        assert fcgi_get(sock, "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups") == b""
        assert wait_for(lambda: "FastCGI peer refused" in
                        open(logpath).read())
        line = [l for l in open(logpath).read().splitlines()
                if "FastCGI peer refused" in l][0]
        assert "uid 65534 gid 65534" in line and " pid " in line, line
        # the socket's group (the default gid list) is allowed
        assert b"Status: 200" in fcgi_get(sock, "--reuid=nobody",
                                          "--regid=daemon", "--clear-groups")
        # and the worker still serves after a refusal
        assert b"Status: 200" in fcgi_get(sock)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_fastcgi_allow_lists_from_the_config():
    r = run_ferryd("[ferryd]\nfastcgi_allow_uids = root, nosuchuser9\n"
                   "[host a]\nuri = test:///default\n", "-t")
    assert r.returncode == 1
    assert "ferry.conf:2: no such user 'nosuchuser9'" in r.stderr
    r = run_ferryd("[ferryd]\nfastcgi_allow_gids = 33, nosuchgroup9\n"
                   "[host a]\nuri = test:///default\n", "-t")
    assert r.returncode == 1
    assert "ferry.conf:2: no such group 'nosuchgroup9'" in r.stderr
    r = run_ferryd("[ferryd]\npolicy = %s/policy/policy.json\n"
                   "fastcgi_allow_uids = root, nobody, 33\n"
                   "fastcgi_allow_gids = nogroup\n"
                   "[host a]\nuri = test:///default\n" % ROOT, "-t")
    assert r.returncode == 0, r.stderr


# ---- the master killed with -9 (issue 16, item 4) --------------------------

def children_of(pid):
    return children(pid)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start_ferryd(conf, log):
    with open(log, "ab") as f:
        return subprocess.Popen([FERRYD, "-c", conf], stdout=f, stderr=f,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True)


@pytest.fixture
def short_tmp():
    """A short directory: the sandbox's socket path must fit sun_path."""
    d = tempfile.mkdtemp(prefix="ferry-orphans-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_children_die_with_a_killed_master(short_tmp):
    """kill -9 of the master: its workers and runners go too (no orphans
    serving or claiming on an old configuration), and a new master starts
    on the same socket and serves."""
    sb = Sandbox(short_tmp)
    try:
        conf = os.path.join(sb.dir, "ferry.conf")
        text = open(conf).read().replace("runners = 0", "runners = 2")
        open(conf, "w").write(text)
        os.kill(sb.master, signal.SIGTERM)
        assert wait_for(lambda: not alive(sb.master), 10)
        p = start_ferryd(conf, os.path.join(sb.dir, "ferryd.log"))
        open(os.path.join(sb.dir, "ferryd.pid"), "w").write("%d\n" % p.pid)
        assert wait_for(lambda: len(children_of(p.pid)) == 4, 10)
        assert sb.get("/servers").status_code == 200
        kids = children_of(p.pid)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        assert wait_for(lambda: not any(alive(k) for k in kids), 5), \
            [k for k in kids if alive(k)]
        # a new generation takes the socket over and serves
        q = start_ferryd(conf, os.path.join(sb.dir, "ferryd.log"))
        open(os.path.join(sb.dir, "ferryd.pid"), "w").write("%d\n" % q.pid)
        assert wait_for(lambda: sb.get("/servers").status_code == 200,
                        15)
        assert len(children_of(q.pid)) == 4
    finally:
        sb.stop()


def test_new_master_refuses_while_an_old_generation_lives(short_tmp):
    """While any process of another generation holds SOCKET.lock, a new
    master does not start beside it: exit 1 with the holder's pid."""
    import fcntl
    sb = Sandbox(short_tmp)
    try:
        conf = os.path.join(sb.dir, "ferry.conf")
        lock = os.path.join(sb.dir, "ferryd.sock.lock")
        assert open(lock).read().strip() == str(sb.master)
        t0 = time.monotonic()
        p = subprocess.run([FERRYD, "-c", conf], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 1, p
        want = ("ferryd.sock.lock is held by another ferryd (master pid %d"
                % sb.master)
        assert want in p.stderr, p.stderr
        assert time.monotonic() - t0 >= 9       # it waited for a dying one
        # the running generation is untouched
        assert sb.get("/servers").status_code == 200
        os.kill(sb.master, signal.SIGTERM)
        assert wait_for(lambda: not alive(sb.master), 10)
        # a stray holder (an orphan child, here a stand-in) blocks too
        fd = os.open(lock, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            p = subprocess.run([FERRYD, "-c", conf], capture_output=True,
                               text=True, timeout=30)
            assert p.returncode == 1 and "is held by another ferryd" in \
                p.stderr, p
        finally:
            os.close(fd)
    finally:
        sb.stop()


def test_runner_waits_for_a_busy_store_instead_of_dying():
    """A runner of a new generation that finds the store busy (another
    process holds its write lock past store_timeout) waits for it and
    registers, instead of exiting and being restarted by the master."""
    gen = conftest.run_sandbox(
        "busy-runner", extra_config="\n[ferryd]\nrunners = 1\n"
        "store_timeout = 1\n")
    sb = next(gen)
    try:
        logf = sb.dir / "ferryd.log"
        master = int((sb.dir / "ferryd.pid").read_text())
        con = sqlite3.connect(str(sb.db), timeout=10, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        try:
            os.kill(master, signal.SIGHUP)
            assert wait_for(lambda: "registering again" in logf.read_text(),
                            timeout=20), logf.read_text()[-2000:]
        finally:
            con.execute("ROLLBACK")
            con.close()
        assert wait_for(lambda: "reloaded" in logf.read_text(), timeout=20)
        time.sleep(2)
        log = logf.read_text()
        assert "restarting" not in log, log[-2000:]
        con = sqlite3.connect(str(sb.db), timeout=10)
        try:
            n = con.execute("SELECT count(*) FROM runners").fetchone()[0]
        finally:
            con.close()
        assert n >= 1
    finally:
        gen.close()
