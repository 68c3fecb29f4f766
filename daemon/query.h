/*
 * The query ROUTER: one Query frame in, one QueryResult frame out, for REQ and DEALER clients
 * alike (the envelope is echoed). Queries read in short read-only LMDB transactions on the
 * loop thread; they never hold a transaction across loop passes, so the writer never waits.
 */
#ifndef FW_QUERY_H
#define FW_QUERY_H

#include <ev.h>
#include <stdbool.h>

#include "config.h"
#include "rollup.h"
#include "stats.h"
#include "store.h"

struct query;

fw_err query_create(struct query **out, struct ev_loop *loop, void *zctx, const struct config *cfg,
                    struct store *st, const struct stats_persist *sp, struct stats_runtime *sr,
                    struct rollup *rollup) FW_WUR;
void query_destroy(struct query **q, struct ev_loop *loop);
const char *query_endpoint(const struct query *q);

struct alerts;
struct rules;
/* Serves ALERTS, ACK_ALERT and SPOTCHECK; TEST_CLOCK only when test_clock is set
 * (floorwalkerd --test-clock). */
void query_set_alerts(struct query *q, struct alerts *a, struct rules *ru, bool test_clock);

struct exports;
/* Serves LOG_READ's log_start, EXPORT_POSITION and the stats table "exporters". */
void query_set_exports(struct query *q, struct exports *x);

/* The alerts endpoint as bound, told in STORES answers (clients of several daemons). */
void query_set_alerts_endpoint(struct query *q, const char *ep);
/* Whether a query waits on the socket (ingest ends its slice early for it: ingest_set_yield). */
bool query_waiting(void *q);

/* Serves the stats in the Prometheus format on http://listen/metrics, refreshed every second
 * from the loop. */
fw_err query_enable_metrics(struct query *q, const char *listen) FW_WUR;

#endif
