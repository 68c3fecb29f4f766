#include "ingest.h"

#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "arena.h"
#include "grow.h"
#include "auth.h"
#include "floorwalker.pb-c.h"
#include "htab.h"
#include "alerts.h"
#include "log.h"
#include "rules_timer.h"
#include "validate.h"
#include "zsock.h"

#define R(code) FLOORWALKER__REJECT_CODE__##code
#define STATS_VERSION 1

/* A (terminal, epoch) sequence mark: the highest seq handled. `pending` moves while a pass is
 * recorded; `flight` is the value of the pass the writer holds (the submitted one), `committed`
 * what LMDB holds. A pass that fails puts pending back to flight; a failed job puts both back
 * to committed. */
struct mark {
    uint64_t committed, flight, pending;
    uint64_t serial; /* the last pass that moved it (each pass lists its marks once) */
    char terminal[FW_ID_MAX + 1];
    uint64_t epoch;
};

/* Which store a terminal is bound to: from the config, or the first store it sent for. */
struct binding {
    char store[FW_ID_MAX + 1];
    bool committed; /* stored (or from the config) */
    bool from_config;
};

/* An Ack being built (its rejections in the pass's arena). */
struct ack_builder {
    Floorwalker__Ack ack;
    Floorwalker__Rejection **rej;
    size_t cap;
};

/* One message collected this pass. */
struct inmsg {
    zmq_msg_t id;
    zmq_msg_t body;
    int extra_frames; /* payload frames beyond the first */
    long nev;         /* events in the batch; -1 if the frame is not a protobuf message */
    size_t first;     /* index of its first slice in ingest.slices */
    uint8_t *ack;     /* packed Ack (arena) */
    size_t ack_len;
    /* Its recording, which may span slices (record_msg): the stage, the next event of it. */
    uint8_t stage;
    long next;
    Floorwalker__Event **evs;
    const char *key_name, *key_store; /* its terminal key's, if any (arena) */
    struct mark *mk;
    uint64_t mark;
    uint32_t stored, dups;
    struct ack_builder ab;
};

/* A module whose changes go with the next writer job (see ingest_add_flusher). */
struct flusher {
    struct ingest *in;
    ingest_flush_begin_fn *begin;
    ingest_flush_fill_fn *fill;
    ingest_flush_end_fn *end;
    void *arg;
    struct store_wset wset;
    bool want;   /* changes wait: they go with the next job */
    bool in_job; /* the job in flight carries them */
};

#define INGEST_FLUSHERS 4

/*
 * A pass: the messages received together, recorded in one transaction's write set, committed
 * by one writer job, applied and acked together. Two passes pipeline: the next is received and
 * recorded while the writer commits the last (its positions, marks and counters continue that
 * pass's; if that job fails, the next fails with it and nothing of either is acked).
 */
struct pass {
    uint64_t serial;
    struct inmsg *msgs; /* allocated once: messages must not move (see collect) */
    size_t nmsgs;
    struct fw_slice *slices;
    size_t nslices, slices_cap;
    struct arena arena;
    int64_t events;          /* events taken so far */
    uint64_t stored;         /* events appended */
    uint64_t quarantined;    /* quarantine records added */
    uint64_t pos0, qpos0;    /* log and quarantine positions it starts at */
    struct stats_persist sp; /* the counters as they stand after it */
    struct mark **marks;     /* the marks it moved */
    size_t nmarks, marks_cap;
    struct binding **bindings; /* bound by it */
    size_t nbind, bind_cap;
    /* Its stored events with their log positions: applied to the rollups once the commit has
     * succeeded, so the rollups never include what is not durable. */
    const Floorwalker__Event **applied;
    uint64_t *applied_pos;
    size_t napplied, applied_cap, apply_off;
    bool acked; /* all applied, its acks sent */
    struct store_wset wset;
    struct store_txn rec; /* its recording, while it is ingest.rec_p */
    size_t rec_from;      /* its first message not yet recorded */
};

struct ingest {
    struct ev_loop *loop;
    void *router;
    struct zsock_watcher w;
    const struct config *cfg;
    struct store *st;
    struct stats_persist *sp; /* as committed */
    struct stats_runtime *sr;
    char endpoint[CONFIG_EP_MAX];

    struct htab *marks;    /* "terminal/epoch" -> struct mark */
    struct htab *bindings; /* terminal -> struct binding */

    size_t msgs_cap;
    /* The two passes and where each stands (NULL: none there). In order: received and
     * recorded; recorded, waiting for the writer; with the writer; committed, being applied;
     * committed, waiting for the one being applied. */
    struct pass passes[2];
    struct pass *rec_p, *ready_p, *flight_p, *apply_p, *queue_p;
    bool end_rec; /* rec_p ends at the next apply step (on_committed) */
    uint64_t serials;
    /* The writer thread's job: a pass's writes and/or a rollup checkpoint's part, in one
     * transaction, committed while the loop records the next pass and serves queries and
     * subscribers. */
    struct flusher flushers[INGEST_FLUSHERS]; /* alerts, exporters: their changes */
    size_t nflushers;
    struct store_job job;
    bool inflight;   /* a job is with the writer */
    bool job_cp;     /* ... it writes a rollup checkpoint, or a slice of one */
    bool want_cp;    /* a checkpoint is due: it goes with the next job */
    bool ahead_done; /* ... and the alerts' figures have been stored ahead of it (store_ahead) */
    bool snap_done;  /* ... and its snapshot has been taken (snapshot_ahead) */
    /*
     * A pass in slices: the loop receives and records messages a few at a time until [ingest]
     * pass_budget_ms of its work is spent (it reads the clock between chunks, whatever an event
     * costs), and serves queries and subscribers between slices; the pass's recording
     * transaction stays open across them until the socket is drained or the pass is full, and
     * the whole pass is one write job. After the commit its events are applied to the rollups
     * in slices the same way, and the acks go out once all are applied.
     */
    ev_idle apply_w; /* active while a committed pass is being applied */
    ev_idle send_w;  /* ... while a committed flush's alerts are being published */
    ev_idle ahead_w; /* ... while the alerts' figures are stored ahead of a checkpoint */
    ev_idle snap_w;  /* ... while a checkpoint's snapshot is taken (snapshot_ahead) */
    ev_idle evict_w; /* ... while the rollups' cache evicts cells (on_evict) */
    /* The slices of one loop iteration share one budget (slice_end): receiving, applying and
     * publishing can each be ready at once, and a query waits for all of them. */
    unsigned slice_iter;
    uint64_t slice_end_ns;      /* 0: none yet */
    bool (*waiting)(void *arg); /* a query waits: the slice ends early (ingest_set_yield) */
    void *waiting_arg;
    uint64_t yielded_ns; /* when a slice last ended early for one */
    uint64_t asked_ns;   /* when waiting() was last asked */
    bool stopping;       /* ingest_destroy runs: no new job */
    ev_io done_w;        /* the writer's eventfd */
    struct rollup *rollup;
    struct rules *rules;
    struct alerts *alerts;
};

/* Room in p->applied for ncap events. */
static bool applied_reserve(struct pass *p, size_t ncap)
{
    if (ncap <= p->applied_cap)
        return true;
    const Floorwalker__Event **ne = realloc(p->applied, ncap * sizeof *ne);
    if (!ne)
        return false;
    p->applied = ne;
    uint64_t *np = realloc(p->applied_pos, ncap * sizeof *np);
    if (!np)
        return false;
    p->applied_pos = np;
    p->applied_cap = ncap;
    return true;
}

static int applied_add(struct pass *p, const Floorwalker__Event *e, uint64_t pos)
{
    if (p->napplied == p->applied_cap &&
        !applied_reserve(p, p->applied_cap ? p->applied_cap * 2 : 1024))
        return -1;
    p->applied[p->napplied] = e;
    p->applied_pos[p->napplied++] = pos;
    return 0;
}

/*
 * A pass's buffers are taken and touched at start for a pass of WARM_EVENTS: grown on the
 * loop's first passes instead (realloc copies, page faults), recording cost 5-6 us per event
 * for the first 0.3 s against 0.7 after. Measured per event at the bench's full load: ~580
 * bytes of arena (decoded events), ~140 of write set.
 */
