/*
 * Ingest: the ROUTER that terminals send EventBatch frames to.
 *
 * A pass drains the socket in slices of about [ingest] pass_budget_ms of loop work each
 * (queries and subscribers are served between slices), decodes and validates every event,
 * drops duplicates by (terminal_id, epoch, seq), refuses gaps, and records the new events, the
 * quarantined rejects, the sequence marks and the counters; the writer thread commits them in
 * ONE LMDB transaction (group commit) while the loop receives and records the next pass (two
 * passes pipeline; the next continues the positions, marks and counters of the one being
 * committed, and fails with it). The committed events are applied to the rollups in slices
 * too, pass after pass, and a pass's acks go out once all its events are applied.
 * MDB_MAP_FULL grows the map and replays the write set; any other commit failure sends no ack
 * (terminals resend).
 */
#ifndef FW_INGEST_H
#define FW_INGEST_H

#include <ev.h>

#include "config.h"
#include "rollup.h"
#include "stats.h"
#include "store.h"

struct ingest;

/* Binds cfg->ingest_endpoint. cfg, st, the stats and the rollup (which may be NULL) must
 * outlive the ingest; stored events are applied to the rollup after each commit. */
fw_err ingest_create(struct ingest **out, struct ev_loop *loop, void *zctx,
                     const struct config *cfg, struct store *st, struct stats_persist *sp,
                     struct stats_runtime *sr, struct rollup *rollup) FW_WUR;
void ingest_destroy(struct ingest **in, struct ev_loop *loop);
struct rules;
struct alerts;
/* After each commit: arrival-driven rules see the stored events, then changed alerts are
 * stored and published. Either may be NULL. */
void ingest_set_rules(struct ingest *in, struct rules *ru, struct alerts *a);

/*
 * A module whose changes are written with the writer's next job (alerts, exporters' positions):
 * when it has changes it calls the returned function with *flush_arg; then begin, on the loop,
 * records them into w (*started: whether there were any); fill (if not NULL), on the writer
 * thread, writes what begin left to it, ahead of w; and end is told whether the job committed.
 * Returns NULL when no more modules can be added.
 */
typedef fw_err ingest_flush_begin_fn(void *arg, struct store_wset *w, bool *started);
typedef fw_err ingest_flush_fill_fn(void *arg, struct store_txn *t);
typedef void ingest_flush_end_fn(void *arg, fw_err err);
typedef void ingest_flush_fn(void *flush_arg);
ingest_flush_fn *ingest_add_flusher(struct ingest *in, ingest_flush_begin_fn *begin,
                                    ingest_flush_fill_fn *fill, ingest_flush_end_fn *end, void *arg,
                                    void **flush_arg);

/* A rollup checkpoint is due: its snapshot goes to the writer thread with the next pass, or
 * alone now when the writer is free. */
void ingest_checkpoint(struct ingest *in);
/* waiting(arg) says whether a query waits: the loop's slices (receiving, applying, publishing)
 * end at the next chunk then, so that it is answered at once (query_waiting). */
void ingest_set_yield(struct ingest *in, bool (*waiting)(void *arg), void *arg);
/* The endpoint actually bound (tcp://...:* resolved to its port). */
const char *ingest_endpoint(const struct ingest *in);
/* Loads the persistent counters from the store. */
fw_err ingest_load_stats(struct store *st, struct stats_persist *sp) FW_WUR;

#endif
