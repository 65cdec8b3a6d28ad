"""A drain wakes the runners as a request does (issue 11): the step that
plans it and the migrations it starts, and the POST that makes it, are
followed at once by the next look at the store, not by a runner's next
poll (every 200 ms).  A
sandbox of its own with one runner: it plans the drain, then (without the
wake-up) waited out its poll before the step that starts the first
migrations.  Its migrations to test:// hosts fail, which is all a start
needs."""
import calendar
import re
import time

import pytest

from conftest import HOSTS_DIR, run_sandbox

URL = "/v2.1/os-ferry-drains"
EXTRA = ("\n[host host-d]\nuri = test://%s/host-c.xml\n"
         "migration_address = 127.0.0.1\n\n[ferryd]\nrunners = 1\n")
# without the wake-up the first migration starts a poll (200 ms) after the
# plan; with it, after one loop of the runner (a few ms)
BOUND_MS = 120
PLAN_BOUND_MS = 50


@pytest.fixture(scope="module")
def sb():
    yield from run_sandbox("drainwake", extra_config=EXTRA % HOSTS_DIR)


def stamp(line):
    """The UTC time of a ferryd log line, in s."""
    ts = line.split(" ", 1)[0]
    return (calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
            + float(ts[19:-1]))


def wait_ended(c, did, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = c.get("%s/%d" % (URL, did))
        assert r.status == 200, r
        d = r.json()["drain"]
        if d["status"] in ("completed", "failed", "error", "cancelled"):
            return d
        time.sleep(0.1)
    raise AssertionError("drain %d did not end" % did)


def test_planned_drain_starts_at_once(sb):
    c = sb.client(sb.tokens["ops"])
    r = c.post(URL, json_body={"drain": {"host": "host-b",
                                         "max_parallel": 3}})
    assert r.status == 202, r
    did = r.json()["drain"]["id"]
    d = wait_ended(c, did)
    assert d["status"] == "failed", d       # test:// has no p2p migration
    log = (sb.dir / "ferryd.log").read_text(errors="replace")
    planned = re.search(r"^.* drain %d of host-b: planned .*$" % did, log,
                        re.M)
    first = re.search(r"^.* drain %d of host-b: server \S+: live-migration "
                      r"migration \d+ to .*$" % did, log, re.M)
    accepted = re.search(r"^.* drain %d of host-b accepted .*$" % did, log,
                         re.M)
    planning = re.search(r"^.* drain %d of host-b: planning\b.*$" % did, log,
                         re.M)
    assert planned and first and accepted and planning, sb.log_tail()
    gap = (stamp(first.group(0)) - stamp(planned.group(0))) * 1000
    assert 0 <= gap < BOUND_MS, gap
    # the POST wakes a runner too: planning begins at once (a few ms),
    # not a poll later (0-200 ms: this catches a missing wake-up three
    # times in four)
    gap = (stamp(planning.group(0)) - stamp(accepted.group(0))) * 1000
    assert 0 <= gap < PLAN_BOUND_MS, gap
