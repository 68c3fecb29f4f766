/*
 * The terminal library: LMDB spool + a sender thread that owns the DEALER socket.
 *
 * Spool layout (LMDB in spool_dir):
 *   "spool": seq (u64 big-endian) -> encoded Event (store, terminal, epoch and seq filled in)
 *   "meta":  "epoch", "next_seq", "acked_seq" -> u64
 * The application thread appends under c->lock; the sender thread reads batches, sends them,
 * and on acks deletes what the daemon acked (deletes are grouped: losing one to a crash only
 * means a resend, which the daemon recognises as a duplicate).
 */
#include "floorwalker.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "fwcommon.h"
#include "fwkeys.h"

#define DELETE_EVERY_MS 50
#define SPOOL_MAP_DEFAULT ((size_t)1 << 30)

struct inflight {
    uint64_t first, last;
    uint64_t sent_ns;
};

struct fw_client {
    char store[FW_ID_MAX + 1], terminal[FW_ID_MAX + 1];
    struct fw_options o;
    char *endpoint, *spool_dir;

    MDB_env *env;
    MDB_dbi spool, meta;
    size_t map_size;

    pthread_mutex_t lock; /* next_seq, epoch, the counters below, cond */
    pthread_cond_t cond;
    uint64_t epoch;
    uint64_t next_seq; /* next seq to hand out */
    uint64_t acked;    /* highest acked by the daemon */
    uint64_t deleted;  /* highest removed from the spool */
    struct fw_client_stats st;

    int wake_fd;
    pthread_t thread;
    _Atomic int stop;
    void *zctx, *dealer;
    void *auth_mon; /* CURVE: the dealer's HANDSHAKE_FAILED_AUTH events (sender thread's) */

    /* Sender-thread state. */
    struct inflight *infl;
    size_t ninfl;
    uint64_t send_next;
    uint64_t last_reset_seq, last_reset_ns;
    uint64_t last_delete_ns;
    uint8_t *buf;
    size_t buf_cap;
};

/* LMDB's codes as fw_err: the mapping the daemon uses too (fwcommon). */
static fw_err map_mdb(int rc)
{
    return fw_err_from_mdb(rc);
}

static void u64_be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t be_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0 && v.mv_size == 8)
        *out = be_u64(v.mv_data);
    return rc;
}

static int meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t val)
{
    uint8_t b[8];
    u64_be(b, val);
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* A new epoch: milliseconds since 1970 in the high bits keeps them increasing across spool
 * re-creations, random low bits keep two terminals created in the same millisecond apart. */
static uint64_t new_epoch(void)
{
    uint16_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        r = (uint16_t)getpid();
    return ((uint64_t)fw_now_ms() << 16) | r;
}

static fw_err spool_open(fw_client *c)
{
    MDB_txn *txn = NULL;
    int rc;
    if (fw_mkdir_p(c->spool_dir, 0750) != 0)
        return fw_err_from_errno(errno);
    c->map_size = SPOOL_MAP_DEFAULT;
    if ((rc = mdb_env_create(&c->env)) || (rc = mdb_env_set_maxdbs(c->env, 4)) ||
        (rc = mdb_env_set_mapsize(c->env, c->map_size)))
        return map_mdb(rc);
    /* MDB_NOSYNC: every commit that must be durable calls mdb_env_sync itself. */
    if ((rc = mdb_env_open(c->env, c->spool_dir, MDB_NOTLS | MDB_NOSYNC, 0640)))
        return map_mdb(rc);
    MDB_envinfo info;
    mdb_env_info(c->env, &info);
    c->map_size = info.me_mapsize;
    int dead;
    mdb_reader_check(c->env, &dead);
    if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) ||
        (rc = mdb_dbi_open(txn, "spool", MDB_CREATE, &c->spool)) ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &c->meta)))
        goto fail;
    rc = meta_get(txn, c->meta, "epoch", &c->epoch);
    if (rc == MDB_NOTFOUND) {
        /* A fresh spool: a new epoch, numbering from 1. */
        c->epoch = new_epoch();
        c->next_seq = 1;
        c->acked = 0;
        if ((rc = meta_put(txn, c->meta, "epoch", c->epoch)) ||
            (rc = meta_put(txn, c->meta, "next_seq", 1)) ||
            (rc = meta_put(txn, c->meta, "acked_seq", 0)))
            goto fail;
    } else if (rc == 0) {
        if ((rc = meta_get(txn, c->meta, "next_seq", &c->next_seq)) ||
            (rc = meta_get(txn, c->meta, "acked_seq", &c->acked)))
            goto fail;
    } else {
        goto fail;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc || (rc = mdb_env_sync(c->env, 1)))
        goto fail;
    c->deleted = c->acked;
    c->send_next = c->acked + 1;
    return FW_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    return map_mdb(rc);
}

