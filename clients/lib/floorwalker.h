/*
 * libfloorwalker: the terminal side of Floorwalker.
 *
 * A till calls fw_send_*() and moves on. The event is written to a local LMDB spool first (the
 * call returns once it is durable there), then a background thread sends spooled events to
 * floorwalkerd in batches, resends until the daemon acks them, and deletes them when acked.
 * Events survive process restarts and days offline; the daemon's dedup on
 * (terminal_id, epoch, seq) makes resends harmless. A spool directory belongs to one terminal
 * and one process at a time.
 *
 * Every function that can fail returns FW_OK (0) or another fw_err code (floorwalker_err.h);
 * fw_strerror() names it.
 *
 * Build against the installed library with pkg-config: cc app.c $(pkg-config --cflags --libs
 * floorwalker), or --static for libfloorwalker.a (docs/LIBRARY.md).
 */
#ifndef FLOORWALKER_H
#define FLOORWALKER_H

#include <stddef.h>
#include <stdint.h>

#include "floorwalker.pb-c.h"
#include "floorwalker_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A result that must not be ignored: an event that was not spooled is an event lost. */
#if defined(__GNUC__) || defined(__clang__)
#define FW_MUST_CHECK __attribute__((warn_unused_result))
#else
#define FW_MUST_CHECK
#endif

typedef struct fw_client fw_client;

/* Called on the library's thread for every event the daemon rejected (acked with a reason and
 * kept in its quarantine). code is a Floorwalker__RejectCode. */
typedef void (*fw_reject_cb)(void *arg, uint64_t seq, int code, const char *reason);

struct fw_options {
    const char *endpoint;    /* daemon ingest endpoint, e.g. "tcp://127.0.0.1:7401" */
    const char *spool_dir;   /* created if missing */
    unsigned batch_max;      /* events per batch (default 1000) */
    unsigned inflight_max;   /* batches awaiting an ack (default 8) */
    unsigned ack_timeout_ms; /* resend unacked batches after this (default 2000) */
    int no_fsync;            /* 1: fw_send returns before the spool is fsynced (survives a
                                process crash, not a power cut); default 0 */
    fw_reject_cb on_reject;
    void *arg;
    /* CurveZMQ (floorwalkerd with [security] mode = curve): the daemon's public key and this
     * terminal's key pair, each 40 Z85 characters (fw_key_read() reads keygen's files). All
     * NULL: plain. The key must be listed in the daemon's config bound to store_id. */
    const char *server_key;
    const char *public_key;
    const char *secret_key;
};

struct fw_client_stats {
    uint64_t epoch;
    uint64_t last_seq;    /* highest seq handed out */
    uint64_t acked_seq;   /* highest seq the daemon acked */
    uint64_t spool_depth; /* events in the spool not yet acked */
    uint64_t batches_sent;
    uint64_t events_sent;  /* including resends */
    uint64_t resends;      /* times unacked events were sent again */
    uint64_t rejected;     /* events the daemon rejected */
    uint64_t duplicates;   /* events the daemon already had */
    uint64_t batch_errors; /* batches refused as a whole */
    uint64_t auth_refused; /* CURVE handshakes the daemon refused (key unknown to it, or not a
                              terminal key); events stay spooled and are sent once it is allowed */
};

/* Opens (or creates) the spool and starts the sender thread. */
FW_MUST_CHECK fw_err fw_open(fw_client **out, const char *store_id, const char *terminal_id,
                             const char *endpoint, const char *spool_dir);
FW_MUST_CHECK fw_err fw_open_opts(fw_client **out, const char *store_id, const char *terminal_id,
                                  const struct fw_options *opts);

/* Spools one event. store_id, terminal_id, epoch and seq are filled in by the library (values
 * in ev are ignored); event_time_ms 0 means now. Thread-safe. */
FW_MUST_CHECK fw_err fw_send_event(fw_client *c, const Floorwalker__Event *ev);
/* Spools n events in one spool transaction (one fsync): for bulk publishers. */
FW_MUST_CHECK fw_err fw_send_events(fw_client *c, const Floorwalker__Event *const *evs, size_t n);

/* One call per body kind; time_ms 0 means now. */
FW_MUST_CHECK fw_err fw_send_sale(fw_client *c, const Floorwalker__Sale *b, int64_t time_ms);
FW_MUST_CHECK fw_err fw_send_complaint(fw_client *c, const Floorwalker__Complaint *b,
                                       int64_t time_ms);
FW_MUST_CHECK fw_err fw_send_stock_move(fw_client *c, const Floorwalker__StockMove *b,
                                        int64_t time_ms);
FW_MUST_CHECK fw_err fw_send_attendance(fw_client *c, const Floorwalker__Attendance *b,
                                        int64_t time_ms);
FW_MUST_CHECK fw_err fw_send_shift(fw_client *c, const Floorwalker__Shift *b, int64_t time_ms);
FW_MUST_CHECK fw_err fw_send_sales_target(fw_client *c, const Floorwalker__SalesTarget *b,
                                          int64_t time_ms);
FW_MUST_CHECK fw_err fw_send_drawer(fw_client *c, const Floorwalker__Drawer *b, int64_t time_ms);
FW_MUST_CHECK fw_err fw_send_heartbeat(fw_client *c, const Floorwalker__Heartbeat *b,
                                       int64_t time_ms);

/* Waits until every event spooled before the call is acked and gone from the spool, or
 * timeout_ms passes (FW_ETIMEDOUT; -1 waits forever). */
fw_err fw_flush(fw_client *c, int timeout_ms);

void fw_client_stats(fw_client *c, struct fw_client_stats *out);

/* Stops the sender and closes the spool; unacked events stay spooled for the next fw_open.
 * Sets *c to NULL. */
void fw_close(fw_client **c);

/* The older name of fw_strerror(), for callers that hold the code in an int. */
#define fw_strerror_code(code) fw_strerror((fw_err)(code))

#ifdef __cplusplus
}
#endif

#endif
