/*
 * One answer from several daemons (`floorwalker query KIND --daemon EP --daemon EP ...`, issue
 * 18): stores are sharded across daemons by store id, so each daemon answers for its stores and
 * the answers are merged as one daemon holding every store would have answered.
 *
 * Rows with the same key (their text, store and time columns) are combined: counts, money,
 * quantities and durations added; ratios recomputed from their summed parts (avg_ticket = net /
 * transactions, return_rate = returns_cents / gross, ...); a mean weighted by its count. Other
 * rows are concatenated. top/bottom SKUs are asked of every daemon in full (up to
 * MERGE_SKU_ROWS) and ranked again, so the merged top N is exact unless a daemon had more SKUs
 * than that. What cannot be merged exactly (a percentile) is bounded and said in the notes.
 */
#ifndef FW_MERGE_H
#define FW_MERGE_H

#include <stddef.h>

#include "floorwalker.pb-c.h"

/* Rows each daemon is asked for when a ranked list (top/bottom SKUs) is merged. */
#define MERGE_SKU_ROWS 100000

struct merged;

/*
 * Merges the OK results rs[0..n-1] of query q (q->limit: the rows wanted of a ranked list).
 * Returns the merged result (valid while rs and the merge live), or NULL when out of memory
 * or the results do not fit together (daemons of different versions: *why says so). Notes on
 * what is approximate go to notes (up to len bytes; "" if none).
 */
const Floorwalker__QueryResult *merge_results(struct merged **m,
                                              Floorwalker__QueryResult *const *rs, size_t n,
                                              const Floorwalker__Query *q, char *notes, size_t len);
void merge_free(struct merged **m);

#endif
