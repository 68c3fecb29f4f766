/*
 * floorwalker sim: a seeded, deterministic chain of stores whose terminals publish what a real
 * chain's would (docs/SIM.md): opening hours, a rota with late and absent staff, sales with
 * realistic baskets, returns and post-voids, complaints and their answers, deliveries,
 * transfers, damage and cycle counts, cash drawers, heartbeats and daily targets.
 *
 * One thread per store simulates it (sim_store.c) and spools each terminal's events through the
 * terminal library, or writes the batches the terminals would send (--write, sim_write.c).
 * This file reads the command line, builds the chain (sim_chain.c), splits -n over the stores,
 * paces them (as fast as possible, --rate, or a compressed calendar), and reports.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "cli.h"
#include "floorwalker.h"
#include "fwcommon.h"
#include "sim_store.h"

static const char *const kind_names[SIM_NKINDS] = {"sale",       "complaint", "stock_move",
                                                   "attendance", "shift",     "sales_target",
                                                   "drawer",     "heartbeat"};
static const char *const mode_names[] = {"fast", "paced", "compressed", "paced"};

static fw_stop_flag stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: floorwalker sim [OPTIONS]\n"
        "\n"
        "A seeded, deterministic retail chain: stores in regions and time zones with opening\n"
        "hours, tills, a rota with some late and absent staff, sales (Zipf-popular SKUs,\n"
        "baskets of ~3.5 lines), returns and post-voids, complaints and their answers,\n"
        "deliveries, transfers, damage and cycle counts, cash drawers, heartbeats and daily\n"
        "targets. Its terminals publish through the terminal library (one thread per store),\n"
        "or --write the batches they would send. The model is described in docs/SIM.md.\n"
        "\n"
        "The chain:\n"
        "      --stores N        stores (default 2, at most 999)\n"
        "      --terminals N     terminals (tills) per store; T01 is also the manager's PC\n"
        "                        and the service desk (default 2; 1024 in all at most)\n"
        "      --regions N       regions, each in its own time zone (Europe/London,\n"
        "                        America/New_York, Asia/Shanghai, Australia/Sydney, ...);\n"
        "                        1 (default): region \"default\" in UTC, as the daemon assumes\n"
        "                        for stores it does not know; at most 12\n"
        "      --skus N          catalogue size (default 1000)\n"
        "      --seed N          random seed (default 1): same seed and options, same events\n"
        "      --heartbeat SEC   a terminal quiet for SEC simulated seconds sends a heartbeat\n"
        "                        (default 420; at night after 10 minutes)\n"
        "      --print-config    print the chain's [store:ID] and [terminal:ID] sections for\n"
        "                        floorwalkerd's config, and exit\n"
        "\n"
        "How fast, and what time the events carry:\n"
        "      --mode fast       as fast as possible, events stamped now (the default)\n"
        "      --mode paced      --rate events/s over the chain, events stamped now (the\n"
        "                        default when --rate is given); without --rate, the simulated\n"
        "                        calendar in real time: today from 04:00 local (what has\n"
        "                        passed at once), then live until -n or Ctrl-C\n"
        "      --mode compressed the simulated calendar from --days days before now (each\n"
        "                        store from its 04:00 local before that) up to now, one\n"
        "                        day per --day-seconds; with -n, live after that\n"
        "      --rate N          events/s over the chain (paced)\n"
        "      --days N          days before now to simulate (default 1; 0 in live mode)\n"
        "      --day-seconds N   real seconds per simulated day (compressed, default 60)\n"
        "      --drive-clock EP  (compressed) keep the clock of a `floorwalkerd --test-clock`\n"
        "                        at the simulated time through its query endpoint EP, so that\n"
        "                        its time rules judge the simulated day\n"
        "  -n, --events N        events in all, exactly (default 10000 in fast and paced\n"
        "                        modes; compressed and live: no limit)\n"
        "\n"
        "Where they go:\n"
        "  -e, --endpoint EP     ingest endpoint (default %s, or $FLOORWALKER_INGEST)\n"
        "      --spool DIR       spool base directory (default ./floorwalker-spool/sim)\n"
        "      --chunk N         events per spool transaction (default 100)\n"
        "      --batch N         events per batch on the wire or in --write (default 1000)\n"
        "      --no-fsync        do not fsync the spool on every chunk\n"
        "  -w, --timeout SEC     wait this long for the last acks (default 120)\n"
        "      --key-dir DIR     CurveZMQ: each terminal uses DIR/<terminal>.key, else\n"
        "                        DIR/<store>.key (floorwalker keygen --role terminal --store\n"
        "                        S001 S001), with the daemon's key from --server-key; the global\n"
        "                        --key instead gives every terminal one key (one store)\n"
        "      --write FILE      write the batches the terminals would send instead: records\n"
        "                        of a 4-byte little-endian length and an EventBatch, seq\n"
        "                        1..n per terminal, epoch from the seed (docs/SIM.md)\n"
        "      --json            one JSON object as the report\n"
        "\n"
        "Exit status: 0 all sent and acked (or written), 1 an error (spool, file), 2 bad\n"
        "usage, 3 not all acked in time, 4 some events rejected.\n",
        DEFAULT_INGEST);
}

static bool parse_u(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Splits n over the stores in proportion to their expected events a day (largest remainder),
 * so that every store covers about the same simulated time. */
