/*
 * The alert lifecycle (docs/ALERTS.md): an alert has a key (rule, store, subject); rules call
 * alerts_raise while their condition holds and alerts_clear when it does not. Only changes are
 * kept: the first raise creates a FIRING alert, a clear of an active alert resolves it. Changes
 * gather during a loop pass and alerts_flush stores them (with each region's pub_seq) in one
 * LMDB transaction (the writer thread's, with the next pass), then publishes them on the PUB
 * socket: an alert is durable before anyone sees it, so a restart neither re-fires nor forgets it.
 */
#ifndef FW_ALERTS_H
#define FW_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "floorwalker.pb-c.h"
#include "qresult.h"
#include "rule_catalogue.h"
#include "store.h"

struct alerts;

/* pub may be NULL (rebuild mode: nothing is published or stored). */
fw_err alerts_create(struct alerts **out, struct store *st, void *pub) FW_WUR;
void alerts_destroy(struct alerts **a);

/* The daemon's clock: real time plus the test offset (floorwalkerd --test-clock). */
int64_t alerts_now(const struct alerts *a);
/* The clock stands still at its reading now until alerts_release_clock: the events of one
 * apply slice (a few ms) share one time, read once instead of per event (clock_gettime is
 * a system call's cost on some VMs: 5% of the loop's time at full ingest). */
void alerts_hold_clock(struct alerts *a);
/* The same, at now_ms: a rule pass run right after alerts_set_clock sees exactly that time
 * (TEST_CLOCK), not a millisecond later. */
void alerts_hold_clock_at(struct alerts *a, int64_t now_ms);
void alerts_release_clock(struct alerts *a);
void alerts_set_clock(struct alerts *a, int64_t now_ms);

/* Published FIRING updates of one alert are at least this far apart ([alerts]
 * update_min_seconds); a change of severity is published at once. */
void alerts_set_update_min(struct alerts *a, int64_t seconds);

/* Condition holds: fire; if already firing with another value, threshold or severity, take
 * them and the new message (kept and stored at the next flush, published again at most once
 * per update_min_seconds, at once when the severity changes). day >= 0 marks a rule judged per
 * store-local day (resolved when the day is over); -1 otherwise. */
void alerts_raise(struct alerts *a, enum rule_id rule, const char *store, const char *region,
                  const char *subject, enum rule_severity sev, int64_t value, int64_t threshold,
                  int32_t day, const char *fmt, ...) __attribute__((format(printf, 10, 11)));
/* An alert's message from its own fields (subject, value, threshold): formatted only when the
 * message is read (stored, published, a snapshot), not at each change of value. */
typedef void (*alert_msg_fn)(char *buf, size_t len, const Floorwalker__Alert *m);
/* As alerts_raise, the message said by fn: for a rule whose value changes with nearly every
 * event (negative_stock, out_of_stock), so that a run of changes is formatted once. */
void alerts_raise_fn(struct alerts *a, enum rule_id rule, const char *store, const char *region,
                     const char *subject, enum rule_severity sev, int64_t value, int64_t threshold,
                     int32_t day, alert_msg_fn fn);
/* Condition cleared: resolve if active, saying why (NULL: "condition cleared"). */
void alerts_clear(struct alerts *a, enum rule_id rule, const char *store, const char *subject,
                  const char *why);

/* A caller's note of the record behind one alert key (rule, store, subject), so that a rule
 * judged at every sale line finds its alert again without building and looking up its id.
 * NULL (nothing noted yet) is always right; the _at calls fill it in. A record is never freed
 * while the alerts live, so a note stays good, but only for the key it was passed with. */
typedef struct alert_rec *alert_hint;
void alerts_raise_fn_at(struct alerts *a, alert_hint *hint, enum rule_id rule, const char *store,
                        const char *region, const char *subject, enum rule_severity sev,
                        int64_t value, int64_t threshold, int32_t day, alert_msg_fn fn);
void alerts_clear_at(struct alerts *a, alert_hint *hint, enum rule_id rule, const char *store,
                     const char *subject, const char *why);