#define WARM_EVENTS 8192

static bool pass_warm(struct pass *p)
{
    size_t n = WARM_EVENTS;
    struct fw_slice *sl = grow_array(p->slices, &p->slices_cap, n, sizeof *sl);
    if (!sl)
        return false;
    p->slices = sl;
    return arena_reserve(&p->arena, n * 640) && store_wset_reserve(&p->wset, n * 160) &&
           applied_reserve(p, n);
}

/* ... and the rollup checkpoint's snapshot for about 20,000 cells: grown on the loop instead,
 * the first checkpoints' snapshots took 3-5 ms against 0.7 after. */
#define WARM_CHECKPOINT_BYTES (3u << 20)

/* ---- sequence marks and bindings ------------------------------------------------------------ */

static struct mark *mark_get(struct ingest *in, struct store_txn *t, const char *terminal,
                             uint64_t epoch)
{
    char hk[FW_ID_MAX + 24];
    snprintf(hk, sizeof hk, "%s/%" PRIu64, terminal, epoch);
    struct mark *m = htab_get(in->marks, hk);
    if (m)
        return m;
    m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    snprintf(m->terminal, sizeof m->terminal, "%s", terminal);
    m->epoch = epoch;
    struct key k;
    key_init(&k, KEY_MARK);
    key_id(&k, terminal);
    key_u64(&k, epoch);
    MDB_val v;
    fw_err e = store_txn_get(t, store_db(in->st, STORE_MARKS), &k, &v);
    if (e == FW_OK && v.mv_size >= 8)
        m->committed = m->flight = m->pending = be64_get(v.mv_data);
    else if (e != FW_ENOTFOUND) {
        free(m);
        return NULL;
    }
    if (htab_put(in->marks, hk, m) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

static int mark_set(struct pass *p, struct mark *m, uint64_t seq)
{
    if (m->serial != p->serial) {
        struct mark **d = grow_array(p->marks, &p->marks_cap, p->nmarks + 1, sizeof *d);
        if (!d)
            return -1;
        p->marks = d;
        d[p->nmarks++] = m;
        m->serial = p->serial;
    }
    m->pending = seq;
    return 0;
}

static struct binding *binding_get(struct ingest *in, struct store_txn *t, const char *terminal)
{
    struct binding *b = htab_get(in->bindings, terminal);
    if (b)
        return b;
    struct key k;
    key_init(&k, KEY_TERMINAL);
    key_id(&k, terminal);
    MDB_val v;
    fw_err e = store_txn_get(t, store_db(in->st, STORE_TERMINALS), &k, &v);
    if (e == FW_ENOTFOUND)
        return NULL;
    if (e != FW_OK || v.mv_size == 0 || v.mv_size > FW_ID_MAX)
        return NULL;
    b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    memcpy(b->store, v.mv_data, v.mv_size);
    b->committed = true;
    if (htab_put(in->bindings, terminal, b) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

/* Binds a terminal to a store during pass p (zero-config mode: first store seen wins). */
static int binding_add(struct ingest *in, struct pass *p, const char *terminal, const char *store)
{
    struct binding *b = htab_get(in->bindings, terminal);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            return -1;
        if (htab_put(in->bindings, terminal, b) != 0) {
            free(b);
            return -1;
        }
    }
    snprintf(b->store, sizeof b->store, "%s", store);
    struct binding **nb = grow_array(p->bindings, &p->bind_cap, p->nbind + 1, sizeof *nb);
    if (!nb)
        return -1;
    p->bindings = nb;
    nb[p->nbind++] = b;
    return 0;
}

/* Pass p goes to the writer: its marks' values are the job's. */
static void pass_submitted(struct pass *p)
{
    for (size_t i = 0; i < p->nmarks; i++)
        p->marks[i]->flight = p->marks[i]->pending;
}

/* Pass p committed: what it moved is what LMDB holds. */
static void pass_committed(struct pass *p)
{
    for (size_t i = 0; i < p->nmarks; i++)
        p->marks[i]->committed = p->marks[i]->flight;
    for (size_t i = 0; i < p->nbind; i++)
        p->bindings[i]->committed = true;
    p->nmarks = p->nbind = 0;
}

/* Pass p is dropped: what it moved goes back (to the job's values if it never reached the
 * writer, else to LMDB's). Its bindings are forgotten: the next pass looks in LMDB again. */
static void pass_undo(struct pass *p, bool submitted)
{
    for (size_t i = 0; i < p->nmarks; i++) {
        struct mark *m = p->marks[i];
        if (submitted)
            m->flight = m->committed;
        m->pending = m->flight;
    }
    for (size_t i = 0; i < p->nbind; i++)
        if (!p->bindings[i]->committed)
            p->bindings[i]->store[0] = 0;
    p->nmarks = p->nbind = 0;
}

/*
 * The mark and binding tables are caches of what LMDB holds (every change is written in the
 * pass's transaction, and a settled pass leaves nothing pending), so past a size they are
 * dropped and refilled on demand: many terminals, or a peer inventing terminal ids and epochs,
 * cannot grow the daemon's memory without bound.
 */
#define INGEST_CACHE_MAX 200000

static void bound_cache(struct htab **h)
{
    if (htab_count(*h) <= INGEST_CACHE_MAX)
        return;
    struct htab *n = htab_new();
    if (!n)
        return; /* keep the full one; try again next pass */
    htab_destroy(h, free);
    *h = n;
}

/* Only with no pass under way: their marks and bindings are in the caches only. */
static void bound_caches(struct ingest *in)
{
    if (in->rec_p || in->ready_p || in->flight_p || in->apply_p || in->queue_p)
        return;
    bound_cache(&in->marks);
    bound_cache(&in->bindings);
}

/* ---- one message ---------------------------------------------------------------------------- */

static int ack_reject(struct pass *p, struct ack_builder *ab, uint64_t seq,
                      Floorwalker__RejectCode code, const char *reason)
{
    if (ab->ack.n_rejected == ab->cap) {
        size_t ncap = ab->cap ? ab->cap * 2 : 8;
        Floorwalker__Rejection **n = arena_alloc(&p->arena, ncap * sizeof *n);
        if (!n)
            return -1;
        if (ab->cap)
            memcpy(n, ab->rej, ab->cap * sizeof *n);
        ab->rej = n;
        ab->cap = ncap;
        ab->ack.rejected = n;
    }
    Floorwalker__Rejection *r = arena_alloc(&p->arena, sizeof *r);
    if (!r)
        return -1;
    floorwalker__rejection__init(r);
    r->seq = seq;
    r->code = code;
    r->reason = arena_strdup(&p->arena, reason);
    if (!r->reason)
        return -1;
    ab->rej[ab->ack.n_rejected++] = r;
    return 0;
}

static void quarantine(struct ingest *in, struct pass *p, struct store_txn *t, const char *terminal,
                       uint64_t epoch, uint64_t seq, Floorwalker__RejectCode code,
                       const char *reason, const uint8_t *raw, size_t len)
{
    Floorwalker__QuarantineRecord q = FLOORWALKER__QUARANTINE_RECORD__INIT;
    q.received_ms = (int64_t)(ev_now(in->loop) * 1000);
    q.terminal_id = (char *)terminal;
    q.epoch = epoch;
    q.seq = seq;
    q.code = code;
    q.reason = (char *)reason;
    q.raw.data = (uint8_t *)raw;
    q.raw.len = len;
    size_t n = floorwalker__quarantine_record__get_packed_size(&q);
    uint8_t *buf = arena_alloc(&p->arena, n);
    if (!buf) {
        t->err = FW_ENOMEM;
        return;
    }
    floorwalker__quarantine_record__pack(&q, buf);
    struct key k;
    key_init(&k, KEY_QUARANTINE);
    key_u64(&k, p->qpos0 + p->quarantined++);
    store_txn_put(t, store_db(in->st, STORE_QUARANTINE), &k, buf, n, MDB_APPEND);
    p->sp.quarantined++;
    p->sp.rejects_by_code[code]++;
}

static void batch_error(struct ingest *in, struct pass *p, struct store_txn *t, struct inmsg *m,
                        Floorwalker__RejectCode code, bool keep, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* The batch as a whole is refused. keep: the frame goes to quarantine (it cannot be resent
 * usefully); otherwise the sender is expected to fix and resend (too big, too many events). */
static void batch_error(struct ingest *in, struct pass *p, struct store_txn *t, struct inmsg *m,
                        Floorwalker__RejectCode code, bool keep, const char *fmt, ...)
{
    struct ack_builder *ab = &m->ab;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    ab->ack.batch_code = code;
    ab->ack.batch_error = arena_strdup(&p->arena, reason);
    if (!ab->ack.batch_error)
        ab->ack.batch_error = (char *)"";
    if (keep)
        quarantine(in, p, t, "", 0, 0, code, reason, zmq_msg_data(&m->body),
                   zmq_msg_size(&m->body));
    else
        p->sp.rejects_by_code[code]++;
    in->sr->bad_batches++;
}

/* Checks what needs the daemon's state: known store and terminal, and the binding. */
static Floorwalker__RejectCode check_origin(struct ingest *in, struct store_txn *t,
                                            const Floorwalker__Event *e, char *reason, size_t len,
                                            bool *bind)
{
    const struct config *cfg = in->cfg;
    *bind = false;
    if (cfg->nstores && !config_find_store(cfg, e->store_id)) {
        snprintf(reason, len, "store \"%s\" is not in the configuration", e->store_id);
        return R(UNKNOWN_STORE);
    }
    const struct config_terminal *ct =
        cfg->nterminals ? config_find_terminal(cfg, e->terminal_id) : NULL;
    if (cfg->nterminals && !ct) {
        snprintf(reason, len, "terminal \"%s\" is not in the configuration", e->terminal_id);
        return R(UNKNOWN_TERMINAL);
    }
    const char *bound = ct ? ct->store : NULL;
    if (!bound) {
        struct binding *b = binding_get(in, t, e->terminal_id);
        if (b && b->store[0])
            bound = b->store;
        else
            *bind = true;
    }
    if (bound && strcmp(bound, e->store_id)) {
        snprintf(reason, len, "terminal \"%s\" belongs to store \"%s\", not \"%s\"", e->terminal_id,
                 bound, e->store_id);
        return R(TERMINAL_STORE_MISMATCH);
    }
    return R(REJECT_NONE);
}

/*
 * A message is recorded in stages, and the decoding and storing a chunk of events at a time
 * (record_msg): a terminal's batch of 1,000 events costs about a millisecond, too much to do
 * whole in a slice of [ingest] pass_budget_ms. Where it stands is kept in its struct inmsg.
 */
enum rec_stage { REC_OPEN, REC_DECODE, REC_CHECK, REC_STORE, REC_REPLY, REC_DONE };

#define RECORD_CHUNK 128   /* events decoded or stored between clock readings */
#define SPLIT_ROOM 1024    /* slices kept free for the next message: one walk splits a batch */
#define COLLECT_EVENTS 256 /* received at a time, and recorded before more are taken */

/* The frame as a whole: its key, its size, its event count. */
static enum rec_stage msg_open(struct ingest *in, struct pass *p, struct inmsg *m)
{
    struct store_txn *t = &p->rec;
    size_t size = zmq_msg_size(&m->body);
    const struct config_key *key = NULL;

    m->ab = (struct ack_builder){.ack = FLOORWALKER__ACK__INIT};
    m->ack = NULL;
    if (in->cfg->curve && !(key = auth_msg_key(in->cfg, &m->body))) {
        /* Its key was revoked by a reload after it connected: no service, and no ack, so a
         * terminal revoked by mistake keeps its events spooled until its key is back. */
        in->sr->key_revoked++;
        return REC_DONE;
    }
    if (m->extra_frames) {
        in->sr->frames_multipart++;
        batch_error(in, p, t, m, R(BAD_BATCH), false, "expected one frame (an EventBatch), got %d",
                    m->extra_frames + 1);
        return REC_REPLY;
    }
    if ((int64_t)size > in->cfg->max_msg_bytes) {
        in->sr->frames_oversize++;
        batch_error(in, p, t, m, R(BAD_BATCH), false,
                    "frame of %zu bytes is over the limit of %" PRId64 "; send smaller batches",
                    size, in->cfg->max_msg_bytes);
        return REC_REPLY;
    }
    if (m->nev < 0) {
        in->sr->frames_garbage++;
        batch_error(in, p, t, m, R(DECODE_ERROR), true, "frame is not an EventBatch");
        return REC_REPLY;
    }
    if (m->nev == 0) {
        in->sr->frames_empty++;
        batch_error(in, p, t, m, R(BAD_BATCH), false, "batch has no events");
        return REC_REPLY;
    }
    if (m->nev > in->cfg->max_events_per_batch) {
        batch_error(in, p, t, m, R(BAD_BATCH), false, "batch has %ld events, the limit is %" PRId64,
                    m->nev, in->cfg->max_events_per_batch);
        return REC_REPLY;
    }
    /* A terminal's key binds it to a store: kept (not the key, which a reload may free). */
    if (key && key->role == KEY_ROLE_TERMINAL &&
        (!(m->key_name = arena_strdup(&p->arena, key->name)) ||
         !(m->key_store = arena_strdup(&p->arena, key->store)))) {
        t->err = FW_ENOMEM;
        return REC_DONE;
    }
    m->evs = arena_alloc(&p->arena, (size_t)m->nev * sizeof *m->evs);
    if (!m->evs) {
        t->err = FW_ENOMEM;
        return REC_DONE;
    }
    m->next = 0;
    return REC_DECODE;
}

static enum rec_stage msg_decode(struct ingest *in, struct pass *p, struct inmsg *m, long *steps)
{
    for (; m->next < m->nev; m->next++) {
        if (--*steps < 0)
            return REC_DECODE;
        const struct fw_slice *s = &p->slices[m->first + (size_t)m->next];
        m->evs[m->next] = floorwalker__event__unpack(&p->arena.pb, s->len, s->p);
        if (!m->evs[m->next]) {
            in->sr->frames_garbage++;
            batch_error(in, p, &p->rec, m, R(DECODE_ERROR), true,
                        "event %ld of the batch does not decode as an Event", m->next);
            return REC_REPLY;
        }
    }
    return REC_CHECK;
}

/* One terminal and epoch, and its sequence mark. */
static enum rec_stage msg_check(struct ingest *in, struct pass *p, struct inmsg *m)
{
    struct store_txn *t = &p->rec;
    Floorwalker__Event **evs = m->evs;
    const char *term = evs[0]->terminal_id;
    uint64_t epoch = evs[0]->epoch;
    char q[FW_ID_MAX * 4 + 8];
    m->ab.ack.epoch = epoch;
    if (!fw_id_valid(term)) {
        /* Not echoed back as terminal_id: an Ack's strings must be valid UTF-8. */
        batch_error(in, p, t, m, term[0] ? R(BAD_ID) : R(MISSING_ID), true,
                    "terminal_id \"%s\" is not an id (1-64 of A-Z a-z 0-9 _ . -)",
                    fw_quote(q, sizeof q, term, FW_ID_MAX));
        return REC_REPLY;
    }
    m->ab.ack.terminal_id = (char *)term;
    if (epoch == 0) {
        batch_error(in, p, t, m, R(BAD_SEQ), true, "epoch must be at least 1");
        return REC_REPLY;
    }
    for (long i = 1; i < m->nev; i++) {
        if (strcmp(evs[i]->terminal_id, term) || evs[i]->epoch != epoch) {
            batch_error(in, p, t, m, R(BAD_BATCH), true,
                        "event %ld is from terminal %s epoch %" PRIu64
                        "; a batch holds one terminal and epoch",
                        i, fw_quote(q, sizeof q, evs[i]->terminal_id, FW_ID_MAX), evs[i]->epoch);
            return REC_REPLY;
        }
    }
    m->mk = mark_get(in, t, term, epoch);
    if (!m->mk) {
        if (!t->err)
            t->err = FW_ENOMEM;
        return REC_DONE;
    }
    m->mark = m->mk->pending;
    m->next = 0;
    return REC_STORE;
}

/* One event, in sequence: stored (and applied once committed), or quarantined; t->err set
 * when out of memory. */
static void store_event(struct ingest *in, struct pass *p, struct inmsg *m,
                        const Floorwalker__Event *e, const struct fw_slice *s,
                        const struct validate_limits *lim)
{
    struct store_txn *t = &p->rec;
    const char *term = m->ab.ack.terminal_id;
    char reason[512];
    bool bind = false;
    Floorwalker__RejectCode code = validate_event(e, lim, reason, sizeof reason);
    if (code == R(REJECT_NONE) && m->key_store && strcmp(m->key_store, e->store_id)) {
        snprintf(reason, sizeof reason,
                 "the client key \"%s\" is bound to store \"%s\", not \"%.64s\"", m->key_name,
                 m->key_store, e->store_id);
        code = R(KEY_STORE_MISMATCH);
    }
    if (code == R(REJECT_NONE))
        code = check_origin(in, t, e, reason, sizeof reason, &bind);
    if (code != R(REJECT_NONE)) {
        quarantine(in, p, t, term, m->ab.ack.epoch, e->seq, code, reason, s->p, s->len);
        if (ack_reject(p, &m->ab, e->seq, code, reason))
            t->err = FW_ENOMEM;
        return;
    }
    if (bind) {
        struct key bk;
        key_init(&bk, KEY_TERMINAL);
        key_id(&bk, term);
        store_txn_put(t, store_db(in->st, STORE_TERMINALS), &bk, e->store_id, strlen(e->store_id),
                      0);
        if (binding_add(in, p, term, e->store_id)) {
            t->err = FW_ENOMEM;
            return;
        }
    }
    struct key k;
    key_init(&k, KEY_EVENT);
    uint64_t pos = p->pos0 + p->stored;
    key_u64(&k, pos);
    if (applied_add(p, e, pos)) {
        t->err = FW_ENOMEM;
        return;
    }
    /* The value, the arrival time and the event's bytes, written in place. */
    uint8_t *val =
        store_txn_put_reserve(t, store_db(in->st, STORE_EVENTS), &k, 8 + s->len, MDB_APPEND);
    if (!val)
        return;
    be64_put(val, (uint64_t)(ev_now(in->loop) * 1000));
    memcpy(val + 8, s->p, s->len);
    p->stored++;
    p->sp.events_total++;
    p->sp.events_by_kind[stats_kind_index((int)e->body_case)]++;
    m->stored++;
}

static enum rec_stage msg_store(struct ingest *in, struct pass *p, struct inmsg *m,
                                const struct validate_limits *lim, long *steps)
{
    struct store_txn *t = &p->rec;
    for (; m->next < m->nev; m->next++) {
        if (--*steps < 0)
            return REC_STORE;
        const Floorwalker__Event *e = m->evs[m->next];
        if (e->seq <= m->mark) {
            m->dups++;
            continue;
        }
        if (e->seq != m->mark + 1) {
            char reason[128];
            snprintf(reason, sizeof reason, "sequence gap: got seq %" PRIu64 ", expected %" PRIu64,
                     e->seq, m->mark + 1);
            if (ack_reject(p, &m->ab, e->seq, R(SEQ_GAP), reason)) {
                t->err = FW_ENOMEM;
                return REC_DONE;
            }
            in->sr->gaps++;
            break;
        }
        store_event(in, p, m, e, &p->slices[m->first + (size_t)m->next], lim);
        if (t->err)
            return REC_DONE;
        m->mark = e->seq;
    }
    if (m->mark != m->mk->pending && mark_set(p, m->mk, m->mark)) {
        t->err = FW_ENOMEM;
        return REC_DONE;
    }
    m->ab.ack.acked_seq = m->mark;
    m->ab.ack.expected_seq = m->mark + 1;
    m->ab.ack.stored = m->stored;
    m->ab.ack.duplicates = m->dups;
    p->sp.duplicates += m->dups;
    p->sp.batches++;
    return REC_REPLY;
}

static enum rec_stage msg_reply(struct pass *p, struct inmsg *m)
{
    m->ack_len = floorwalker__ack__get_packed_size(&m->ab.ack);
    m->ack = arena_alloc(&p->arena, m->ack_len ? m->ack_len : 1);
    if (!m->ack) {
        p->rec.err = FW_ENOMEM;
        return REC_DONE;
    }
    floorwalker__ack__pack(&m->ab.ack, m->ack);
    return REC_DONE;
}

/* Records message m, spending at most *steps events' worth of decoding and storing: false
 * while it has more (where it stands is kept in m). */
static bool record_msg(struct ingest *in, struct pass *p, struct inmsg *m,
                       const struct validate_limits *lim, long *steps)
{
    while (m->stage != REC_DONE && !p->rec.err) {
        enum rec_stage next = REC_DONE;
        switch ((enum rec_stage)m->stage) {
        case REC_OPEN:
            next = msg_open(in, p, m);
            break;
        case REC_DECODE:
            next = msg_decode(in, p, m, steps);
            break;
        case REC_CHECK:
            next = msg_check(in, p, m);
            break;
        case REC_STORE:
            next = msg_store(in, p, m, lim, steps);
            break;
        case REC_REPLY:
            next = msg_reply(p, m);
            break;
        case REC_DONE:
            break;
        }
        if (next == m->stage)
            return false; /* out of steps */
        m->stage = (uint8_t)next;
    }
    return true;
}

/*
 * A slice ends once the loop iteration has spent [ingest] pass_budget_ms on slices (receiving,
 * applying and publishing share it, and each does at least one chunk): the clock is read after
 * each chunk, so a query waits behind at most one budget however the cost per event varies
 * (cold cells, alert-heavy events), and mostly far less (slice_over). A chunk costs well under a
 * millisecond: 64 events applied, 128 decoded or stored (RECORD_CHUNK; a message may be left
 * mid-way, see record_msg).
 */
#define APPLY_CHUNK 64 /* events applied between clock readings */

static uint64_t slice_end(struct ingest *in, uint64_t now)
{
    unsigned it = ev_iteration(in->loop);
    if (it != in->slice_iter || !in->slice_end_ns) {
        in->slice_iter = it;
        in->slice_end_ns = now + (uint64_t)in->cfg->pass_budget_ms * 1000000u;
    }
    return in->slice_end_ns;
}

/* Whether the slice ending at `end` is over: its budget spent, or a query waits (answered
 * between slices, it waits behind a chunk and at most half a budget instead of the budget).
 * Slices end early at most once per half budget, so that queries asked back to back cannot
 * take the loop from ingest, and the socket is asked at most every WAITING_NS (each asking is
 * a system call). */
#define WAITING_NS 250000u

static bool slice_over(struct ingest *in, uint64_t end)
{
    uint64_t now = fw_mono_ns();
    if (now >= end)
        return true;
    if (!in->waiting || now - in->asked_ns < WAITING_NS ||
        now - in->yielded_ns < (uint64_t)in->cfg->pass_budget_ms * 500000u)
        return false;
    in->asked_ns = now;
    if (!in->waiting(in->waiting_arg))
        return false;
    in->yielded_ns = now;
    return true;
}

/* slice_end for a module that reads the clock itself: 0 (one chunk) when a query waits. */
static uint64_t slice_until(struct ingest *in)
{
    uint64_t end = slice_end(in, fw_mono_ns());
    return slice_over(in, end) ? 0 : end;
}

/* ---- a pass --------------------------------------------------------------------------------- */

static void msg_release(struct inmsg *m)
{
    zmq_msg_close(&m->id);
    zmq_msg_close(&m->body);
}

/*
 * Receives one slice into pass p: up to `cap` events more (and within the pass's limits),
 * appended to its messages, each split into its events' slices as it comes. The slices point
 * into the messages: the message array never moves while it holds messages (a zmq_msg_t must
 * not be moved, and a small message's bytes live inside it). *drained: the socket had nothing
 * more. Returns the messages added.
 */
/* Splits message m (whose body is in place in p->msgs) into its events' slices at the end of
 * p->slices, in one walk when they fit in the room there (a second when a batch needs more).
 * Returns the events (m->first the first one's slice), or -1 when the body is not a Batch or
 * out of memory (answered as undecodable; the terminal resends). A batch of more events than
 * the limit keeps no slices. */
static long split(struct ingest *in, struct pass *p, struct inmsg *m)
{
    const uint8_t *body = zmq_msg_data(&m->body);
    size_t len = zmq_msg_size(&m->body);
    struct fw_slice *sl =
        grow_array(p->slices, &p->slices_cap, p->nslices + SPLIT_ROOM, sizeof *sl);
    if (!sl)
        return -1;
    p->slices = sl;
    long n = fw_batch_split(body, len, sl + p->nslices, p->slices_cap - p->nslices);
    if (n <= 0 || n > in->cfg->max_events_per_batch)
        return n;
    if ((size_t)n > p->slices_cap - p->nslices) {
        sl = grow_array(p->slices, &p->slices_cap, p->nslices + (size_t)n, sizeof *sl);
        if (!sl)
            return -1;
        p->slices = sl;
        fw_batch_split(body, len, sl + p->nslices, (size_t)n);
    }
    m->first = p->nslices;
    p->nslices += (size_t)n;
    return n;
}

static size_t collect(struct ingest *in, struct pass *p, int64_t cap, bool *drained)
{
    int64_t events = 0;
    size_t from = p->nmsgs;
    *drained = false;
    while (p->nmsgs < in->msgs_cap && events < cap &&
           p->events + events < in->cfg->commit_max_events) {
        struct inmsg *m = &p->msgs[p->nmsgs];
        memset(m, 0, sizeof *m);
        zmq_msg_init(&m->id);
        if (zmq_msg_recv(&m->id, in->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m->id);
            *drained = true;
            break;
        }
        zmq_msg_init(&m->body);
        if (!zmq_msg_more(&m->id) || zmq_msg_recv(&m->body, in->router, 0) < 0) {
            /* A ROUTER always hands over identity + at least one frame; be safe anyway. */
            msg_release(m);
            continue;
        }
        int more = zmq_msg_more(&m->body);
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            int rc = zmq_msg_recv(&extra, in->router, 0);
            more = rc >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            m->extra_frames++;
        }
        size_t size = zmq_msg_size(&m->body);
        m->nev = 0;
        if (!m->extra_frames && (int64_t)size <= in->cfg->max_msg_bytes) {
            m->nev = split(in, p, m);
            if (m->nev > 0 && m->nev <= in->cfg->max_events_per_batch)
                events += m->nev;
        }
        p->nmsgs++;
    }
    if (!*drained) {
        /* Stopped by a limit: drained all the same if nothing more is queued (the pass must
         * not wait for a next message that may never come: its senders wait for acks). */
        int ev = 0;
        size_t len = sizeof ev;
        if (zmq_getsockopt(in->router, ZMQ_EVENTS, &ev, &len) == 0 && !(ev & ZMQ_POLLIN))
            *drained = true;
    }
    p->events += events;
    return p->nmsgs - from;
}

/* A pass not under way, or NULL. */
static struct pass *free_pass(struct ingest *in)
{
    for (int i = 0; i < 2; i++) {
        struct pass *p = &in->passes[i];
        if (p != in->rec_p && p != in->ready_p && p != in->flight_p && p != in->apply_p &&
            p != in->queue_p)
            return p;
    }
    return NULL;
}

/* The pass before p that is not committed yet (with the writer, or waiting for it), or NULL. */
static const struct pass *uncommitted(const struct ingest *in, const struct pass *p)
{
    if (in->flight_p && in->flight_p != p)
        return in->flight_p;
    if (in->ready_p && in->ready_p != p)
        return in->ready_p;
    return NULL;
}

/* Pass p's recording begins: its writes go to its write set; its positions and counters
 * continue the pass before it if that one is not committed yet, else what is stored. */
static void pass_begin(struct ingest *in, struct pass *p)
{
    const struct pass *prev = uncommitted(in, p);
    store_txn_begin_recording(in->st, &p->rec, &p->wset);
    in->rec_p = p;
    p->serial = ++in->serials;
    p->rec_from = 0;
    p->stored = p->quarantined = 0;
    p->pos0 = prev ? prev->pos0 + prev->stored : store_next_event_pos(in->st);
    p->qpos0 = prev ? prev->qpos0 + prev->quarantined : store_next_quar_pos(in->st);
    p->sp = prev ? prev->sp : *in->sp;
    p->napplied = p->apply_off = 0;
    p->nmarks = p->nbind = 0;
}

/* Records the messages received so far (on the loop): decoded, validated, written into the
 * pass's write set, reading the clock after each chunk of events, until until_ns. True once
 * every message is recorded. */
static bool pass_slice(struct ingest *in, struct pass *p, uint64_t until_ns)
{
    const struct config *cfg = in->cfg;
    struct validate_limits lim = {
        .cfg = cfg,
        .now_ms = (int64_t)(ev_now(in->loop) * 1000),
        .max_future_ms = cfg->max_future_ms,
        .retention_ms = cfg->retention_days * 86400000LL,
        .max_qty_milli = cfg->max_qty_milli,
        .max_amount_cents = cfg->max_amount_cents,
        .max_lines = (size_t)cfg->max_lines,
    };
    while (p->rec_from < p->nmsgs && !p->rec.err) {
        long steps = RECORD_CHUNK;
        while (p->rec_from < p->nmsgs && steps > 0 &&
               record_msg(in, p, &p->msgs[p->rec_from], &lim, &steps))
            p->rec_from++;
        if (until_ns != UINT64_MAX && slice_over(in, until_ns))
            break;
    }
    return p->rec_from == p->nmsgs || p->rec.err;
}

/* The pass's recording ends: the sequence marks and the counters join its writes. */
static fw_err pass_end(struct ingest *in, struct pass *p)
{
    struct store_txn *t = &p->rec;
    int64_t now_ms = (int64_t)(ev_now(in->loop) * 1000);
    for (size_t i = 0; i < p->nmarks && !t->err; i++) {
        struct mark *mk = p->marks[i];
        struct key k;
        uint8_t v[16];
        key_init(&k, KEY_MARK);
        key_id(&k, mk->terminal);
        key_u64(&k, mk->epoch);
        be64_put(v, mk->pending);
        be64_put(v + 8, (uint64_t)now_ms);
        store_txn_put(t, store_db(in->st, STORE_MARKS), &k, v, sizeof v, 0);
    }
    struct key sk;
    key_init(&sk, KEY_STATS);
    store_txn_put(t, store_db(in->st, STORE_META), &sk, &p->sp, sizeof p->sp, 0);
    fw_err err = t->err;
    fw_err end = store_txn_commit(t); /* ends the recording's read transaction */
    in->rec_p = NULL;
    return err ? err : end;
}

/* The writer's side of a job: the pass's write set and the checkpoint's part in one
 * transaction (the store job's fill; on the writer thread, it reads only what the loop left for
 * it). */
static fw_err job_fill(struct store_txn *t, void *arg)
{
    struct ingest *in = arg;
    fw_err err = in->flight_p ? store_wset_apply(t, &in->flight_p->wset) : FW_OK;
    if (err == FW_OK && in->job_cp)
        err = rollup_checkpoint_fill(in->rollup, t, in->flight_p ? in->flight_p->stored : 0);
    for (size_t i = 0; err == FW_OK && i < in->nflushers; i++) {
        struct flusher *f = &in->flushers[i];
        if (f->in_job && f->fill)
            err = f->fill(f->arg, t);
        if (err == FW_OK && f->in_job)
            err = store_wset_apply(t, &f->wset);
    }
    return err;
}

static void send_acks(struct ingest *in, struct pass *p)
{
    for (size_t i = 0; i < p->nmsgs; i++) {
        struct inmsg *m = &p->msgs[i];
        if (!m->ack)
            continue; /* not answered (a revoked key) */
        if (zmq_msg_send(&m->id, in->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(in->router, m->ack, m->ack_len, ZMQ_DONTWAIT) < 0) {
            /* Peer gone or its pipe full: a lost ack is fine, the terminal resends. */
            in->sr->acks_dropped++;
            continue;
        }
        in->sr->acks_sent++;
    }
}

/* Pass p is over: its messages go (p must be out of every place first). */
static void pass_release(struct ingest *in, struct pass *p)
{
    for (size_t i = 0; i < p->nmsgs; i++)
        msg_release(&p->msgs[i]);
    p->nmsgs = 0;
    p->nslices = 0;
    p->events = 0;
    p->napplied = p->apply_off = 0;
    p->acked = false;
    arena_reset(&p->arena);
    bound_caches(in);
}

/* Pass p could not be recorded or committed (submitted: its job failed): nothing of it is
 * acked, the terminals resend. */
static void pass_failed(struct ingest *in, struct pass *p, bool submitted, fw_err err)
{
    pass_undo(p, submitted);
    in->sr->commit_failures++;
    log_err("commit of %zu message(s) failed: %s; nothing acked, terminals will resend", p->nmsgs,
            fw_strerror(err));
    pass_release(in, p);
}

/* The pass with the writer failed: so do those after it, which continue it. */
static void passes_failed(struct ingest *in, fw_err err)
{
    struct pass *f = in->flight_p, *r = in->ready_p, *c = in->rec_p;
    in->flight_p = in->ready_p = NULL;
    if (c) {
        store_txn_abort(&c->rec);
        in->rec_p = NULL;
    }
    pass_failed(in, f, true, err);
    if (r)
        pass_failed(in, r, false, err);
    if (c)
        pass_failed(in, c, false, err);
}

static void submit(struct ingest *in);
static void record_end(struct ingest *in, struct pass *p);

/* Receiving goes on while a pass can take messages (one is being recorded, or one is free and
 * no recorded pass waits for the writer: one waits at most, passes are committed in order)
 * and no committed pass is being applied (see on_committed). */
static void socket_update(struct ingest *in)
{
    if (!in->stopping && !in->apply_p && (in->rec_p || (!in->ready_p && free_pass(in))))
        zsock_start(in->loop, &in->w);
    else
        zsock_stop(in->loop, &in->w);
}

/* Applies the committed pass's next slice of events to the rollups and the rules; once all are
 * applied, the alert changes are flushed, the acks go out, and the next committed pass (if
 * one waits) is applied in turn. */
static void apply_slice(struct ingest *in, bool all)
{
    struct pass *p = in->apply_p;
    uint64_t t0 = fw_mono_ns(), end = slice_end(in, t0);
    /* The pass being recorded ends first (see on_committed): it commits while this one is
     * applied. What its last slice left of a message is recorded in slices too. */
    if (in->end_rec && in->rec_p && !pass_slice(in, in->rec_p, all ? UINT64_MAX : end)) {
        stats_hist_add(&in->sr->pass, fw_mono_ns() - t0);
        return;
    }
    if (in->end_rec) {
        in->end_rec = false;
        if (in->rec_p) {
            record_end(in, in->rec_p);
            submit(in);
        }
    }
    if (!all && in->rollup && rollup_snapshotting(in->rollup)) {
        stats_hist_add(&in->sr->pass, fw_mono_ns() - t0);
        return; /* held while a checkpoint's snapshot is taken (snapshot_ahead) */
    }
    bool applied_before = p->apply_off == p->napplied;
    alerts_hold_clock(in->alerts);
    while (p->apply_off < p->napplied) {
        size_t n = p->napplied - p->apply_off;
        if (n > APPLY_CHUNK)
            n = APPLY_CHUNK;
        if (in->rollup) {
            rollup_apply(in->rollup, p->applied + p->apply_off, p->applied_pos + p->apply_off, n);
            for (size_t i = 0; in->rules && i < n; i++)
                rules_seen(in->rules, p->applied[p->apply_off + i]);
        }
        p->apply_off += n;
        if (!all && slice_over(in, end))
            break;
    }
    /* All applied: the acks go out at once, the alert flush and the pass's end at the next
     * step, with a query served between (a flush can take milliseconds). */
    bool applied = p->apply_off == p->napplied;
    if (applied && !p->acked) {
        send_acks(in, p);
        p->acked = true;
    }
    bool done = applied && (all || applied_before);
    if (done)
        alerts_flush(in->alerts);
    alerts_release_clock(in->alerts);
    if (done) {
        if (in->rollup && (int64_t)rollup_dirty(in->rollup) > in->cfg->checkpoint_cells)
            in->want_cp = true;
        in->apply_p = in->queue_p;
        in->queue_p = NULL;
        pass_release(in, p);
    }
    uint64_t ns = fw_mono_ns() - t0;
    stats_hist_add(&in->sr->apply, ns);
    stats_hist_add(&in->sr->pass, ns);
    if (!done)
        return;
    if (!in->apply_p)
        ev_idle_stop(in->loop, &in->apply_w); /* a no-op when the pass was applied at once */
    submit(in);
    socket_update(in);
}

static void on_apply(struct ev_loop *loop, ev_idle *w, int revents)
{
    apply_slice(w->data, false);
}

/* The committed alert changes are published a slice at a time from their own step (on_send),
 * like a pass is applied; the last slice asks for the next flush. */
static void send_alerts(struct ingest *in)
{
    if (alerts_flush_sending(in->alerts) && alerts_flush_send(in->alerts, slice_until(in))) {
        ev_idle_start(in->loop, &in->send_w);
        return;
    }
    ev_idle_stop(in->loop, &in->send_w);
    submit(in); /* a checkpoint may have waited for the publishing */
}

static void on_send(struct ev_loop *loop, ev_idle *w, int revents)
{
    send_alerts(w->data);
}

/* A job committed: its alerts, if any, go out from on_send (not from on_committed, which has
 * the job's bookkeeping and the next submit: a query would wait for all of it). */
static void sending_start(struct ingest *in)
{
    if (alerts_flush_sending(in->alerts))
        ev_idle_start(in->loop, &in->send_w);
}

/*
 * A checkpoint's flush stores every firing alert's unstored figures: thousands of stock alerts,
 * changing with each sale, held the loop for 5 ms there. So before a checkpoint begins they
 * are taken a slice at a time from their own step (on_ahead), passes applied between; what
 * changes again meanwhile (a few hundred) goes with the checkpoint. Returns whether the
 * checkpoint waits for that.
 */
#define AHEAD_MIN 256 /* fewer unstored go with the checkpoint at once */

/* A step the checkpoint waits for, taken a slice at a time from its own watcher w (on_ahead,
 * on_snapshot) when needed: true while it is under way; *done says it has been taken, and is
 * used up here. */
static bool step_first(struct ingest *in, ev_idle *w, bool *done, bool needed)
{
    if (*done || !needed) {
        *done = false;
        return false;
    }
    ev_idle_start(in->loop, w);
    return true;
}

/* ... its watcher's last slice: taken, the checkpoint goes on (submit). */
static void step_taken(struct ingest *in, ev_idle *w, bool *done)
{
    ev_idle_stop(in->loop, w);
    *done = true;
    submit(in);
}

static bool store_ahead(struct ingest *in)
{
    return step_first(in, &in->ahead_w, &in->ahead_done, alerts_unstored(in->alerts) > AHEAD_MIN);
}

static void on_ahead(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct ingest *in = w->data;
    if (!alerts_store_ahead(in->alerts, slice_until(in)))
        step_taken(in, w, &in->ahead_done);
}

/*
 * Then the snapshot: at full load with many stores a checkpoint is 80,000 cells, and encoding
 * them held the loop for 7-19 ms at once. More than SNAPSHOT_AT_ONCE are taken a slice at a
 * time from their own step (on_snapshot), queries, subscribers and receiving served between,
 * applying held meanwhile (apply_slice: a cell changed after it was encoded would be
 * checkpointed stale). Returns whether the checkpoint waits for that.
 */
#define SNAPSHOT_AT_ONCE 16384 /* fewer dirty cells are encoded at once: 1.5-2 ms */

static bool snapshot_ahead(struct ingest *in)
{
    return step_first(in, &in->snap_w, &in->snap_done, rollup_dirty(in->rollup) > SNAPSHOT_AT_ONCE);
}

static void on_snapshot(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct ingest *in = w->data;
    if (rollup_snapshot_step(in->rollup, slice_until(in)))
        step_taken(in, w, &in->snap_done);
}

/* The rollups' cache holds too many cells: it evicts some, a slice at a time, between the
 * loop's other work (any time: only cells LMDB has as they are go). Its slices count as the
 * loop's passes. */
static void on_evict(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct ingest *in = w->data;
    uint64_t t0 = fw_mono_ns();
    if (rollup_evict_step(in->rollup, slice_until(in)))
        ev_idle_stop(loop, w);
    stats_hist_add(&in->sr->pass, fw_mono_ns() - t0);
}

/*
 * When the writer is free: one job, with the pass recorded and waiting, the alert and exporter
 * changes waiting and, when one is due, a rollup checkpoint's snapshot, all in one
 * transaction. The loop goes on receiving and recording the next pass meanwhile.
 */
static void submit(struct ingest *in)
{
    if (in->inflight || in->stopping)
        return;
    /* A checkpoint and the modules' changes wait for the pass being recorded, if any: they
     * go with it (a job that would leave it behind must not take the writer first). */
    if (!in->ready_p && in->rec_p)
        return;
    /* A staged checkpoint is merged a slice per job until it is whole (the next one waits). */
    bool flushing = false, cp = false, merge = in->rollup && rollup_checkpoint_staged(in->rollup);
    /* A checkpoint carries the alerts' unstored figures (alerts_flush_with_checkpoint), so it
     * waits while the last flush's alerts are being published (on_send submits after), and
     * while they are stored ahead (store_ahead); then while its snapshot is taken
     * (snapshot_ahead: applying is held since, so the alerts' figures are as they were). */
    if (in->want_cp && in->rollup && !merge && !alerts_flush_sending(in->alerts) &&
        (in->snap_done || !store_ahead(in)) && !snapshot_ahead(in)) {
        bool started = false;
        if (rollup_checkpoint_begin(in->rollup, &started) != FW_OK)
            log_warn("rollup checkpoint failed; the next one retries (the log holds every event)");
        in->want_cp = false;
        cp = started;
        if (cp)
            alerts_flush_with_checkpoint(in->alerts);
    }
    for (size_t i = 0; i < in->nflushers; i++) {
        struct flusher *f = &in->flushers[i];
        bool started = false;
        if ((f->want || cp) && f->begin(f->arg, &f->wset, &started) != FW_OK)
            log_warn("recording changes to write failed; the next flush retries");
        f->want = false;
        f->in_job = started;
        flushing |= started;
    }
    if (!in->ready_p && !cp && !merge && !flushing)
        return;
    in->job_cp = cp || merge;
    in->flight_p = in->ready_p;
    in->ready_p = NULL;
    if (in->flight_p)
        pass_submitted(in->flight_p);
    /* Named for what it carries: a checkpoint is the long part. */
    in->job =
        (struct store_job){.fill = job_fill, .arg = in, .name = in->job_cp ? "fw-writer-cp" : NULL};
    in->inflight = true;
    store_writer_submit(in->st, &in->job);
}

/* Pass p's recording is over: it waits for the writer (submit), or failed. */
static void record_end(struct ingest *in, struct pass *p)
{
    pass_slice(in, p, UINT64_MAX); /* a message left mid-way by the last slice */
    fw_err err = pass_end(in, p);
    if (err != FW_OK)
        pass_failed(in, p, false, err);
    else
        in->ready_p = p;
}

/*
 * Ingest's step on the loop, from the socket: receives and records one slice of a pass; while
 * the socket holds more and the pass has room, the pass goes on at the next step (queries are
 * served in between), unless the writer is idle: then it ends with the slice (group commit:
 * the writer takes what came while it was busy, and then what comes while it commits that).
 * A recorded pass goes to the writer when it is free (submit), else waits for the pass before
 * it to commit; the socket rests while both passes are taken or a committed one is being
 * applied.
 */
static void on_ingest(struct ev_loop *loop, struct zsock_watcher *w, int revents)
{
    struct ingest *in = w->data;
    if (in->stopping)
        return;
    struct pass *p = in->rec_p;
    if (in->apply_p || (!p && (in->ready_p || !(p = free_pass(in))))) {
        socket_update(in);
        return;
    }
    uint64_t t0 = fw_mono_ns(), end = slice_end(in, t0);
    bool drained = false, room = true;
    int64_t before = p->events;
    /* What the last slice left of its messages first; more once they are recorded. */
    bool whole = in->rec_p != p || pass_slice(in, p, end);
    for (bool first = true; whole && !p->rec.err && (first || !slice_over(in, end));
         first = false) {
        size_t got = collect(in, p, COLLECT_EVENTS, &drained);
        if (got && in->rec_p != p)
            pass_begin(in, p);
        if (in->rec_p == p)
            whole = pass_slice(in, p, end);
        room = p->events < in->cfg->commit_max_events && p->nmsgs < in->msgs_cap;
        if (!got || drained || !room)
            break;
    }
    in->sr->last_pass_msgs = p->nmsgs;
    in->sr->last_slice_events = (uint64_t)(p->events - before);
    stats_hist_add(&in->sr->pass, fw_mono_ns() - t0);
    if (in->rec_p != p)
        return; /* nothing came */
    /* The pass goes on at the next step while the socket holds more and it has room (what is
     * left of a message first) and the writer is busy; drained or full, it ends (record_end
     * records what is left). With 8 batches of 1,000 events in flight per terminal, a pass
     * that waited for a drained socket with the writer idle took 50,000 events, and the
     * terminals' next batches waited for all of it: 8 terminals sent 15% less. */
    bool writer_idle = !in->inflight && !in->ready_p;
    if (!p->rec.err && !drained && room && !writer_idle)
        return;
    record_end(in, p);
    submit(in);
    socket_update(in); /* rests while a recorded pass waits or both are taken */
}

void ingest_set_yield(struct ingest *in, bool (*waiting)(void *arg), void *arg)
{
    in->waiting = waiting;
    in->waiting_arg = arg;
}

void ingest_checkpoint(struct ingest *in)
{
    in->want_cp = true;
    submit(in);
}

/* A module's changes wait: they go with the next job. */
static void want_flush(void *arg)
{
    struct flusher *f = arg;
    f->want = true;
    submit(f->in);
}

/* The job's flushes are over: each module learns whether its changes were written. */
static void flushes_end(struct ingest *in, fw_err err)
{
    for (size_t i = 0; i < in->nflushers; i++) {
        struct flusher *f = &in->flushers[i];
        if (f->in_job)
            f->end(f->arg, err);
        f->in_job = false;
    }
}

ingest_flush_fn *ingest_add_flusher(struct ingest *in, ingest_flush_begin_fn *begin,
                                    ingest_flush_fill_fn *fill, ingest_flush_end_fn *end, void *arg,
                                    void **flush_arg)
{
    if (in->nflushers == INGEST_FLUSHERS)
        return NULL;
    struct flusher *f = &in->flushers[in->nflushers++];
    *f = (struct flusher){.in = in, .begin = begin, .fill = fill, .end = end, .arg = arg};
    *flush_arg = f;
    return want_flush;
}

static fw_err alerts_begin(void *arg, struct store_wset *w, bool *started)
{
    return alerts_flush_begin(arg, w, started);
}

static fw_err alerts_fill(void *arg, struct store_txn *t)
{
    return alerts_flush_fill(arg, t);
}

static void alerts_end(void *arg, fw_err err)
{
    alerts_flush_end(arg, err);
}

static void on_committed(struct ev_loop *loop, ev_io *io, int revents)
{
    struct ingest *in = io->data;
    struct store_job *job = store_writer_done(in->st);
    if (!job || !in->inflight)
        return;
    uint64_t t0 = fw_mono_ns(); /* the commit's bookkeeping is a step of the loop's too */
    in->inflight = false;
    in->sr->map_grows += job->grows;
    if (in->job_cp) {
        rollup_checkpoint_end(in->rollup, job->err);
        if (rollup_evict_due(in->rollup))
            ev_idle_start(loop, &in->evict_w);
    }
    flushes_end(in, job->err);
    struct pass *p = in->flight_p;
    if (p && job->err == FW_OK) {
        /* Durable: the marks and counters settle now; the events are applied in slices, after
         * those of the pass before it. */
        in->flight_p = NULL;
        stats_commit_time(in->sr, job->commit_ns, p->stored);
        store_appended(in->st, p->stored, p->quarantined);
        *in->sp = p->sp;
        pass_committed(p);
        /* The loop applies it before it receives more: received meanwhile, a backlog would
         * take half the loop from the applying and grow the next pass without bound (a
         * pass records three times faster than it applies). The pass being recorded ends at
         * the first apply step (what is left of a message may take milliseconds) and commits
         * while this one is applied. */
        in->end_rec = in->rec_p != NULL;
        submit(in);
        /* Applied from its own step (on_apply), like the publishing (on_send): this one
         * has the job's bookkeeping and the next submit. */
        if (in->apply_p) {
            in->queue_p = p;
        } else {
            in->apply_p = p;
            ev_idle_start(loop, &in->apply_w);
        }
    } else {
        if (p)
            passes_failed(in, job->err);
        submit(in);
    }
    socket_update(in);
    sending_start(in);
    stats_hist_add(&in->sr->pass, fw_mono_ns() - t0);
}

fw_err ingest_load_stats(struct store *st, struct stats_persist *sp)
{
    struct store_txn t;
    struct key k;
    MDB_val v;
    memset(sp, 0, sizeof *sp);
    sp->version = STATS_VERSION;
    store_txn_begin(st, &t, true);
    key_init(&k, KEY_STATS);
    fw_err e = store_txn_get(&t, store_db(st, STORE_META), &k, &v);
    if (e == FW_OK && v.mv_size == sizeof *sp)
        memcpy(sp, v.mv_data, sizeof *sp);
    else if (e == FW_OK)
        log_warn("stored counters have an unknown layout (%zu bytes); starting from zero",
                 v.mv_size);
    store_txn_abort(&t);
    return e == FW_ENOTFOUND ? FW_OK : e;
}

fw_err ingest_create(struct ingest **out, struct ev_loop *loop, void *zctx,
                     const struct config *cfg, struct store *st, struct stats_persist *sp,
                     struct stats_runtime *sr, struct rollup *rollup)
{
    struct ingest *in = calloc(1, sizeof *in);
    fw_err err = FW_ENOMEM;
    if (!in)
        return FW_ENOMEM;
    in->loop = loop;
    in->cfg = cfg;
    in->st = st;
    in->sp = sp;
    in->sr = sr;
    in->rollup = rollup;
    ev_idle_init(&in->apply_w, on_apply);
    in->apply_w.data = in;
    ev_idle_init(&in->send_w, on_send);
    in->send_w.data = in;
    ev_idle_init(&in->ahead_w, on_ahead);
    in->ahead_w.data = in;
    ev_idle_init(&in->snap_w, on_snapshot);
    in->snap_w.data = in;
    ev_idle_init(&in->evict_w, on_evict);
    in->evict_w.data = in;
    in->marks = htab_new();
    in->bindings = htab_new();
    /* Allocated once: messages must not move while a pass holds them (see collect). */
    in->msgs_cap = cfg->commit_max_msgs < 65536 ? (size_t)cfg->commit_max_msgs : 65536;
    for (int i = 0; i < 2; i++) {
        struct pass *p = &in->passes[i];
        arena_init(&p->arena, 0);
        if (!(p->msgs = calloc(in->msgs_cap, sizeof *p->msgs)) || !pass_warm(p))
            goto fail;
    }
    if (!in->marks || !in->bindings ||
        (rollup && !rollup_checkpoint_reserve(rollup, WARM_CHECKPOINT_BYTES)))
        goto fail;
    /* Frames up to the soft limit are taken; up to twice that they are refused with an Ack
     * that says why; past that libzmq drops the connection. */
    in->router = zsock_bind(zctx, ZMQ_ROUTER, cfg->ingest_endpoint, cfg->max_msg_bytes * 2 + 65536,
                            100000, in->endpoint, sizeof in->endpoint, "ingest");
    if (!in->router) {
        err = FW_EIO;
        goto fail;
    }
    if (zsock_init(&in->w, in->router, ZMQ_POLLIN, on_ingest, in) != 0)
        goto fail_zmq;
    if ((err = store_writer_start(st)) != FW_OK) {
        log_err("cannot start the writer thread: %s", fw_strerror(err));
        goto fail;
    }
    ev_io_init(&in->done_w, on_committed, store_writer_fd(st), EV_READ);
    in->done_w.data = in;
    ev_io_start(loop, &in->done_w);
    zsock_start(loop, &in->w);
    *out = in;
    return FW_OK;
fail_zmq:
    log_err("ingest socket: %s", zmq_strerror(zmq_errno()));
    err = FW_EIO;
fail:
    ingest_destroy(&in, loop);
    return err;
}

void ingest_set_rules(struct ingest *in, struct rules *ru, struct alerts *a)
{
    in->rules = ru;
    in->alerts = a;
    void *farg = NULL;
    ingest_flush_fn *fn =
        a ? ingest_add_flusher(in, alerts_begin, alerts_fill, alerts_end, a, &farg) : NULL;
    if (a)
        alerts_set_flusher(a, fn, farg);
}

const char *ingest_endpoint(const struct ingest *in)
{
    return in->endpoint;
}

void ingest_destroy(struct ingest **pin, struct ev_loop *loop)
{
    struct ingest *in = *pin;
    if (!in)
        return;
    in->stopping = true;
    if (ev_is_active(&in->done_w))
        ev_io_stop(loop, &in->done_w);
    if (in->alerts)
        alerts_set_flusher(in->alerts, NULL, NULL); /* from now on, at once */
    if (in->rec_p) {
        /* A pass half received: nothing of it was written; its terminals resend. */
        struct pass *p = in->rec_p;
        store_txn_abort(&p->rec);
        in->rec_p = NULL;
        in->end_rec = false;
        pass_undo(p, false);
        pass_release(in, p);
    }
    if (ev_is_active(&in->apply_w))
        ev_idle_stop(loop, &in->apply_w);
    if (ev_is_active(&in->send_w))
        ev_idle_stop(loop, &in->send_w); /* alerts_flush publishes the rest */
    if (ev_is_active(&in->ahead_w))
        ev_idle_stop(loop, &in->ahead_w);
    if (ev_is_active(&in->snap_w))
        ev_idle_stop(loop, &in->snap_w); /* what it took goes: the rest is applied now */
    if (ev_is_active(&in->evict_w))
        ev_idle_stop(loop, &in->evict_w);
    while (in->apply_p) /* committed passes: the rest is applied (and acked) now */
        apply_slice(in, true);
    if (in->inflight) {
        /* The job in flight commits (or not); its terminals resend for their acks. */
        store_writer_stop(in->st);
        in->inflight = false;
        if (in->job_cp)
            rollup_checkpoint_end(in->rollup, in->job.err);
        flushes_end(in, in->job.err);
        if (in->flight_p) {
            struct pass *p = in->flight_p;
            in->flight_p = NULL;
            pass_undo(p, true);
            pass_release(in, p);
        }
    }
    if (in->ready_p) {
        struct pass *p = in->ready_p;
        in->ready_p = NULL;
        pass_undo(p, false);
        pass_release(in, p);
    }
    if (in->router) {
        zsock_stop(loop, &in->w);
        zmq_close(in->router);
    }
    htab_destroy(&in->marks, free);
    htab_destroy(&in->bindings, free);
    for (int i = 0; i < 2; i++) {
        struct pass *p = &in->passes[i];
        free(p->marks);
        free(p->bindings);
        free(p->msgs);
        free(p->slices);
        free(p->applied);
        free(p->applied_pos);
        arena_destroy(&p->arena);
        store_wset_free(&p->wset);
    }
    for (size_t i = 0; i < in->nflushers; i++)
        store_wset_free(&in->flushers[i].wset);
    free(in);
    *pin = NULL;
}
