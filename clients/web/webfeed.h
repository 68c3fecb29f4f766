/*
 * The console's live alerts: one thread per daemon follows its alert feed as docs/ALERTS.md
 * says (subscribe, snapshot, live messages, a new snapshot after a pub_seq gap) and keeps its
 * active alerts; the recent messages of all of them, in the order they came, are kept for
 * every browser's event stream.
 *
 * With several daemons (stores sharded across them, docs/SCALE.md) each daemon numbers its
 * regions' messages itself, so a region has one pub_seq sequence per daemon: every alert then
 * carries "daemon" (the daemon's query endpoint) and a snapshot's pub_seq is keyed
 * "DAEMON REGION" instead of "REGION".
 */
#ifndef FW_WEBFEED_H
#define FW_WEBFEED_H

#include <stddef.h>
#include <stdint.h>

struct webfeed;

/* Starts following n daemons, each in its own thread with the sockets of ctx: the alerts of
 * pub_eps[i] (NULL, or pub_eps NULL: the endpoint daemon i states, cli_alerts_endpoint; asked
 * again until it answers), snapshots from query_eps[i]. The strings must outlive the feed.
 * NULL if a thread cannot start. */
struct webfeed *webfeed_start(void *ctx, const char *const *query_eps, const char *const *pub_eps,
                              size_t n, int timeout_s);
/* Wakes every reader and makes webfeed_next return NULL from now on. */
void webfeed_halt(struct webfeed *f);
/* Stops the thread and frees f. */
void webfeed_stop(struct webfeed *f);

/* A browser's place in the feed. Zero it for a new reader. */
struct webfeed_reader {
    uint64_t have; /* messages up to this number were sent */
    uint64_t gen;  /* the feed's snapshot they follow */
    int started;
    /* The regions this reader may see (NULL: all): a supervisor's. */
    int (*region_ok)(const void *arg, const char *region);
    const void *arg;
};

/* The next Server-Sent Events text for reader r, waiting up to wait_ms for something new: a
 * "snapshot" event (every active alert and each region's pub_seq) for a new reader, one that
 * fell behind, or after the feed took a new snapshot; else the "alert" events since its last
 * call. NULL when there is nothing new (malloc'd text else). */
char *webfeed_next(struct webfeed *f, struct webfeed_reader *r, int wait_ms);

/* The key of a region's pub_seq in a snapshot: "REGION", or with several daemons (daemon not
 * NULL) "DAEMON REGION". */
void webfeed_seq_key(char *out, size_t len, const char *daemon, const char *region);

/* The daemon (its index) whose active alerts hold alert_id, or -1. */
long webfeed_owner(struct webfeed *f, const char *alert_id);

/* Whether the feed has a snapshot from every daemon (each answered). */
int webfeed_connected(struct webfeed *f);
/* With several daemons: [{"daemon": QUERY_EP, "connected": bool}, ...] (a new reference);
 * NULL with one. */
struct json_t;
struct json_t *webfeed_daemons(struct webfeed *f);

#endif
