/*
 * LMDB storage: the environment, its named databases, the key builder, and a transaction
 * wrapper whose error is sticky (after a failure every operation does nothing and commit
 * aborts), so a multi-step write is checked once, at commit. The only module that calls mdb_*:
 * the others see LMDB's value and handle types (MDB_val, MDB_dbi) and nothing else, and
 * struct store is opaque. One place, store_write, owns the map-full abort-grow-retry loop.
 *
 * Databases (all keys fixed-width, big-endian, leading type byte, so range scans are prefix
 * scans):
 *   events      'E' pos:u64                 -> received_ms:u64 | encoded Event   (MDB_APPEND)
 *   quarantine  'Q' pos:u64                 -> encoded QuarantineRecord          (MDB_APPEND)
 *   marks       'M' terminal:id64 epoch:u64 -> last_seq:u64 | updated_ms:u64
 *   terminals   'T' terminal:id64           -> store id
 *   meta        'S'                         -> struct stats_persist (see stats.h)
 */
#ifndef FW_STORE_H
#define FW_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwcommon.h"

enum { KEY_EVENT = 'E', KEY_QUARANTINE = 'Q', KEY_MARK = 'M', KEY_TERMINAL = 'T', KEY_STATS = 'S' };

struct key {
    uint8_t b[96];
    size_t len;
};

void key_init(struct key *k, uint8_t type);
void key_u64(struct key *k, uint64_t v);
/* An id, zero-padded to FW_ID_MAX bytes: fixed width keeps composite keys ordered. */
void key_id(struct key *k, const char *id);
uint64_t be64_get(const void *p);
void be64_put(void *p, uint64_t v);

struct store;

/* The daemon's own databases (others open theirs with store_db_open). */
enum store_db { STORE_EVENTS, STORE_QUARANTINE, STORE_MARKS, STORE_TERMINALS, STORE_META };

fw_err store_open(struct store **out, const char *dir, size_t map_bytes, size_t grow_bytes) FW_WUR;
void store_destroy(struct store **st);
/* Maps an MDB_* or errno code to the project's error (the one place that does). */
fw_err store_map_err(int rc);

MDB_dbi store_db(const struct store *st, enum store_db which);
/* Opens (creating it if need be) the named database of a module (rollups, alerts). */
fw_err store_db_open(struct store *st, const char *name, MDB_dbi *out) FW_WUR;
/* The positions the next appended event and quarantine record get. */
uint64_t store_next_event_pos(const struct store *st);
/* The last position committed to the event log (0: none yet). */
uint64_t store_log_end(const struct store *st);
uint64_t store_next_quar_pos(const struct store *st);
/* After a commit that appended events and quarantine records at those positions. */
void store_appended(struct store *st, uint64_t events, uint64_t quarantined);
/* Never hands out a position at or below pos - 1 (the counters say more events were stored
 * than the log holds: pruned by retention). */
void store_event_pos_at_least(struct store *st, uint64_t pos);
size_t store_map_bytes(const struct store *st);

/* A write set: the changes a recording transaction made, to be applied elsewhere. */
struct store_wset {
    uint8_t *buf;
    size_t len, cap, n;
};
void store_wset_free(struct store_wset *w);
/* Room for `bytes` of writes, its pages touched now (not on the loop's first passes). */
bool store_wset_reserve(struct store_wset *w, size_t bytes);

/* A transaction. Its fields are store.c's; others only read err. */
struct store_txn {
    struct store *st;
    MDB_txn *txn;
    struct store_wset *wset; /* recording: writes go here, reads to the read txn */
    fw_err err;
};

void store_txn_begin(struct store *st, struct store_txn *t, bool rdonly);
/* A recording transaction: reads see the committed database (not the recording's own writes),
 * puts, deletes and drops are appended to w (emptied first). Commit or abort ends it; the
 * write set is then applied by store_wset_apply in a real write transaction, on any thread. */
