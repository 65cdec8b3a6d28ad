#!/usr/bin/python3
"""tools/bench.d/migrate.py: the measuring side of tools/bench-migrate.

One long-lived process per guest size, so that measuring costs the
emulated guest next to nothing: one HTTPS connection kept alive for the
API (a GET every --poll-ms while ferry migrates, instead of a process per
poll), one libvirt connection per host for the job samples, threads that
sleep between polls.

Each round migrates the guest twice, there and back: ferry (POST
os-migrateLive, then the record polled through GET /os-migrations) and raw
`virsh migrate --live --p2p --persistent --undefinesource` (a process, as
an operator would run it).  Odd rounds ferry goes first, even rounds virsh,
so each tool moves the guest both ways and neither always finds the guest
freshly arrived.  Times, all in ms:

  ferry  req     the POST until its 202 is read
         client  the 202 until this client sees the record completed
         server  the record's created_at -> finished_at (ferryd's clock)
  virsh  wall    the virsh process, start to exit
  both   libvirt the destination's completed job: time elapsed
         down    its downtime
         outside wall - libvirt: what the tool spends around libvirt's
                 job (ferry: claim, prechecks, settling, the client's
                 poll; virsh: its start and connections); less noisy
                 than wall on a busy machine, as the job's time varies

While a migration runs, a thread samples the source's job every
--sample-ms (data remaining) for the picture.  Writes DIR/runs.tsv, one
data file per run and, with gnuplot, DIR/migrate.png.  `migrate.py report
DIR MiB...` prints the medians and ferry's own steps from DIR/ferryd.log
(claim: request -> runner's claim; prechecks; start: queued -> running;
close: libvirt's call returned -> record completed).
"""
import argparse
import calendar
import http.client
import json
import os
import re
import sqlite3
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import libvirt

MiB = 1024.0 * 1024.0
# a guest not (or no longer) on a host is an answer here, not an error
libvirt.registerErrorHandler(lambda ctx, err: None, None)
ENDED = ("completed", "failed", "error", "cancelled")


def read_env(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k] = v
    return out


class Api:
    """The compute API over one kept-alive HTTPS connection."""

    def __init__(self, url, cacert, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.base = u.hostname, u.port, u.path
        self.ctx = ssl.create_default_context(cafile=cacert)
        self.token = token
        self.conn = None

    def call(self, method, path, mv, body=None):
        hdrs = {"X-Auth-Token": self.token,
                "OpenStack-API-Version": "compute " + mv}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=30)
            try:
                self.conn.request(method, self.base + path, data, hdrs)
                r = self.conn.getresponse()
                return r.status, r.getheaders(), r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        return None


class Sampler(threading.Thread):
    """The source's job, every interval s: (t, data remaining B)."""

    def __init__(self, conn, uuid, interval):
        super().__init__(daemon=True)
        self.conn, self.uuid, self.interval = conn, uuid, interval
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        try:
            dom = self.conn.lookupByUUIDString(self.uuid)
        except libvirt.libvirtError:
            return
        while not self.halt.is_set():
            try:
                st = dom.jobStats()
            except libvirt.libvirtError:
                st = {}
            t = time.monotonic()
            if st.get("type", 0) in (libvirt.VIR_DOMAIN_JOB_BOUNDED,
                                     libvirt.VIR_DOMAIN_JOB_UNBOUNDED):
                rem = st.get("data_remaining", st.get("memory_remaining"))
                if rem is not None:
                    self.samples.append((t, rem))
            self.halt.wait(self.interval)