static void split_events(const struct sim_chain *c, uint64_t n, uint64_t *share)
{
    double total = 0;
    for (unsigned i = 0; i < c->nstores; i++)
        total += c->stores[i].events_per_day;
    uint64_t given = 0;
    double *frac = calloc(c->nstores, sizeof *frac);
    for (unsigned i = 0; i < c->nstores; i++) {
        double x = (double)n * c->stores[i].events_per_day / total;
        share[i] = (uint64_t)x;
        if (frac)
            frac[i] = x - (double)share[i];
        given += share[i];
    }
    while (given < n) {
        unsigned best = 0;
        for (unsigned i = 1; frac && i < c->nstores; i++)
            if (frac[i] > frac[best])
                best = i;
        share[best]++;
        if (frac)
            frac[best] = -1;
        given++;
        if (frac) { /* every store had its turn: start again */
            bool all = true;
            for (unsigned i = 0; i < c->nstores; i++)
                all = all && frac[i] < 0;
            if (all)
                for (unsigned i = 0; i < c->nstores; i++)
                    frac[i] = 0;
        }
    }
    free(frac);
}

/* --drive-clock: keeps the clock of a `floorwalkerd --test-clock` at the simulated time while
 * the stores run (a TEST_CLOCK query about every 2 simulated minutes, which also runs the
 * daemon's time rules), then sets it back to real time. */