bool alerts_active(struct alerts *a, enum rule_id rule, const char *store, const char *subject);

/* Resolves every alert of store judged for a day before today (day-scoped rules, and rules
 * with no resolution of their own, like late_clock_in). */
void alerts_end_days(struct alerts *a, const char *store, int32_t today);

/* Stores and publishes what changed: through the flusher when one is set (the ingest's
 * writer thread, see alerts_set_flusher), else at once on the caller's thread. */
void alerts_flush(struct alerts *a);
/* The flusher: asks for a write job that carries a flush (begin, the writer, end). NULL
 * flushes on the caller's thread again. */
void alerts_set_flusher(struct alerts *a, void (*fn)(void *arg), void *arg);
/*
 * A flush in three steps: begin numbers the changes per region and records the rest into w (a
 * write set; *started says whether there was anything); fill writes the changes with w; once
 * w is committed, or failed, end
 * has them published, or keeps them for the next flush; alerts_flush_send publishes them a
 * slice at a time. One flush at a time: changes made meanwhile wait for the next, which is
 * asked for again once the last is published.
 */
fw_err alerts_flush_begin(struct alerts *a, struct store_wset *w, bool *started) FW_WUR;
/* The flush's changes, written into t ahead of w (on the writer thread, in the job that carries
 * w): begin only numbers them, so the loop's step stays short with thousands of them. It reads
 * only the changes, which nothing touches until alerts_flush_end. */
fw_err alerts_flush_fill(struct alerts *a, struct store_txn *t) FW_WUR;
void alerts_flush_end(struct alerts *a, fw_err err);
/* Publishes the committed flush's messages, in order, until fw_mono_ns() reaches until_ns
 * (a thousand take a few milliseconds); true while some remain. */
bool alerts_flush_send(struct alerts *a, uint64_t until_ns);
/* Whether a committed flush's messages wait for alerts_flush_send. */
bool alerts_flush_sending(const struct alerts *a);
/* The next flush goes with a rollup checkpoint: it stores every firing alert's new figures,
 * published or not (between checkpoints only the published ones are stored). */
void alerts_flush_with_checkpoint(struct alerts *a);
/* Firing alerts whose figures are not stored yet: the checkpoint's flush would store them all. */
size_t alerts_unstored(const struct alerts *a);
/* Takes them for the next flush to store, published or not, until fw_mono_ns() reaches until_ns
 * (ahead of a checkpoint, so that its own flush has few left); true while some remain. */
bool alerts_store_ahead(struct alerts *a, uint64_t until_ns);

/* Publishes one two-frame message on the PUB socket (the rollup reports). */
void alerts_publish(struct alerts *a, const char *topic, const void *data, size_t len);

/* Query kinds ALERTS and ACK_ALERT. */
void alerts_snapshot(struct alerts *a, const Floorwalker__Query *q, struct result *res);
/* ACK_ALERT: the resolution says "acknowledged by BY[: REASON]". BY is the curve key's name;
 * NULL or "" (plain mode, where every client is an ops client): "an ops client". */
void alerts_ack(struct alerts *a, const char *alert_id, const char *by, const char *reason,
                struct result *res);
/* fn(arg, ...) sends every message instead of zmq_send on pub (curve mode: auth_publish, which
 * applies the subscriptions that have arrived first and holds messages while the socket is
 * rebound); then pub is only a "not rebuild mode" flag and may be closed. fn returns false when
 * the message was not sent. */
void alerts_set_sender(struct alerts *a,
                       bool (*fn)(void *arg, const char *topic, const void *data, size_t len),
                       void *arg);
/* The region of a known alert, or NULL. */
const char *alerts_region_of(struct alerts *a, const char *alert_id);

/* For STATS: active alerts and FIRING messages published since start, by rule. */
void alerts_stats(struct alerts *a, struct result *res);

/* Counters for stats. */
uint64_t alerts_count(const struct alerts *a);
uint64_t alerts_published(const struct alerts *a);

#endif
