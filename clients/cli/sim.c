/*
 * floorwalker sim: a chain of stores whose terminals publish a deterministic (seeded) mix of
 * valid events through the terminal library, one thread per terminal, as fast as possible or
 * at a given rate. It reports what it sent by kind, so tests can compare with the daemon.
 *
 * This is the first cut (issue 2: load and crash tests); opening hours, rotas, Zipf baskets
 * and compressed days belong to the simulator issue.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "floorwalker.h"
#include "fwcommon.h"

#define NKINDS 8
static const char *const kind_names[NKINDS] = {"sale",  "complaint",    "stock_move", "attendance",
                                               "shift", "sales_target", "drawer",     "heartbeat"};

struct sim_opts {
    const char *endpoint, *spool_base;
    unsigned stores, terminals;
    uint64_t events, seed;
    unsigned chunk, batch_max;
    double rate; /* events/s over the whole chain; 0 = as fast as possible */
    int timeout_s;
    bool no_fsync, json;
};

struct worker {
    const struct sim_opts *o;
    pthread_t th;
    char store[16], terminal[32];
    uint64_t n; /* events this terminal sends */
    uint64_t rng;
    uint64_t by_kind[NKINDS];
    uint64_t sent, rejected, spool_left, resends;
    int64_t net_cents; /* sales minus returns and post-voids, as sent */
    int err;
};

static uint64_t rnd(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

static unsigned pick(uint64_t *s, unsigned n)
{
    return (unsigned)(rnd(s) % n);
}

/* Storage for one event's body, so a chunk is built without allocation. */
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
    Floorwalker__SaleLine lines[5];
    Floorwalker__SaleLine *line_ptrs[5];
    Floorwalker__Tender tender;
    Floorwalker__Tender *tender_ptr;
    char id1[80], id2[80], id3[80], skus[5][16];
};

