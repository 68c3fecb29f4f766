/*
 * LMDB storage: the environment, its named databases, the key builder, and a transaction
 * wrapper whose error is sticky (after a failure every operation does nothing and commit
 * aborts), so a multi-step write is checked once, at commit.
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

struct store {
    MDB_env *env;
    MDB_dbi events, quarantine, marks, terminals, meta;
    size_t map_size, map_grow;
    uint64_t next_event_pos; /* the key the next appended event gets */
    uint64_t next_quar_pos;
    char path[1024];
    int lock_fd; /* flock on path/floorwalkerd.lock: one daemon per data directory */
};

struct store_txn {
    struct store *st;
    MDB_txn *txn;
    fw_err err;
};

fw_err store_open(struct store **out, const char *dir, size_t map_bytes, size_t grow_bytes) FW_WUR;
void store_destroy(struct store **st);
/* Maps an MDB_* or errno code to the project's error (the one place that does). */
fw_err store_map_err(int rc);

void store_txn_begin(struct store *st, struct store_txn *t, bool rdonly);
void store_txn_put(struct store_txn *t, MDB_dbi dbi, const struct key *k, const void *v,
                   size_t vlen, unsigned flags);
/* FW_ENOTFOUND is returned but is not sticky; any other failure is. */
fw_err store_txn_get(struct store_txn *t, MDB_dbi dbi, const struct key *k, MDB_val *v) FW_WUR;
/* Commits, or aborts if an earlier operation failed; returns the first error. */
fw_err store_txn_commit(struct store_txn *t) FW_WUR;
void store_txn_abort(struct store_txn *t);

/* Grows the map by map_grow. Only with no transaction open anywhere in the process. */
fw_err store_grow(struct store *st) FW_WUR;

/* Reads the highest key of an append-only log db; the next position is that plus one. */
fw_err store_last_pos(struct store *st, MDB_dbi dbi, uint64_t *next) FW_WUR;

#endif
