/*
 * Data-quality checks on one decoded event (docs/DOMAIN.md "Data quality"): ids, enums, bounds,
 * sale arithmetic and time. What needs the daemon's state (known stores and terminals, their
 * binding, sequence numbers) is checked by ingest.c.
 */
#ifndef FW_VALIDATE_H
#define FW_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "floorwalker.pb-c.h"

struct config;

struct validate_limits {
    const struct config *cfg; /* the stores' currencies, for amounts in reasons; NULL: 2 digits */
    int64_t now_ms;
    int64_t max_future_ms;    /* event_time_ms > now + this: TIME_IN_FUTURE */
    int64_t retention_ms;     /* event_time_ms < now - this: TIME_TOO_OLD */
    int64_t max_qty_milli;    /* |qty_milli| bound */
    int64_t max_amount_cents; /* bound on every amount and price */
    size_t max_lines;
};

#define VALIDATE_TEXT_MAX 1024 /* note, reference */
#define VALIDATE_LABEL_MAX 64  /* category, role: free text, but short */

/* Returns FLOORWALKER__REJECT_CODE__REJECT_NONE or the reason code, with a human reason that
 * names the field and the value. */
Floorwalker__RejectCode validate_event(const Floorwalker__Event *e, const struct validate_limits *l,
                                       char *reason, size_t len);

/* "YYYY-MM-DD" with a real calendar date. */
int validate_day(const char *s);

#endif