/* ---- application side ----------------------------------------------------------------------- */

static int grow_map(fw_client *c)
{
    size_t next = c->map_size * 2;
    int rc = mdb_env_set_mapsize(c->env, next);
    if (rc == 0)
        c->map_size = next;
    return rc;
}

fw_err fw_send_events(fw_client *c, const Floorwalker__Event *const *evs, size_t n)
{
    if (!c || (!evs && n))
        return FW_EINVAL;
    if (n == 0)
        return FW_OK;
    int64_t now = fw_now_ms();
    fw_err err = FW_OK;
    pthread_mutex_lock(&c->lock);
    for (int attempt = 0; attempt < 8; attempt++) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(c->env, NULL, 0, &txn);
        uint64_t seq = c->next_seq;
        for (size_t i = 0; rc == 0 && i < n; i++, seq++) {
            Floorwalker__Event e = *evs[i];
            e.store_id = c->store;
            e.terminal_id = c->terminal;
            e.epoch = c->epoch;
            e.seq = seq;
            if (e.event_time_ms == 0)
                e.event_time_ms = now;
            size_t len = floorwalker__event__get_packed_size(&e);
            uint8_t kb[8];
            u64_be(kb, seq);
            MDB_val k = {8, kb}, v = {len, NULL};
            rc = mdb_put(txn, c->spool, &k, &v, MDB_RESERVE | MDB_APPEND);
            if (rc == 0)
                floorwalker__event__pack(&e, v.mv_data);
        }
        if (rc == 0)
            rc = meta_put(txn, c->meta, "next_seq", seq);
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        if (rc == MDB_MAP_FULL && grow_map(c) == 0)
            continue; /* only this thread writes the spool's size: no txn is open */
        if (rc == 0 && !c->o.no_fsync)
            rc = mdb_env_sync(c->env, 1);
        if (rc == 0) {
            c->next_seq = seq;
            c->st.last_seq = seq - 1;
        }
        err = map_mdb(rc);
        break;
    }
    pthread_mutex_unlock(&c->lock);
    if (err == FW_OK) {
        uint64_t one = 1;
        ssize_t w = write(c->wake_fd, &one, sizeof one);
        (void)w;
    }
    return err;
}

fw_err fw_send_event(fw_client *c, const Floorwalker__Event *ev)
{
    return fw_send_events(c, &ev, 1);
}

#define SEND_BODY(fn, T, field, CASE)                                                              \
    fw_err fn(fw_client *c, const T *b, int64_t time_ms)                                           \
    {                                                                                              \
        Floorwalker__Event e = FLOORWALKER__EVENT__INIT;                                           \
        e.event_time_ms = time_ms;                                                                 \
        e.body_case = FLOORWALKER__EVENT__BODY_##CASE;                                             \
        e.field = (T *)b;                                                                          \
        return fw_send_event(c, &e);                                                               \
    }

SEND_BODY(fw_send_sale, Floorwalker__Sale, sale, SALE)
SEND_BODY(fw_send_complaint, Floorwalker__Complaint, complaint, COMPLAINT)
SEND_BODY(fw_send_stock_move, Floorwalker__StockMove, stock_move, STOCK_MOVE)
SEND_BODY(fw_send_attendance, Floorwalker__Attendance, attendance, ATTENDANCE)
SEND_BODY(fw_send_shift, Floorwalker__Shift, shift, SHIFT)
SEND_BODY(fw_send_sales_target, Floorwalker__SalesTarget, sales_target, SALES_TARGET)
SEND_BODY(fw_send_drawer, Floorwalker__Drawer, drawer, DRAWER)
SEND_BODY(fw_send_heartbeat, Floorwalker__Heartbeat, heartbeat, HEARTBEAT)

