/*
 * The console's live alerts: one thread follows the daemon's alert feed as docs/ALERTS.md
 * says (subscribe, snapshot, live messages, a new snapshot after a pub_seq gap) and keeps the
 * active alerts and the recent messages, which every browser's event stream reads.
 */
#ifndef FW_WEBFEED_H
#define FW_WEBFEED_H

#include <stdint.h>

struct webfeed;

/* Starts following pub_ep (snapshots from query_ep) in its own thread, with the sockets of
 * ctx; NULL if the thread cannot start. */
struct webfeed *webfeed_start(void *ctx, const char *pub_ep, const char *query_ep, int timeout_s);
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

/* Whether the feed has a snapshot from the daemon (the daemon answered). */
int webfeed_connected(struct webfeed *f);

#endif
