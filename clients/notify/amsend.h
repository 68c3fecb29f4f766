/*
 * Alerts to Prometheus Alertmanager (API v2, POST /api/v2/alerts): one record per alert id with
 * the Alertmanager alert (labels, annotations, startsAt, endsAt once resolved) and which of the
 * URLs still have to get its latest state. A record with URLs to go is "queued". Every FIRING
 * record is queued again every resend_seconds, so Alertmanager never resolves a live alert by
 * itself; a RESOLVED record stays until every URL took it, and is never dropped for newer
 * traffic. Each URL retries with a doubling, capped backoff.
 */
#ifndef FW_AMSEND_H
#define FW_AMSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floorwalker.pb-c.h"

#define AMSEND_MAX_URLS 16

struct amsend_opts {
    const char *urls[AMSEND_MAX_URLS]; /* Alertmanager base URLs (…/api/v2/alerts is added) */
    int n_urls;
    const char *console_url; /* NULL: no generatorURL */
    int resend_seconds;
    size_t queue_max;     /* FIRING updates beyond this wait for the next resend */
    long http_timeout_ms; /* per POST */
};

struct amsend_stats {
    uint64_t posts_ok, posts_failed; /* HTTP POSTs (each to one URL, up to 500 alerts) */
    uint64_t alerts_posted;          /* alerts in accepted POSTs */
    uint64_t deferred;               /* FIRING updates left to the next resend (queue full) */
    size_t queued, firing, resolved_queued;
    int64_t last_success_ms; /* Unix ms of the last accepted POST, 0: none yet */
};

struct amsend;

/* 0, or -1 after a message (curl could not start, a bad option). */
int amsend_new(struct amsend **out, const struct amsend_opts *o)
    __attribute__((warn_unused_result));
void amsend_destroy(struct amsend **p);

/* The daemon's latest word on alert a (snapshot row or live message); store_name may be NULL. */
void amsend_update(struct amsend *s, const Floorwalker__Alert *a, const char *store_name);

/* Around a new snapshot of region (NULL: every region): amsend_mark forgets which FIRING records
 * were seen, the snapshot's alerts go through amsend_update, then amsend_sweep resolves, as of
 * now_ms, the FIRING records of region that the snapshot no longer has (their RESOLVED message
 * was missed in a pub_seq gap). */
void amsend_mark(struct amsend *s, const char *region);
void amsend_sweep(struct amsend *s, const char *region, int64_t now_ms);

/* Posts what is due to each URL whose backoff has passed; returns the milliseconds until
 * something is due again (at most 1000). now_ns: fw_mono_ns. */
long amsend_run(struct amsend *s, uint64_t now_ns);

void amsend_get_stats(const struct amsend *s, struct amsend_stats *st);

#endif