fw_err fw_flush(fw_client *c, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    if (timeout_ms >= 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    fw_err err = FW_OK;
    pthread_mutex_lock(&c->lock);
    uint64_t target = c->next_seq - 1, epoch = c->epoch;
    while (c->deleted < target) {
        uint64_t one = 1;
        ssize_t w = write(c->wake_fd, &one, sizeof one);
        (void)w;
        int rc = timeout_ms >= 0 ? pthread_cond_timedwait(&c->cond, &c->lock, &deadline)
                                 : pthread_cond_wait(&c->cond, &c->lock);
        if (c->epoch != epoch) { /* renumbered (rebase_epoch): wait for all of it */
            epoch = c->epoch;
            target = c->next_seq - 1;
        }
        if (rc == ETIMEDOUT) {
            err = c->deleted >= target ? FW_OK : FW_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

void fw_client_stats(fw_client *c, struct fw_client_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->st;
    out->epoch = c->epoch;
    out->acked_seq = c->acked;
    out->last_seq = c->next_seq - 1;
    out->spool_depth = c->next_seq - 1 - c->deleted;
    pthread_mutex_unlock(&c->lock);
}

/* ---- sender thread -------------------------------------------------------------------------- */

/* Removes acked events from the spool and records the acked seq. */
static void spool_delete(fw_client *c, uint64_t upto)
{
    pthread_mutex_lock(&c->lock);
    uint64_t from = c->deleted + 1;
    pthread_mutex_unlock(&c->lock);
    if (upto < from)
        return;
    MDB_txn *txn;
    MDB_cursor *cur;
    if (mdb_txn_begin(c->env, NULL, 0, &txn))
        return;
    int rc = mdb_cursor_open(txn, c->spool, &cur);
    if (rc == 0) {
        /* Acked events are always the oldest: delete from the front. */
        MDB_val k, v;
        while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0 && be_u64(k.mv_data) <= upto)
            if ((rc = mdb_cursor_del(cur, 0)))
                break;
        mdb_cursor_close(cur);
    }
    if ((rc == 0 || rc == MDB_NOTFOUND) && meta_put(txn, c->meta, "acked_seq", upto) == 0 &&
        mdb_txn_commit(txn) == 0) {
        /* A lost deletion would only cause a duplicate resend, but under MDB_NOSYNC an unsynced
         * commit followed by a power cut can leave the file inconsistent unless the filesystem
         * keeps write order; deletes are grouped, so syncing them costs little. */
        if (!c->o.no_fsync)
            mdb_env_sync(c->env, 1);
        pthread_mutex_lock(&c->lock);
        c->deleted = upto;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
    } else {
        mdb_txn_abort(txn);
    }
}

static int ensure_buf(fw_client *c, size_t need)
{
    if (need <= c->buf_cap)
        return 0;
    size_t n = c->buf_cap ? c->buf_cap : 65536;
    while (n < need)
        n *= 2;
    uint8_t *b = realloc(c->buf, n);
    if (!b)
        return -1;
    c->buf = b;
    c->buf_cap = n;
    return 0;
}

/* Sends the next batch from send_next. Returns 1 if one was sent, 0 if nothing to send or
 * the socket cannot take it now. */
static int send_batch(fw_client *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t last_spooled = c->next_seq - 1;
    pthread_mutex_unlock(&c->lock);
    if (c->send_next > last_spooled)
        return 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    if (mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn))
        return 0;
    if (mdb_cursor_open(txn, c->spool, &cur)) {
        mdb_txn_abort(txn);
        return 0;
    }
    uint8_t kb[8];
    u64_be(kb, c->send_next);
    MDB_val k = {8, kb}, v;
    size_t len = 0;
    uint64_t first = 0, last = 0;
    unsigned n = 0;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && n < c->o.batch_max && len < (1u << 20)) {
        uint64_t seq = be_u64(k.mv_data);
        if (n == 0)
            first = seq;
        else if (seq != last + 1)
            break;
        if (ensure_buf(c, len + fw_batch_elem_size(v.mv_size)))
            break;
        len += fw_batch_elem_put(c->buf + len, v.mv_data, v.mv_size);
        last = seq;
        n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (n == 0)
        return 0;
    if (zmq_send(c->dealer, c->buf, len, ZMQ_DONTWAIT) < 0)
        return 0; /* not connected (ZMQ_IMMEDIATE) or queue full: try again later */
    struct inflight *f = &c->infl[c->ninfl++];
    f->first = first;
    f->last = last;
    f->sent_ns = fw_mono_ns();
    c->send_next = last + 1;
    pthread_mutex_lock(&c->lock);
    c->st.batches_sent++;
    c->st.events_sent += n;
    pthread_mutex_unlock(&c->lock);
    return 1;
}

/*
 * The daemon wants a seq we were already acked for: it lost what it had (its data was wiped or
 * restored from an older backup). Those events cannot be asked for again in this epoch, so the
 * terminal continues in a new epoch: every event still in the spool is renumbered from 1 and
 * sent again. Events acked and deleted before are gone from the terminal too; that is logged.
 */
static int rebase_epoch(fw_client *c, uint64_t expected)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc;
    pthread_mutex_lock(&c->lock);
    uint64_t old = c->epoch, epoch = new_epoch(), n = 0;
    if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)))
        goto out;
    /* Oldest first, seq deleted+1+i becomes i+1: never above a key still to be moved. */
    uint64_t count = c->next_seq - 1 - c->deleted;
    for (uint64_t i = 0; i < count; i++) {
        MDB_val k, v;
        if ((rc = mdb_cursor_open(txn, c->spool, &cur)))
            break;
        uint8_t kb[8];
        u64_be(kb, c->deleted + 1 + i);
        k.mv_size = 8;
        k.mv_data = kb;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
        if (rc) {
            mdb_cursor_close(cur);
            break;
        }
        Floorwalker__Event *e = floorwalker__event__unpack(NULL, v.mv_size, v.mv_data);
        rc = e ? mdb_cursor_del(cur, 0) : MDB_CORRUPTED;
        mdb_cursor_close(cur);
        if (rc) {
            if (e)
                floorwalker__event__free_unpacked(e, NULL);
            break;
        }
        e->epoch = epoch;
        e->seq = ++n;
        size_t len = floorwalker__event__get_packed_size(e);
        u64_be(kb, n);
        MDB_val nk = {8, kb}, nv = {len, NULL};
        rc = mdb_put(txn, c->spool, &nk, &nv, MDB_RESERVE);
        if (rc == 0)
            floorwalker__event__pack(e, nv.mv_data);
        floorwalker__event__free_unpacked(e, NULL);
        if (rc)
            break;
    }
    if (rc == 0 && !(rc = meta_put(txn, c->meta, "epoch", epoch)) &&
        !(rc = meta_put(txn, c->meta, "next_seq", n + 1)) &&
        !(rc = meta_put(txn, c->meta, "acked_seq", 0)))
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc == 0)
        rc = mdb_env_sync(c->env, 1);
    if (rc == 0) {
        fprintf(stderr,
                "libfloorwalker: %s: the daemon asks for seq %" PRIu64 " of epoch %" PRIu64
                ", which it had acked (its data was lost or restored); continuing as epoch "
                "%" PRIu64 " with the %" PRIu64 " event(s) still spooled\n",
                c->terminal, expected, old, epoch, n);
        c->epoch = epoch;
        c->next_seq = n + 1;
        c->acked = c->deleted = 0;
        c->send_next = 1;
        c->ninfl = 0;
        pthread_cond_broadcast(&c->cond);
    }