static void drive_clock(const char *ep, const struct sim_clock *ck, struct sim_store_run *runs,
                        unsigned n)
{
    void *ctx = zmq_ctx_new();
    bool warned = false, started = false;
    int64_t last = ck->t0;
    for (;;) {
        bool running = false;
        int64_t slowest = INT64_MAX;
        for (unsigned i = 0; i < n; i++) {
            if (!runs[i].started || __atomic_load_n(&runs[i].done, __ATOMIC_ACQUIRE))
                continue;
            running = true;
            int64_t p = __atomic_load_n(&runs[i].progress_ms, __ATOMIC_ACQUIRE);
            if (p < slowest)
                slowest = p;
        }
        /* Not before every store has reached the start: earlier, some have no rota yet. */
        started = started || slowest >= ck->t0;
        /* The slowest store's time: what every store has sent before it is acked (applied),
         * so a store that lags (a busy machine, a slow commit) holds the clock rather than
         * look silent. Quarter hours (UTC) are stepped on exactly, so that the daemon's
         * hourly judgements happen on the hour, as they do in real time. */
        int64_t now = fw_now_ms();
        int64_t t = slowest == INT64_MAX ? now : slowest - 30000;
        if (!running || stop_flag || t > now)
            t = now;
        if (t < last)
            t = last;
        int64_t quarter = (last / 900000 + 1) * 900000;
        bool on_quarter = started && running && quarter < t;
        if (on_quarter)
            t = quarter;
        last = t;
        bool send = started || !running;
        Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
        q.kind = FLOORWALKER__QUERY__KIND__TEST_CLOCK;
        q.clock_ms = t;
        Floorwalker__QueryResult *r = NULL;
        enum ask_status st = ASK_OK;
        if (send)
            st = cli_ask("floorwalker sim", ctx, ep, &q, 2, fw_mono_ns() + 2000000000ull, NULL, &r);
        if (st == ASK_OK && r && r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK && !warned) {
            fprintf(stderr, "floorwalker sim: --drive-clock: %s\n", r->error);
            warned = true;
        }
        if (r)
            floorwalker__query_result__free_unpacked(r, NULL);
        if (!running || st == ASK_BADEP)
            break;
        if (on_quarter)
            continue; /* the rest of the step at once */
        /* Steps of at most 2 simulated minutes (store_silent judges 10), 10-200 ms apart. */
        long ms = (long)(2 * 60000 * ck->k);
        ms = ms < 10 ? 10 : ms > 200 ? 200 : ms;
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    zmq_ctx_term(ctx);
}

/* Before anything is sent: the daemon at ep must take TEST_CLOCK (floorwalkerd --test-clock),
 * or the run would judge real time while claiming to drive it. Asks it to keep real time (what
 * drive_clock also ends with). EXIT_OK, or an exit code after a message. */
static int clock_preflight(const char *ep, int timeout_s)
{
    void *ctx = zmq_ctx_new();
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    Floorwalker__QueryResult *r = NULL;
    int w = timeout_s > 0 && timeout_s < 10 ? timeout_s : 10;
    q.kind = FLOORWALKER__QUERY__KIND__TEST_CLOCK;
    q.clock_ms = fw_now_ms();
    enum ask_status st = cli_ask("floorwalker sim: --drive-clock", ctx, ep, &q, w,
                                 fw_mono_ns() + (uint64_t)w * 1000000000u, NULL, &r);
    int rc = st == ASK_OK ? EXIT_OK : st == ASK_BADEP ? EXIT_USAGE : EXIT_NODAEMON;
    if (st == ASK_OK && r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
        fprintf(stderr, "floorwalker sim: --drive-clock %s: %s; nothing sent\n", ep, r->error);
        rc = EXIT_INPUT;
    }
    if (r)
        floorwalker__query_result__free_unpacked(r, NULL);
    zmq_ctx_term(ctx);
    return rc;
}

int cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"stores", required_argument, NULL, 'S'},
        {"terminals", required_argument, NULL, 'T'},
        {"regions", required_argument, NULL, 'R'},
        {"skus", required_argument, NULL, 'K'},
        {"events", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"mode", required_argument, NULL, 'm'},
        {"days", required_argument, NULL, 'D'},
        {"day-seconds", required_argument, NULL, 'd'},
        {"drive-clock", required_argument, NULL, 'C'},
        {"heartbeat", required_argument, NULL, 'H'},
        {"seed", required_argument, NULL, 's'},
        {"chunk", required_argument, NULL, 'c'},
        {"batch", required_argument, NULL, 'b'},
        {"spool", required_argument, NULL, 'p'},
        {"no-fsync", no_argument, NULL, 'F'},
        {"timeout", required_argument, NULL, 'w'},
        {"write", required_argument, NULL, 'W'},
        {"print-config", no_argument, NULL, 'P'},
        {"key-dir", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sim_opts o = {.endpoint = cli_endpoint("FLOORWALKER_INGEST", DEFAULT_INGEST),
                         .spool_base = "./floorwalker-spool/sim",
                         .stores = 2,
                         .terminals = 2,
                         .regions = 1,
                         .skus = 1000,
                         .heartbeat_s = 420,
                         .seed = 1,
                         .chunk = 100,
                         .batch_max = 1000,
                         .day_seconds = 60,
                         .days = -1,
                         .timeout_s = 120};
    const char *mode = NULL;
    bool rate_given = false, day_s_given = false;
    int c;
    bool skus_given = false;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:n:w:h", opts, NULL)) != -1) {
        const char *bad = NULL;
        switch (c) {
        case 'e':
            o.endpoint = optarg;
            break;
        case 'S':
            if (!parse_u(optarg, 1, 999, &v))
                bad = "--stores takes 1-999";
            o.stores = (unsigned)v;
            break;
        case 'T':
            if (!parse_u(optarg, 1, 1024, &v))
                bad = "--terminals takes 1-1024";
            o.terminals = (unsigned)v;
            break;
        case 'R':
            if (!parse_u(optarg, 1, 12, &v))
                bad = "--regions takes 1-12";
            o.regions = (unsigned)v;
            break;
        case 'K':
            if (!parse_u(optarg, 1, 1000000, &v))
                bad = "--skus takes 1-1000000";
            o.skus = (unsigned)v;
            skus_given = true;
            break;
        case 'n':
            if (!parse_u(optarg, 0, UINT64_MAX - 1, &v))
                bad = "-n takes a number of events";
            o.events = v;
            o.events_given = true;
            break;
        case 'r':
            o.rate = strtod(optarg, NULL);
            if (!(o.rate > 0))
                bad = "--rate takes events per second above 0";
            rate_given = true;
            break;
        case 'm':
            mode = optarg;
            break;
        case 'D':
            if (!parse_u(optarg, 0, 366, &v))
                bad = "--days takes 0-366";
            o.days = (int)v;
            break;
        case 'd':
            if (!parse_u(optarg, 1, 86400, &v))
                bad = "--day-seconds takes 1-86400";
            o.day_seconds = (int)v;
            day_s_given = true;
            break;
        case 'C':
            o.clock_ep = optarg;
            break;
        case 'H':
            if (!parse_u(optarg, 5, 86400, &v))
                bad = "--heartbeat takes 5-86400 seconds";
            o.heartbeat_s = (unsigned)v;
            break;
        case 's':
            if (!parse_u(optarg, 0, UINT64_MAX, &v))
                bad = "--seed takes a number";
            o.seed = v;
            break;
        case 'c':
            if (!parse_u(optarg, 1, 100000, &v))
                bad = "--chunk takes 1-100000";
            o.chunk = (unsigned)v;
            break;
        case 'b':
            if (!parse_u(optarg, 1, 1000000, &v))
                bad = "--batch takes 1-1000000";
            o.batch_max = (unsigned)v;
            break;
        case 'p':
            o.spool_base = optarg;
            break;
        case 'F':
            o.no_fsync = true;
            break;
        case 'w':
            o.timeout_s = atoi(optarg);
            if (o.timeout_s <= 0)
                bad = "--timeout takes seconds, at least 1";
            break;
        case 'W':
            o.write_path = optarg;
            break;
        case 'P':
            o.print_config = true;
            break;
        case 'k':
            o.key_dir = optarg;
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
        if (bad) {
            fprintf(stderr, "floorwalker sim: %s (got \"%s\")\n", bad, optarg);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "floorwalker sim: unexpected argument \"%s\" (see --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (o.stores * o.terminals > 1024) {
        fprintf(stderr, "floorwalker sim: %u stores x %u terminals is over 1024 terminals in all\n",
                o.stores, o.terminals);
        return EXIT_USAGE;
    }
    if (!mode)
        o.mode = rate_given ? SIM_PACED : SIM_FAST;
    else if (!strcmp(mode, "fast"))
        o.mode = SIM_FAST;
    else if (!strcmp(mode, "paced"))
        o.mode = rate_given ? SIM_PACED : SIM_LIVE;
    else if (!strcmp(mode, "compressed"))
        o.mode = SIM_COMPRESSED;
    else {
        fprintf(stderr, "floorwalker sim: --mode is fast, paced or compressed, not \"%s\"\n", mode);
        return EXIT_USAGE;
    }
    bool calendar = o.mode == SIM_COMPRESSED || o.mode == SIM_LIVE;
    if (rate_given && o.mode != SIM_PACED) {
        fprintf(stderr, "floorwalker sim: --rate goes with --mode paced\n");
        return EXIT_USAGE;
    }
    if (!calendar && (o.days >= 0 || day_s_given || o.clock_ep)) {
        fprintf(stderr, "floorwalker sim: --days, --day-seconds and --drive-clock go with "
                        "--mode compressed (or paced without --rate)\n");
        return EXIT_USAGE;
    }
    if (o.clock_ep && o.mode != SIM_COMPRESSED) {
        fprintf(stderr, "floorwalker sim: --drive-clock goes with --mode compressed\n");
        return EXIT_USAGE;
    }
    if (o.key_dir && !cli_server_key()) {
        fprintf(stderr, "floorwalker sim: --key-dir needs --server-key FILE (the daemon's key)\n");
        return EXIT_USAGE;
    }
    if (o.days < 0)
        o.days = o.mode == SIM_COMPRESSED ? 1 : 0;
    if (!o.events_given)
        o.events = calendar ? UINT64_MAX : 10000;
    /* The opening stock is one RECEIVE per SKU and store before the first sale: a small fast or
     * paced run keeps it to about a tenth of its events (at least 10 SKUs), so that it shows a
     * little of everything rather than only the opening stock. */
    if (!calendar && !skus_given) {
        uint64_t cap = o.events / (10 * (uint64_t)o.stores);
        if (cap < o.skus)
            o.skus = cap < 10 ? 10 : (unsigned)cap;
    }

    int64_t now = fw_now_ms();
    struct sim_chain chain;
    int err = sim_chain_build(&chain, &o, now);
    if (err) {
        if (err != FW_ENOTFOUND)
            fprintf(stderr, "floorwalker sim: cannot build the chain: %s\n", fw_strerror_code(err));
        sim_chain_free(&chain);
        return EXIT_INPUT;
    }
    if (o.print_config) {
        sim_chain_print_config(&chain, stdout);
        sim_chain_free(&chain);
        return EXIT_OK;
    }

    unsigned ns = chain.nstores;
    struct sim_store_run *runs = calloc(ns, sizeof *runs);
    uint64_t *share = calloc(ns, sizeof *share);
    struct sim_clock clock = {0};
    int rc = EXIT_OK;
    if (!runs || !share) {
        fprintf(stderr, "floorwalker sim: out of memory\n");
        rc = EXIT_INPUT;
        goto out;
    }
    if (o.clock_ep && (rc = clock_preflight(o.clock_ep, o.timeout_s)) != EXIT_OK)
        goto out;
    if (o.events != UINT64_MAX)
        split_events(&chain, o.events, share);
    /* The chain starts --days days before now (each store at its 04:00 before that), or on
     * the synthetic calendar's first day. */
    clock.w0 = now;
    clock.k = o.mode == SIM_COMPRESSED ? (double)o.day_seconds * 1000.0 / 86400000.0 : 0;
    clock.t0 = calendar ? now - (int64_t)o.days * 86400000
                        : (int64_t)SIM_SYNTHETIC_DAY0 * 86400000 + 4 * 3600000;
    struct simw *w = NULL;
    if (o.write_path && (err = simw_open(&w, o.write_path, ns))) {
        fprintf(stderr, "floorwalker sim: cannot create %s: %s\n", o.write_path,
                fw_strerror_code(err));
        rc = EXIT_INPUT;
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    stop_flag = 0;
    uint64_t t0 = fw_mono_ns();
    for (unsigned i = 0; i < ns; i++) {
        struct sim_store_run *r = &runs[i];
        r->c = &chain;
        r->idx = i;
        r->budget = o.events == UINT64_MAX ? UINT64_MAX : share[i];
        r->clock = &clock;
        r->first_ms = sim_store_first_ms(&chain, i, clock.t0);
        r->progress_ms = r->first_ms;
        r->w = w;
        r->stop = &stop_flag;
        if (o.mode == SIM_PACED) {
            r->rate = o.rate * (double)share[i] / (double)(o.events ? o.events : 1);
            if (r->rate <= 0)
                r->rate = 1;
            /* Wall time per simulated time, to place shifts on the wall clock. */
            r->wall_per_model = chain.stores[i].events_per_day / r->rate * 1000.0 / 86400000.0;
        }
        if (pthread_create(&r->th, NULL, sim_store_main, r)) {
            fprintf(stderr, "floorwalker sim: cannot start a thread\n");
            r->err = FW_ENOMEM;
            if (w)
                simw_done(w, i);
        } else {
            r->started = true;
        }
    }
    if (o.clock_ep && o.mode == SIM_COMPRESSED)
        drive_clock(o.clock_ep, &clock, runs, ns);
    uint64_t by_kind[SIM_NKINDS] = {0}, sent = 0, rejected = 0, left = 0, resends = 0;
    int64_t net_cents = 0, last_model = INT64_MIN;
    bool hit_now = false;
    for (unsigned i = 0; i < ns; i++) {
        struct sim_store_run *r = &runs[i];
        if (r->started)
            pthread_join(r->th, NULL);
        for (int k = 0; k < SIM_NKINDS; k++)
            by_kind[k] += r->by_kind[k];
        sent += r->sent;
        rejected += r->rejected;
        left += r->spool_left;
        resends += r->resends;
        net_cents += r->net_cents;
        hit_now = hit_now || r->hit_now;
        if (r->last_model_ms > last_model)
            last_model = r->last_model_ms;
        if (r->err && !err)
            err = r->err;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    uint64_t records = 0, bytes = 0;
    if (w) {
        int werr = simw_close(&w, &records, &bytes);
        if (werr && !err) {
            fprintf(stderr, "floorwalker sim: writing %s: %s\n", o.write_path,
                    fw_strerror_code(werr));
            err = werr;
        }
    }
    double secs = (double)(fw_mono_ns() - t0) / 1e9;
    double days =
        calendar && last_model > clock.t0 ? (double)(last_model - clock.t0) / 86400000.0 : 0;
    if (hit_now)
        fprintf(stderr,
                "floorwalker sim: the simulated calendar reached the present after %" PRIu64
                " of %" PRIu64 " events; --write stops there (more --days make more)\n",
                sent, o.events);
    if (o.json) {
        json_t *r = json_object(), *k = json_object();
        json_object_set_new(r, "sent", json_integer((json_int_t)sent));
        for (int i = 0; i < SIM_NKINDS; i++)
            json_object_set_new(k, kind_names[i], json_integer((json_int_t)by_kind[i]));
        json_object_set_new(r, "by_kind", k);
        json_object_set_new(r, "rejected", json_integer((json_int_t)rejected));
        json_object_set_new(r, "spool_left", json_integer((json_int_t)left));
        json_object_set_new(r, "resends", json_integer((json_int_t)resends));
        json_object_set_new(r, "net_cents", json_integer((json_int_t)net_cents));
        json_object_set_new(r, "terminals", json_integer(chain.nterms));
        json_object_set_new(r, "seconds", json_real(secs));
        json_object_set_new(r, "events_per_s", json_real(secs > 0 ? (double)sent / secs : 0));
        json_object_set_new(r, "mode", json_string(mode_names[o.mode]));
        json_object_set_new(r, "stores", json_integer(ns));
        if (calendar)
            json_object_set_new(r, "simulated_days", json_real(days));
        if (o.write_path) {
            json_object_set_new(r, "file", json_string(o.write_path));
            json_object_set_new(r, "batches", json_integer((json_int_t)records));
            json_object_set_new(r, "bytes", json_integer((json_int_t)bytes));
            json_object_set_new(r, "epoch", json_integer((json_int_t)simw_epoch(o.seed)));
        }
        char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(r);
    } else {
        if (o.write_path)
            printf("wrote %" PRIu64 " events in %" PRIu64 " batches (%" PRIu64
                   " bytes) to %s from %u terminal(s) in %u store(s) in %.2f s (%.0f events/s): ",
                   sent, records, bytes, o.write_path, chain.nterms, ns, secs,
                   secs > 0 ? (double)sent / secs : 0);
        else
            printf("sent %" PRIu64 " events from %u terminal(s) in %u store(s) in %.2f s "
                   "(%.0f events/s, durable and acked): ",
                   sent, chain.nterms, ns, secs, secs > 0 ? (double)sent / secs : 0);
        for (int i = 0; i < SIM_NKINDS; i++)
            printf("%s %s=%" PRIu64, i ? "," : "", kind_names[i], by_kind[i]);
        if (calendar)
            printf("; %.1f simulated days", days);
        if (o.write_path)
            printf("\n");
        else
            printf("; %" PRIu64 " rejected, %" PRIu64 " left in spools\n", rejected, left);
    }
    if (err)
        rc = err == FW_ETIMEDOUT ? EXIT_NODAEMON : EXIT_INPUT;
    else
        rc = rejected ? EXIT_REJECTED : EXIT_OK;
out:
    free(runs);
    free(share);
    sim_chain_free(&chain);
    return rc;
}
