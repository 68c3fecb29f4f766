#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Map lock read holds of this thread: a thread that holds one must not wait for the write
 * lock (it would wait for itself). */
static _Thread_local int map_holds;

/* A write set's record header (store_txn_begin_recording); key and value bytes follow. */
enum { WREC_PUT, WREC_DEL, WREC_DROP };
struct wrec {
    uint8_t op;
    uint32_t dbi, flags, klen, vlen;
};

struct store {
    MDB_env *env;
    MDB_dbi dbs[STORE_META + 1];
    _Atomic size_t map_size; /* grown by the writer thread, read by the loop's stats */
    size_t map_grow;
    /* Held shared by every transaction of the process, exclusive while the map grows (LMDB:
     * mdb_env_set_mapsize only with no transaction open in the process). */
    pthread_rwlock_t map_lock;
    /* The writer thread (store_writer_*): one job at a time. */
    struct {
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        struct store_job *todo, *done;
        int efd; /* eventfd: a job is done */
        bool running, stop;
    } w;
    uint64_t next_event_pos; /* the key the next appended event gets */
    uint64_t next_quar_pos;
    char path[1024];
    int lock_fd;             /* flock on path/floorwalkerd.lock: one daemon per data directory */
    uint64_t last_commit_ns; /* of store_write's last commit */
};

void key_init(struct key *k, uint8_t type)
{
    k->b[0] = type;
    k->len = 1;
}

void be64_put(void *p, uint64_t v)
{
    uint8_t *b = p;
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t be64_get(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

void key_u64(struct key *k, uint64_t v)
{
    be64_put(k->b + k->len, v);
    k->len += 8;
}

void key_id(struct key *k, const char *id)
{
    size_t n = strnlen(id, FW_ID_MAX);
    memcpy(k->b + k->len, id, n);
    memset(k->b + k->len + n, 0, FW_ID_MAX - n);
    k->len += FW_ID_MAX;
}

fw_err store_map_err(int rc)
{
    return fw_err_from_mdb(rc);
}

/* Reads the highest key of an append-only log db; the next position is that plus one. */
static fw_err store_last_pos(struct store *st, MDB_dbi dbi, uint64_t *next)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_map_err(rc);
    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return store_map_err(rc);
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    *next = 1;
    if (rc == 0 && k.mv_size == 9)
        *next = be64_get((uint8_t *)k.mv_data + 1) + 1;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc == 0 || rc == MDB_NOTFOUND ? FW_OK : store_map_err(rc);
}

/* One daemon per data directory: an exclusive flock on DIR/floorwalkerd.lock, held for the life
 * of the store (the kernel drops it when the process dies, so a SIGKILL leaves nothing to clean
 * up). The file holds the owner's pid so that the refusal can name it. LMDB's own lock only
 * keeps writers in turn, so without this a second daemon (or --rebuild beside a live one)
 * would take the same log and the ipc socket files. */
static fw_err lock_data_dir(struct store *st, const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/floorwalkerd.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_err("data directory %s: cannot open %s: %s", dir, path, strerror(errno));
        return fw_err_from_errno(errno);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        if (e == EWOULDBLOCK) {
            log_err("data directory %s is in use by floorwalkerd pid %s (it holds %s): stop it "
                    "first, or give this one another data_dir",
                    dir, pid[0] ? pid : "unknown", path);
            return FW_ESTATE;
        }
        log_err("data directory %s: cannot lock %s: %s", dir, path, strerror(e));
        return fw_err_from_errno(e);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warn("data directory %s: cannot write the pid into %s: %s", dir, path, strerror(errno));
    st->lock_fd = fd;
    return FW_OK;
}

fw_err store_open(struct store **out, const char *dir, size_t map_bytes, size_t grow_bytes)
{
    struct store *st = calloc(1, sizeof *st);
    MDB_txn *txn = NULL;
    int rc;
    fw_err err = FW_ENOMEM;
    if (!st)
        return FW_ENOMEM;
    st->lock_fd = -1;
    st->w.efd = -1;
    pthread_rwlock_init(&st->map_lock, NULL);
    snprintf(st->path, sizeof st->path, "%s", dir);
    st->map_grow = grow_bytes;
    if (fw_mkdir_p(dir, 0750) != 0) {
        log_err("data directory %s: %s", dir, strerror(errno));
        err = fw_err_from_errno(errno);
        goto fail;
    }
    if ((err = lock_data_dir(st, dir)) != FW_OK)
        goto fail;
    if ((rc = mdb_env_create(&st->env)) || (rc = mdb_env_set_maxdbs(st->env, 16)) ||
        (rc = mdb_env_set_maxreaders(st->env, 256)))
        goto fail_mdb;
    /* A larger existing map is kept: mdb_env_open adopts the file's size if it is bigger. */
    if ((rc = mdb_env_set_mapsize(st->env, map_bytes)))
        goto fail_mdb;
    if ((rc = mdb_env_open(st->env, dir, MDB_NOTLS | MDB_NORDAHEAD, 0640))) {
        log_err("opening LMDB in %s: %s", dir, mdb_strerror(rc));
        goto fail_mdb;
    }
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    st->map_size = info.me_mapsize;
    int dead = 0;
    mdb_reader_check(st->env, &dead);
    if (dead)
        log_info("cleared %d stale LMDB reader slot(s)", dead);
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) ||
        (rc = mdb_dbi_open(txn, "events", MDB_CREATE, &st->dbs[STORE_EVENTS])) ||
        (rc = mdb_dbi_open(txn, "quarantine", MDB_CREATE, &st->dbs[STORE_QUARANTINE])) ||
        (rc = mdb_dbi_open(txn, "marks", MDB_CREATE, &st->dbs[STORE_MARKS])) ||
        (rc = mdb_dbi_open(txn, "terminals", MDB_CREATE, &st->dbs[STORE_TERMINALS])) ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->dbs[STORE_META])))
        goto fail_mdb;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail_mdb;
    if ((err = store_last_pos(st, st->dbs[STORE_EVENTS], &st->next_event_pos)) ||
        (err = store_last_pos(st, st->dbs[STORE_QUARANTINE], &st->next_quar_pos)))
        goto fail;
    *out = st;
    return FW_OK;