out:
    pthread_mutex_unlock(&c->lock);
    return map_mdb(rc);
}

static void handle_ack(fw_client *c, const uint8_t *data, size_t len)
{
    Floorwalker__Ack *a = floorwalker__ack__unpack(NULL, len, data);
    if (!a)
        return;
    if (strcmp(a->terminal_id, c->terminal) || a->epoch != c->epoch) {
        if (a->batch_code != FLOORWALKER__REJECT_CODE__REJECT_NONE) {
            pthread_mutex_lock(&c->lock);
            c->st.batch_errors++;
            pthread_mutex_unlock(&c->lock);
            fprintf(stderr, "libfloorwalker: %s: batch refused: %s\n", c->terminal, a->batch_error);
        }
        floorwalker__ack__free_unpacked(a, NULL);
        return;
    }
    uint64_t gap_expected = 0;
    uint64_t rejected = 0;
    for (size_t i = 0; i < a->n_rejected; i++) {
        const Floorwalker__Rejection *r = a->rejected[i];
        if (r->code == FLOORWALKER__REJECT_CODE__SEQ_GAP) {
            gap_expected = a->expected_seq;
            continue;
        }
        rejected++;
        if (c->o.on_reject)
            c->o.on_reject(c->o.arg, r->seq, (int)r->code, r->reason);
    }
    pthread_mutex_lock(&c->lock);
    if (a->acked_seq > c->acked)
        c->acked = a->acked_seq;
    c->st.rejected += rejected;
    c->st.duplicates += a->duplicates;
    uint64_t acked = c->acked;
    pthread_mutex_unlock(&c->lock);
    /* Batches fully acked leave the in-flight window. */
    size_t j = 0;
    for (size_t i = 0; i < c->ninfl; i++)
        if (c->infl[i].last > acked)
            c->infl[j++] = c->infl[i];
    c->ninfl = j;
    if (gap_expected && gap_expected <= acked) {
        floorwalker__ack__free_unpacked(a, NULL);
        if (rebase_epoch(c, gap_expected) != FW_OK)
            fprintf(stderr, "libfloorwalker: %s: cannot renumber the spool\n", c->terminal);
        return;
    }
    if (gap_expected && gap_expected > acked) {
        /* Something we sent before was lost (a daemon restart, say): resend from where the
         * daemon wants. Later batches sent before this reset answer with the same gap; ignore
         * those for one timeout. */
        uint64_t now = fw_mono_ns();
        if (!(gap_expected == c->last_reset_seq &&
              now - c->last_reset_ns < (uint64_t)c->o.ack_timeout_ms * 1000000u)) {
            c->send_next = gap_expected;
            c->ninfl = 0;
            c->last_reset_seq = gap_expected;
            c->last_reset_ns = now;
        }
    }
    if (c->send_next <= acked)
        c->send_next = acked + 1;
    floorwalker__ack__free_unpacked(a, NULL);
}

