/*
 * One simulated store, event by event: a discrete-event simulation over the store's local days
 * (docs/SIM.md). The store's thread owns everything about the store (its stock
 * book, its drawers, its rota, its open complaints), so every figure it sends is consistent
 * with what it sent before: a CLOSE counts what the drawer should hold, a COUNT differs from the
 * book by the variance drawn, a sale never takes stock that is not there. Actions wait in a
 * small heap ordered by (model time, insertion order); each one emits zero or more events to
 * the terminal that would send them (T01 is the manager's PC and service desk as well as a
 * till). Nothing here allocates per event.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "cli.h"
#include "floorwalker.h"
#include "fwkeys.h"
#include "fwcommon.h"
#include "sim_store.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define RING 64             /* receipts a till remembers for returns */
#define PEND 256            /* unacked chunks a terminal tracks for --drive-clock */
#define RLINES 4            /* lines of each it remembers */
#define XFERS_PER_DAY 2     /* transfer plans per store and day */
#define P_RETURN 0.008      /* of a till's customers: a return */
#define P_VOID 0.0025       /* of sales: voided right after */
#define P_RETURN_SUSP 0.045 /* the same for the planted suspicious cashier */
#define P_VOID_SUSP 0.015

enum act_kind {
    A_DAY,
    A_CLOCK_IN,
    A_BREAK_START,
    A_BREAK_END,
    A_CLOCK_OUT,
    A_TILL_OPEN,
    A_SELL_START,
    A_ARRIVAL,
    A_TILL_CLOSE,
    A_VOID,
    A_PICKUP,
    A_PAID_OUT,
    A_HEARTBEAT,
    A_DELIVERY,
    A_COUNT,
    A_DAMAGE,
    A_XFER_OUT,
    A_XFER_IN,
    A_COMPLAINT,
};

struct act {
    int64_t t;
    uint32_t ord;
    uint16_t kind, term;
    uint32_t a, b;
};

/* Storage for one event, so that a chunk of events is built without allocation. Sale lines
 * live in the terminal's line arena. */
struct slot {
    Floorwalker__Event e;
    union {
        Floorwalker__Sale sale;
        Floorwalker__Complaint complaint;
        Floorwalker__StockMove stock;
        Floorwalker__Attendance att;
        Floorwalker__Shift shift;
        Floorwalker__SalesTarget target;
        Floorwalker__Drawer drawer;
        Floorwalker__Heartbeat hb;
    } b;
    Floorwalker__Tender tenders[2];
    Floorwalker__Tender *tptr[2];
    char id1[48], id2[48];
    int kind;
    int64_t net;
};

/* What a terminal has built and not yet spooled (library) or written (--write). */
struct tout {
    fw_client *c;
    struct simw_batch wb;
    uint64_t seq;
    struct slot *slots;
    const Floorwalker__Event **evp;
    unsigned n, cap;
    Floorwalker__SaleLine *lines, **lptr;
    unsigned nl, lcap;
    int64_t first_wall; /* wall time of the oldest event held */
    int64_t last_t;     /* model time of its last event */
    int64_t first_t;    /* model time of the oldest event held */
    /* --drive-clock: spooled chunks not yet acked, as (last seq, model time of the first) */
    uint64_t pend_seq[PEND];
    int64_t pend_t[PEND];
    unsigned ph, pn;
};

struct rline {
    uint32_t sku;
    uint8_t promo; /* 0, or the promotion's week number % 52 + 1 */
    int64_t qty, price, disc;
};

struct rcpt {
    int32_t day;
    uint32_t no;
    uint8_t method, n;
    bool used;
    struct rline l[RLINES];
};

/* A cash drawer insert: each of a till's cashier slots of the day has its own. */
struct drawer {
    bool open, pickup_pending;
    uint32_t gen;
    int64_t expected, pickup_at;
    const char *cashier;
    char id[32];
};

struct till {
    uint32_t gen;                 /* selling session: arrivals of an older session are dropped */
    int64_t s1, b0, b1;           /* session end, break */
    int64_t base_utc, base_local; /* for the local hour of an instant in the session */
    int32_t base_day;
    const char *cashier;
    bool suspicious;
    int cur; /* drawer of the session */
    struct drawer d[3];
    int32_t rday;
    uint32_t rno;
    struct rcpt ring[RING];
    unsigned rn;
    /* a sale about to be voided */
    bool void_pending;
    int vdrawer;
    uint32_t vgen;
    struct rcpt vr;
    struct rline vl[SIM_MAX_LINES];
    unsigned vn, vnt;
    uint8_t vmethod[2];
    int64_t vamt[2], vtotal;
    const char *vcashier;
};

/* One shift of one employee on one day, with what they will do (drawn at the day's start). */
struct asg {
    uint32_t emp;
    int16_t till; /* -1: not at a till */
    uint8_t slot;
    uint16_t no;
    bool absent;
    int64_t S, E, in, out, b0, b1, dopen, s0, s1, dclose;
};

#define CSTEPS 6
struct cmpl {
    bool used;
    char id[32];
    uint8_t sev, ch, cat, nsteps;
    const char *handler;
    struct {
        int64_t t;
        uint8_t action;
        int64_t comp;
    } step[CSTEPS];
};

struct st {
    const struct sim_chain *c;
    const struct sim_opts *o;
    const struct sim_store *ss;
    struct sim_store_run *run;
    unsigned nterm;
    uint64_t r[4];
    struct act *heap;
    size_t hn, hcap;
    uint32_t ord;
    int64_t tnow, wall;
    uint64_t left, emitted;
    bool write, opened_stock, stop, no_barrier, track_acks;
    int64_t *on_hand; /* milli, per SKU rank */
    double lines_per_day;
    struct tout *out;
    struct till *tills;
    struct asg *asg[3]; /* the rotas of three consecutive days, by day % 3 */
    unsigned nasg[3], asg_cap;
    struct cmpl *cmp;
    unsigned ncmp, cmp_cap;
    uint32_t lines_cdf[2][SIM_MAX_LINES];
    int64_t skew_ms;
    uint64_t epoch;
};

static const double weekday_factor[7] = {0.9, 0.9, 0.95, 1.0, 1.15, 1.3, 0.8};

static const char *const complaint_cats[] = {"service", "product_quality", "pricing",
                                             "queue",   "cleanliness",     "staff",
                                             "refund",  "availability",    "delivery"};
static const int complaint_cat_w[] = {22, 20, 12, 12, 6, 10, 8, 7, 3};

static char promo_names[53][16];
static pthread_once_t promo_once = PTHREAD_ONCE_INIT;

static void promo_init(void)
{
    for (int i = 1; i <= 52; i++)
        snprintf(promo_names[i], sizeof promo_names[i], "PROMO-W%02d", i);
}