fail_mdb:
    err = store_map_err(rc);
    log_err("LMDB in %s: %s", dir, mdb_strerror(rc));
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (st->env)
        mdb_env_close(st->env);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    pthread_rwlock_destroy(&st->map_lock);
    free(st);
    return err;
}

void store_destroy(struct store **pst)
{
    struct store *st = *pst;
    if (!st)
        return;
    store_writer_stop(st);
    mdb_env_close(st->env);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    pthread_rwlock_destroy(&st->map_lock);
    free(st);
    *pst = NULL;
}

MDB_dbi store_db(const struct store *st, enum store_db which)
{
    return st->dbs[which];
}

fw_err store_db_open(struct store *st, const char *name, MDB_dbi *out)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, name, MDB_CREATE, out);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (rc)
        log_err("LMDB database %s: %s", name, mdb_strerror(rc));
    return store_map_err(rc);
}

uint64_t store_next_event_pos(const struct store *st)
{
    return st->next_event_pos;
}

uint64_t store_log_end(const struct store *st)
{
    return st->next_event_pos - 1;
}

uint64_t store_next_quar_pos(const struct store *st)
{
    return st->next_quar_pos;
}

void store_appended(struct store *st, uint64_t events, uint64_t quarantined)
{
    st->next_event_pos += events;
    st->next_quar_pos += quarantined;
}

void store_event_pos_at_least(struct store *st, uint64_t pos)
{
    if (st->next_event_pos < pos)
        st->next_event_pos = pos;
}

size_t store_map_bytes(const struct store *st)
{
    return st->map_size;
}

void store_txn_begin(struct store *st, struct store_txn *t, bool rdonly)
{
    t->st = st;
    t->txn = NULL;
    t->wset = NULL;
    pthread_rwlock_rdlock(&st->map_lock);
    map_holds++;
    int rc = mdb_txn_begin(st->env, NULL, rdonly ? MDB_RDONLY : 0, &t->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map (mdb_copy, say): adopt it and retry once. */
        mdb_env_set_mapsize(st->env, 0);
        rc = mdb_txn_begin(st->env, NULL, rdonly ? MDB_RDONLY : 0, &t->txn);
    }
    t->err = store_map_err(rc);
    if (rc) {
        t->txn = NULL;
        map_holds--;
        pthread_rwlock_unlock(&st->map_lock);
    }
}

void store_txn_begin_recording(struct store *st, struct store_txn *t, struct store_wset *w)
{
    store_txn_begin(st, t, true);
    w->len = w->n = 0;
    t->wset = w;
}

/* Appends one record to a write set: op, dbi, flags, key and value lengths, the bytes (v NULL:
 * the value's room only). Returns where the value is, NULL when out of memory. */
