#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

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
    switch (rc) {
    case MDB_SUCCESS:
        return FW_OK;
    case MDB_NOTFOUND:
        return FW_ENOTFOUND;
    case MDB_MAP_FULL:
        return FW_EMAPFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return FW_ECORRUPT;
    case MDB_MAP_RESIZED:
        return FW_EAGAIN;
    default:
        if (rc > 0)
            return fw_err_from_errno(rc);
        return FW_EIO;
    }
}

fw_err store_last_pos(struct store *st, MDB_dbi dbi, uint64_t *next)
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
        (rc = mdb_dbi_open(txn, "events", MDB_CREATE, &st->events)) ||
        (rc = mdb_dbi_open(txn, "quarantine", MDB_CREATE, &st->quarantine)) ||
        (rc = mdb_dbi_open(txn, "marks", MDB_CREATE, &st->marks)) ||
        (rc = mdb_dbi_open(txn, "terminals", MDB_CREATE, &st->terminals)) ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta)))
        goto fail_mdb;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc)
        goto fail_mdb;
    if ((err = store_last_pos(st, st->events, &st->next_event_pos)) ||
        (err = store_last_pos(st, st->quarantine, &st->next_quar_pos)))
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
    free(st);
    return err;
}

void store_destroy(struct store **pst)
{
    struct store *st = *pst;
    if (!st)
        return;
    mdb_env_close(st->env);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    free(st);
    *pst = NULL;
}

void store_txn_begin(struct store *st, struct store_txn *t, bool rdonly)
{
    t->st = st;
    t->txn = NULL;
    int rc = mdb_txn_begin(st->env, NULL, rdonly ? MDB_RDONLY : 0, &t->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map (mdb_copy, say): adopt it and retry once. */
        mdb_env_set_mapsize(st->env, 0);
        rc = mdb_txn_begin(st->env, NULL, rdonly ? MDB_RDONLY : 0, &t->txn);
    }
    t->err = store_map_err(rc);
}

void store_txn_put(struct store_txn *t, MDB_dbi dbi, const struct key *k, const void *v,
                   size_t vlen, unsigned flags)
{
    if (t->err)
        return;
    MDB_val mk = {k->len, (void *)k->b}, mv = {vlen, (void *)v};
    int rc = mdb_put(t->txn, dbi, &mk, &mv, flags);
    if (rc)
        t->err = store_map_err(rc);
}

fw_err store_txn_get(struct store_txn *t, MDB_dbi dbi, const struct key *k, MDB_val *v)
{
    if (t->err)
        return t->err;
    MDB_val mk = {k->len, (void *)k->b};
    int rc = mdb_get(t->txn, dbi, &mk, v);
    if (rc == MDB_NOTFOUND)
        return FW_ENOTFOUND;
    if (rc)
        t->err = store_map_err(rc);
    return t->err;
}

fw_err store_txn_commit(struct store_txn *t)
{
    if (!t->txn)
        return t->err ? t->err : FW_ESTATE;
    if (t->err) {
        mdb_txn_abort(t->txn);
        t->txn = NULL;
        return t->err;
    }
    int rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    t->err = store_map_err(rc);
    return t->err;
}

void store_txn_abort(struct store_txn *t)
{
    if (t->txn)
        mdb_txn_abort(t->txn);
    t->txn = NULL;
}

fw_err store_grow(struct store *st)
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