static unsigned fill(struct worker *w, struct slot *s, uint64_t i, int64_t now)
{
    uint64_t *r = &w->rng;
    unsigned roll = pick(r, 100);
    Floorwalker__Event *e = &s->e;
    floorwalker__event__init(e);
    e->event_time_ms = now;
    unsigned kind;
    if (roll < 70)
        kind = 0;
    else if (roll < 74)
        kind = 1;
    else if (roll < 82)
        kind = 2;
    else if (roll < 87)
        kind = 3;
    else if (roll < 89)
        kind = 4;
    else if (roll < 91)
        kind = 5;
    else if (roll < 95)
        kind = 6;
    else
        kind = 7;
    switch (kind) {
    case 0: {
        Floorwalker__Sale *sa = &s->b.sale;
        floorwalker__sale__init(sa);
        snprintf(s->id1, sizeof s->id1, "R-%s-%" PRIu64, w->terminal, i);
        snprintf(s->id2, sizeof s->id2, "K-%s-%u", w->store, pick(r, 8));
        sa->receipt_id = s->id1;
        sa->cashier_id = s->id2;
        unsigned k = pick(r, 100);
        sa->kind = k < 94 ? FLOORWALKER__SALE__KIND__SALE
                          : (k < 98 ? FLOORWALKER__SALE__KIND__RETURN
                                    : FLOORWALKER__SALE__KIND__POST_VOID);
        if (sa->kind != FLOORWALKER__SALE__KIND__SALE) {
            snprintf(s->id3, sizeof s->id3, "R-%s-%" PRIu64, w->terminal, i / 2);
            sa->original_receipt_id = s->id3;
        }
        unsigned nl = 1 + pick(r, 5);
        int64_t total = 0;
        for (unsigned l = 0; l < nl; l++) {
            Floorwalker__SaleLine *ln = &s->lines[l];
            floorwalker__sale_line__init(ln);
            /* Skewed popularity: low numbers far more often. */
            unsigned a = pick(r, 500), b = pick(r, 500);
            snprintf(s->skus[l], sizeof s->skus[l], "SKU-%04u", a < b ? a : b);
            ln->sku = s->skus[l];
            ln->category = (char *)(a % 3 == 0 ? "grocery" : a % 3 == 1 ? "fresh" : "household");
            ln->qty_milli = 1000 * (1 + pick(r, 3));
            ln->unit_price_cents = 99 + pick(r, 2900);
            ln->discount_cents = pick(r, 10) == 0 ? 50 : 0;
            total += (ln->qty_milli * ln->unit_price_cents + 500) / 1000 - ln->discount_cents;
            s->line_ptrs[l] = ln;
        }
        sa->lines = s->line_ptrs;
        sa->n_lines = nl;
        sa->total_cents = total;
        floorwalker__tender__init(&s->tender);
        s->tender.method =
            pick(r, 2) ? FLOORWALKER__TENDER__METHOD__CARD : FLOORWALKER__TENDER__METHOD__CASH;
        s->tender.amount_cents = total;
        s->tender_ptr = &s->tender;
        sa->tenders = &s->tender_ptr;
        sa->n_tenders = 1;
        e->body_case = FLOORWALKER__EVENT__BODY_SALE;
        e->sale = sa;
        break;
    }
    case 1: {
        Floorwalker__Complaint *c = &s->b.complaint;
        floorwalker__complaint__init(c);
        snprintf(s->id1, sizeof s->id1, "C-%s-%" PRIu64, w->terminal, i);
        c->complaint_id = s->id1;
        c->action = FLOORWALKER__COMPLAINT__ACTION__OPENED;
        c->severity = pick(r, 10) ? FLOORWALKER__COMPLAINT__SEVERITY__MINOR
                                  : FLOORWALKER__COMPLAINT__SEVERITY__MAJOR;
        c->channel = FLOORWALKER__COMPLAINT__CHANNEL__COUNTER;
        c->category = (char *)"service";
        e->body_case = FLOORWALKER__EVENT__BODY_COMPLAINT;
        e->complaint = c;
        break;
    }
    case 2: {
        Floorwalker__StockMove *m = &s->b.stock;
        floorwalker__stock_move__init(m);
        snprintf(s->id1, sizeof s->id1, "SKU-%04u", pick(r, 500));
        m->sku = s->id1;
        m->kind = FLOORWALKER__STOCK_MOVE__KIND__RECEIVE;
        m->qty_milli = 12000;
        m->unit_cost_cents = 50 + pick(r, 1000);
        e->body_case = FLOORWALKER__EVENT__BODY_STOCK_MOVE;
        e->stock_move = m;
        break;
    }
    case 3: {
        Floorwalker__Attendance *a = &s->b.att;
        floorwalker__attendance__init(a);
        snprintf(s->id1, sizeof s->id1, "E-%s-%u", w->store, pick(r, 20));
        a->employee_id = s->id1;
        a->kind = pick(r, 2) ? FLOORWALKER__ATTENDANCE__KIND__CLOCK_IN
                             : FLOORWALKER__ATTENDANCE__KIND__CLOCK_OUT;
        a->role = (char *)"cashier";
        e->body_case = FLOORWALKER__EVENT__BODY_ATTENDANCE;
        e->attendance = a;
        break;
    }
    case 4: {
        Floorwalker__Shift *sh = &s->b.shift;
        floorwalker__shift__init(sh);
        snprintf(s->id1, sizeof s->id1, "SH-%s-%" PRIu64, w->terminal, i);
        snprintf(s->id2, sizeof s->id2, "E-%s-%u", w->store, pick(r, 20));
        sh->shift_id = s->id1;
        sh->employee_id = s->id2;
        sh->role = (char *)"cashier";
        sh->start_ms = now + 3600000;
        sh->end_ms = now + 9 * 3600000;
        e->body_case = FLOORWALKER__EVENT__BODY_SHIFT;
        e->shift = sh;
        break;
    }
    case 5: {
        Floorwalker__SalesTarget *t = &s->b.target;
        floorwalker__sales_target__init(t);
        time_t secs = (time_t)(now / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(s->id1, sizeof s->id1, "%Y-%m-%d", &tm);
        t->business_day = s->id1;
        t->target_cents = 500000 + pick(r, 500000);
        e->body_case = FLOORWALKER__EVENT__BODY_SALES_TARGET;
        e->sales_target = t;
        break;
    }
    case 6: {
        Floorwalker__Drawer *d = &s->b.drawer;
        floorwalker__drawer__init(d);
        snprintf(s->id1, sizeof s->id1, "D-%s", w->terminal);
        d->drawer_id = s->id1;
        d->kind = FLOORWALKER__DRAWER__KIND__PAID_IN;
        d->amount_cents = 100 + pick(r, 5000);
        e->body_case = FLOORWALKER__EVENT__BODY_DRAWER;
        e->drawer = d;
        break;
    }
    default: {
        Floorwalker__Heartbeat *h = &s->b.hb;
        floorwalker__heartbeat__init(h);
        h->terminal_time_ms = now;
        e->body_case = FLOORWALKER__EVENT__BODY_HEARTBEAT;
        e->heartbeat = h;
        break;
    }
    }
    return kind;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct sim_opts *o = w->o;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/%s", o->spool_base, w->terminal);
    struct fw_options fo = {.endpoint = o->endpoint,
                            .spool_dir = dir,
                            .batch_max = o->batch_max,
                            .no_fsync = o->no_fsync};
    fw_client *c;
    if ((w->err = fw_open_opts(&c, w->store, w->terminal, &fo))) {
        fprintf(stderr, "floorwalker sim: %s: cannot open spool %s: %s\n", w->terminal, dir,
                fw_strerror_code(w->err));
        return NULL;
    }
    struct slot *slots = calloc(o->chunk, sizeof *slots);
    const Floorwalker__Event **ptrs = calloc(o->chunk, sizeof *ptrs);
    if (!slots || !ptrs) {
        w->err = FW_ENOMEM;
        goto out;
    }
    double per_terminal_rate = o->rate > 0 ? o->rate / (o->stores * o->terminals) : 0;
    uint64_t t0 = fw_mono_ns();
    for (uint64_t i = 0; i < w->n;) {
        unsigned n = (unsigned)(w->n - i < o->chunk ? w->n - i : o->chunk);
        int64_t now = fw_now_ms();
        int64_t net = 0;
        for (unsigned j = 0; j < n; j++) {
            unsigned kind = fill(w, &slots[j], i + j, now);
            w->by_kind[kind]++;
            ptrs[j] = &slots[j].e;
            if (kind == 0) {
                const Floorwalker__Sale *sa = slots[j].e.sale;
                net +=
                    sa->kind == FLOORWALKER__SALE__KIND__SALE ? sa->total_cents : -sa->total_cents;
            }
        }
        if ((w->err = fw_send_events(c, ptrs, n))) {
            fprintf(stderr, "floorwalker sim: %s: spooling failed: %s\n", w->terminal,
                    fw_strerror_code(w->err));
            goto out;
        }
        i += n;
        w->sent = i;
        w->net_cents += net; /* counted once spooled: the spool keeps them until acked */
        if (per_terminal_rate > 0) {
            double due_s = (double)i / per_terminal_rate;
            double el_s = (double)(fw_mono_ns() - t0) / 1e9;
            if (due_s > el_s) {
                struct timespec ts = {
                    (time_t)(due_s - el_s),
                    (long)((due_s - el_s - (double)(time_t)(due_s - el_s)) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (fw_flush(c, o->timeout_s * 1000))
        w->err = FW_ETIMEDOUT;
out:;
    struct fw_client_stats st;
    fw_client_stats(c, &st);
    w->rejected = st.rejected;
    w->spool_left = st.spool_depth;
    w->resends = st.resends;
    fw_close(&c);
    free(slots);
    free(ptrs);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker sim [OPTIONS]\n"
            "\n"
            "A chain of stores whose terminals publish a seeded mix of valid events (sales,\n"
            "complaints, stock moves, attendance, rota, targets, drawer moves, heartbeats)\n"
            "through the terminal library, one thread per terminal. Prints what was sent.\n"
            "\n"
            "  -e, --endpoint EP     ingest endpoint (default %s, or $FLOORWALKER_INGEST)\n"
            "      --stores N        stores (default 2)\n"
            "      --terminals N     terminals per store (default 2)\n"
            "  -n, --events N        events in all (default 10000)\n"
            "      --rate N          events/s over the chain (default: as fast as possible)\n"
            "      --seed N          random seed (default 1)\n"
            "      --chunk N         events per spool transaction (default 100)\n"
            "      --batch N         events per batch on the wire (default 1000)\n"
            "      --spool DIR       spool base directory (default ./floorwalker-spool/sim)\n"
            "      --no-fsync        do not fsync the spool on every chunk\n"
            "  -w, --timeout SEC     wait this long for the last acks (default 120)\n"
            "      --json            one JSON object as the report\n"
            "\n"
            "Exit status: 0 all sent and acked, 2 bad usage, 3 not all acked in time,\n"
            "4 some events rejected.\n",
            DEFAULT_INGEST);
}

int cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"stores", required_argument, NULL, 'S'},
        {"terminals", required_argument, NULL, 'T'},
        {"events", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"chunk", required_argument, NULL, 'c'},
        {"batch", required_argument, NULL, 'b'},
        {"spool", required_argument, NULL, 'p'},
        {"no-fsync", no_argument, NULL, 'F'},
        {"timeout", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sim_opts o = {.endpoint = getenv("FLOORWALKER_INGEST"),
                         .spool_base = "./floorwalker-spool/sim",
                         .stores = 2,
                         .terminals = 2,
                         .events = 10000,
                         .seed = 1,
                         .chunk = 100,
                         .batch_max = 1000,
                         .timeout_s = 120};
    if (!o.endpoint)
        o.endpoint = DEFAULT_INGEST;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:n:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            o.endpoint = optarg;
            break;
        case 'S':
            o.stores = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'T':
            o.terminals = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'n':
            o.events = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            o.rate = strtod(optarg, NULL);
            break;
        case 's':
            o.seed = strtoull(optarg, NULL, 10);
            break;
        case 'c':
            o.chunk = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            o.batch_max = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            o.spool_base = optarg;
            break;
        case 'F':
            o.no_fsync = true;
            break;
        case 'w':
            o.timeout_s = atoi(optarg);
            break;
        case 'j':
            o.json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || !o.stores || !o.terminals || !o.chunk || o.stores > 999 ||
        o.terminals > 99 || o.timeout_s <= 0) {
        fprintf(stderr, "floorwalker sim: --stores 1-999, --terminals 1-99, --chunk >= 1, "
                        "--timeout >= 1\n");
        return EXIT_USAGE;
    }
    unsigned nw = o.stores * o.terminals;
    struct worker *ws = calloc(nw, sizeof *ws);
    if (!ws)
        return EXIT_INPUT;
    uint64_t t0 = fw_mono_ns();
    for (unsigned i = 0; i < nw; i++) {
        struct worker *w = &ws[i];
        w->o = &o;
        snprintf(w->store, sizeof w->store, "S%03u", i / o.terminals + 1);
        snprintf(w->terminal, sizeof w->terminal, "S%03u-T%02u", i / o.terminals + 1,
                 i % o.terminals + 1);
        w->n = o.events / nw + (i < o.events % nw ? 1 : 0);
        w->rng = (o.seed + 1) * 0x9E3779B97F4A7C15ull ^ (i + 1) * 0xBF58476D1CE4E5B9ull;
        if (!w->rng)
            w->rng = 1;
        if (pthread_create(&w->th, NULL, worker_main, w)) {
            fprintf(stderr, "floorwalker sim: cannot start a thread\n");
            w->err = FW_ENOMEM;
            w->n = 0;
        }
    }
    uint64_t by_kind[NKINDS] = {0}, sent = 0, rejected = 0, left = 0, resends = 0;
    int64_t net_cents = 0;
    int err = 0;
    for (unsigned i = 0; i < nw; i++) {
        if (ws[i].n || !ws[i].err)
            pthread_join(ws[i].th, NULL);
        for (int k = 0; k < NKINDS; k++)
            by_kind[k] += ws[i].by_kind[k];
        sent += ws[i].sent;
        rejected += ws[i].rejected;
        left += ws[i].spool_left;
        resends += ws[i].resends;
        net_cents += ws[i].net_cents;
        if (ws[i].err && !err)
            err = ws[i].err;
    }
    double secs = (double)(fw_mono_ns() - t0) / 1e9;
    if (o.json) {
        json_t *r = json_object(), *k = json_object();
        json_object_set_new(r, "sent", json_integer((json_int_t)sent));
        for (int i = 0; i < NKINDS; i++)
            json_object_set_new(k, kind_names[i], json_integer((json_int_t)by_kind[i]));
        json_object_set_new(r, "by_kind", k);
        json_object_set_new(r, "rejected", json_integer((json_int_t)rejected));
        json_object_set_new(r, "spool_left", json_integer((json_int_t)left));
        json_object_set_new(r, "resends", json_integer((json_int_t)resends));
        json_object_set_new(r, "net_cents", json_integer((json_int_t)net_cents));
        json_object_set_new(r, "terminals", json_integer(nw));
        json_object_set_new(r, "seconds", json_real(secs));
        json_object_set_new(r, "events_per_s", json_real(secs > 0 ? (double)sent / secs : 0));
        char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(r);
    } else {
        printf("sent %" PRIu64 " events from %u terminal(s) in %u store(s) in %.2f s "
               "(%.0f events/s, durable and acked): ",
               sent, nw, o.stores, secs, secs > 0 ? (double)sent / secs : 0);
        for (int i = 0; i < NKINDS; i++)
            printf("%s %s=%" PRIu64, i ? "," : "", kind_names[i], by_kind[i]);
        printf("; %" PRIu64 " rejected, %" PRIu64 " left in spools\n", rejected, left);
    }
    free(ws);
    if (err)
        return err == FW_ETIMEDOUT ? EXIT_NODAEMON : EXIT_INPUT;
    return rejected ? EXIT_REJECTED : EXIT_OK;
}
