"""The strategies live_migration_convergence = predict takes without
post-copy (issue 11), on real migrations: a guest rewriting its 64 MiB at a
cap of 12 MiB/s cannot converge, which libvirt's dirty-rate measure shows
about a second into the transfer; with timeout_action = abort the runner
aborts it there (the guest stays on a, untouched), with force_complete it
pauses the guest, which then completes on b, the same boot.  (Auto-
converge, the strategy taken when it is permitted, only throttles the
guest once a pass ends, each pass 5 s or more here: too slow for a short
test; tests/unit/test_monitor.c covers its decision.)"""
import re

from conftest import say
from test_lifecycle import (configured, log_line, log_time, moved,
                            on_b_only, report, start, wait_end)
from test_live_migration import prove_untouched

# the pause sends what is left at the cap: 12 MiB/s keeps it short, and
# the guest (38-84 MiB/s measured) still dirties more than twice that
CAP, FILL = 12, 64
NO_POSTCOPY = dict(bandwidth=CAP, live_migration_convergence="predict",
                   live_migration_permit_post_copy=False,
                   live_migration_permit_auto_converge=False,
                   live_migration_progress_timeout=30)
# the decision's line: libvirt's measure (~1.5 s after the start
# unloaded), not a pass's end (the first alone takes FILL / CAP s)
WHY = re.compile(r"predicted\): the guest dirties [0-9.]+ MiB/s, the "
                 r"transfer sends [0-9.]+ MiB/s")


def decided(ferry, mid, uuid, strategy):
    """s from "running" to the strategy's line in ferryd.log, which must
    be the measure's."""
    run = log_line(ferry, mid, uuid, "running")
    line = log_line(ferry, mid, uuid, strategy)
    assert run and line, "no %r in ferryd.log" % strategy
    say(line.split(": ", 2)[-1])
    assert WHY.search(line), line
    return (log_time(line) - log_time(run)).total_seconds()


def test_predicted_abort_then_pause(lab, ferry, guests):
    g = guests("conv-nopc", mem=256, fill=FILL, dirty=True)
    uuid = g["GUEST_UUID"]
    with configured(ferry, live_migration_timeout_action="abort",
                    **NO_POSTCOPY):
        m1 = start(ferry, uuid)
        rec = wait_end(ferry, uuid, m1, 30)
    report("predicted, abort", rec)
    after = decided(ferry, m1, uuid, "abort (predicted)")
    assert after < FILL / CAP, after
    assert rec["status"] == "cancelled", rec
    assert rec["error_reason"] == "pre-copy cannot converge", rec
    assert rec["convergence"] == "abort (predicted)", rec
    prove_untouched(lab, ferry, g)

    with configured(ferry, live_migration_timeout_action="force_complete",
                    **NO_POSTCOPY):
        m2 = start(ferry, uuid)
        rec = wait_end(ferry, uuid, m2, 60)
    report("predicted, pause", rec)
    after = decided(ferry, m2, uuid, "pause (predicted)")
    assert after < FILL / CAP, after
    assert log_line(ferry, m2, uuid, "guest paused to complete")
    assert rec["status"] == "completed", rec
    assert rec["convergence"] == "pause (predicted)", rec
    # paused from the decision to the end: what was left to send at CAP
    assert rec["downtime_ms"] >= 1000, rec
    on_b_only(lab, uuid)
    moved(lab, g, "a", "b")