static void *sender_main(void *arg)
{
    fw_client *c = arg;
    while (!c->stop) {
        /* Fill the window. */
        while (c->ninfl < c->o.inflight_max && send_batch(c))
            ;
        zmq_pollitem_t items[3] = {{c->dealer, 0, ZMQ_POLLIN, 0},
                                   {NULL, c->wake_fd, ZMQ_POLLIN, 0},
                                   {c->auth_mon, 0, ZMQ_POLLIN, 0}};
        long timeout = 50;
        if (zmq_poll(items, c->auth_mon ? 3 : 2, timeout) < 0 && zmq_errno() != EINTR)
            break;
        if (c->auth_mon && (items[2].revents & ZMQ_POLLIN)) {
            /* The daemon refused our key: count it (the terminal keeps its events spooled and
             * libzmq keeps reconnecting, so a key added to the daemon later just works). */
            int more = 1;
            while (more) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, c->auth_mon, ZMQ_DONTWAIT) < 0)
                    more = 0;
                else
                    more = zmq_msg_more(&m);
                zmq_msg_close(&m);
            }
            pthread_mutex_lock(&c->lock);
            c->st.auth_refused++;
            pthread_mutex_unlock(&c->lock);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t v;
            ssize_t r = read(c->wake_fd, &v, sizeof v);
            (void)r;
        }
        for (int i = 0; i < 1024; i++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, c->dealer, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            handle_ack(c, zmq_msg_data(&m), zmq_msg_size(&m));
            zmq_msg_close(&m);
        }
        uint64_t now = fw_mono_ns();
        /* No ack in time: the batch or its ack was lost; resend from the first unacked. */
        if (c->ninfl && now - c->infl[0].sent_ns > (uint64_t)c->o.ack_timeout_ms * 1000000u) {
            pthread_mutex_lock(&c->lock);
            c->send_next = c->acked + 1;
            c->st.resends++;
            pthread_mutex_unlock(&c->lock);
            c->ninfl = 0;
        }
        pthread_mutex_lock(&c->lock);
        uint64_t acked = c->acked, deleted = c->deleted, last = c->next_seq - 1;
        pthread_mutex_unlock(&c->lock);
        /* Group deletes; do them at once when everything is acked (a flush waits on it). */
        if (acked > deleted &&
            (acked == last || now - c->last_delete_ns > DELETE_EVERY_MS * 1000000ull)) {
            spool_delete(c, acked);
            c->last_delete_ns = now;
        }
    }
    return NULL;
}

/* ---- open/close ----------------------------------------------------------------------------- */