static uint8_t *wset_add(struct store_txn *t, uint8_t op, MDB_dbi dbi, unsigned flags,
                         const void *k, size_t klen, const void *v, size_t vlen)
{
    struct store_wset *w = t->wset;
    struct wrec h = {op, (uint32_t)dbi, flags, (uint32_t)klen, (uint32_t)vlen};
    size_t need = w->len + sizeof h + klen + vlen;
    if (need > w->cap) {
        size_t ncap = w->cap ? w->cap : 1 << 16;
        while (ncap < need)
            ncap *= 2;
        uint8_t *nb = realloc(w->buf, ncap);
        if (!nb) {
            t->err = FW_ENOMEM;
            return NULL;
        }
        w->buf = nb;
        w->cap = ncap;
    }
    uint8_t *val = w->buf + w->len + sizeof h + klen;
    memcpy(w->buf + w->len, &h, sizeof h);
    if (klen)
        memcpy(w->buf + w->len + sizeof h, k, klen);
    if (v && vlen)
        memcpy(val, v, vlen);
    w->len = need;
    w->n++;
    return val;
}

bool store_wset_reserve(struct store_wset *w, size_t bytes)
{
    if (bytes <= w->cap)
        return true;
    uint8_t *nb = realloc(w->buf, bytes);
    if (!nb)
        return false;
    memset(nb + w->len, 0, bytes - w->len);
    w->buf = nb;
    w->cap = bytes;
    return true;
}

