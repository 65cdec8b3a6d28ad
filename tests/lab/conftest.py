"""The two-host lab for real live migrations: tools/lab brings up two test
hosts (network + mount namespaces, one libvirtd each), tools/sandbox runs
nginx + ferryd (with a runner) against them, and every test talks to ferry
only through the real nginx over TLS.  Everything is torn down at the end,
pass or fail.  Needs root and the packages of `tools/deps lab`."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "tools", "lab")
SANDBOX = os.path.join(ROOT, "tools", "sandbox")
TOKEN = os.path.join(ROOT, "tools", "ferry-token")
WAIT = 180          # bound on any one migration, seconds


def say(msg):
    """Progress lines that pytest does not capture."""
    sys.__stderr__.write("[lab] %s\n" % msg)
    sys.__stderr__.flush()


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v.strip("'\"")
    return env


def kv_lines(text):
    return dict(line.split("=", 1) for line in text.splitlines()
                if re.match(r"^[A-Z_]+=", line))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, step=0.25, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout,
                                                                 what))


def lab_missing():
    if os.geteuid() != 0:
        return "needs root (network namespaces, libvirtd)"
    for tool in ("libvirtd", "qemu-system-x86_64", "qemu-img", "ip"):
        if shutil.which(tool) is None and not os.path.exists(
                "/usr/sbin/" + tool):
            return "%s not installed (run tools/deps lab)" % tool
    return None


class Lab:
    def __init__(self, base):
        self.dir = os.path.join(base, "lab")
        t0 = time.monotonic()
        subprocess.run([LAB, "up", "--dir", self.dir], check=True,
                       stdout=subprocess.DEVNULL)
        self.env = read_env(os.path.join(self.dir, "lab.env"))
        self.accel = self.env["LAB_ACCEL"]
        say("lab up in %.1fs: a=%s b=%s, guests run under %s" % (
            time.monotonic() - t0, self.env["LAB_A_ADDR"],
            self.env["LAB_B_ADDR"], "KVM" if self.accel == "kvm"
            else "QEMU emulation (TCG)"))
        self.uri = {"a": self.env["LAB_A_URI"], "b": self.env["LAB_B_URI"]}

    def guest(self, name, host="a", storage="shared", mem=128, fill=0,
              dirty=False):
        cmd = [LAB, "guest", "--dir", self.dir, "--name", name, "--host",
               host, "--mem", str(mem), "--storage", storage]
        if fill:
            cmd += ["--fill", str(fill)]
        if dirty:
            cmd += ["--dirty"]
        t0 = time.monotonic()
        out = subprocess.run(cmd, check=True, capture_output=True,
                             text=True).stdout
        g = kv_lines(out)
        say("guest %s (%s MiB, %s storage) booted on %s in %.1fs" % (
            name, mem, storage, host, time.monotonic() - t0))
        return g

    def console(self, name, host):
        return subprocess.run([LAB, "console", "--dir", self.dir, "--name",
                               name, "--host", host], check=True,
                              capture_output=True, text=True).stdout.strip()

    def daemon(self, host, action):
        subprocess.run([LAB, "daemon", "--dir", self.dir, "--host", host,
                        action], check=True, stdout=subprocess.DEVNULL)

    def virsh(self, host, *args):
        return subprocess.run(["virsh", "-c", self.uri[host]] + list(args),
                              capture_output=True, text=True)

    def state(self, host, uuid):
        """'running', 'paused', 'shut off', ... or None if not defined."""
        r = self.virsh(host, "domstate", uuid)
        return r.stdout.strip() if r.returncode == 0 else None

    def remove(self, uuid):
        for h in ("a", "b"):
            self.virsh(h, "destroy", uuid)
            self.virsh(h, "undefine", uuid, "--nvram")

    def down(self):
        subprocess.run([LAB, "down", "--dir", self.dir],
                       stdout=subprocess.DEVNULL)


def console_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").replace(
                "\r", "").splitlines()
    except FileNotFoundError:
        return []


def boots(path):
    return [l.split()[1] for l in console_lines(path)
            if l.startswith("FERRY-BOOT ") and len(l.split()) > 1]


def ticks(path):
    out = []
    for l in console_lines(path):
        m = re.match(r"^FERRY-TICK (\d+)", l)
        if m:
            out.append(int(m.group(1)))
    return out


class Ferry:
    def __init__(self, base, lab):
        self.dir = os.path.join(base, "sb")
        self.hosts = os.path.join(base, "hosts.conf")
        self.lab = lab
        self.write_hosts()
        self.port = free_port()
        subprocess.run([SANDBOX, "start", "--hosts", self.hosts, "--port",
                        str(self.port), "--dir", self.dir, "--workers", "2",
                        "--runners", "1"], check=True,
                       stdout=subprocess.DEVNULL)
        env = read_env(os.path.join(self.dir, "env"))
        self.url, self.ca = env["FERRY_URL"], env["FERRY_CACERT"]
        self.token = subprocess.run(
            [TOKEN, "-f", env["FERRY_TOKENS"], "add", "--user", "operator",
             "--project", "p1", "--roles", "admin"], check=True,
            capture_output=True, text=True).stdout.strip()
        subprocess.run([SANDBOX, "reload", "--dir", self.dir], check=True)
        time.sleep(0.3)
        self.http = requests.Session()

    def write_hosts(self, b_enabled=True, bandwidth=0):
        with open(os.path.join(self.lab.dir, "hosts.conf")) as f:
            text = f.read()
        if not b_enabled:
            text = re.sub(r"(\[host lab-b\][^\[]*)", r"\1enabled = false\n",
                          text)
        text += "\n[libvirt]\nlive_migration_bandwidth = %d\n" % bandwidth
        with open(self.hosts, "w") as f:
            f.write(text)

    def reconfigure(self, **kw):
        """Rewrite the hosts file and SIGHUP ferryd (no restart)."""
        self.write_hosts(**kw)
        log = os.path.join(self.dir, "ferryd.log")
        before = open(log).read().count("reloaded")
        os.kill(int(open(os.path.join(self.dir, "ferryd.pid")).read()),
                signal.SIGHUP)
        wait_for(lambda: open(log).read().count("reloaded") > before, 10,
                 what="ferryd reload")
        time.sleep(0.5)

    def call(self, method, path, mv=None, body=None):
        h = {"X-Auth-Token": self.token}
        if mv:
            h["OpenStack-API-Version"] = "compute " + mv
        if body is not None:
            h["Content-Type"] = "application/json"
        return self.http.request(method, self.url + path, headers=h,
                                 data=None if body is None
                                 else json.dumps(body), verify=self.ca,
                                 timeout=60)

    def server(self, uuid):
        r = self.call("GET", "/servers/" + uuid)
        assert r.status_code == 200, r.text
        return r.json()["server"]

    def migrate(self, uuid, mv, **args):
        return self.call("POST", "/servers/%s/action" % uuid, mv=mv,
                         body={"os-migrateLive": args})

    def records(self, uuid):
        out = subprocess.run(
            ["sqlite3", "-json", os.path.join(self.dir, "ferry.db"),
             "SELECT * FROM migrations WHERE instance_uuid = '%s' ORDER BY "
             "id" % uuid], capture_output=True, text=True, check=True).stdout
        return json.loads(out) if out.strip() else []

    def wait_done(self, uuid, timeout=WAIT):
        """Waits until the server has no task and returns its last record."""
        wait_for(lambda: self.server(uuid)["OS-EXT-STS:task_state"] is None,
                 timeout, what="the migration of %s to end" % uuid)
        return self.records(uuid)[-1]

    def stop(self):
        subprocess.run([SANDBOX, "stop", "--dir", self.dir],
                       stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def lab():
    why = lab_missing()
    if why:
        say("SKIPPED: the lab tests need the lab: " + why)
        pytest.skip("lab tests skipped: " + why)
    base = tempfile.mkdtemp(prefix="ferry-lab-", dir="/var/tmp")
    lab = None
    try:
        lab = Lab(base)
        yield lab
    finally:
        if lab is not None:
            lab.down()
        else:
            subprocess.run([LAB, "down", "--dir", os.path.join(base, "lab")],
                           stdout=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def ferry(lab):
    base = os.path.dirname(lab.dir)
    f = Ferry(base, lab)
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture
def guests(lab):
    """Boots guests for one test and removes them afterwards, so that at
    most a couple of emulated guests run at a time."""
    made = []

    def boot(name, **kw):
        g = lab.guest(name, **kw)
        made.append(g["GUEST_UUID"])
        return g

    yield boot
    for uuid in made:
        lab.remove(uuid)
