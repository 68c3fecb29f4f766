/*
 * Self-metrics for Prometheus: an HTTP listener (libmicrohttpd, its own thread) serving the
 * latest snapshot of the daemon's stats in the Prometheus text format at /metrics. The loop
 * thread renders the snapshot (it owns the stats) and hands it over under a mutex; the HTTP
 * thread only copies it out, so a slow scraper never touches the loop. Scrapers authenticate
 * with HTTP basic auth or a bearer token, over TLS if configured (docs/SECURITY.md).
 */
#ifndef FW_METRICS_H
#define FW_METRICS_H

#include <stddef.h>

#include "floorwalker.pb-c.h"
#include "fwcommon.h"

struct metrics;

struct config;

/* Listens on cfg's [metrics] listen, "HOST:PORT" (port 0: any free port), with its basic auth,
 * bearer token and TLS (config_load validated them; this copies what it needs, so cfg may be
 * swapped by a reload afterwards: [metrics] changes take effect at the next start). */
fw_err metrics_create(struct metrics **out, const struct config *cfg) FW_WUR;
void metrics_destroy(struct metrics **m);
unsigned metrics_port(const struct metrics *m);
/* Renders a STATS QueryResult as Prometheus text and makes it the current snapshot. */
void metrics_update(struct metrics *m, const Floorwalker__QueryResult *stats);

#endif
