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

#include "cli.h"
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

/* One query asked of several daemons and its answers merged (merge_ask). */
struct sharded {
    Floorwalker__QueryResult *rs[CLI_MAX_DAEMONS]; /* each daemon's answer */
    size_t n;
    struct merged *m;
    char notes[2048]; /* what is approximate in the merge, or why it failed */
};

/*
 * Asks q of every daemon eps[0..n-1] (n >= 1, <= CLI_MAX_DAEMONS) by one deadline, a ranked
 * list in full, and merges the OK answers; a daemon that does not hold the store or region
 * asked about (status NOT_FOUND) is left out. ASK_OK: *out is the merged answer, or a refusal
 * (status not OK, *which names its daemon: the first ERROR, or when no daemon holds it the
 * first NOT_FOUND), or NULL when the answers cannot be merged (s->notes says why). Else, as
 * cli_ask: *which did not answer. Free s with merge_ask_free.
 */
enum ask_status merge_ask(struct sharded *s, const char *who, void *ctx, const char *const *eps,
                          size_t n, const Floorwalker__Query *q, int timeout_s,
                          const fw_stop_flag *stop, const Floorwalker__QueryResult **out,
                          size_t *which);
/*
 * Asks q (about one store's alert: ACK_ALERT) of daemons eps[0..n-1] in turn until one holds
 * what it names: ASK_OK with *out the first answer that is not NOT_FOUND, or when every daemon
 * answered NOT_FOUND the first of them; *which names its daemon. Else, as cli_ask: *which did
 * not answer. Free s with merge_ask_free.
 */
enum ask_status merge_ask_holder(struct sharded *s, const char *who, void *ctx,
                                 const char *const *eps, size_t n, const Floorwalker__Query *q,
                                 int timeout_s, const fw_stop_flag *stop,
                                 const Floorwalker__QueryResult **out, size_t *which);
void merge_ask_free(struct sharded *s);

#endif