/* A PAIR receiving the dealer's HANDSHAKE_FAILED_AUTH events; NULL on failure. */
static void *auth_monitor(fw_client *c)
{
    char ep[64];
    int zero = 0;
    snprintf(ep, sizeof ep, "inproc://fwclient-auth-%p", (void *)c);
    if (zmq_socket_monitor(c->dealer, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
        return NULL;
    void *mon = zmq_socket(c->zctx, ZMQ_PAIR);
    if (mon && (zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero) || zmq_connect(mon, ep))) {
        zmq_close(mon);
        mon = NULL;
    }
    return mon;
}

fw_err fw_open_opts(fw_client **out, const char *store_id, const char *terminal_id,
                    const struct fw_options *opts)
{
    if (!out || !opts || !opts->endpoint || !opts->spool_dir || !fw_id_valid(store_id) ||
        !fw_id_valid(terminal_id))
        return FW_EINVAL;
    fw_client *c = calloc(1, sizeof *c);
    if (!c)
        return FW_ENOMEM;
    fw_err err = FW_ENOMEM;
    c->o = *opts;
    if (!c->o.batch_max)
        c->o.batch_max = 1000;
    if (!c->o.inflight_max)
        c->o.inflight_max = 8;
    if (!c->o.ack_timeout_ms)
        c->o.ack_timeout_ms = 2000;
    snprintf(c->store, sizeof c->store, "%s", store_id);
    snprintf(c->terminal, sizeof c->terminal, "%s", terminal_id);
    c->endpoint = strdup(opts->endpoint);
    c->spool_dir = strdup(opts->spool_dir);
    c->infl = calloc(c->o.inflight_max, sizeof *c->infl);
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!c->endpoint || !c->spool_dir || !c->infl || c->wake_fd < 0)
        goto fail;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if ((err = spool_open(c)))
        goto fail;
    c->zctx = zmq_ctx_new();
    c->dealer = c->zctx ? zmq_socket(c->zctx, ZMQ_DEALER) : NULL;
    int one = 1, zero = 0, ivl = 100, ivl_max = 5000, hb = 5000, hbt = 15000;
    char kerr[128];
    bool curve = opts->server_key || opts->public_key || opts->secret_key;
    /* The keys are copied into the socket here; the caller's strings need not outlive this. */
    c->o.server_key = c->o.public_key = c->o.secret_key = NULL;
    if (c->dealer && curve &&
        fw_curve_client(c->dealer, opts->server_key ? opts->server_key : "",
                        opts->public_key ? opts->public_key : "",
                        opts->secret_key ? opts->secret_key : "", kerr, sizeof kerr)) {
        err = FW_EINVAL;
        goto fail;
    }
    if (!c->dealer || zmq_setsockopt(c->dealer, ZMQ_IMMEDIATE, &one, sizeof one) ||
        zmq_setsockopt(c->dealer, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(c->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(c->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) ||
        zmq_setsockopt(c->dealer, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) ||
        zmq_setsockopt(c->dealer, ZMQ_HEARTBEAT_TIMEOUT, &hbt, sizeof hbt) ||
        (curve && !(c->auth_mon = auth_monitor(c))) || zmq_connect(c->dealer, c->endpoint)) {
        err = FW_EINVAL;
        goto fail;
    }
    if (pthread_create(&c->thread, NULL, sender_main, c)) {
        err = FW_ENOMEM;
        goto fail;
    }
    *out = c;
    return FW_OK;
fail:
    if (c->auth_mon)
        zmq_close(c->auth_mon);
    if (c->dealer)
        zmq_close(c->dealer);
    if (c->zctx)
        zmq_ctx_term(c->zctx);
    if (c->env)
        mdb_env_close(c->env);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    free(c->infl);
    free(c->endpoint);
    free(c->spool_dir);
    free(c);
    return err;
}

fw_err fw_open(fw_client **out, const char *store_id, const char *terminal_id, const char *endpoint,
               const char *spool_dir)
{
    struct fw_options o = {.endpoint = endpoint, .spool_dir = spool_dir};
    return fw_open_opts(out, store_id, terminal_id, &o);
}

void fw_close(fw_client **pc)
{
    fw_client *c = pc ? *pc : NULL;
    if (!c)
        return;
    c->stop = 1;
    uint64_t one = 1;
    ssize_t w = write(c->wake_fd, &one, sizeof one);
    (void)w;
    pthread_join(c->thread, NULL);
    if (c->acked > c->deleted)
        spool_delete(c, c->acked);
    mdb_env_sync(c->env, 1);
    if (c->auth_mon) {
        zmq_socket_monitor(c->dealer, NULL, 0);
        zmq_close(c->auth_mon);
    }
    zmq_close(c->dealer);
    zmq_ctx_term(c->zctx);
    mdb_env_close(c->env);
    close(c->wake_fd);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c->infl);
    free(c->buf);
    free(c->endpoint);
    free(c->spool_dir);
    free(c);
    *pc = NULL;
}