def completed_job(conn, uuid):
    """libvirt's own (time elapsed, downtime) of the last job, in ms."""
    try:
        st = conn.lookupByUUIDString(uuid).jobStats(
            libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    except libvirt.libvirtError:
        return None, None
    return st.get("time_elapsed"), st.get("downtime")


class Bench:
    def __init__(self, o):
        self.o = o
        lab, sb = read_env(o.lab_env), read_env(o.sandbox_env)
        self.lab = lab
        self.db = os.path.join(sb["FERRY_DIR"], "ferry.db")
        self.log = os.path.join(sb["FERRY_DIR"], "ferryd.log")
        self.api = Api(sb["FERRY_URL"], sb["FERRY_CACERT"], o.token)
        self.uri = {"a": lab["LAB_A_URI"], "b": lab["LAB_B_URI"]}
        self.conn = {h: libvirt.open(self.uri[h]) for h in "ab"}
        self.runs = []
        self.last_ferry = None

    def record(self, mid):
        db = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                             timeout=10)
        try:
            return db.execute(
                "SELECT status, created_at, finished_at, total_time_ms,"
                " downtime_ms FROM migrations WHERE id = ?",
                (mid,)).fetchone()
        finally:
            db.close()

    def latest(self):
        st, _, data = self.api.call(
            "GET", "/os-migrations?instance_uuid=%s&limit=1" % self.o.uuid,
            "2.59")
        if st != 200:
            raise SystemExit("bench: GET /os-migrations answered %d" % st)
        migs = json.loads(data)["migrations"]
        return migs[0] if migs else None

    def ferry(self, src, dst):
        last = self.latest()
        last_id = last["id"] if last else 0
        body = {"os-migrateLive": {"host": "lab-" + dst,
                                   "block_migration": False}}
        if int(self.o.mv.split(".")[1]) < 25:
            body["os-migrateLive"]["disk_over_commit"] = False
        wall0 = time.time()
        t0 = time.monotonic()
        st, hdrs, data = self.api.call(
            "POST", "/servers/%s/action" % self.o.uuid, self.o.mv, body)
        t202 = time.monotonic()
        if st != 202:
            raise SystemExit("bench: ferry answered %d: %s" % (st, data))
        rid = dict((k.lower(), v) for k, v in hdrs).get(
            "x-openstack-request-id")
        deadline = t0 + 600
        while True:
            time.sleep(self.o.poll_ms / 1000.0)
            m = self.latest()
            if m and m["id"] > last_id and m["status"] in ENDED:
                break
            if time.monotonic() > deadline:
                raise SystemExit("bench: ferry migration timed out")
        tdone = time.monotonic()
        status, created, finished, total, down = self.record(m["id"])
        if status != "completed":
            raise SystemExit("bench: ferry migration %s" % status)
        self.last_ferry = (rid, wall0)
        lt, ld = completed_job(self.conn[dst], self.o.uuid)
        return dict(t0=t0, req=(t202 - t0) * 1000,
                    client=(tdone - t202) * 1000,
                    server=(finished - created) / 1000.0,
                    wall=(tdone - t0) * 1000, libvirt=lt, down=ld,
                    rec_libvirt=total, rec_down=down)

    def virsh(self, src, dst):
        addr = self.lab["LAB_%s_ADDR" % dst.upper()]
        cmd = ["virsh", "-c", self.uri[src], "migrate", "--live", "--p2p",
               "--persistent", "--undefinesource", self.o.uuid,
               "qemu+tcp://%s/system" % addr, "--migrateuri", "tcp://" + addr]
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        t1 = time.monotonic()
        if r.returncode != 0:
            raise SystemExit("bench: virsh migrate: " + r.stderr.strip())
        lt, ld = completed_job(self.conn[dst], self.o.uuid)
        return dict(t0=t0, wall=(t1 - t0) * 1000, libvirt=lt, down=ld)

    def one(self, rnd, order, tool, src, dst):
        smp = Sampler(self.conn[src], self.o.uuid, self.o.sample_ms / 1000.0)
        smp.start()
        time.sleep(0.05)  # the sampler has looked the guest up
        res = (self.ferry if tool == "ferry" else self.virsh)(src, dst)
        smp.halt.set()
        smp.join()
        res.update(mem=self.o.mem, round=rnd, order=order, tool=tool,
                   dir="%s>%s" % (src, dst))
        name = "mem%d-r%d-%s.dat" % (self.o.mem, rnd, tool)
        with open(os.path.join(self.o.out, name), "w") as f:
            f.write("# s since the request, data remaining MiB\n")
            # a job counts nothing until its transfer starts: from there
            started = False
            for t, rem in smp.samples:
                started = started or rem > 0
                if started:
                    f.write("%.3f %.1f\n" % (t - res["t0"], rem / MiB))
            f.write("%.3f 0\n" % (res["wall"] / 1000.0))
        res["data"] = name
        self.runs.append(res)
        print(line(res), flush=True)
        time.sleep(self.o.pause_ms / 1000.0)  # quiet hosts, then the next

    def where(self):
        for h in "ab":
            try:
                d = self.conn[h].lookupByUUIDString(self.o.uuid)
                if d.isActive():
                    return h
            except libvirt.libvirtError:
                pass
        raise SystemExit("bench: the guest runs on neither host")

    def go(self):
        for rnd in range(1, self.o.rounds + 1):
            tools = ("ferry", "virsh") if rnd % 2 else ("virsh", "ferry")
            for order, tool in enumerate(tools, 1):
                src = self.where()
                self.one(rnd, order, tool, src, "b" if src == "a" else "a")


