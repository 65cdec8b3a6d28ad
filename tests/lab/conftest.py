"""The two-host lab for real live migrations: tools/lab brings up two test
hosts (network + mount namespaces, one libvirtd each), tools/sandbox runs
nginx + ferryd (two runners) against them, and every test talks to ferry
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
# ns (default): the hosts are namespaces of this kernel; vm: two virtual
# machines with their own kernels, guests nested (tools/lab up --hosts vm)
HOSTS = os.environ.get("FERRY_LAB_HOSTS", "ns")


REPORT = []         # every say() line, repeated after the run


def say(msg):
    """Progress lines: live on stderr (seen with -s or on failure) and
    again in a "lab report" section at the end of the run."""
    REPORT.append(msg)
    sys.__stderr__.write("[lab] %s\n" % msg)
    sys.__stderr__.flush()


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("lab report")
        for line in REPORT:
            terminalreporter.write_line(line)


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
    if HOSTS not in ("ns", "vm"):
        return "FERRY_LAB_HOSTS must be ns or vm, not %r" % HOSTS
    tools = ["libvirtd", "qemu-system-x86_64", "qemu-img", "ip"]
    if HOSTS == "vm":
        tools += ["debootstrap", "ganesha.nfsd"]
    for tool in tools:
        if shutil.which(tool) is None and not os.path.exists(
                "/usr/sbin/" + tool):
            return "%s not installed (run tools/deps lab%s)" % (
                tool, "-vm" if HOSTS == "vm" else "")
    if HOSTS == "vm":
        return vm_room_missing()
    return None


def vm_room_missing():
    """What the VM lab needs of this machine beyond packages: the two L1s'
    memory plus the image build's tree (in memory, ~1 GiB), and disk for
    the cached image (~1 GiB), its packages and the L1s' overlays."""
    try:
        l1 = int(os.environ.get("FERRY_LAB_VM_MEM", "2048"))
    except ValueError:
        return None     # tools/lab up refuses it, saying why
    need_mem = 2 * l1 + 1024
    with open("/proc/meminfo") as f:
        info = dict(line.split(":", 1) for line in f)
    avail = int(info["MemAvailable"].split()[0]) // 1024
    if avail < need_mem:
        return ("the VM lab needs %d MiB of free memory (two L1s of %d MiB "
                "and the image build), %d MiB are available" %
                (need_mem, l1, avail))
    cache = os.environ.get("FERRY_LAB_CACHE", "/var/cache/ferry-lab")
    while not os.path.isdir(cache):
        cache = os.path.dirname(cache)
    st = os.statvfs(cache)
    free = st.f_bavail * st.f_frsize // (1 << 20)
    if free < 3072:
        return ("the VM lab needs 3072 MiB free under %s (its image, "
                "packages and overlays), %d MiB are free" % (cache, free))
    return None


class Lab:
    def __init__(self, base):
        self.dir = os.path.join(base, "lab")
        t0 = time.monotonic()
        subprocess.run([LAB, "up", "--dir", self.dir, "--hosts", HOSTS],
                       check=True, stdout=subprocess.DEVNULL)
        self.env = read_env(os.path.join(self.dir, "lab.env"))
        self.accel = self.env["LAB_ACCEL"]
        say("lab up in %.1fs: a=%s b=%s, %s, guests run under %s" % (
            time.monotonic() - t0, self.env["LAB_A_ADDR"],
            self.env["LAB_B_ADDR"], "hosts are VMs (%s)" %
            self.env["LAB_L1_ACCEL"] if HOSTS == "vm" else
            "hosts are namespaces", "KVM" if self.accel == "kvm"
            else "QEMU emulation (TCG)"))
        self.uri = {"a": self.env["LAB_A_URI"], "b": self.env["LAB_B_URI"]}

    def guest(self, name, host="a", storage="shared", mem=128, fill=0,
              dirty=False, disk_mb=None):
        cmd = [LAB, "guest", "--dir", self.dir, "--name", name, "--host",
               host, "--mem", str(mem), "--storage", storage]
        if disk_mb:
            cmd += ["--disk-mb", str(disk_mb)]  # the qcow2's virtual size
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

    def read(self, path):
        """The bytes of a file seen from here (a path) or inside a host
        ("a:/path" or "b:/path": a VM lab's local storage)."""
        m = re.match(r"^([ab]):(/.*)$", path)
        if not m:
            with open(path, "rb") as f:
                return f.read()
        return subprocess.run([LAB, "exec", "--dir", self.dir, "--host",
                               m.group(1), "--", "cat", m.group(2)],
                              check=True, capture_output=True).stdout

    def free_bytes(self, path):
        """f_bfree * f_frsize of the file system of path (a path or
        "a:/path", as read)."""
        m = re.match(r"^([ab]):(/.*)$", path)
        if not m:
            st = os.statvfs(path)
            return st.f_bfree * st.f_frsize
        out = subprocess.run([LAB, "exec", "--dir", self.dir, "--host",
                              m.group(1), "--", "stat", "-f", "-c", "%f %S",
                              m.group(2)], check=True, capture_output=True,
                             text=True).stdout.split()
        return int(out[0]) * int(out[1])

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


def end_child(p):
    """Ends a child process of ours (SIGTERM, then SIGKILL after 60 s) and
    reaps it, or its pid lingers."""
    if p is not None and p.poll() is None:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


