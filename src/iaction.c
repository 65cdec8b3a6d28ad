/*
 * iaction.c: recording instance action events (see iaction.h).  The
 * store holds them (store.c); this file decides what a step's start and
 * end write, and logs, never fails, when the store refuses.
 */
#include <string.h>
#include <unistd.h>
#include "ferry/app.h"
#include "ferry/iaction.h"

const char *iaction_conductor_host(void)
{
    static char name[256];

    if (name[0] == '\0' && gethostname(name, sizeof(name) - 1) < 0) {
        strcpy(name, "localhost");
    }
    return name;
}

static void logged(struct ferr *err, const struct migration *m,
                   const char *event, const char *what)
{
    if (err->code != 0) {
        log_error("migration %lld of %s: event %s not %s: %s",
                  (long long) m->id, m->instance_uuid, event ? event : "*",
                  what, ferr_msg(err));
        ferr_clear(err);
    }
}

void iaction_ev_start(struct store *s, const struct migration *m,
                      const char *event, const char *host)
{
    struct ferr err = { 0 };

    if (m->request_id != NULL) {
        store_event_start(s, m->instance_uuid, m->request_id, event, host,
                          &err);
        logged(&err, m, event, "started");
    }
}

void iaction_ev_end(struct store *s, const struct migration *m,
                    const char *event, int ok, const char *details)
{
    struct ferr err = { 0 };

    if (m->request_id != NULL) {
        store_event_finish(s, m->instance_uuid, m->request_id, event, ok,
                           details, &err);
        logged(&err, m, event, "finished");
    }
}

void iaction_record_end(struct store *s, const struct migration *m)
{
    int good = mig_status_has(mig_status_of(m->status), MIG_F_SUCCEEDED);

    iaction_ev_end(s, m, NULL, good,
                   m->error_reason ? m->error_reason : m->status);
}

void iaction_request_event(struct store *s, const struct migration *m,
                           const char *action, const char *event,
                           const char *host, int ok, const char *details)
{
    struct migration x = *m;
    struct ferr err = { 0 };
    char rid[64];

    x.request_id = rid;
    if (store_action_latest(s, m->instance_uuid, action, rid, sizeof(rid), &err)
        != 1) {
        logged(&err, m, event, "recorded");
        return;
    }
    log_info("migration %lld of %s: %s %s (%s)", (long long) m->id,
             m->instance_uuid, event, ok ? "done" : "failed", x.request_id);
    iaction_ev_start(s, &x, event, host);
    iaction_ev_end(s, &x, event, ok, details);
}