/* ---- ids without snprintf -----------------------------------------------------------------------
 */

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_u(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* yyyymmdd of a day number, cached: ids carry the date. */
static char *put_date(char *p, int32_t day)
{
    char d[11];
    sim_format_day(day, d);
    memcpy(p, d, 4);
    memcpy(p + 4, d + 5, 2);
    memcpy(p + 6, d + 8, 2);
    return p + 8;
}

static void receipt_id(char *out, const char *term, int32_t day, uint32_t no)
{
    char *p = put_str(out, term);
    *p++ = '-';
    p = put_date(p, day);
    *p++ = '-';
    p = put_u(p, no, 4);
    *p = 0;
}

/* The next receipt number of a till (numbering restarts each local day) as its receipt id. */
static void next_receipt(char *out, const char *term, struct till *tl, int32_t day)
{
    if (tl->rday != day) {
        tl->rday = day;
        tl->rno = 0;
    }
    receipt_id(out, term, day, ++tl->rno);
}

/* ---- the action heap ----------------------------------------------------------------------------
 */

static bool before(const struct act *a, const struct act *b)
{
    return a->t < b->t || (a->t == b->t && a->ord < b->ord);
}

static void push(struct st *s, int64_t t, int kind, unsigned term, uint32_t a, uint32_t b)
{
    if (s->hn == s->hcap) {
        size_t n = s->hcap ? s->hcap * 2 : 256;
        struct act *h = realloc(s->heap, n * sizeof *h);
        if (!h) {
            s->run->err = FW_ENOMEM;
            s->stop = true;
            return;
        }
        s->heap = h;
        s->hcap = n;
    }
    struct act x = {t, s->ord++, (uint16_t)kind, (uint16_t)term, a, b};
    size_t i = s->hn++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (!before(&x, &s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = x;
}

static struct act pop(struct st *s)
{
    struct act top = s->heap[0], x = s->heap[--s->hn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const struct act *best = &x;
        if (l < s->hn && before(&s->heap[l], best)) {
            m = l;
            best = &s->heap[l];
        }
        if (l + 1 < s->hn && before(&s->heap[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->hn)
        s->heap[i] = x;
    return top;
}

/* ---- output -------------------------------------------------------------------------------------
 */

/* Spools (or writes) what terminal ti holds; counts it as sent once that succeeded. */
static int flush_term(struct st *s, unsigned ti)
{
    struct tout *o = &s->out[ti];
    struct sim_store_run *run = s->run;
    if (!o->n)
        return FW_OK;
    int err = FW_OK;
    if (s->write) {
        for (unsigned i = 0; i < o->n && !err; i++) {
            Floorwalker__Event *e = &o->slots[i].e;
            e->store_id = (char *)s->ss->id;
            e->terminal_id = (char *)s->c->term_ids[s->ss->first_term + ti];
            e->epoch = s->epoch;
            e->seq = ++o->seq;
            err = simw_add(run->w, s->run->idx, &o->wb, e, s->o->batch_max);
        }
    } else {
        for (unsigned i = 0; i < o->n; i++)
            o->evp[i] = &o->slots[i].e;
        err = fw_send_events(o->c, o->evp, o->n);
    }
    if (err) {
        if (!run->err) {
            fprintf(stderr, "floorwalker sim: %s: %s failed: %s\n",
                    s->c->term_ids[s->ss->first_term + ti], s->write ? "writing" : "spooling",
                    fw_strerror_code(err));
            run->err = err;
        }
        s->stop = true;
        return err;
    }
    for (unsigned i = 0; i < o->n; i++) {
        run->by_kind[o->slots[i].kind]++;
        run->net_cents += o->slots[i].net;
    }
    if (s->track_acks && o->pn < PEND) {
        struct fw_client_stats st;
        fw_client_stats(o->c, &st);
        unsigned i = (o->ph + o->pn++) % PEND;
        o->pend_seq[i] = st.last_seq;
        o->pend_t[i] = o->first_t;
    }
    run->sent += o->n;
    o->n = 0;
    o->nl = 0;
    return FW_OK;
}

static void flush_all(struct st *s)
{
    for (unsigned i = 0; i < s->nterm; i++)
        flush_term(s, i);
}

/* Spools what every terminal holds and waits until the daemon has acked all of it: events
 * sent after this are applied after everything sent before, whatever the terminals' backlogs.
 * Only where the order across terminals matters (the opening stock, cycle counts). Bounded: if
 * the daemon does not answer within 3 s, later barriers are skipped (the run goes on; counts
 * may then differ from the daemon's book). */
static void barrier(struct st *s)
{
    if (s->nterm == 1)
        return; /* one terminal: the daemon applies its events in order anyway */
    flush_all(s);
    if (s->write || s->no_barrier)
        return;
    uint64_t deadline = fw_mono_ns() + 3000000000ull;
    for (unsigned i = 0; i < s->nterm; i++) {
        uint64_t now = fw_mono_ns();
        if (now >= deadline || fw_flush(s->out[i].c, (int)((deadline - now) / 1000000))) {
            s->no_barrier = true;
            break;
        }
    }
    s->wall = fw_now_ms();
}

/* --drive-clock: the model time before which the daemon has acked everything this store sent
 * (t: the next action). The daemon's clock must not pass what it has not applied yet, or a
 * slow commit would make the store look silent. */
static int64_t acked_progress(struct st *s, int64_t t)
{
    int64_t p = t - 1;
    for (unsigned i = 0; i < s->nterm; i++) {
        struct tout *o = &s->out[i];
        if (!o->pn)
            continue;
        struct fw_client_stats st;
        fw_client_stats(o->c, &st);
        while (o->pn && o->pend_seq[o->ph] <= st.acked_seq) {
            o->ph = (o->ph + 1) % PEND;
            o->pn--;
        }
        if (o->pn && o->pend_t[o->ph] - 1 < p)
            p = o->pend_t[o->ph] - 1;
    }
    return p;
}

/* A slot for one event of terminal ti at model time t, with room for nlines sale lines; NULL
 * when the store has sent its share of -n or must stop. */
static struct slot *ev_begin(struct st *s, unsigned ti, int64_t t, unsigned nlines)
{
    if (!s->left || s->stop)
        return NULL;
    struct tout *o = &s->out[ti];
    if ((o->n == o->cap || o->nl + nlines > o->lcap) && flush_term(s, ti))
        return NULL;
    if (!o->n) {
        o->first_wall = s->wall;
        o->first_t = s->tnow;
    }
    /* When the action happened (the events of a burst carry later times, but leave now). */
    o->last_t = s->tnow;
    struct slot *sl = &o->slots[o->n];
    floorwalker__event__init(&sl->e);
    bool model_time = s->o->mode == SIM_COMPRESSED || s->o->mode == SIM_LIVE;
    sl->e.event_time_ms = model_time ? t : s->wall;
    sl->net = 0;
    return sl;
}

static void ev_end(struct st *s, unsigned ti, int kind, unsigned nlines)
{
    struct tout *o = &s->out[ti];
    o->slots[o->n].kind = kind;
    o->n++;
    o->nl += nlines;
    s->left--;
    s->emitted++;
    if ((s->emitted & 15) == 0)
        s->wall = fw_now_ms();
    if (o->n == o->cap)
        flush_term(s, ti);
}

/* ---- small draws --------------------------------------------------------------------------------
 */

static unsigned zipf(struct st *s)
{
    uint64_t x = sim_rnd(s->r);
    uint32_t i = (uint32_t)(((x >> 32) * s->c->nskus) >> 32);
    return (uint32_t)x < s->c->alias_prob[i] ? i : s->c->alias_idx[i];
}

static unsigned poisson(struct st *s, double mean)
{
    double l = sim_exp(-mean), p = 1;
    unsigned k = 0;
    do {
        k++;
        p *= sim_u01(s->r);
    } while (p > l && k < 1000);
    return k - 1;
}

static bool chance(struct st *s, double p)
{
    return sim_u01(s->r) < p;
}

static int64_t local_ms_of(struct st *s, int64_t t)
{
    int64_t l;
    sim_utc_to_local(s->c, s->ss, t, &l);
    return l;
}

static int64_t at_local(struct st *s, int32_t day, int64_t local_ms)
{
    return sim_local_to_utc(s->c, s->ss, day, local_ms);
}

/* Where a shift's start and end go on the wall clock when events are stamped with it (fast and
 * paced, where a simulated day passes in moments): around the expected wall times of the
 * clock-in and clock-out, so that planted lateness and early leaves show as such (and nothing
 * else does), whatever the speed. The shift is then short on the wall clock; in compressed
 * and live runs the calendar is the clock and shifts are what the rota says. */
static void shift_wall(struct st *s, const struct asg *a, int64_t *S, int64_t *E)
{
    if (s->o->mode == SIM_COMPRESSED || s->o->mode == SIM_LIVE) {
        *S = a->S;
        *E = a->E;
        return;
    }
    double k = s->run->wall_per_model;
    int64_t in = a->absent ? a->S : a->in, out = a->absent ? a->E : a->out;
    int64_t cw = s->wall + (int64_t)((double)(in - s->tnow) * k);
    int64_t ow = s->wall + (int64_t)((double)(out - s->tnow) * k);
    int64_t late = in - a->S, early = a->E - out;
    *S = cw - (late > 0 ? late : 0);
    *E = ow + (early > 0 ? early : 0);
    if (*E < *S + MIN_MS)
        *E = *S + MIN_MS;
}

/* ---- events -------------------------------------------------------------------------------------
 */

static void emit_attendance(struct st *s, int64_t t, const struct asg *a, int kind)
{
    struct slot *sl = ev_begin(s, 0, t, 0);
    if (!sl)
        return;
    Floorwalker__Attendance *at = &sl->b.att;
    floorwalker__attendance__init(at);
    const struct sim_emp *e = &s->ss->emp[a->emp];
    at->employee_id = (char *)e->id;
    at->kind = kind;
    at->role = (char *)sim_role_names[e->role];
    sl->e.body_case = FLOORWALKER__EVENT__BODY_ATTENDANCE;
    sl->e.attendance = at;
    ev_end(s, 0, K_ATTENDANCE, 0);
}

static void emit_drawer(struct st *s, unsigned ti, int64_t t, const struct drawer *dr, int kind,
                        int64_t amount, int64_t counted)
{
    struct slot *sl = ev_begin(s, ti, t, 0);
    if (!sl)
        return;
    Floorwalker__Drawer *d = &sl->b.drawer;
    floorwalker__drawer__init(d);
    d->drawer_id = (char *)dr->id;
    d->cashier_id = (char *)dr->cashier;
    d->kind = kind;
    d->amount_cents = amount;
    d->counted_cents = counted;
    sl->e.body_case = FLOORWALKER__EVENT__BODY_DRAWER;
    sl->e.drawer = d;
    ev_end(s, ti, K_DRAWER, 0);
}

static void emit_stock(struct st *s, int64_t t, unsigned rank, int kind, int64_t qty,
                       const char *ref, const char *counterparty)
{
    struct slot *sl = ev_begin(s, 0, t, 0);
    if (!sl)
        return;
    const struct sim_sku *k = &s->c->skus[rank];
    Floorwalker__StockMove *m = &sl->b.stock;
    floorwalker__stock_move__init(m);
    m->sku = (char *)k->id;
    m->category = (char *)sim_category_name(k->cat);
    m->kind = kind;
    m->qty_milli = qty;
    m->unit_cost_cents = k->cost_cents;
    snprintf(sl->id1, sizeof sl->id1, "%s", ref);
    m->reference = sl->id1;
    if (counterparty) {
        snprintf(sl->id2, sizeof sl->id2, "%s", counterparty);
        m->counterparty_store = sl->id2;
    }
    sl->e.body_case = FLOORWALKER__EVENT__BODY_STOCK_MOVE;
    sl->e.stock_move = m;
    ev_end(s, 0, K_STOCK, 0);
    switch (kind) {
    case FLOORWALKER__STOCK_MOVE__KIND__RECEIVE:
    case FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_IN:
        s->on_hand[rank] += qty;
        break;
    case FLOORWALKER__STOCK_MOVE__KIND__COUNT:
        s->on_hand[rank] = qty;
        break;
    default:
        s->on_hand[rank] -= qty;
        break;
    }
}

/* ---- the day ------------------------------------------------------------------------------------
 */

static int64_t demand_per_day(struct st *s, unsigned rank)
{
    return (int64_t)(s->lines_per_day * s->c->skus[rank].demand_per_line);
}

static int64_t min_display(const struct sim_sku *k)
{
    return k->weighed ? 2000 : 4000;
}

static struct asg *new_asg(struct st *s, int ring)
{
    if (s->nasg[ring] == s->asg_cap)
        return NULL;
    struct asg *a = &s->asg[ring][s->nasg[ring]];
    memset(a, 0, sizeof *a);
    a->no = (uint16_t)s->nasg[ring]++;
    a->till = -1;
    return a;
}

/* Draws how one shift goes: on time (a few minutes early), a little late, late (> 10 min),
 * absent; early leave; a 30-minute break in shifts of 6 hours or more. */
static void plan_shift(struct st *s, struct asg *a, unsigned pos)
{
    double u = sim_u01(s->r);
    if (u < 0.015) {
        a->absent = true;
        return;
    }
    int64_t late = u < 0.05   ? sim_range(s->r, 11, 45) * MIN_MS
                   : u < 0.13 ? sim_range(s->r, 1, 4) * MIN_MS
                              : -sim_range(s->r, 2, 12) * MIN_MS;
    a->in = a->S + late + sim_range(s->r, 0, 59) * 1000;
    a->out = chance(s, 0.02) ? a->E - sim_range(s->r, 15, 60) * MIN_MS
                             : a->E + sim_range(s->r, 0, 12) * MIN_MS;
    a->out += sim_range(s->r, 0, 59) * 1000;
    if (a->out - a->in >= 6 * HOUR_MS) {
        /* Breaks are staggered: the pos-th person of a slot goes 35 minutes after the one
         * before, around the middle of the shift. */
        int64_t stagger = ((int64_t)(pos % 5) - 2) * 35 * MIN_MS;
        a->b0 =
            a->in + (a->out - a->in) / 2 - 15 * MIN_MS + stagger + sim_range(s->r, -5, 5) * MIN_MS;
        a->b1 = a->b0 + 30 * MIN_MS + sim_range(s->r, -3, 5) * MIN_MS;
    }
}

static void build_rota(struct st *s, int32_t day, int ring)
{
    const struct sim_store *ss = s->ss;
    s->nasg[ring] = 0;
    bool allday = ss->close_min - ss->open_min >= 24 * 60;
    unsigned slots = allday ? 3 : 2;
    int64_t win[3][2];
    if (allday) {
        for (unsigned k = 0; k < 3; k++) {
            win[k][0] = (6 + 8 * (int64_t)k) * HOUR_MS;
            win[k][1] = win[k][0] + 8 * HOUR_MS;
        }
    } else {
        int64_t o = ss->open_min * MIN_MS, c = ss->close_min * MIN_MS;
        int64_t mid = (o + c) / 2 / (30 * MIN_MS) * (30 * MIN_MS);
        win[0][0] = o;
        win[0][1] = win[1][0] = mid;
        win[1][1] = c;
    }
    /* Cashiers: one per till and slot, rotating through a pool a little larger than a day
     * needs, so that everyone has days off. */
    unsigned need = s->nterm * slots, j = 0, pos[3] = {0, 0, 0};
    for (unsigned k = 0; k < slots; k++) {
        for (unsigned t = 0; t < s->nterm; t++, j++) {
            struct asg *a = new_asg(s, ring);
            if (!a)
                return;
            a->emp = (uint32_t)(((uint64_t)(uint32_t)day * need + j) % ss->n_cashier);
            a->till = (int16_t)t;
            a->slot = (uint8_t)k;
            bool last = k == slots - 1;
            a->S = at_local(s, day, win[k][0] - 15 * MIN_MS);
            a->E = at_local(s, day, win[k][1] + (last && !allday ? 20 : 15) * MIN_MS);
            plan_shift(s, a, pos[k]++);
            if (a->absent)
                continue;
            a->dopen = a->in + sim_range(s->r, 2, 5) * MIN_MS;
            int64_t w0 = at_local(s, day, win[k][0]), w1 = at_local(s, day, win[k][1]);
            a->s0 = a->dopen + MIN_MS > w0 ? a->dopen + MIN_MS : w0;
            a->s1 = a->out - 12 * MIN_MS < w1 ? a->out - 12 * MIN_MS : w1;
            a->dclose = a->s1 + sim_range(s->r, 2, 8) * MIN_MS;
            if (a->s1 <= a->s0)
                a->till = -1; /* too late to sell: works the floor */
        }
    }
    /* Floor staff and a supervisor per slot. */
    unsigned nfloor[3] = {ss->floor_early, ss->floor_late, 1};
    unsigned fneed = nfloor[0] + nfloor[1] + (allday ? 1 : 0), fj = 0;
    for (unsigned k = 0; k < slots; k++) {
        for (unsigned f = 0; f < nfloor[k]; f++, fj++) {
            struct asg *a = new_asg(s, ring);
            if (!a)
                return;
            a->emp =
                ss->n_cashier + (uint32_t)(((uint64_t)(uint32_t)day * fneed + fj) % ss->n_floor);
            a->slot = (uint8_t)k;
            int64_t st = allday   ? win[k][0] - 30 * MIN_MS
                         : k == 0 ? win[0][0] - HOUR_MS
                                  : win[1][0] - 30 * MIN_MS;
            a->S = at_local(s, day, st);
            a->E = at_local(s, day, win[k][1] + 30 * MIN_MS);
            plan_shift(s, a, pos[k]++);
        }
        struct asg *a = new_asg(s, ring);
        if (!a)
            return;
        a->emp = ss->n_cashier + ss->n_floor +
                 (uint32_t)(((uint64_t)(uint32_t)day * slots + k) % ss->n_super);
        a->slot = (uint8_t)k;
        a->S = at_local(s, day, win[k][0] - 45 * MIN_MS);
        a->E = at_local(s, day, win[k][1] + 30 * MIN_MS);
        plan_shift(s, a, pos[k]++);
    }
}

static void publish_rota(struct st *s, int64_t t, int32_t day, int ring)
{
    for (unsigned i = 0; i < s->nasg[ring]; i++) {
        const struct asg *a = &s->asg[ring][i];
        int64_t te = t + (int64_t)i * 2000;
        struct slot *sl = ev_begin(s, 0, te, 0);
        if (!sl)
            return;
        Floorwalker__Shift *sh = &sl->b.shift;
        floorwalker__shift__init(sh);
        char *p = put_str(sl->id1, s->ss->id);
        p = put_str(p, "-SH");
        p = put_date(p, day);
        *p++ = '-';
        p = put_u(p, a->no, 3);
        *p = 0;
        sh->shift_id = sl->id1;
        const struct sim_emp *e = &s->ss->emp[a->emp];
        sh->employee_id = (char *)e->id;
        sh->role = (char *)sim_role_names[e->role];
        shift_wall(s, a, &sh->start_ms, &sh->end_ms);
        sl->e.body_case = FLOORWALKER__EVENT__BODY_SHIFT;
        sl->e.shift = sh;
        ev_end(s, 0, K_SHIFT, 0);
    }
}

static void publish_target(struct st *s, int64_t t, int32_t day)
{
    struct slot *sl = ev_begin(s, 0, t, 0);
    if (!sl)
        return;
    Floorwalker__SalesTarget *tg = &sl->b.target;
    floorwalker__sales_target__init(tg);
    bool model_time = s->o->mode == SIM_COMPRESSED || s->o->mode == SIM_LIVE;
    int32_t bday = model_time ? day : sim_zone_local_day(s->c, s->ss, s->wall);
    sim_format_day(bday, sl->id1);
    tg->business_day = sl->id1;
    /* The manager sets a target the store makes: 72-88% of what it sells on average. The
     * daemon's sales_behind_target expects sales to grow linearly from opening, and mornings
     * are slow: a tighter target would fire it on most mornings. */
    double f = weekday_factor[sim_weekday(day)] * (0.72 + 0.16 * sim_u01(s->r));
    tg->target_cents = (int64_t)((double)s->ss->net_per_day * f) / 10000 * 10000;
    sl->e.body_case = FLOORWALKER__EVENT__BODY_SALES_TARGET;
    sl->e.sales_target = tg;
    ev_end(s, 0, K_TARGET, 0);
}

/* The transfer plan k of store `from` on `day`, drawn from the seed alone so that the receiving
 * store's thread draws the same one. */
static bool xfer_plan(const struct sim_chain *c, unsigned from, int32_t day, unsigned k,
                      unsigned *to, unsigned *rank, int64_t *qty)
{
    if (c->nstores < 2)
        return false;
    uint64_t x = c->o->seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)from << 40) ^
                 ((uint64_t)(uint32_t)day << 4) ^ k;
    uint64_t h = sim_splitmix(&x);
    if (h % 100 >= 30)
        return false;
    h = sim_splitmix(&x);
    /* A store of the same region when there is one. */
    unsigned reg = c->stores[from].region, lo = from, hi = from;
    while (lo > 0 && c->stores[lo - 1].region == reg)
        lo--;
    while (hi + 1 < c->nstores && c->stores[hi + 1].region == reg)
        hi++;
    if (hi > lo) {
        unsigned n = hi - lo; /* others in the region */
        unsigned j = (unsigned)(h % n);
        *to = lo + j >= from ? lo + j + 1 : lo + j;
    } else {
        unsigned j = (unsigned)(h % (c->nstores - 1));
        *to = j >= from ? j + 1 : j;
    }
    h = sim_splitmix(&x);
    *rank = (unsigned)(h % (c->nskus < 20 ? c->nskus : 20));
    const struct sim_sku *sk = &c->skus[*rank];
    *qty = sk->weighed ? (int64_t)(2 + (h >> 20) % 4) * 1000 : (int64_t)(2 + (h >> 20) % 5) * 1000;
    return true;
}

static void plan_complaint(struct st *s, int64_t t, int32_t day, unsigned n);

static void on_day(struct st *s, int64_t t, int32_t day)
{
    const struct sim_store *ss = s->ss;
    int ring = (int)((uint32_t)day % 3);
    publish_target(s, t, day);
    build_rota(s, day, ring);
    publish_rota(s, t + 5000, day, ring);
    for (unsigned i = 0; i < s->nasg[ring]; i++) {
        const struct asg *a = &s->asg[ring][i];
        if (a->absent)
            continue;
        uint32_t ref = (uint32_t)ring << 16 | i;
        push(s, a->in, A_CLOCK_IN, 0, ref, 0);
        if (a->b0) {
            push(s, a->b0, A_BREAK_START, 0, ref, 0);
            push(s, a->b1, A_BREAK_END, 0, ref, 0);
        }
        push(s, a->out, A_CLOCK_OUT, 0, ref, 0);
        if (a->till >= 0)
            push(s, a->dopen, A_TILL_OPEN, (unsigned)a->till, ref, 0);
    }
    bool allday = ss->close_min - ss->open_min >= 24 * 60;
    int64_t deliver = allday || ss->open_min <= 6 * 60 ? 5 * HOUR_MS : 5 * HOUR_MS + 30 * MIN_MS;
    if (!s->opened_stock || sim_weekday(day) != 6) /* no deliveries on Sundays */
        push(s, at_local(s, day, deliver), A_DELIVERY, 0, (uint32_t)day, 0);
    push(s, at_local(s, day, deliver + 40 * MIN_MS), A_COUNT, 0, (uint32_t)day, 0);
    int64_t open = ss->open_min * MIN_MS, len = (ss->close_min - ss->open_min) * MIN_MS;
    unsigned nd = poisson(s, 1.2 * ss->size);
    for (unsigned i = 0; i < nd; i++)
        push(s, at_local(s, day, open + (int64_t)(sim_u01(s->r) * (double)len)), A_DAMAGE, 0,
             FLOORWALKER__STOCK_MOVE__KIND__DAMAGE, 0);
    if (chance(s, 0.15))
        push(s, at_local(s, day, open + (int64_t)(sim_u01(s->r) * (double)len)), A_DAMAGE, 0,
             FLOORWALKER__STOCK_MOVE__KIND__SHRINK, 0);
    if (chance(s, 0.05))
        push(s, at_local(s, day, open + HOUR_MS), A_DAMAGE, 0,
             FLOORWALKER__STOCK_MOVE__KIND__RETURN_TO_VENDOR, 0);
    if (chance(s, 0.01)) /* a freezer fails: a morning's worth of frozen goods written off */
        push(s, at_local(s, day, open + 2 * HOUR_MS), A_DAMAGE, 0, 100, 0);
    for (unsigned k = 0; k < XFERS_PER_DAY; k++) {
        unsigned to, rank;
        int64_t q;
        if (xfer_plan(s->c, s->run->idx, day, k, &to, &rank, &q))
            push(s, at_local(s, day, 10 * HOUR_MS + (int64_t)k * 30 * MIN_MS), A_XFER_OUT, 0,
                 (uint32_t)day, k);
    }
    for (unsigned f = 0; f < s->c->nstores; f++) {
        if (f == s->run->idx)
            continue;
        for (unsigned k = 0; k < XFERS_PER_DAY; k++) {
            unsigned to, rank;
            int64_t q;
            if (xfer_plan(s->c, f, day, k, &to, &rank, &q) && to == s->run->idx)
                push(s, at_local(s, day, 15 * HOUR_MS + (int64_t)(f % 60) * MIN_MS), A_XFER_IN, 0,
                     f, (uint32_t)day << 2 | k);
        }
    }
    unsigned nc = poisson(s, 2.0 * ss->size);
    for (unsigned i = 0; i < nc; i++)
        plan_complaint(s, at_local(s, day, open + (int64_t)(sim_u01(s->r) * (double)len)), day, i);
    for (unsigned ti = 0; ti < s->nterm; ti++)
        if (chance(s, 0.08))
            push(s, at_local(s, day, open + 3 * HOUR_MS + sim_range(s->r, 0, 300) * MIN_MS),
                 A_PAID_OUT, ti, 0, 0);
    push(s, at_local(s, day + 1, 4 * HOUR_MS), A_DAY, 0, (uint32_t)(day + 1), 0);
}

/* ---- stock --------------------------------------------------------------------------------------
 */

static int64_t round_up(int64_t q, int64_t unit)
{
    return (q + unit - 1) / unit * unit;
}

static void on_delivery(struct st *s, int64_t t, int32_t day)
{
    char ref[48];
    bool opening = !s->opened_stock;
    if (opening)
        snprintf(ref, sizeof ref, "OPENING-%s", s->ss->id);
    else {
        char *p = put_str(ref, "DN-");
        p = put_str(p, s->ss->id);
        *p++ = '-';
        p = put_date(p, day);
        *p = 0;
    }
    int64_t te = t;
    for (unsigned i = 0; i < s->c->nskus; i++) {
        const struct sim_sku *k = &s->c->skus[i];
        int64_t d = demand_per_day(s, i), disp = min_display(k);
        int64_t rp = 3 * d + disp, upto = 7 * d + disp;
        if (!opening && s->on_hand[i] >= rp)
            continue;
        int64_t q = round_up(upto - s->on_hand[i], k->case_milli);
        if (q <= 0)
            continue;
        emit_stock(s, te, i, FLOORWALKER__STOCK_MOVE__KIND__RECEIVE, q, ref, NULL);
        te += opening ? 200 : 3000;
        if (!s->left || s->stop)
            return;
    }
    if (opening) {
        s->opened_stock = true;
        /* Let the opening stock reach the daemon before the first sale takes from it. */
        barrier(s);
    }
}

static void on_count(struct st *s, int64_t t, int32_t day)
{
    char ref[48];
    char *p = put_str(ref, "CC-");
    p = put_str(p, s->ss->id);
    *p++ = '-';
    p = put_date(p, day);
    *p = 0;
    unsigned n = s->c->nskus < 15 ? s->c->nskus : 15;
    /* The book counted against is what every till has sold so far: the daemon must have
     * applied their sales before it applies the count. */
    barrier(s);
    for (unsigned j = 0; j < n; j++) {
        unsigned rank = (unsigned)(((uint64_t)(uint32_t)day * 15 + j) % s->c->nskus);
        const struct sim_sku *k = &s->c->skus[rank];
        double u = sim_u01(s->r);
        int64_t v = 0, unit = k->weighed ? 1 : 1000;
        if (u < 0.88)
            v = 0;
        else if (u < 0.98)
            v = k->weighed ? sim_range(s->r, 5, 40) : unit;
        else if (u < 0.995)
            v = k->weighed ? sim_range(s->r, 50, 150) : 2 * unit;
        else /* a real discrepancy: count_variance fires */
            v = k->weighed ? sim_range(s->r, 2500, 6000) : sim_range(s->r, 4, 12) * unit;
        if (chance(s, 0.7))
            v = -v; /* more often short than over */
        int64_t counted = s->on_hand[rank] + v;
        if (counted < 0)
            counted = 0;
        emit_stock(s, t + (int64_t)j * 20000, rank, FLOORWALKER__STOCK_MOVE__KIND__COUNT, counted,
                   ref, NULL);
    }
}

static void on_damage(struct st *s, int64_t t, int kind)
{
    static const char *const why[] = {"damaged in store", "past its date", "broken in transit",
                                      "packaging damaged"};
    if (kind == 100) { /* freezer failure */
        int64_t te = t;
        for (unsigned i = 0, done = 0; i < s->c->nskus && done < 12; i++) {
            const struct sim_sku *k = &s->c->skus[i];
            if (strcmp(sim_category_name(k->cat), "frozen") != 0 || s->on_hand[i] < 2000)
                continue;
            int64_t q = s->on_hand[i] / 2 / 1000 * 1000;
            emit_stock(s, te, i, FLOORWALKER__STOCK_MOVE__KIND__DAMAGE, q, "freezer failure", NULL);
            te += 20000;
            done++;
        }
        return;
    }
    unsigned rank = zipf(s);
    const struct sim_sku *k = &s->c->skus[rank];
    int64_t q;
    const char *ref;
    if (kind == FLOORWALKER__STOCK_MOVE__KIND__RETURN_TO_VENDOR) {
        q = k->case_milli;
        ref = "faulty batch";
    } else if (kind == FLOORWALKER__STOCK_MOVE__KIND__SHRINK) {
        q = k->weighed ? sim_range(s->r, 200, 900) : 1000;
        ref = "unexplained loss";
    } else {
        q = k->weighed ? sim_range(s->r, 150, 1500) : (chance(s, 0.8) ? 1000 : 2000);
        ref = why[sim_below(s->r, 4)];
    }
    if (s->on_hand[rank] < q)
        return;
    emit_stock(s, t, rank, kind, q, ref, NULL);
}

static void on_xfer(struct st *s, int64_t t, bool out, unsigned other_or_k, uint32_t b)
{
    unsigned from = out ? s->run->idx : other_or_k, k = out ? b : (b & 3), to, rank;
    int32_t day = out ? (int32_t)other_or_k : (int32_t)(b >> 2);
    int64_t q;
    if (!xfer_plan(s->c, from, day, k, &to, &rank, &q))
        return;
    char ref[48];
    char *p = put_str(ref, "TR-");
    p = put_str(p, s->c->stores[from].id);
    *p++ = '-';
    p = put_str(p, s->c->stores[to].id);
    *p++ = '-';
    p = put_date(p, day);
    *p++ = '-';
    p = put_u(p, k + 1, 1);
    *p = 0;
    if (out)
        emit_stock(s, t, rank, FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_OUT, q, ref,
                   s->c->stores[to].id);
    else
        emit_stock(s, t, rank, FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_IN, q, ref,
                   s->c->stores[from].id);
}

/* ---- tills --------------------------------------------------------------------------------------
 */

static int64_t next_arrival(struct st *s, struct till *tl, int64_t t)
{
    int64_t local = tl->base_local + (t - tl->base_utc);
    int h = (int)((local / HOUR_MS) % 24);
    int32_t day = tl->base_day + (int32_t)(local / DAY_MS);
    double rate = 30.0 * sim_hour_profile[h] * s->ss->size * weekday_factor[sim_weekday(day)];
    int64_t gap = (int64_t)sim_expo(s->r, 3600000.0 / rate);
    return t + (gap < 1000 ? 1000 : gap);
}

static void schedule_arrival(struct st *s, unsigned ti, int64_t t)
{
    struct till *tl = &s->tills[ti];
    int64_t n = next_arrival(s, tl, t);
    if (tl->b0 && n >= tl->b0 && n < tl->b1)
        n = next_arrival(s, tl, tl->b1);
    if (n < tl->s1)
        push(s, n, A_ARRIVAL, ti, tl->gen, 0);
}

/* The cashier puts their drawer in: OPEN with the float. */
static void on_till_open(struct st *s, int64_t t, unsigned ti, const struct asg *a, uint32_t ref)
{
    struct drawer *d = &s->tills[ti].d[a->slot];
    d->gen++;
    d->open = true;
    d->cashier = s->ss->emp[a->emp].id;
    d->expected = s->ss->float_cents;
    /* Now and then a pickup is forgotten and the drawer goes over the limit. */
    d->pickup_at = chance(s, 0.03) ? 520000 : s->ss->pickup_cents;
    d->pickup_pending = false;
    emit_drawer(s, ti, t, d, FLOORWALKER__DRAWER__KIND__OPEN, s->ss->float_cents, 0);
    push(s, a->dclose, A_TILL_CLOSE, ti, a->slot, d->gen);
    push(s, a->s0, A_SELL_START, ti, ref, 0);
}

/* The till serves customers from s0 to s1 (less the cashier's break). */
static void on_sell_start(struct st *s, int64_t t, unsigned ti, const struct asg *a)
{
    struct till *tl = &s->tills[ti];
    tl->gen++;
    tl->cashier = s->ss->emp[a->emp].id;
    tl->suspicious = (int)a->emp == s->ss->suspicious;
    tl->cur = a->slot;
    tl->s1 = a->s1;
    tl->b0 = a->b0 && a->b1 > a->s0 && a->b0 < a->s1 ? a->b0 : 0;
    tl->b1 = a->b1;
    tl->base_utc = t;
    tl->base_day = sim_utc_to_local(s->c, s->ss, t, &tl->base_local);
    schedule_arrival(s, ti, t);
}

/* CLOSE: the cashier counts the drawer; mostly right, sometimes a little out, rarely more. */
static void on_till_close(struct st *s, int64_t t, unsigned ti, unsigned no)
{
    struct drawer *d = &s->tills[ti].d[no];
    double u = sim_u01(s->r);
    int64_t over = 0;
    if (u < 0.75)
        over = 0;
    else if (u < 0.92)
        over = sim_range(s->r, 1, 300);
    else if (u < 0.98)
        over = sim_range(s->r, 300, 999);
    else if (u < 0.997)
        over = sim_range(s->r, 1001, 6000); /* cash_over_short fires */
    else
        over = sim_range(s->r, 10001, 25000); /* ... as CRITICAL */
    if (chance(s, 0.65))
        over = -over; /* short more often than over */
    int64_t counted = d->expected + over;
    if (counted < 0)
        counted = 0;
    emit_drawer(s, ti, t, d, FLOORWALKER__DRAWER__KIND__CLOSE, 0, counted);
    d->open = false;
    d->gen++;
}

static uint8_t pick_method(struct st *s)
{
    uint32_t u = sim_below(s->r, 1000);
    return u < 600   ? FLOORWALKER__TENDER__METHOD__CARD
           : u < 820 ? FLOORWALKER__TENDER__METHOD__CASH
           : u < 960 ? FLOORWALKER__TENDER__METHOD__MOBILE
           : u < 985 ? FLOORWALKER__TENDER__METHOD__VOUCHER
                     : FLOORWALKER__TENDER__METHOD__OTHER;
}

static unsigned basket_lines(struct st *s)
{
    uint32_t u = (uint32_t)sim_rnd(s->r);
    const uint32_t *cdf = s->lines_cdf[sim_below(s->r, 100) < 95 ? 0 : 1];
    unsigned n = 0;
    while (n < SIM_MAX_LINES - 1 && u > cdf[n])
        n++;
    return n + 1;
}

static int64_t line_qty(struct st *s, const struct sim_sku *k)
{
    if (k->weighed) {
        int64_t g = (int64_t)sim_lognormal(s->r, 550, 0.5);
        g = g < 80 ? 80 : g > 4000 ? 4000 : g;
        return g / 5 * 5;
    }
    uint32_t u = sim_below(s->r, 100);
    return (u < 78 ? 1 : u < 93 ? 2 : u < 97 ? 3 : 4 + (int64_t)sim_below(s->r, 3)) * 1000;
}

static bool on_promo(const struct st *s, unsigned rank, unsigned week)
{
    uint64_t x = s->o->seed ^ ((uint64_t)rank << 20) ^ ((uint64_t)week * 0x9E3779B97F4A7C15ull);
    return sim_splitmix(&x) % 100 < 4;
}

static void set_tenders(struct slot *sl, Floorwalker__Sale *sa, const uint8_t *method,
                        const int64_t *amt, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        floorwalker__tender__init(&sl->tenders[i]);
        sl->tenders[i].method = method[i];
        sl->tenders[i].amount_cents = amt[i];
        sl->tptr[i] = &sl->tenders[i];
    }
    sa->tenders = sl->tptr;
    sa->n_tenders = n;
}

static void fill_line(Floorwalker__SaleLine *ln, const struct sim_sku *k, const struct rline *r)
{
    floorwalker__sale_line__init(ln);
    ln->sku = (char *)k->id;
    ln->category = (char *)sim_category_name(k->cat);
    ln->qty_milli = r->qty;
    ln->unit_price_cents = r->price;
    ln->discount_cents = r->disc;
    if (r->promo)
        ln->promo = promo_names[r->promo];
}

static int64_t line_net(const struct rline *r)
{
    return (r->qty * r->price + 500) / 1000 - r->disc;
}

static void do_sale(struct st *s, int64_t t, unsigned ti)
{
    struct till *tl = &s->tills[ti];
    unsigned want = basket_lines(s);
    struct slot *sl = ev_begin(s, ti, t, want);
    if (!sl)
        return;
    struct tout *o = &s->out[ti];
    Floorwalker__Sale *sa = &sl->b.sale;
    floorwalker__sale__init(sa);
    int32_t day = sim_utc_to_local(s->c, s->ss, t, NULL);
    unsigned week = (unsigned)((day + 3) / 7);
    struct rline rl[SIM_MAX_LINES];
    unsigned n = 0;
    int64_t total = 0;
    for (unsigned i = 0; i < want; i++) {
        unsigned rank = zipf(s);
        const struct sim_sku *k = &s->c->skus[rank];
        int64_t q = line_qty(s, k), have = s->on_hand[rank];
        if (have < q) /* the shelf has less: take what is there */
            q = k->weighed ? (have >= 50 ? have : 0) : have / 1000 * 1000;
        if (q <= 0)
            continue;
        s->on_hand[rank] -= q;
        struct rline *r = &rl[n];
        r->sku = rank;
        r->qty = q;
        r->price = k->price_cents;
        int64_t gross = (q * k->price_cents + 500) / 1000;
        r->promo = 0;
        r->disc = 0;
        if (on_promo(s, rank, week)) {
            static const int pct[] = {10, 15, 20, 25, 33};
            r->promo = (uint8_t)(week % 52 + 1);
            r->disc = gross * pct[(rank + week) % 5] / 100;
        } else if (sim_below(s->r, 1000) < 4) { /* a markdown at the till */
            r->disc = gross * sim_range(s->r, 10, 50) / 100;
        }
        fill_line(&o->lines[o->nl + n], k, r);
        total += gross - r->disc;
        n++;
    }
    if (!n)
        return; /* nothing the customer wanted was there: no sale */
    next_receipt(sl->id1, s->c->term_ids[s->ss->first_term + ti], tl, day);
    sa->receipt_id = sl->id1;
    sa->cashier_id = (char *)tl->cashier;
    sa->kind = FLOORWALKER__SALE__KIND__SALE;
    sa->lines = &o->lptr[o->nl];
    sa->n_lines = n;
    sa->total_cents = total;
    uint8_t m[2] = {pick_method(s), FLOORWALKER__TENDER__METHOD__CARD};
    int64_t amt[2] = {total, 0};
    unsigned nt = 1;
    if (m[0] == FLOORWALKER__TENDER__METHOD__VOUCHER) {
        static const int64_t v[] = {500, 1000, 2000};
        amt[0] = v[sim_below(s->r, 3)];
        if (amt[0] >= total) {
            amt[0] = total;
        } else {
            amt[1] = total - amt[0];
            nt = 2;
        }
    }
    set_tenders(sl, sa, m, amt, nt);
    sl->e.body_case = FLOORWALKER__EVENT__BODY_SALE;
    sl->e.sale = sa;
    sl->net = total;
    ev_end(s, ti, K_SALE, n);
    struct drawer *d = &tl->d[tl->cur];
    if (m[0] == FLOORWALKER__TENDER__METHOD__CASH && d->open) {
        d->expected += total;
        if (d->expected > d->pickup_at && !d->pickup_pending) {
            d->pickup_pending = true;
            push(s, t + sim_range(s->r, 1, 8) * MIN_MS, A_PICKUP, ti, (uint32_t)tl->cur, d->gen);
        }
    }
    struct rcpt *rc = &tl->ring[tl->rno % RING];
    rc->day = day;
    rc->no = tl->rno;
    rc->method =
        m[0] == FLOORWALKER__TENDER__METHOD__VOUCHER ? FLOORWALKER__TENDER__METHOD__CARD : m[0];
    rc->n = (uint8_t)(n < RLINES ? n : RLINES);
    rc->used = false;
    memcpy(rc->l, rl, rc->n * sizeof rl[0]);
    if (tl->rn < RING)
        tl->rn++;
    if (!tl->void_pending && chance(s, tl->suspicious ? P_VOID_SUSP : P_VOID)) {
        tl->void_pending = true;
        tl->vr = *rc;
        rc->used = true;
        memcpy(tl->vl, rl, n * sizeof rl[0]);
        tl->vn = n;
        tl->vnt = nt;
        memcpy(tl->vmethod, m, sizeof m);
        memcpy(tl->vamt, amt, sizeof amt);
        tl->vtotal = total;
        tl->vcashier = tl->cashier;
        tl->vdrawer = tl->cur;
        tl->vgen = d->gen;
        push(s, t + sim_range(s->r, 20, 240) * 1000, A_VOID, ti, 0, 0);
    }
}

/* A customer brings back one or two lines of a recent receipt of this till. */
static bool do_return(struct st *s, int64_t t, unsigned ti)
{
    struct till *tl = &s->tills[ti];
    if (!tl->rn)
        return false;
    struct rcpt *rc = &tl->ring[sim_below(s->r, tl->rn)];
    if (rc->used || !rc->n)
        return false;
    unsigned n = rc->n >= 2 && chance(s, 0.2) ? 2 : 1;
    struct slot *sl = ev_begin(s, ti, t, n);
    if (!sl)
        return true;
    struct tout *o = &s->out[ti];
    Floorwalker__Sale *sa = &sl->b.sale;
    floorwalker__sale__init(sa);
    int64_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct rline *r = &rc->l[i];
        fill_line(&o->lines[o->nl + i], &s->c->skus[r->sku], r);
        total += line_net(r);
        s->on_hand[r->sku] += r->qty;
    }
    rc->used = true;
    int32_t day = sim_utc_to_local(s->c, s->ss, t, NULL);
    next_receipt(sl->id1, s->c->term_ids[s->ss->first_term + ti], tl, day);
    receipt_id(sl->id2, s->c->term_ids[s->ss->first_term + ti], rc->day, rc->no);
    sa->receipt_id = sl->id1;
    sa->original_receipt_id = sl->id2;
    sa->cashier_id = (char *)tl->cashier;
    sa->kind = FLOORWALKER__SALE__KIND__RETURN;
    sa->lines = &o->lptr[o->nl];
    sa->n_lines = n;
    sa->total_cents = total;
    uint8_t m = rc->method;
    struct drawer *d = &tl->d[tl->cur];
    if (m == FLOORWALKER__TENDER__METHOD__CASH && (!d->open || d->expected < total))
        m = FLOORWALKER__TENDER__METHOD__CARD; /* not enough cash in the drawer */
    set_tenders(sl, sa, &m, &total, 1);
    sl->e.body_case = FLOORWALKER__EVENT__BODY_SALE;
    sl->e.sale = sa;
    sl->net = -total;
    ev_end(s, ti, K_SALE, n);
    if (m == FLOORWALKER__TENDER__METHOD__CASH)
        d->expected -= total;
    return true;
}

static void on_void(struct st *s, int64_t t, unsigned ti)
{
    struct till *tl = &s->tills[ti];
    if (!tl->void_pending)
        return;
    tl->void_pending = false;
    struct drawer *d = &tl->d[tl->vdrawer];
    if (!d->open || d->gen != tl->vgen)
        return; /* the cashier has closed their drawer: too late to void */
    struct slot *sl = ev_begin(s, ti, t, tl->vn);
    if (!sl)
        return;
    struct tout *o = &s->out[ti];
    Floorwalker__Sale *sa = &sl->b.sale;
    floorwalker__sale__init(sa);
    for (unsigned i = 0; i < tl->vn; i++) {
        fill_line(&o->lines[o->nl + i], &s->c->skus[tl->vl[i].sku], &tl->vl[i]);
        s->on_hand[tl->vl[i].sku] += tl->vl[i].qty;
    }
    int32_t day = sim_utc_to_local(s->c, s->ss, t, NULL);
    next_receipt(sl->id1, s->c->term_ids[s->ss->first_term + ti], tl, day);
    receipt_id(sl->id2, s->c->term_ids[s->ss->first_term + ti], tl->vr.day, tl->vr.no);
    sa->receipt_id = sl->id1;
    sa->original_receipt_id = sl->id2;
    sa->cashier_id = (char *)tl->vcashier;
    sa->kind = FLOORWALKER__SALE__KIND__POST_VOID;
    sa->lines = &o->lptr[o->nl];
    sa->n_lines = tl->vn;
    sa->total_cents = tl->vtotal;
    set_tenders(sl, sa, tl->vmethod, tl->vamt, tl->vnt);
    sl->e.body_case = FLOORWALKER__EVENT__BODY_SALE;
    sl->e.sale = sa;
    sl->net = -tl->vtotal;
    ev_end(s, ti, K_SALE, tl->vn);
    for (unsigned i = 0; i < tl->vnt; i++)
        if (tl->vmethod[i] == FLOORWALKER__TENDER__METHOD__CASH)
            d->expected -= tl->vamt[i];
}

static void on_arrival(struct st *s, int64_t t, unsigned ti)
{
    struct till *tl = &s->tills[ti];
    if (!chance(s, tl->suspicious ? P_RETURN_SUSP : P_RETURN) || !do_return(s, t, ti))
        do_sale(s, t, ti);
    schedule_arrival(s, ti, t);
}

static void on_pickup(struct st *s, int64_t t, unsigned ti, unsigned no, uint32_t gen)
{
    struct drawer *d = &s->tills[ti].d[no];
    if (!d->open || d->gen != gen)
        return;
    d->pickup_pending = false;
    int64_t amount = (d->expected - s->ss->float_cents) / 5000 * 5000;
    if (d->expected <= d->pickup_at || amount <= 0)
        return;
    emit_drawer(s, ti, t, d, FLOORWALKER__DRAWER__KIND__PICKUP, amount, 0);
    d->expected -= amount;
}

static void on_paid_out(struct st *s, int64_t t, unsigned ti)
{
    struct till *tl = &s->tills[ti];
    struct drawer *d = &tl->d[tl->cur];
    int64_t amount = sim_range(s->r, 5, 40) * 100;
    if (!d->open || d->expected < amount)
        return;
    emit_drawer(s, ti, t, d, FLOORWALKER__DRAWER__KIND__PAID_OUT, amount, 0);
    d->expected -= amount;
}

/* ---- complaints ---------------------------------------------------------------------------------
 */

static struct cmpl *new_cmpl(struct st *s, uint32_t *idx)
{
    for (unsigned i = 0; i < s->ncmp; i++)
        if (!s->cmp[i].used) {
            *idx = i;
            return &s->cmp[i];
        }
    if (s->ncmp == s->cmp_cap) {
        unsigned n = s->cmp_cap ? s->cmp_cap * 2 : 32;
        struct cmpl *c = realloc(s->cmp, n * sizeof *c);
        if (!c)
            return NULL;
        s->cmp = c;
        s->cmp_cap = n;
    }
    *idx = s->ncmp;
    return &s->cmp[s->ncmp++];
}

/* Moves an answer into the care desk's hours (08:00-20:00 local). */
static int64_t office_hours(struct st *s, int64_t t)
{
    int64_t l;
    int32_t d = sim_utc_to_local(s->c, s->ss, t, &l);
    if (l >= 8 * HOUR_MS && l < 20 * HOUR_MS)
        return t;
    return at_local(s, l < 8 * HOUR_MS ? d : d + 1, 8 * HOUR_MS + sim_range(s->r, 0, 90) * MIN_MS);
}

static void plan_complaint(struct st *s, int64_t t, int32_t day, unsigned n)
{
    uint32_t idx;
    struct cmpl *c = new_cmpl(s, &idx);
    if (!c)
        return;
    memset(c, 0, sizeof *c);
    c->used = true;
    char *p = put_str(c->id, s->ss->id);
    p = put_str(p, "-C");
    p = put_date(p, day);
    *p++ = '-';
    p = put_u(p, n + 1, 2);
    *p = 0;
    uint32_t u = sim_below(s->r, 1000);
    c->sev = u < 850   ? FLOORWALKER__COMPLAINT__SEVERITY__MINOR
             : u < 980 ? FLOORWALKER__COMPLAINT__SEVERITY__MAJOR
                       : FLOORWALKER__COMPLAINT__SEVERITY__CRITICAL;
    u = sim_below(s->r, 100);
    c->ch = u < 55   ? FLOORWALKER__COMPLAINT__CHANNEL__COUNTER
            : u < 75 ? FLOORWALKER__COMPLAINT__CHANNEL__PHONE
            : u < 99 ? FLOORWALKER__COMPLAINT__CHANNEL__ONLINE
                     : FLOORWALKER__COMPLAINT__CHANNEL__REGULATOR;
    int x = (int)sim_below(s->r, 100);
    unsigned cat = 0;
    while (x >= complaint_cat_w[cat])
        x -= complaint_cat_w[cat++];
    c->cat = (uint8_t)cat;
    c->handler = c->ch == FLOORWALKER__COMPLAINT__CHANNEL__COUNTER
                     ? s->ss->emp[s->ss->n_cashier + s->ss->n_floor].id
                     : "HQ-CARE";
    unsigned k = 0;
    c->step[k].t = t;
    c->step[k++].action = FLOORWALKER__COMPLAINT__ACTION__OPENED;
    /* First answer: MINOR within hours or a day, 8% after the 48-hour SLA; MAJOR within
     * hours, 3% late; CRITICAL within the hour. */
    double h;
    bool major = c->sev >= FLOORWALKER__COMPLAINT__SEVERITY__MAJOR;
    if (c->sev == FLOORWALKER__COMPLAINT__SEVERITY__CRITICAL) {
        h = sim_lognormal(s->r, 0.6, 0.5);
        h = h > 8 ? 8 : h;
    } else if (chance(s, major ? 0.03 : 0.08)) {
        h = 49 + sim_u01(s->r) * (major ? 30 : 60);
    } else if (major) {
        h = sim_lognormal(s->r, 1.5, 0.8);
        h = h > 30 ? 30 : h;
    } else {
        h = chance(s, 0.4) ? sim_lognormal(s->r, 3, 0.9) : sim_lognormal(s->r, 18, 0.5);
        h = h > 44 ? 44 : h;
    }
    int64_t resp = t + (int64_t)(h * HOUR_MS) + MIN_MS;
    if (h < 44)
        resp = office_hours(s, resp);
    double pesc = c->sev == FLOORWALKER__COMPLAINT__SEVERITY__CRITICAL ? 0.7 : major ? 0.25 : 0.02;
    if (chance(s, pesc)) {
        int64_t te = t + sim_range(s->r, 10, 120) * MIN_MS;
        if (te < resp) {
            c->step[k].t = te;
            c->step[k++].action = FLOORWALKER__COMPLAINT__ACTION__ESCALATED;
        }
    }
    /* Compensation, paid at resolution: vouchers of 2-15.00 for minor complaints, up to 50.00
     * for major and critical ones; one critical complaint in 20 gets more than the desk's
     * authority of 200.00 (compensation_over_limit, resolved only by an acknowledgement).
     * Not in fast and paced runs, where simulated days pass in moments and such alerts would
     * only pile up (the amount is drawn all the same, so the rest of the run is unchanged). */
    double pcomp = c->sev == FLOORWALKER__COMPLAINT__SEVERITY__CRITICAL ? 0.9 : major ? 0.7 : 0.4;
    int64_t comp = 0;
    if (chance(s, pcomp)) {
        if (c->sev == FLOORWALKER__COMPLAINT__SEVERITY__CRITICAL) {
            bool over = chance(s, 0.05);
            int64_t big = sim_range(s->r, 201, 500) * 100, usual = sim_range(s->r, 25, 50) * 100;
            bool calendar = s->o->mode == SIM_COMPRESSED || s->o->mode == SIM_LIVE;
            comp = over && calendar ? big : usual;
        } else {
            comp = major ? sim_range(s->r, 10, 50) * 100 : sim_range(s->r, 2, 15) * 100;
        }
    }
    int64_t resolved;
    if (!major && chance(s, 0.35)) { /* settled at the first contact */
        c->step[k].t = resp;
        c->step[k].comp = comp;
        c->step[k++].action = FLOORWALKER__COMPLAINT__ACTION__RESOLVED;
        resolved = resp;
    } else {
        c->step[k].t = resp;
        c->step[k++].action = FLOORWALKER__COMPLAINT__ACTION__RESPONDED;
        double rh = sim_lognormal(s->r, 20, 0.8);
        resolved = office_hours(s, resp + (int64_t)((rh > 300 ? 300 : rh) * HOUR_MS));
        c->step[k].t = resolved;
        c->step[k].comp = comp;
        c->step[k++].action = FLOORWALKER__COMPLAINT__ACTION__RESOLVED;
    }
    if (chance(s, 0.03)) {
        int64_t tr = resolved + sim_range(s->r, 24, 96) * HOUR_MS;
        c->step[k].t = tr;
        c->step[k++].action = FLOORWALKER__COMPLAINT__ACTION__REOPENED;
        c->step[k].t = office_hours(s, tr + (int64_t)(sim_lognormal(s->r, 8, 0.6) * HOUR_MS));
        c->step[k++].action = FLOORWALKER__COMPLAINT__ACTION__RESOLVED;
    }
    c->nsteps = (uint8_t)k;
    push(s, t, A_COMPLAINT, 0, idx, 0);
}

static void on_complaint(struct st *s, int64_t t, uint32_t idx, uint32_t step)
{
    struct cmpl *c = &s->cmp[idx];
    struct slot *sl = ev_begin(s, 0, t, 0);
    if (sl) {
        Floorwalker__Complaint *p = &sl->b.complaint;
        floorwalker__complaint__init(p);
        snprintf(sl->id1, sizeof sl->id1, "%s", c->id);
        p->complaint_id = sl->id1;
        p->action = c->step[step].action;
        p->category = (char *)complaint_cats[c->cat];
        p->severity = c->sev;
        p->channel = c->ch;
        p->compensation_cents = c->step[step].comp;
        if (p->action != FLOORWALKER__COMPLAINT__ACTION__OPENED)
            p->handler_id = (char *)c->handler;
        sl->e.body_case = FLOORWALKER__EVENT__BODY_COMPLAINT;
        sl->e.complaint = p;
        ev_end(s, 0, K_COMPLAINT, 0);
    }
    if (step + 1 < c->nsteps)
        push(s, c->step[step + 1].t, A_COMPLAINT, 0, idx, step + 1);
    else
        c->used = false;
}

/* ---- heartbeats ---------------------------------------------------------------------------------
 */

/* A terminal that has sent nothing for --heartbeat seconds while its store is open (+-1 hour)
 * sends a heartbeat, as a keepalive; at night after 10 quiet minutes at least, well under
 * terminal_silent's 15. */
static void on_heartbeat(struct st *s, int64_t t, unsigned ti)
{
    struct tout *o = &s->out[ti];
    int64_t l = local_ms_of(s, t);
    int64_t op = s->ss->open_min * MIN_MS - HOUR_MS, cl = s->ss->close_min * MIN_MS + HOUR_MS;
    bool awake = (l >= op && l < cl) || cl - op >= DAY_MS;
    int64_t every = (int64_t)s->o->heartbeat_s * 1000;
    if (!awake && every < 10 * MIN_MS)
        every = 10 * MIN_MS;
    if (o->last_t && t - o->last_t < every) {
        push(s, o->last_t + every, A_HEARTBEAT, ti, 0, 0);
        return;
    }
    struct slot *sl = ev_begin(s, ti, t, 0);
    if (sl) {
        Floorwalker__Heartbeat *h = &sl->b.hb;
        floorwalker__heartbeat__init(h);
        /* The terminal's clock: real time. Not sent when the daemon's clock follows the
         * simulation (--drive-clock): that clock moves in steps, and clock_skew would only
         * measure them. */
        if (!(s->o->clock_ep && s->o->mode == SIM_COMPRESSED))
            h->terminal_time_ms = s->wall + ((int)ti == s->ss->skewed_terminal ? s->skew_ms : 0);
        if (!s->write) {
            struct fw_client_stats st;
            fw_client_stats(o->c, &st);
            h->spool_depth = st.spool_depth + o->n;
        }
        sl->e.body_case = FLOORWALKER__EVENT__BODY_HEARTBEAT;
        sl->e.heartbeat = h;
        ev_end(s, ti, K_HEARTBEAT, 0);
    }
    push(s, t + every, A_HEARTBEAT, ti, 0, 0);
}

/* ---- the run ------------------------------------------------------------------------------------
 */

static const struct asg *asg_ref(struct st *s, uint32_t ref)
{
    unsigned ring = ref >> 16, i = ref & 0xffff;
    return ring < 3 && i < s->nasg[ring] ? &s->asg[ring][i] : NULL;
}

static void handle(struct st *s, const struct act *a)
{
    const struct asg *g;
    switch (a->kind) {
    case A_DAY:
        on_day(s, a->t, (int32_t)a->a);
        break;
    case A_CLOCK_IN:
    case A_BREAK_START:
    case A_BREAK_END:
    case A_CLOCK_OUT:
        if ((g = asg_ref(s, a->a)))
            emit_attendance(s, a->t, g,
                            a->kind == A_CLOCK_IN      ? FLOORWALKER__ATTENDANCE__KIND__CLOCK_IN
                            : a->kind == A_BREAK_START ? FLOORWALKER__ATTENDANCE__KIND__BREAK_START
                            : a->kind == A_BREAK_END   ? FLOORWALKER__ATTENDANCE__KIND__BREAK_END
                                                       : FLOORWALKER__ATTENDANCE__KIND__CLOCK_OUT);
        break;
    case A_TILL_OPEN:
        if ((g = asg_ref(s, a->a)))
            on_till_open(s, a->t, a->term, g, a->a);
        break;
    case A_SELL_START:
        if ((g = asg_ref(s, a->a)))
            on_sell_start(s, a->t, a->term, g);
        break;
    case A_ARRIVAL:
        if (a->a == s->tills[a->term].gen)
            on_arrival(s, a->t, a->term);
        break;
    case A_TILL_CLOSE:
        if (a->b == s->tills[a->term].d[a->a].gen)
            on_till_close(s, a->t, a->term, a->a);
        break;
    case A_VOID:
        on_void(s, a->t, a->term);
        break;
    case A_PICKUP:
        on_pickup(s, a->t, a->term, a->a, a->b);
        break;
    case A_PAID_OUT:
        on_paid_out(s, a->t, a->term);
        break;
    case A_HEARTBEAT:
        on_heartbeat(s, a->t, a->term);
        break;
    case A_DELIVERY:
        on_delivery(s, a->t, (int32_t)a->a);
        break;
    case A_COUNT:
        on_count(s, a->t, (int32_t)a->a);
        break;
    case A_DAMAGE:
        on_damage(s, a->t, (int)a->a);
        break;
    case A_XFER_OUT:
        on_xfer(s, a->t, true, a->a, a->b);
        break;
    case A_XFER_IN:
        on_xfer(s, a->t, false, a->a, a->b);
        break;
    case A_COMPLAINT:
        on_complaint(s, a->t, a->a, a->b);
        break;
    default:
        break;
    }
}

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Geometric distribution of basket lines, as a CDF over 1..SIM_MAX_LINES (scaled to 2^32). */
static void lines_cdf(uint32_t *cdf, double mean)
{
    double p = 1.0 / mean, q = 1, acc = 0;
    for (unsigned n = 0; n < SIM_MAX_LINES; n++) {
        acc += p * q;
        q *= 1 - p;
        double v = acc * 4294967295.0;
        cdf[n] = n == SIM_MAX_LINES - 1 || v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v;
    }
}

static int st_init(struct st *s, struct sim_store_run *run)
{
    const struct sim_chain *c = run->c;
    const struct sim_opts *o = c->o;
    memset(s, 0, sizeof *s);
    s->c = c;
    s->o = o;
    s->run = run;
    s->ss = &c->stores[run->idx];
    s->nterm = o->terminals;
    s->left = run->budget;
    s->write = run->w != NULL;
    s->track_acks = !s->write && o->clock_ep && o->mode == SIM_COMPRESSED;
    s->epoch = simw_epoch(o->seed);
    s->wall = fw_now_ms();
    sim_seed(s->r, o->seed, 0x5703E000ull + run->idx);
    s->skew_ms = (150 + (int64_t)(run->idx % 90)) * 1000;
    s->lines_per_day = s->ss->txn_per_till_day * o->terminals * c->mean_lines;
    lines_cdf(s->lines_cdf[0], 3.0);
    lines_cdf(s->lines_cdf[1], 14.0);
    s->on_hand = calloc(c->nskus, sizeof *s->on_hand);
    s->out = calloc(s->nterm, sizeof *s->out);
    s->tills = calloc(s->nterm, sizeof *s->tills);
    s->asg_cap = s->nterm * 3 + s->ss->floor_early + s->ss->floor_late + 8;
    for (int i = 0; i < 3; i++)
        s->asg[i] = calloc(s->asg_cap, sizeof *s->asg[i]);
    if (!s->on_hand || !s->out || !s->tills || !s->asg[0] || !s->asg[1] || !s->asg[2])
        return FW_ENOMEM;
    for (unsigned t = 0; t < s->nterm; t++) {
        struct tout *to = &s->out[t];
        const char *tid = c->term_ids[s->ss->first_term + t];
        to->cap = s->write ? 1 : o->chunk;
        to->lcap = (s->write ? 0 : to->cap * 5) + SIM_MAX_LINES;
        to->slots = calloc(to->cap, sizeof *to->slots);
        to->evp = calloc(to->cap, sizeof *to->evp);
        to->lines = calloc(to->lcap, sizeof *to->lines);
        to->lptr = calloc(to->lcap, sizeof *to->lptr);
        if (!to->slots || !to->evp || !to->lines || !to->lptr)
            return FW_ENOMEM;
        for (unsigned i = 0; i < to->lcap; i++)
            to->lptr[i] = &to->lines[i];
        struct till *tl = &s->tills[t];
        for (int d = 0; d < 3; d++)
            snprintf(tl->d[d].id, sizeof tl->d[d].id, "%s-D%d", tid, d + 1);
        tl->rday = -1;
        if (!s->write) {
            char dir[2048];
            snprintf(dir, sizeof dir, "%s/%s", o->spool_base, tid);
            struct fw_options fo = {.endpoint = o->endpoint,
                                    .spool_dir = dir,
                                    .batch_max = o->batch_max,
                                    .no_fsync = o->no_fsync};
            struct fw_keypair kp;
            if (o->key_dir) {
                char kf[2048];
                snprintf(kf, sizeof kf, "%s/%s.key", o->key_dir, tid);
                if (access(kf, R_OK) != 0)
                    snprintf(kf, sizeof kf, "%s/%s.key", o->key_dir, s->ss->id);
                if (cli_fw_options_keyfile(&fo, kf, &kp) != 0)
                    return FW_ECONFIG;
            } else {
                cli_fw_options(&fo);
            }
            int err = fw_open_opts(&to->c, s->ss->id, tid, &fo);
            if (err) {
                fprintf(stderr, "floorwalker sim: %s: cannot open spool %s: %s\n", tid, dir,
                        fw_strerror_code(err));
                return err;
            }
        }
    }
    return FW_OK;
}

static void st_finish(struct st *s)
{
    struct sim_store_run *run = s->run;
    if (!s->out) {
        if (s->write)
            simw_done(run->w, run->idx);
        free(s->tills);
        free(s->on_hand);
        for (int i = 0; i < 3; i++)
            free(s->asg[i]);
        return;
    }
    if (!run->err)
        flush_all(s);
    for (unsigned t = 0; t < s->nterm; t++) {
        struct tout *to = &s->out[t];
        if (s->write) {
            int err = simw_flush(run->w, run->idx, &to->wb);
            if (err && !run->err)
                run->err = err;
            simw_batch_free(&to->wb);
        }
    }
    if (s->write)
        simw_done(run->w, run->idx);
    /* Wait for the acks of every terminal together, then read their figures. */
    if (!s->write) {
        /* Interrupted: a short wait, what is left stays spooled for the next run. */
        uint64_t wait_s = *run->stop && s->o->timeout_s > 2 ? 2 : (uint64_t)s->o->timeout_s;
        uint64_t deadline = fw_mono_ns() + wait_s * 1000000000ull;
        for (unsigned t = 0; t < s->nterm; t++) {
            struct tout *to = &s->out[t];
            if (!to->c)
                continue;
            uint64_t now = fw_mono_ns();
            int left_ms = now < deadline ? (int)((deadline - now) / 1000000) : 0;
            if (fw_flush(to->c, left_ms) && !run->err)
                run->err = FW_ETIMEDOUT;
        }
        for (unsigned t = 0; t < s->nterm; t++) {
            struct tout *to = &s->out[t];
            if (!to->c)
                continue;
            struct fw_client_stats st;
            fw_client_stats(to->c, &st);
            run->rejected += st.rejected;
            run->spool_left += st.spool_depth;
            run->resends += st.resends;
            fw_close(&to->c);
        }
    }
    for (unsigned t = 0; t < s->nterm; t++) {
        free(s->out[t].slots);
        free(s->out[t].evp);
        free(s->out[t].lines);
        free(s->out[t].lptr);
    }
    free(s->out);
    free(s->tills);
    free(s->on_hand);
    for (int i = 0; i < 3; i++)
        free(s->asg[i]);
    free(s->cmp);
    free(s->heap);
}

int64_t sim_store_first_ms(const struct sim_chain *c, unsigned idx, int64_t start_ms)
{
    const struct sim_store *ss = &c->stores[idx];
    int64_t l;
    int32_t d = sim_utc_to_local(c, ss, start_ms, &l);
    return sim_local_to_utc(c, ss, l < 4 * HOUR_MS ? d - 1 : d, 4 * HOUR_MS);
}

void *sim_store_main(void *arg)
{
    struct sim_store_run *run = arg;
    struct st s;
    pthread_once(&promo_once, promo_init);
    int err = st_init(&s, run);
    if (err) {
        run->err = err;
        s.stop = true;
        st_finish(&s);
        __atomic_store_n(&run->done, 1, __ATOMIC_RELEASE);
        return NULL;
    }
    const struct sim_opts *o = s.o;
    int64_t start = fw_now_ms();
    int64_t t0 = run->first_ms;
    int32_t d0 = sim_utc_to_local(s.c, s.ss, t0, NULL);
    push(&s, t0, A_DAY, 0, (uint32_t)d0, 0);
    for (unsigned t = 0; t < s.nterm; t++)
        push(&s, t0 + (int64_t)t * o->heartbeat_s * 1000 / s.nterm + 1000, A_HEARTBEAT, t, 0, 0);
    bool calendar = o->mode == SIM_COMPRESSED || o->mode == SIM_LIVE;
    /* How early an event may leave: 20 ms, or 15 simulated seconds when the calendar runs
     * faster than that (the daemon stamps arrivals with its clock). */
    int64_t early_ms = (int64_t)(15000 * run->clock->k);
    early_ms = early_ms < 1 ? 1 : early_ms > 20 ? 20 : early_ms;
    if (o->mode == SIM_LIVE)
        early_ms = 20;
    bool until_now = calendar && (run->budget == UINT64_MAX || s.write) && o->mode != SIM_LIVE;
    uint64_t w0 = fw_mono_ns(), next_check = 0;
    while (s.hn && s.left && !s.stop && !*run->stop) {
        int64_t t = s.heap[0].t;
        if (calendar) {
            s.wall = fw_now_ms();
            if (t > (s.write ? start : s.wall) && (until_now || s.write)) {
                run->hit_now = s.write && run->budget != UINT64_MAX;
                break;
            }
            if (!s.write) {
                const struct sim_clock *ck = run->clock;
                int64_t due = ck->w0 + (int64_t)((double)(t - ck->t0) * ck->k);
                if (due < t)
                    due = t;
                if (due > s.wall + early_ms) {
                    flush_all(&s);
                    /* Everything before t is spooled: once acked, the daemon's clock may go
                     * there. */
                    int64_t p = s.track_acks ? acked_progress(&s, t) : t - 1;
                    __atomic_store_n(&run->progress_ms, p, __ATOMIC_RELEASE);
                    int64_t cap = s.track_acks ? 20 : 200;
                    sleep_ms(due - s.wall > cap ? cap : due - s.wall);
                    continue;
                }
            }
        } else if (o->mode == SIM_PACED && !s.write && s.emitted >= next_check) {
            next_check = s.emitted + 8;
            double el = (double)(fw_mono_ns() - w0) / 1e6;
            double due = (double)s.emitted * 1000.0 / run->rate;
            if (due > el + 20) {
                /* Ahead of the rate: spool what has waited long enough, then wait. */
                s.wall = fw_now_ms();
                for (unsigned i = 0; i < s.nterm; i++)
                    if (s.out[i].n && s.wall - s.out[i].first_wall > 100)
                        flush_term(&s, i);
                sleep_ms((int64_t)(due - el) > 200 ? 200 : (int64_t)(due - el));
                s.wall = fw_now_ms();
                next_check = s.emitted;
                continue;
            }
        }
        struct act a = pop(&s);
        s.tnow = a.t;
        run->last_model_ms = a.t;
        handle(&s, &a);
    }
    st_finish(&s);
    __atomic_store_n(&run->done, 1, __ATOMIC_RELEASE);
    return NULL;
}