void store_wset_free(struct store_wset *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

fw_err store_wset_apply(struct store_txn *t, const struct store_wset *w)
{
    for (size_t off = 0; off < w->len && !t->err;) {
        struct wrec h;
        memcpy(&h, w->buf + off, sizeof h);
        const uint8_t *k = w->buf + off + sizeof h, *v = k + h.klen;
        switch (h.op) {
        case WREC_PUT:
            store_txn_put_raw(t, h.dbi, k, h.klen, v, h.vlen, h.flags);
            break;
        case WREC_DEL:
            store_txn_del_raw(t, h.dbi, k, h.klen);
            break;
        default:
            store_txn_drop(t, h.dbi);
            break;
        }
        off += sizeof h + h.klen + h.vlen;
    }
    return t->err;
}

void store_txn_put(struct store_txn *t, MDB_dbi dbi, const struct key *k, const void *v,
                   size_t vlen, unsigned flags)
{
    store_txn_put_raw(t, dbi, k->b, k->len, v, vlen, flags);
}

void store_txn_put_raw(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen, const void *v,
                       size_t vlen, unsigned flags)
{
    if (t->err)
        return;
    if (t->wset) {
        wset_add(t, WREC_PUT, dbi, flags, k, klen, v, vlen);
        return;
    }
    MDB_val mk = {klen, (void *)k}, mv = {vlen, (void *)v};
    int rc = mdb_put(t->txn, dbi, &mk, &mv, flags);
    if (rc)
        t->err = store_map_err(rc);
}

void *store_txn_put_reserve(struct store_txn *t, MDB_dbi dbi, const struct key *k, size_t vlen,
                            unsigned flags)
{
    if (t->err)
        return NULL;
    if (t->wset)
        return wset_add(t, WREC_PUT, dbi, flags, k->b, k->len, NULL, vlen);
    MDB_val mk = {k->len, (void *)k->b}, mv = {vlen, NULL};
    int rc = mdb_put(t->txn, dbi, &mk, &mv, flags | MDB_RESERVE);
    if (rc)
        t->err = store_map_err(rc);
    return rc ? NULL : mv.mv_data;
}

fw_err store_txn_get_raw(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen, MDB_val *v)
{
    if (t->err)
        return t->err;
    MDB_val mk = {klen, (void *)k};
    int rc = mdb_get(t->txn, dbi, &mk, v);
    if (rc == MDB_NOTFOUND)
        return FW_ENOTFOUND;
    if (rc)
        t->err = store_map_err(rc);
    return t->err;
}

fw_err store_txn_get(struct store_txn *t, MDB_dbi dbi, const struct key *k, MDB_val *v)
{
    return store_txn_get_raw(t, dbi, k->b, k->len, v);
}

void store_txn_del_raw(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen)
{
    if (t->err)
        return;
    if (t->wset) {
        wset_add(t, WREC_DEL, dbi, 0, k, klen, NULL, 0);
        return;
    }
    MDB_val mk = {klen, (void *)k};
    int rc = mdb_del(t->txn, dbi, &mk, NULL);
    if (rc && rc != MDB_NOTFOUND)
        t->err = store_map_err(rc);
}

void store_txn_drop(struct store_txn *t, MDB_dbi dbi)
{
    if (t->err)
        return;
    if (t->wset) {
        wset_add(t, WREC_DROP, dbi, 0, NULL, 0, NULL, 0);
        return;
    }
    int rc = mdb_drop(t->txn, dbi, 0);
    if (rc)
        t->err = store_map_err(rc);
}

bool store_cursor_open(struct store_txn *t, MDB_dbi dbi, struct store_cursor *cur)
{
    cur->t = t;
    cur->c = NULL;
    if (t->err)
        return false;
    int rc = mdb_cursor_open(t->txn, dbi, &cur->c);
    if (rc) {
        cur->c = NULL;
        t->err = store_map_err(rc);
    }
    return cur->c != NULL;
}

/* A cursor move's outcome: true with a record; false at the end (not an error: MDB_NOTFOUND,
 * or EINVAL from GET_CURRENT after the last record was deleted), or on an error, made sticky. */
static bool cursor_result(struct store_cursor *cur, int rc)
{
    if (rc == 0)
        return true;
    if (rc != MDB_NOTFOUND && rc != EINVAL && !cur->t->err)
        cur->t->err = store_map_err(rc);
    return false;
}

bool store_cursor_get(struct store_cursor *cur, enum store_move how, MDB_val *k, MDB_val *v)
{
    static const MDB_cursor_op ops[] = {[STORE_FIRST] = MDB_FIRST,
                                        [STORE_LAST] = MDB_LAST,
                                        [STORE_NEXT] = MDB_NEXT,
                                        [STORE_PREV] = MDB_PREV,
                                        [STORE_CURRENT] = MDB_GET_CURRENT};
    if (!cur->c || cur->t->err)
        return false;
    return cursor_result(cur, mdb_cursor_get(cur->c, k, v, ops[how]));
}

bool store_cursor_seek(struct store_cursor *cur, const void *key, size_t klen, MDB_val *k,
                       MDB_val *v)
{
    if (!cur->c || cur->t->err)
        return false;
    k->mv_size = klen;
    k->mv_data = (void *)key;
    return cursor_result(cur, mdb_cursor_get(cur->c, k, v, MDB_SET_RANGE));
}

void store_cursor_del(struct store_cursor *cur)
{
    if (!cur->c || cur->t->err)
        return;
    int rc = mdb_cursor_del(cur->c, 0);
    if (rc)
        cur->t->err = store_map_err(rc);
}

void store_cursor_close(struct store_cursor *cur)
{
    if (cur->c)
        mdb_cursor_close(cur->c);
    cur->c = NULL;
}

fw_err store_txn_commit(struct store_txn *t)
{
    if (!t->txn)
        return t->err ? t->err : FW_ESTATE;
    if (t->err || t->wset) { /* a recording commits nothing: its write set is the result */
        fw_err err = t->err;
        store_txn_abort(t);
        return err;
    }
    int rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    map_holds--;
    pthread_rwlock_unlock(&t->st->map_lock);
    t->err = store_map_err(rc);
    return t->err;
}

void store_txn_abort(struct store_txn *t)
{
    if (t->txn) {
        mdb_txn_abort(t->txn);
        map_holds--;
        pthread_rwlock_unlock(&t->st->map_lock);
    }
    t->txn = NULL;
}

/* Grows the map by map_grow. Only with no transaction open anywhere in the process. */
static fw_err store_grow(struct store *st)
{
    size_t next = st->map_size + st->map_grow;
    int rc = mdb_env_set_mapsize(st->env, next);
    if (rc) {
        log_err("growing the LMDB map to %zu MiB: %s", next >> 20, mdb_strerror(rc));
        return store_map_err(rc);
    }
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    st->map_size = info.me_mapsize;
    log_info("LMDB map grown to %zu MiB", st->map_size >> 20);
    return FW_OK;
}

/* store_write's loop; *commit_ns: how long the successful commit took. */
static fw_err write_txn(struct store *st, store_fill_fn fill, void (*retry)(void *arg), void *arg,
                        uint64_t *grows, uint64_t *commit_ns)
{
    for (;;) {
        struct store_txn t;
        store_txn_begin(st, &t, false);
        fw_err err = t.err;
        if (!err)
            err = fill(&t, arg);
        if (!err) {
            uint64_t t0 = fw_mono_ns();
            err = store_txn_commit(&t);
            *commit_ns = fw_mono_ns() - t0;
        } else {
            if (t.err == FW_EMAPFULL)
                err = FW_EMAPFULL;
            store_txn_abort(&t);
        }
        if (err != FW_EMAPFULL)
            return err;
        if (grows)
            (*grows)++;
        /* Every other thread's transaction ends first (they are short: queries, rule passes). */
        if (map_holds) {
            log_err("the LMDB map is full, and cannot grow while this thread reads it");
            return FW_EMAPFULL;
        }
        pthread_rwlock_wrlock(&st->map_lock);
        err = store_grow(st);
        pthread_rwlock_unlock(&st->map_lock);
        if (err != FW_OK)
            return err;
        if (retry)
            retry(arg);
    }
}

fw_err store_write(struct store *st, store_fill_fn fill, void (*retry)(void *arg), void *arg,
                   uint64_t *grows)
{
    uint64_t ns = 0;
    return write_txn(st, fill, retry, arg, grows, &ns);
}

/* ---- the writer thread ---------------------------------------------------------------------- */

#define WRITER_NAME "fw-writer"

static void *writer_main(void *arg)
{
    struct store *st = arg;
    const char *name = WRITER_NAME;
    pthread_mutex_lock(&st->w.mu);
    for (;;) {
        while (!st->w.todo && !st->w.stop)
            pthread_cond_wait(&st->w.cv, &st->w.mu);
        struct store_job *job = st->w.todo;
        if (!job)
            break; /* stopping, nothing left to do */
        pthread_mutex_unlock(&st->w.mu);
        /* The thread's name says what it writes (top -H, /proc/PID/task/TID/comm). */
        const char *want = job->name ? job->name : WRITER_NAME;
        if (strcmp(want, name) != 0) {
            pthread_setname_np(pthread_self(), want);
            name = want;
        }
        job->grows = 0;
        job->commit_ns = 0;
        job->err = write_txn(st, job->fill, NULL, job->arg, &job->grows, &job->commit_ns);
        pthread_mutex_lock(&st->w.mu);
        st->w.todo = NULL;
        st->w.done = job;
        uint64_t one = 1;
        if (write(st->w.efd, &one, sizeof one) != sizeof one)
            log_warn("writer: cannot signal the loop: %s", strerror(errno));
    }
    pthread_mutex_unlock(&st->w.mu);
    return NULL;
}

fw_err store_writer_start(struct store *st)
{
    if (st->w.running)
        return FW_OK;
    st->w.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (st->w.efd < 0)
        return fw_err_from_errno(errno);
    pthread_mutex_init(&st->w.mu, NULL);
    pthread_cond_init(&st->w.cv, NULL);
    st->w.stop = false;
    st->w.todo = st->w.done = NULL;
    int rc = pthread_create(&st->w.thread, NULL, writer_main, st);
    if (rc) {
        close(st->w.efd);
        st->w.efd = -1;
        pthread_cond_destroy(&st->w.cv);
        pthread_mutex_destroy(&st->w.mu);
        return fw_err_from_errno(rc);
    }
    pthread_setname_np(st->w.thread, WRITER_NAME); /* ps -L, gdb, the fault tests */
    st->w.running = true;
    return FW_OK;
}

int store_writer_fd(const struct store *st)
{
    return st->w.efd;
}

void store_writer_submit(struct store *st, struct store_job *job)
{
    pthread_mutex_lock(&st->w.mu);
    st->w.todo = job;
    pthread_cond_signal(&st->w.cv);
    pthread_mutex_unlock(&st->w.mu);
}

struct store_job *store_writer_done(struct store *st)
{
    uint64_t n;
    if (read(st->w.efd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_warn("writer: reading its eventfd: %s", strerror(errno));
    pthread_mutex_lock(&st->w.mu);
    struct store_job *job = st->w.done;
    st->w.done = NULL;
    pthread_mutex_unlock(&st->w.mu);
    return job;
}

void store_writer_stop(struct store *st)
{
    if (!st->w.running)
        return;
    pthread_mutex_lock(&st->w.mu);
    st->w.stop = true;
    pthread_cond_signal(&st->w.cv);
    pthread_mutex_unlock(&st->w.mu);
    pthread_join(st->w.thread, NULL); /* a job in progress finishes first */
    pthread_cond_destroy(&st->w.cv);
    pthread_mutex_destroy(&st->w.mu);
    close(st->w.efd);
    st->w.efd = -1;
    st->w.running = false;
}
