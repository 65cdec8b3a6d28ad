/*
 * status.c: the migration status and power state tables (see status.h):
 * names, predicates and the SQL lists the store builds its statements
 * from.
 */
#include <stdio.h>
#include <string.h>
#include "ferry/status.h"
#include "ferry/util.h"

static const struct {
    const char *name;
    unsigned flags, kind;
} mig_rows[] = {
#define MIG_STATUS_ROW(e, name, flags, kind) [e] = { name, flags, kind },
    MIG_STATUS_TABLE(MIG_STATUS_ROW)
#undef MIG_STATUS_ROW
};

const char *mig_status_name(enum mig_status s)
{
    return (unsigned) s < MIG_STATUS__COUNT ? mig_rows[s].name : "";
}

enum mig_status mig_status_of(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < MIG_STATUS__COUNT; i++) {
        if (strcmp(name, mig_rows[i].name) == 0) {
            return (enum mig_status) i;
        }
    }
    return MIG_UNKNOWN;
}

int mig_status_is(const char *name, enum mig_status s)
{
    return name != NULL && (unsigned) s < MIG_STATUS__COUNT
        && strcmp(name, mig_rows[s].name) == 0;
}

unsigned mig_status_flags(enum mig_status s)
{
    return (unsigned) s < MIG_STATUS__COUNT ? mig_rows[s].flags : 0;
}

int mig_status_has(enum mig_status s, unsigned f)
{
    return f != 0 && (mig_status_flags(s) & f) == f;
}

unsigned mig_status_kind(enum mig_status s)
{
    return (unsigned) s < MIG_STATUS__COUNT ? mig_rows[s].kind : 0;
}

int mig_status_ended(const char *status)
{
    return mig_status_has(mig_status_of(status), MIG_F_ENDED);
}

int mig_status_in_progress(const char *status)
{
    return mig_status_has(mig_status_of(status), MIG_F_HOLDS);
}

int mig_status_sql_list(unsigned f, char *buf, size_t size)
{
    size_t i, len = 0;
    int n;

    for (i = 0; i < MIG_STATUS__COUNT; i++) {
        if (!mig_status_has((enum mig_status) i, f)) {
            continue;
        }
        /* the names hold no quote: nothing to escape */
        n = snprintf(buf + len, size - len, "%s'%s'", len ? ", " : "",
                     mig_rows[i].name);
        if (n < 0 || (size_t) n >= size - len) {
            return -1;
        }
        len += (size_t) n;
    }
    return len > 0 ? (int) len : -1;
}

static const struct {
    int power;
    const char *name;
    int active;
} power_rows[] = {
    { POWER_NOSTATE, "pending", 0 }, { POWER_RUNNING, "running", 1 },
    { POWER_PAUSED, "paused", 1 },   { POWER_SHUTDOWN, "shutdown", 0 },
    { POWER_CRASHED, "crashed", 0 }, { POWER_SUSPENDED, "suspended", 0 },
};

const char *power_state_name(int power)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(power_rows); i++) {
        if (power_rows[i].power == power) {
            return power_rows[i].name;
        }
    }
    return power_rows[0].name;
}

int server_is_active(int power)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(power_rows); i++) {
        if (power_rows[i].power == power) {
            return power_rows[i].active;
        }
    }
    return 0;
}