void store_txn_begin_recording(struct store *st, struct store_txn *t, struct store_wset *w);
fw_err store_wset_apply(struct store_txn *t, const struct store_wset *w);
void store_txn_put(struct store_txn *t, MDB_dbi dbi, const struct key *k, const void *v,
                   size_t vlen, unsigned flags);
void store_txn_put_raw(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen, const void *v,
                       size_t vlen, unsigned flags);
/* A put whose value the caller writes in place (LMDB's MDB_RESERVE; in a recording, the write
 * set's room): returns where the vlen bytes go, valid until the next write in t; NULL when the
 * transaction failed. Saves a copy of a large value (an event) built for the put. */
void *store_txn_put_reserve(struct store_txn *t, MDB_dbi dbi, const struct key *k, size_t vlen,
                            unsigned flags);
/* FW_ENOTFOUND is returned but is not sticky; any other failure is. */
fw_err store_txn_get(struct store_txn *t, MDB_dbi dbi, const struct key *k, MDB_val *v) FW_WUR;
fw_err store_txn_get_raw(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
                         MDB_val *v) FW_WUR;
/* Deletes the key; one that is not there is not an error. */
void store_txn_del_raw(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen);
/* Empties the database. */
void store_txn_drop(struct store_txn *t, MDB_dbi dbi);
/* Commits, or aborts if an earlier operation failed; returns the first error. */
fw_err store_txn_commit(struct store_txn *t) FW_WUR;
void store_txn_abort(struct store_txn *t);

/* A cursor in a transaction. The moves return false at the end of the database and on an error
 * (then sticky in the transaction). */
struct store_cursor {
    struct store_txn *t;
    MDB_cursor *c;
};
enum store_move { STORE_FIRST, STORE_LAST, STORE_NEXT, STORE_PREV, STORE_CURRENT };
bool store_cursor_open(struct store_txn *t, MDB_dbi dbi, struct store_cursor *cur);
bool store_cursor_get(struct store_cursor *cur, enum store_move how, MDB_val *k, MDB_val *v);
/* The first key at or after key (a prefix scan starts here). */
bool store_cursor_seek(struct store_cursor *cur, const void *key, size_t klen, MDB_val *k,
                       MDB_val *v);
/* Deletes the current record; STORE_CURRENT then gives the next one. */
void store_cursor_del(struct store_cursor *cur);
void store_cursor_close(struct store_cursor *cur);

/*
 * A write transaction, whole: begins, calls fill to make its changes, commits. When the map is
 * full the attempt is aborted, the map grown by map_grow, retry (if given) undoes what the
 * attempt changed in memory, and fill runs again; *grows (if given) counts the growths. Any
 * other failure is returned as is (fill's own error, or the commit's). The one place that
 * grows the map: it needs no transaction open in the process, which holds between passes of
 * the single loop thread that calls this.
 */
typedef fw_err (*store_fill_fn)(struct store_txn *t, void *arg);
fw_err store_write(struct store *st, store_fill_fn fill, void (*retry)(void *arg), void *arg,
                   uint64_t *grows) FW_WUR;

/*
 * The writer thread: store_write's work for one job at a time, off the caller's thread, so the
 * loop answers queries and alert subscribers while a group commit and its fsync run. The job's
 * fill runs on the writer: it may read only what arg owns (a write set), never the loop's
 * state. store_writer_fd becomes readable when the job is done; store_writer_done then hands
 * it back with err, the commit's duration and the map's growths. Every transaction of the
 * process holds the store's map lock shared, so the writer can grow the map.
 */
struct store_job {
    store_fill_fn fill;
    void *arg;
    const char *name; /* the writer thread's name while it runs (15 chars); NULL: fw-writer */
    fw_err err;
    uint64_t commit_ns, grows;
};
fw_err store_writer_start(struct store *st) FW_WUR;
int store_writer_fd(const struct store *st);
/* Only when no job is in progress (the previous one was handed back). */
void store_writer_submit(struct store *st, struct store_job *job);
struct store_job *store_writer_done(struct store *st);
/* Waits for the job in progress, then stops the thread. */
void store_writer_stop(struct store *st);

#endif
