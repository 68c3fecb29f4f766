/*
 * What the daemon counts. The persistent part is written in the group-commit transaction, so
 * it is exactly as durable as the events it counts; the runtime part starts at zero with each
 * process.
 */
#ifndef FW_STATS_H
#define FW_STATS_H

#include <stdint.h>

#define STATS_KINDS 9  /* 0 = no body, 1..8 = Event body cases 10..17 */
#define STATS_CODES 32 /* RejectCode values */
/*
 * The commit histograms: bucket i < STATS_HIST - 1 holds the commits of at most 2^i
 * (microseconds, or events), the last bucket everything larger. stats_hist_bound() is the
 * bound, for the stats tables and for /metrics alike.
 */
#define STATS_HIST 20

/* A duration histogram in the same buckets (microseconds), with its count, sum and maximum. */
struct stats_hist {
    uint64_t n, ns_total, ns_max;
    uint64_t b[STATS_HIST];
};
void stats_hist_add(struct stats_hist *h, uint64_t ns);

struct stats_persist {
    uint64_t version;
    uint64_t events_total; /* stored in the event log */
    uint64_t events_by_kind[STATS_KINDS];
    uint64_t rejects_by_code[STATS_CODES]; /* events and frames refused with a reason */
    uint64_t quarantined;
    uint64_t duplicates;
    uint64_t batches;
};

struct stats_runtime {
    int64_t started_ms;
    uint64_t frames_garbage;   /* not an EventBatch */
    uint64_t frames_empty;     /* zero-length or no events */
    uint64_t frames_multipart; /* more than one payload frame */
    uint64_t frames_oversize;  /* over ingest.max_msg_bytes */
    uint64_t bad_batches;      /* mixed terminals, too many events, ... */
    uint64_t gaps;             /* batches refused for a sequence gap */
    uint64_t acks_sent;
    uint64_t acks_dropped; /* peer gone or its queue full: the terminal will resend */
    uint64_t commits;
    uint64_t commit_failures;
    uint64_t map_grows;
    uint64_t commit_ns_total;
    uint64_t commit_ns_max;
    uint64_t commit_hist[STATS_HIST];      /* by duration */
    uint64_t commit_size_hist[STATS_HIST]; /* by events stored */
    uint64_t commit_events_max;            /* most events taken in one commit */
    uint64_t commit_events_total;          /* events taken by the commits of this process */
    /* The loop measuring itself: a whole ingest pass (receive, decode, validate, commit, apply,
     * acks), the rollup apply + rules + alert flush part of it, and each query answered. */
    struct stats_hist pass, apply, query;
    uint64_t queries;
    uint64_t last_pass_msgs;    /* messages drained by the last ingest pass (a full pass means a
                                   backlog is queued in the socket) */
    uint64_t last_slice_events; /* events received and recorded by the last ingest slice (a
                                   slice ends after [ingest] pass_budget_ms of work) */
    double events_per_s;        /* over the last 10 seconds */
    uint64_t subscribers;       /* PUB connections open now */
    uint64_t rate_events[10];   /* events_total sampled each second, for events_per_s */
    unsigned rate_i;
    uint64_t query_errors;
    uint64_t auth_allowed;          /* CurveZMQ handshakes the ZAP handler let in */
    uint64_t auth_denied;           /* ... and refused (unknown key, wrong role for the socket) */
    uint64_t queries_refused;       /* queries outside the client key's role or regions */
    uint64_t key_revoked;           /* messages from a connection whose key a reload removed */
    uint64_t subscriptions_refused; /* alert subscriptions outside a supervisor's regions */
    uint64_t alerts_rebinds;        /* alerts socket rebound to cut revoked subscribers */
    uint64_t alerts_held;           /* messages held during those rebinds, sent after */
    uint64_t alerts_hold_dropped;   /* ... and dropped, the hold being full */
};

extern const char *const stats_kind_names[STATS_KINDS];

/* Event body case (10..17) to index; 0 if none/unknown. */
unsigned stats_kind_index(int body_case);
static inline uint64_t stats_hist_bound(unsigned i)
{
    return 1ull << i;
}
/* Counts one commit: its duration and the events it stored. */
void stats_commit_time(struct stats_runtime *r, uint64_t ns, uint64_t events);

#endif
