/* The daemon's alert feed as its clients read it: see alertfeed.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "alertfeed.h"
#include "cli.h"
#include "fwcommon.h"
#include "tz.h"

/* --------------------------------------------------------------------------------------------
 * pub_seq per region
 * ------------------------------------------------------------------------------------------ */

struct feed_region *feed_seqs_get(struct feed_seqs *s, const char *region)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].region, region))
            return &s->v[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct feed_region *r = realloc(s->v, cap * sizeof *r);
        if (!r)
            return NULL;
        s->v = r;
        s->cap = cap;
    }
    struct feed_region *r = &s->v[s->n];
    memset(r, 0, sizeof *r);
    r->region = strdup(region);
    if (!r->region)
        return NULL;
    s->n++;
    return r;
}

void feed_seqs_set_snapshot(struct feed_seqs *s, const char *region, uint64_t seq)
{
    struct feed_region *r = feed_seqs_get(s, region);
    if (!r)
        return;
    r->snap = r->last = seq;
    r->has_snap = r->has_last = true;
}

void feed_seqs_free(struct feed_seqs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].region);
    free(s->v);
    memset(s, 0, sizeof *s);
}

enum feed_live feed_seqs_live(struct feed_seqs *s, const Floorwalker__Alert *a, bool track,
                              uint64_t *missed)
{
    struct feed_region *r = feed_seqs_get(s, a->region);
    enum feed_live st = FEED_NEXT;
    if (r && r->has_snap && a->pub_seq <= r->snap)
        return FEED_COVERED;
    if (r && track) {
        if (r->has_last && a->pub_seq > r->last + 1) {
            *missed = a->pub_seq - r->last - 1;
            st = FEED_GAP;
        }
        r->last = a->pub_seq;
        r->has_last = true;
    }
    return st;
}

/* --------------------------------------------------------------------------------------------
 * Live messages
 * ------------------------------------------------------------------------------------------ */

/* A printable copy of a topic frame for warnings. */
static void topic_str(const zmq_msg_t *m, char *buf, size_t len)
{
    const unsigned char *p = zmq_msg_data((zmq_msg_t *)m);
    size_t n = zmq_msg_size((zmq_msg_t *)m), j = 0;
    for (size_t i = 0; i < n && j + 4 < len; i++)
        buf[j++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    if (j + 4 >= len && n > j) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = 0;
}

Floorwalker__Alert *feed_recv(void *sub, const char *who)
{
    zmq_msg_t parts[2];
    int nparts = 0;
    Floorwalker__Alert *a = NULL;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sub, nparts ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (nparts == 0)
                return NULL; /* EAGAIN or EINTR: nothing after all */
            break;
        }
        bool more = zmq_msg_more(&m);
        if (nparts < 2)
            parts[nparts] = m;
        else
            zmq_msg_close(&m);
        nparts++;
        if (!more)
            break;
    }
    char topic[96];
    topic_str(&parts[0], topic, sizeof topic);
    if (nparts != 2) {
        fprintf(stderr,
                "%s: skipping a message of %d frame%s on topic \"%s\" (expected 2: topic, "
                "Alert)\n",
                who, nparts, nparts == 1 ? "" : "s", topic);
    } else {
        a = floorwalker__alert__unpack(NULL, zmq_msg_size(&parts[1]), zmq_msg_data(&parts[1]));
        if (!a)
            fprintf(stderr,
                    "%s: skipping a message on topic \"%s\": its %zu-byte body is not an Alert\n",
                    who, topic, zmq_msg_size(&parts[1]));
    }
    for (int i = 0; i < nparts && i < 2; i++)
        zmq_msg_close(&parts[i]);
    return a;
}

/* --------------------------------------------------------------------------------------------
 * The snapshot
 * ------------------------------------------------------------------------------------------ */

static const Floorwalker__Table *find_table(const Floorwalker__QueryResult *r, const char *name)
{
    for (size_t i = 0; i < r->n_tables; i++)
        if (!strcmp(r->tables[i]->name, name))
            return r->tables[i];
    return NULL;
}

static int64_t cell_int(const Floorwalker__Value *v)
{
    switch (v->v_case) {
    case FLOORWALKER__VALUE__V_I:
        return v->i;
    case FLOORWALKER__VALUE__V_D:
        return (int64_t)v->d;
    case FLOORWALKER__VALUE__V_S:
        return strtoll(v->s, NULL, 10);
    default:
        return 0;
    }
}

static const char *cell_s(const Floorwalker__Value *v)
{
    return v->v_case == FLOORWALKER__VALUE__V_S ? v->s : "";
}

/* An enum cell: its name (as the snapshot table normally has it) or its number. */
static int cell_enum(const Floorwalker__Value *v, const ProtobufCEnumDescriptor *d)
{
    if (v->v_case != FLOORWALKER__VALUE__V_S)
        return (int)cell_int(v);
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(d, v->s);
    return ev ? ev->value : 0;
}

/* A row of the snapshot's "alerts" table as an Alert: each column fills the Alert field of its
 * name ("store" is store_id); strings point into the row. Enum cells may be names or numbers. */
