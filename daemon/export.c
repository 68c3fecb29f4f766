#include "export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* meta: 'X' + exporter name -> be64 position exported through, be64 ms of the report. */
#define KEY_EXPORTER 'X'
#define EXPORTERS_MAX 64
#define LOG_READ_DEFAULT_LIMIT 1000
#define LOG_READ_MAX_LIMIT 10000

struct exporter {
    char name[FW_ID_MAX + 1];
    uint64_t pos;
    int64_t updated_ms;
    bool dirty;    /* changed since the last flush began */
    bool in_flush; /* its change is in the flush in flight */
};

struct exports {
    struct store *st;
    struct exporter x[EXPORTERS_MAX];
    size_t n;
    void (*flush)(void *arg);
    void *flush_arg;
};

static void exporter_key(uint8_t *k, size_t *klen, const char *name)
{
    size_t l = strlen(name);
    k[0] = KEY_EXPORTER;
    memcpy(k + 1, name, l);
    *klen = 1 + l;
}

fw_err exports_create(struct exports **out, struct store *st)
{
    struct exports *x = calloc(1, sizeof *x);
    if (!x)
        return FW_ENOMEM;
    x->st = st;
    struct store_txn t;
    store_txn_begin(st, &t, true);
    struct store_cursor cur;
    if (!t.err && store_cursor_open(&t, store_db(st, STORE_META), &cur)) {
        MDB_val k, v;
        uint8_t prefix = KEY_EXPORTER;
        for (bool ok = store_cursor_seek(&cur, &prefix, 1, &k, &v); ok && x->n < EXPORTERS_MAX;
             ok = store_cursor_get(&cur, STORE_NEXT, &k, &v)) {
            if (k.mv_size < 2 || ((uint8_t *)k.mv_data)[0] != KEY_EXPORTER)
                break;
            if (k.mv_size - 1 > FW_ID_MAX || v.mv_size != 16)
                continue;
            struct exporter *e = &x->x[x->n++];
            memcpy(e->name, (uint8_t *)k.mv_data + 1, k.mv_size - 1);
            e->name[k.mv_size - 1] = 0;
            e->pos = be64_get(v.mv_data);
            e->updated_ms = (int64_t)be64_get((uint8_t *)v.mv_data + 8);
        }
        store_cursor_close(&cur);
    }
    fw_err err = t.err;
    store_txn_abort(&t);
    if (err) {
        free(x);
        return err;
    }
    *out = x;
    return FW_OK;
}

void exports_destroy(struct exports **px)
{
    free(*px);
    *px = NULL;
}

void exports_set_flusher(struct exports *x, void (*fn)(void *arg), void *arg)
{
    x->flush = fn;
    x->flush_arg = arg;
}

fw_err exports_flush_begin(void *arg, struct store_wset *w, bool *started)
{
    struct exports *x = arg;
    *started = false;
    struct store_txn t;
    store_txn_begin_recording(x->st, &t, w);
    for (size_t i = 0; i < x->n && !t.err; i++) {
        struct exporter *e = &x->x[i];
        if (!e->dirty)
            continue;
        uint8_t k[1 + FW_ID_MAX], v[16];
        size_t klen;
        exporter_key(k, &klen, e->name);
        be64_put(v, e->pos);
        be64_put(v + 8, (uint64_t)e->updated_ms);
        store_txn_put_raw(&t, store_db(x->st, STORE_META), k, klen, v, sizeof v, 0);
        e->dirty = false;
        e->in_flush = true;
        *started = true;
    }
    fw_err err = t.err;
    fw_err end = store_txn_commit(&t); /* ends the recording */
    return err ? err : end;
}

void exports_flush_end(void *arg, fw_err err)
{
    struct exports *x = arg;
    for (size_t i = 0; i < x->n; i++) {
        struct exporter *e = &x->x[i];
        if (e->in_flush && err != FW_OK)
            e->dirty = true; /* written with the flush of its next report */
        e->in_flush = false;
    }
}