class Ferry:
    def __init__(self, base, lab, runners=2):
        self.dir = os.path.join(base, "sb")
        self.hosts = os.path.join(base, "hosts.conf")
        self.conf = os.path.join(self.dir, "ferry.conf")
        self.log = os.path.join(self.dir, "ferryd.log")
        self.pidfile = os.path.join(self.dir, "ferryd.pid")
        self.lab = lab
        self.write_hosts()
        self.port = free_port()
        subprocess.run([SANDBOX, "start", "--hosts", self.hosts, "--port",
                        str(self.port), "--dir", self.dir, "--workers", "2",
                        "--runners", str(runners)], check=True,
                       stdout=subprocess.DEVNULL)
        env = read_env(os.path.join(self.dir, "env"))
        self.url, self.ca = env["FERRY_URL"], env["FERRY_CACERT"]
        self.token = self.add_token("operator", "admin")
        # a project member of the lab guests' project (p1): sees its
        # servers, but the migration policies are admin-only
        self.member_token = self.add_token("member1", "member,reader")
        subprocess.run([SANDBOX, "reload", "--dir", self.dir], check=True)
        time.sleep(0.3)
        self.http = requests.Session()

    def add_token(self, user, roles, project="p1"):
        env = read_env(os.path.join(self.dir, "env"))
        return subprocess.run(
            [TOKEN, "-f", env["FERRY_TOKENS"], "add", "--user", user,
             "--project", project, "--roles", roles], check=True,
            capture_output=True, text=True).stdout.strip()

    def write_hosts(self, b_enabled=True, bandwidth=0, **libvirt):
        """The lab's [host] sections plus a [libvirt] section: any of its
        options by name (live_migration_*, max_concurrent_live_migrations;
        True/False become true/false); unnamed ones keep ferry's
        defaults."""
        with open(os.path.join(self.lab.dir, "hosts.conf")) as f:
            text = f.read()
        if not b_enabled:
            text = re.sub(r"(\[host lab-b\][^\[]*)", r"\1enabled = false\n",
                          text)
        opts = {"live_migration_bandwidth": bandwidth}
        opts.update(libvirt)
        text += "\n[libvirt]\n"
        for k, v in opts.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            text += "%s = %s\n" % (k, v)
        with open(self.hosts, "w") as f:
            f.write(text)

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def reconfigure(self, **kw):
        """Rewrite the hosts file and SIGHUP ferryd (no restart).  Takes
        the keywords of write_hosts; every call states the whole [libvirt]
        section (what it leaves out is back at ferry's default).  Runners
        busy with a migration finish it with the old settings, so call
        this between migrations."""
        self.write_hosts(**kw)
        before = self.log_text().count("reloaded")
        os.kill(self.master_pid(), signal.SIGHUP)
        wait_for(lambda: self.log_text().count("reloaded") > before, 10,
                 what="ferryd reload")
        time.sleep(0.5)

    # ferryd's processes: the master (DIR/ferryd.pid) and its children,
    # request workers and migration runners; log lines carry NAME[PID]

    def master_pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def children(self):
        master, out = self.master_pid(), []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == master and fields[0] != "Z":
                out.append(int(d))
        return sorted(out)

    def runner_pids(self):
        """Live runners: children of the master that logged as
        ferryd-runner."""
        logged = set(int(p) for p in re.findall(r"ferryd-runner\[(\d+)\]",
                                                self.log_text()))
        return [p for p in self.children() if p in logged]

    def start_ferryd(self):
        """Starts ferryd alone again with the sandbox's config (nginx kept
        running), as tools/sandbox start does, and waits for its socket."""
        sock = os.path.join(self.dir, "ferryd.sock")
        with open(self.log, "ab") as logf:
            p = subprocess.Popen([os.path.join(ROOT, "build", "ferryd"), "-c",
                                  self.conf], stdout=logf, stderr=logf,
                                 stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        with open(self.pidfile, "w") as f:
            f.write("%d\n" % p.pid)
        self.popen = p          # reaped by the fixture's stop()
        wait_for(lambda: os.path.exists(sock) and self.call(
            "GET", "/servers").status_code == 200, 20,
            what="ferryd to serve again")
        return p.pid

    def call(self, method, path, mv=None, body=None, token=None):
        h = {"X-Auth-Token": token or self.token}
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

    def kill_all(self):
        """kill -9 of the whole ferryd, master first (so that nothing is
        restarted), then its workers and runners; waits until they are
        gone.  Returns the pids."""
        pids = [self.master_pid()] + self.children()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p = getattr(self, "popen", None)
        if p is not None and p.pid == pids[0]:
            p.wait(10)          # a ferryd that start_ferryd started
            self.popen = None

        def gone(pid):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    return f.read().split(")")[-1].split()[0] == "Z"
            except OSError:
                return True
        wait_for(lambda: all(gone(p) for p in pids), 10,
                 what="ferryd's processes to die")
        return pids

    def stop(self):
        end_child(getattr(self, "popen", None))
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


@pytest.fixture(scope="module")
def quick_shutdown(ferry):
    """The lab guest ignores ACPI shutdown: give it 2 s, not Nova's 60."""
    orig = ferry.write_hosts

    def write_hosts(*args, **kw):
        orig(*args, **kw)
        with open(ferry.hosts, "a") as f:
            f.write("\n[ferryd]\nshutdown_timeout = 2\n")

    ferry.write_hosts = write_hosts
    ferry.reconfigure()
    yield
    ferry.write_hosts = orig
    ferry.reconfigure()
