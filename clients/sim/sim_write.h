/*
 * floorwalker sim --write FILE: the batches the terminals would send, written to a file instead
 * of a daemon (docs/SIM.md, "The --write format").
 *
 * A record is a 4-byte little-endian length and one encoded floorwalker.EventBatch whose events
 * all carry one terminal_id and epoch, with seq 1, 2, 3, ... per terminal and no gaps. Producers
 * (the sim's generator threads) build batches with simw_add and hand them over; one writer
 * thread takes one batch from each producer in turn (round robin, skipping producers that are
 * done), so the file's order depends only on the seed and the options, never on thread timing.
 */
#ifndef FW_SIM_WRITE_H
#define FW_SIM_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "floorwalker.pb-c.h"

/* The library's cap on one batch frame; a batch ends before it would pass this. */
#define SIMW_BATCH_BYTES_MAX (1u << 20)

struct simw;

/* One terminal's batch under construction (zero-initialise; free with simw_batch_free). */
struct simw_batch {
    uint8_t *buf; /* 4 length bytes, then the EventBatch */
    size_t len, cap;
    unsigned n;
};

/* Creates (truncates) path and starts the writer thread for nproducers producers. */
int simw_open(struct simw **out, const char *path, unsigned nproducers);

/* Appends one event (all ids, epoch, seq and time already set) to b; when b holds batch_max
 * events, or the next event would take it past SIMW_BATCH_BYTES_MAX, the batch is handed to
 * the writer as producer p's next record (blocking while p has a few records queued). */
int simw_add(struct simw *w, unsigned p, struct simw_batch *b, const Floorwalker__Event *e,
             unsigned batch_max);
/* Hands over b if it holds any event. */
int simw_flush(struct simw *w, unsigned p, struct simw_batch *b);
void simw_batch_free(struct simw_batch *b);

/* Producer p has nothing more; the writer stops waiting for it. */
void simw_done(struct simw *w, unsigned p);

/* Waits for the writer, closes the file and frees w (sets *w to NULL). Returns 0 or the first
 * error (an fw_err); records and bytes written are stored if the pointers are not NULL. */
int simw_close(struct simw **w, uint64_t *records, uint64_t *bytes);

/* The epoch --write gives every terminal: derived from the seed (splitmix64), below 2^63 so
 * that it fits a signed 64-bit column, never 0. */
uint64_t simw_epoch(uint64_t seed);

#endif
