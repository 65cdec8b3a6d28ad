/*
 * fault.h: the only place that knows HTTP status numbers.  Turns an error
 * code into Nova's fault body (spec §3.2), and writes the plain webob-style
 * errors (spec §3.3) in the format the Accept header asks for.
 */
#ifndef FERRY_FAULT_H
#define FERRY_FAULT_H

#include "ferry/err.h"
#include "ferry/http.h"

int fault_status(int code);
/* {"<faultKey>": {"code": N, "message": "..."}} from e. */
void fault_json(struct req *r, struct resp *w, const struct ferr *e);
/* Plain webob error: code is FE_UNAUTH, FE_NOTFOUND or FE_TOOLARGE. */
void fault_plain(struct req *r, struct resp *w, int code,
                 const char *explanation);
/* Status helpers for successful answers. */
void resp_ok(struct resp *w);               /* 200 application/json */
void resp_accepted(struct resp *w);         /* 202, empty body */
void resp_no_content(struct resp *w);       /* 204 */
void resp_multiple_choices(struct resp *w); /* 300 application/json */

#endif