def fmt(v, width):
    return ("%*.0f" % (width, v)) if v is not None else "%*s" % (width, "-")


HEAD = ("MiB rnd #  tool  dir   req_ms client_ms server_ms  wall_ms "
        "libvirt_ms down_ms")


def line(r):
    return "%-4d%3d %d  %-5s %-5s%s%s%s%s%s%s" % (
        r["mem"], r["round"], r["order"], r["tool"], r["dir"],
        fmt(r.get("req"), 7), fmt(r.get("client"), 10),
        fmt(r.get("server"), 10), fmt(r["wall"], 9),
        fmt(r.get("libvirt"), 11), fmt(r.get("down"), 8))


def spread(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-", None
    med = statistics.median(vals)
    return "%.0f [%.0f-%.0f]" % (med, min(vals), max(vals)), med


def summary(runs, mem):
    """Median [min-max] per tool and measure; the ratio of the goal."""
    fr = [r for r in runs if r["mem"] == mem and r["tool"] == "ferry"]
    vr = [r for r in runs if r["mem"] == mem and r["tool"] == "virsh"]
    out = []
    meds = {}
    for r in fr + vr:
        if r.get("libvirt") is not None:
            r["outside"] = r["wall"] - r["libvirt"]
    for tool, rs, keys in (("ferry", fr, ("req", "client", "server", "wall",
                                          "libvirt", "down", "outside")),
                           ("virsh", vr, ("wall", "libvirt", "down",
                                          "outside"))):
        parts = []
        for k in keys:
            s, meds[tool, k] = spread([r.get(k) for r in rs])
            parts.append("%s %s" % (k, s))
        out.append("%d MiB %s (n=%d): %s" % (mem, tool, len(rs),
                                            ", ".join(parts)))
    if meds.get(("virsh", "wall")):
        vw = meds["virsh", "wall"]
        out.append("%d MiB ratio to virsh wall: ferry 202->done %.3f, "
                   "request->done %.3f (goal: 202->done <= 1.05)"
                   % (mem, meds["ferry", "client"] / vw,
                      meds["ferry", "wall"] / vw))
    return out


def timeline(bench):
    """ferryd's log lines of the last ferry migration, ms after the
    request was sent (the client's clock and ferryd's are the same)."""
    if bench.last_ferry is None or not bench.last_ferry[0]:
        return []
    rid, wall0 = bench.last_ferry
    out = []
    with open(bench.log, errors="replace") as f:
        for ln in f:
            if rid not in ln:
                continue
            try:
                t = log_time(ln)
            except ValueError:
                continue
            out.append("%7.0f ms  %s" % ((t - wall0) * 1000,
                                        ln.split(" ", 1)[1].rstrip()))
    return out


PLOT = """set terminal pngcairo size %(w)d,420 font ",9"
set output "%(png)s"
set multiplot layout 1,%(n)d title "%(title)s"
set xrange [0:*]
set xlabel "s since the request"
set ylabel "data remaining, MiB"
set key top right
set grid
"""


def plot(out, mems, runs):
    """DIR/migrate.png: data remaining over time, one panel per guest
    size, every run of ferry (blue) beside every run of virsh (red)."""
    png = os.path.join(out, "migrate.png")
    g = [PLOT % dict(w=480 * len(mems), png=png, n=len(mems),
                     title="live migration, ferry (blue) and raw virsh "
                     "(red), every round")]
    for mem in mems:
        rs = [r for r in runs if r["mem"] == mem]
        g.append('set title "%d MiB guest"' % mem)
        parts, named = [], set()
        for r in rs:
            ferry = r["tool"] == "ferry"
            title = "notitle"
            if r["tool"] not in named:
                named.add(r["tool"])
                title = 'title "%s"' % r["tool"]
            parts.append('"%s" using 1:2 with lines lw 1.5 lc rgb "%s" %s'
                         % (os.path.join(out, r["data"]),
                            "#1f5fbf" if ferry else "#c0392b", title))
        g.append("plot " + ", \\\n     ".join(parts))
    g.append("unset multiplot")
    with open(os.path.join(out, "migrate.gp"), "w") as f:
        f.write("\n".join(g) + "\n")
    r = subprocess.run(["gnuplot", os.path.join(out, "migrate.gp")],
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print("bench: gnuplot: " + r.stderr.strip(), file=sys.stderr)
        return None
    return png


# ferryd's log lines of one migration, by phase
PHASES = (
    ("accepted", r"info: migration id=(\d+) .*to=accepted "),
    ("claimed", r"info: migration (\d+) of \S+: claimed \(accepted\)"),
    ("queued", r"info: migration id=(\d+) .*to=queued "),
    ("running", r"info: migration id=(\d+) .*to=running "),
    ("returned", r"info: migration (\d+) of \S+: libvirt's migration call "
     r"returned"),
    ("completed", r"info: migration id=(\d+) .*to=completed "),
)
# what ferry adds, from one phase's line to the next's
STEPS = (("claim", "accepted", "claimed"), ("prechecks", "claimed", "queued"),
         ("start", "queued", "running"), ("close", "returned", "completed"))


def log_time(line):
    ts = line.split(" ", 1)[0]
    return (calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
            + float(ts[19:-1]))


def phases(out):
    """ferry's own steps in every migration of DIR/ferryd.log, ms:
    median [min-max] (close: libvirt's call returned -> record closed,
    when ferryd logs the return)."""
    pats = [(name, re.compile(p)) for name, p in PHASES]
    seen = {}
    with open(os.path.join(out, "ferryd.log"), errors="replace") as f:
        for ln in f:
            for name, pat in pats:
                m = pat.search(ln)
                if m:
                    try:
                        seen.setdefault(int(m.group(1)), {}).setdefault(
                            name, log_time(ln))
                    except ValueError:
                        pass
    parts = []
    for step, a, b in STEPS:
        vals = [(p[b] - p[a]) * 1000 for p in seen.values()
                if a in p and b in p]
        parts.append("%s %s" % (step, spread(vals)[0]))
    return "ferry's steps (ms, %d migrations): %s" % (len(seen),
                                                     ", ".join(parts))


def report(out, mems):
    with open(os.path.join(out, "runs.json")) as f:
        runs = [json.loads(ln) for ln in f if ln.strip()]
    for mem in mems:
        print("\n".join(summary(runs, mem)))
    if os.path.exists(os.path.join(out, "ferryd.log")):
        print(phases(out))
    png = plot(out, mems, runs)
    if png:
        print("picture: " + png)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "report":
        report(sys.argv[2], [int(m) for m in sys.argv[3:]])
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("--lab-env", required=True)
    p.add_argument("--sandbox-env", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--uuid", required=True)
    p.add_argument("--mem", type=int, required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--mv", default="2.68")
    p.add_argument("--poll-ms", type=int, default=100)
    p.add_argument("--sample-ms", type=int, default=100)
    p.add_argument("--pause-ms", type=int, default=1000)
    p.add_argument("--out", required=True)
    p.add_argument("--header", action="store_true")
    o = p.parse_args()
    b = Bench(o)
    if o.header:
        print(HEAD, flush=True)
    b.go()
    with open(os.path.join(o.out, "runs.json"), "a") as f:
        for r in b.runs:
            f.write(json.dumps(r) + "\n")
    tl = timeline(b)
    if tl:
        with open(os.path.join(o.out, "timeline-%d.txt" % o.mem), "w") as f:
            f.write("\n".join(tl) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