static void row_to_alert(const Floorwalker__Table *t, const Floorwalker__Row *row,
                         Floorwalker__Alert *a)
{
    const ProtobufCMessageDescriptor *d = &floorwalker__alert__descriptor;
    Floorwalker__Alert init = FLOORWALKER__ALERT__INIT;
    *a = init;
    for (size_t c = 0; c < t->n_columns && c < row->n_cells; c++) {
        const char *col = !strcmp(t->columns[c], "store") ? "store_id" : t->columns[c];
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name(d, col);
        const Floorwalker__Value *v = row->cells[c];
        if (!fd || fd->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        char *p = (char *)a + fd->offset;
        switch (fd->type) {
        case PROTOBUF_C_TYPE_STRING:
            *(const char **)p = cell_s(v);
            break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
            *(int64_t *)p = cell_int(v);
            break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            *(uint64_t *)p = (uint64_t)cell_int(v);
            break;
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
            *(int32_t *)p = (int32_t)cell_int(v);
            break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            *(uint32_t *)p = (uint32_t)cell_int(v);
            break;
        case PROTOBUF_C_TYPE_ENUM:
            *(int *)p = cell_enum(v, fd->descriptor);
            break;
        default:
            break;
        }
    }
}

void feed_take_snapshot(struct feed_seqs *s, const Floorwalker__QueryResult *r, const char *region,
                        feed_alert_fn fn, void *arg)
{
    const Floorwalker__Table *t = find_table(r, "pub_seq");
    if (t) {
        int ci = -1, cs = -1;
        for (size_t c = 0; c < t->n_columns; c++) {
            if (!strcmp(t->columns[c], "region"))
                ci = (int)c;
            else if (!strcmp(t->columns[c], "pub_seq"))
                cs = (int)c;
        }
        for (size_t i = 0; ci >= 0 && cs >= 0 && i < t->n_rows; i++) {
            const Floorwalker__Row *row = t->rows[i];
            if ((size_t)ci < row->n_cells && (size_t)cs < row->n_cells)
                feed_seqs_set_snapshot(s, cell_s(row->cells[ci]),
                                       (uint64_t)cell_int(row->cells[cs]));
        }
    }
    /* One region asked for but not in the table: QueryResult.pub_seq is what the snapshot is
     * current to. */
    if (region && r->pub_seq) {
        struct feed_region *rs = feed_seqs_get(s, region);
        if (rs && !rs->has_snap)
            feed_seqs_set_snapshot(s, region, r->pub_seq);
    }
    t = find_table(r, "alerts");
    for (size_t i = 0; t && i < t->n_rows; i++) {
        Floorwalker__Alert a;
        row_to_alert(t, t->rows[i], &a);
        if (!fn(arg, &a))
            break;
    }
}

void feed_monitor_wait_stop(void *sub, void *mon, uint64_t deadline, const fw_stop_flag *stop)
{
    /* The only event asked for (or an error, or the deadline: do not wait longer). */
    cli_monitor_next(mon, deadline, stop);
    zmq_socket_monitor(sub, NULL, 0);
    zmq_close(mon);
}

/* --------------------------------------------------------------------------------------------
 * Stores
 * ------------------------------------------------------------------------------------------ */

bool store_views_load(struct store_views *sv, const char *who, void *ctx, const char *query_ep,
                      int timeout_s, const fw_stop_flag *stop)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    Floorwalker__QueryResult *r = NULL;
    q.kind = FLOORWALKER__QUERY__KIND__STORES;
    sv->v = NULL;
    sv->n = 0;
    uint64_t deadline = fw_mono_ns() + (uint64_t)timeout_s * 1000000000u;
    if (cli_ask(who, ctx, query_ep, &q, timeout_s, deadline, stop, &r) != ASK_OK)
        return false;
    bool ok = r->status == FLOORWALKER__QUERY_RESULT__STATUS__OK;
    if (ok && r->n_stores && (sv->v = calloc(r->n_stores, sizeof *sv->v))) {
        for (size_t i = 0; i < r->n_stores; i++) {
            struct store_view *s = &sv->v[sv->n];
            s->id = strdup(r->stores[i]->id);
            s->name = strdup(r->stores[i]->name);
            s->region = strdup(r->stores[i]->region);
            if (!s->id || !s->name || !s->region) {
                free(s->id);
                free(s->name);
                free(s->region);
                break;
            }
            if (tz_load(&s->tz, r->stores[i]->timezone) != FW_OK)
                s->tz = NULL;
            sv->n++;
        }
    }
    floorwalker__query_result__free_unpacked(r, NULL);
    return ok;
}

const struct store_view *store_views_find(const struct store_views *sv, const char *id)
{
    for (size_t i = 0; i < sv->n; i++)
        if (!strcmp(sv->v[i].id, id))
            return &sv->v[i];
    return NULL;
}

void store_views_free(struct store_views *sv)
{
    for (size_t i = 0; i < sv->n; i++) {
        free(sv->v[i].id);
        free(sv->v[i].name);
        free(sv->v[i].region);
        tz_destroy(&sv->v[i].tz);
    }
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}