void exports_report(struct exports *x, const char *name, uint64_t pos, uint64_t log_end,
                    int64_t now_ms, struct result *res)
{
    char q[FW_ID_MAX * 4 + 8];
    if (!fw_id_valid(name)) {
        res_error(res, "exporter \"%s\" is not an id (1-64 of A-Z a-z 0-9 _ . -)",
                  fw_quote(q, sizeof q, name, FW_ID_MAX));
        return;
    }
    if (pos > log_end) {
        res_error(res,
                  "exporter %s reports position %" PRIu64 ", past the log's end %" PRIu64
                  ": is it exporting another daemon's log?",
                  name, pos, log_end);
        return;
    }
    struct exporter *e = NULL;
    for (size_t i = 0; i < x->n && !e; i++)
        if (!strcmp(x->x[i].name, name))
            e = &x->x[i];
    if (!e) {
        if (x->n == EXPORTERS_MAX) {
            res_error(res, "%d exporters are registered already; no room for %s", EXPORTERS_MAX,
                      name);
            return;
        }
        e = &x->x[x->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
        log_info("exporter %s registered at position %" PRIu64
                 "; retention now waits for it (see [storage] export_hold_max_days)",
                 name, pos);
    }
    e->pos = pos;
    e->updated_ms = now_ms;
    e->dirty = true;
    if (x->flush)
        x->flush(x->flush_arg);
    struct rtable t = res_table(res, "exporters", 2, "exporter", "pos");
    res_row(res, &t, "si", e->name, (int64_t)e->pos);
}

uint64_t exports_hold(const struct exports *x, const char **slowest)
{
    uint64_t hold = UINT64_MAX;
    *slowest = NULL;
    for (size_t i = 0; i < x->n; i++)
        if (x->x[i].pos < hold) {
            hold = x->x[i].pos;
            *slowest = x->x[i].name;
        }
    return hold;
}

/* The received time of the event at pos, or -1 if it is not in the log. */
static int64_t received_at(struct store_txn *t, struct store *st, uint64_t pos)
{
    struct key k;
    key_init(&k, KEY_EVENT);
    key_u64(&k, pos);
    MDB_val v;
    if (store_txn_get(t, store_db(st, STORE_EVENTS), &k, &v) != FW_OK || v.mv_size < 8)
        return -1;
    return (int64_t)be64_get(v.mv_data);
}

void exports_table(const struct exports *x, struct result *res, uint64_t log_end, int64_t now_ms)
{
    if (!x->n)
        return;
    struct rtable t =
        res_table(res, "exporters", 5, "exporter", "pos", "lag_events", "lag_ms", "updated_ms");
    struct store_txn tx;
    store_txn_begin(x->st, &tx, true);
    for (size_t i = 0; i < x->n; i++) {
        const struct exporter *e = &x->x[i];
        uint64_t behind = log_end > e->pos ? log_end - e->pos : 0;
        /* Seconds behind: the age of the oldest event it has not exported. */
        int64_t oldest = behind && !tx.err ? received_at(&tx, x->st, e->pos + 1) : -1;
        int64_t lag_ms = oldest >= 0 && now_ms > oldest ? now_ms - oldest : 0;
        res_row(res, &t, "siiii", e->name, (int64_t)e->pos, (int64_t)behind, lag_ms, e->updated_ms);
    }
    store_txn_abort(&tx);
}

void exports_log_read(struct store *st, struct arena *a, const Floorwalker__Query *qq,
                      int64_t max_result_bytes, uint64_t log_start, struct result *res)
{
    uint32_t limit = qq->limit ? qq->limit : LOG_READ_DEFAULT_LIMIT;
    if (limit > LOG_READ_MAX_LIMIT)
        limit = LOG_READ_MAX_LIMIT;
    /* Room for the entries' own fields beside the events' bytes. */
    uint64_t max_bytes = (uint64_t)max_result_bytes / 2;
    if (qq->max_bytes && qq->max_bytes < max_bytes)
        max_bytes = qq->max_bytes;
    uint64_t end = store_log_end(st);
    res->r.log_end = end;
    res->r.log_start = log_start;
    if (qq->after_position >= end)
        return;
    Floorwalker__LogEntry **v = arena_alloc(a, limit * sizeof *v);
    if (!v) {
        res->oom = true;
        return;
    }
    struct store_txn t;
    store_txn_begin(st, &t, true);
    struct store_cursor cur;
    if (t.err || !store_cursor_open(&t, store_db(st, STORE_EVENTS), &cur)) {
        store_txn_abort(&t);
        res_error(res, "cannot read the event log");
        return;
    }
    struct key from;
    key_init(&from, KEY_EVENT);
    key_u64(&from, qq->after_position + 1);
    MDB_val k, val;
    uint64_t bytes = 0;
    size_t n = 0;
    for (bool ok = store_cursor_seek(&cur, from.b, from.len, &k, &val); ok && n < limit;
         ok = store_cursor_get(&cur, STORE_NEXT, &k, &val)) {
        if (k.mv_size != 9 || ((uint8_t *)k.mv_data)[0] != KEY_EVENT || val.mv_size < 8)
            break;
        size_t elen = val.mv_size - 8;
        if (n && bytes + elen > max_bytes)
            break; /* one event always goes, so a reader never stalls on a big one */
        const uint8_t *raw = (const uint8_t *)val.mv_data + 8;
        Floorwalker__Event *ev = floorwalker__event__unpack(&a->pb, elen, raw);
        Floorwalker__LogEntry *e = arena_alloc(a, sizeof *e);
        uint8_t *copy = arena_alloc(a, elen ? elen : 1);
        if (!ev || !e || !copy) {
            if (!ev)
                log_err("log position %" PRIu64 " does not decode as an Event",
                        be64_get((uint8_t *)k.mv_data + 1));
            res->oom = !e || !copy;
            break;
        }
        floorwalker__log_entry__init(e);
        e->position = be64_get((uint8_t *)k.mv_data + 1);
        e->received_ms = (int64_t)be64_get(val.mv_data);
        e->store_id = ev->store_id;
        e->terminal_id = ev->terminal_id;
        e->epoch = ev->epoch;
        e->seq = ev->seq;
        memcpy(copy, raw, elen);
        e->event.data = copy;
        e->event.len = elen;
        v[n++] = e;
        bytes += elen;
    }
    store_cursor_close(&cur);
    store_txn_abort(&t);
    res->r.log = v;
    res->r.n_log = n;
}
