/*
 * floorwalker notify: the daemon's alerts to Prometheus Alertmanager (issue 16, README "Alert
 * delivery"). Reads the feed as `floorwalker alerts` does (alertfeed.h: subscribe, snapshot,
 * live, and a new snapshot of a region after a pub_seq gap in it) and hands every alert to
 * amsend.c, which posts to each Alertmanager URL. This file owns the loop: options and the
 * config file, the feed, the stats line.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "alertfeed.h"
#include "amsend.h"
#include "cli.h"
#include "fwcommon.h"

#define WHO "floorwalker notify"
#define MAX_REGIONS 16

struct notify_opts {
    const char *pub_ep, *query_ep;
    char *am_list; /* --alertmanager URL[,URL...] (owned copy) */
    char *console_url;
    char regions[MAX_REGIONS][FW_ID_MAX + 1];
    int nregions;
    int resend_seconds, stats_seconds, timeout_s;
    long queue_max;
    char *cfg_strs[4]; /* strings read from the config file, freed at exit */
};

struct notify {
    const struct notify_opts *o;
    void *ctx, *sub;
    struct amsend *am;
    struct feed_seqs seqs;
    struct store_views stores;
    uint64_t stores_loaded_ns;
    bool snap_due[MAX_REGIONS + 1]; /* per region (or [0] for all): a new snapshot is needed */
    uint64_t snap_retry_ns;
};

static fw_stop_flag stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker notify --alertmanager URL[,URL...] [OPTIONS]\n"
            "       floorwalker notify -c FILE [OPTIONS]\n"
            "\n"
            "Forward floorwalkerd's alerts to Prometheus Alertmanager (API v2), to every URL\n"
            "given (an HA pair gets each alert from us, as Alertmanager expects). The active\n"
            "alerts go first (the snapshot), then each change; every FIRING alert is posted\n"
            "again every resend_seconds, a RESOLVED one with endsAt = its resolution time.\n"
            "Labels: alertname (the rule), store, store_name, region, severity\n"
            "(info|warning|critical), subject; annotations: summary, value, threshold,\n"
            "alert_id.\n"
            "\n"
            "  -a, --alertmanager URL[,URL]  Alertmanager base URLs, e.g. http://127.0.0.1:9093\n"
            "  -c, --config FILE      read a [notify] section (keys: alertmanager, console_url,\n"
            "                         resend_seconds, queue_max, stats_seconds, region,\n"
            "                         alerts_endpoint, query_endpoint); options given here win\n"
            "  -e, --endpoint EP      alerts PUB endpoint (default %s, or $FLOORWALKER_ALERTS)\n"
            "  -q, --query EP         query endpoint (default %s, or $FLOORWALKER_QUERY)\n"
            "      --console-url URL  generatorURL = URL/alerts/ALERT_ID\n"
            "      --region R[,R]     only these regions' alerts; with a supervisor's --key,\n"
            "                         the key's regions\n"
            "      --resend-seconds N re-post every FIRING alert this often (default 60; keep\n"
            "                         it well under Alertmanager's resolve_timeout, 5m)\n"
            "      --queue-max N      FIRING changes queued at most (default 10000; more wait\n"
            "                         for the next resend; a RESOLVED is always kept)\n"
            "      --stats SECONDS    a counters line on stderr this often (default 60; 0: only\n"
            "                         at exit): posts ok and failed, alerts posted, queued,\n"
            "                         firing, last success\n"
            "  -w, --timeout SEC      for each query and each POST (default 5)\n"
            "  -h, --help             this text\n"
            "\n"
            "Runs until SIGINT or SIGTERM (exit 0). Exit 2: bad command line or config file.\n",
            DEFAULT_ALERTS, DEFAULT_QUERY);
}

static bool parse_int(const char *what, const char *v, long lo, long hi, long *out)
{
    return cli_parse_long(WHO, what, v, lo, hi, out);
}

static bool parse_regions(struct notify_opts *o, const char *what, const char *list)
{
    const char *s = list;
    o->nregions = 0;
    while (*s) {
        size_t n = strcspn(s, ", ");
        if (n) {
            if (o->nregions == MAX_REGIONS || n > FW_ID_MAX) {
                fprintf(stderr, WHO ": %s \"%s\": at most %d region ids\n", what, list,
                        MAX_REGIONS);
                return false;
            }
            snprintf(o->regions[o->nregions], sizeof o->regions[0], "%.*s", (int)n, s);
            if (!fw_id_valid(o->regions[o->nregions])) {
                fprintf(stderr, WHO ": %s: \"%s\" is not a region id\n", what,
                        o->regions[o->nregions]);
                return false;
            }
            o->nregions++;
        }
        s += n;
        s += strspn(s, ", ");
    }
    return true;
}

/* --------------------------------------------------------------------------------------------
 * The config file: one [notify] section (config/notify.conf), errors naming file, line, key.
 * ------------------------------------------------------------------------------------------ */

struct cfg_ctx {
    struct notify_opts *o;
    const char *path;
    FILE *f;
    int line;
    bool failed;
    unsigned set; /* bit per option set on the command line (those win) */
};

enum {
    SET_AM = 1,
    SET_CONSOLE = 2,
    SET_RESEND = 4,
    SET_QMAX = 8,
    SET_STATS = 16,
    SET_REGION = 32,
    SET_PUB = 64,
    SET_QUERY = 128
};

static char *cfg_reader(char *buf, int size, void *arg)
{
    struct cfg_ctx *c = arg;
    char *r = fgets(buf, size, c->f);
    if (r)
        c->line++;
    return r;
}

static char *cfg_keep(struct notify_opts *o, const char *v)
{
    for (int i = 0; i < 4; i++)
        if (!o->cfg_strs[i])
            return o->cfg_strs[i] = strdup(v);
    return NULL;
}

static int cfg_handler(void *arg, const char *section, const char *name, const char *value)
{
    struct cfg_ctx *c = arg;
    struct notify_opts *o = c->o;
    char what[160];
    long n;
    if (c->failed)
        return 0;
    if (strcmp(section, "notify")) {
        fprintf(stderr, WHO ": %s:%d: unknown section [%s]; this file has one [notify]\n", c->path,
                c->line, section);
        goto fail;
    }
    snprintf(what, sizeof what, "%s:%d: [notify] %s", c->path, c->line, name);
    if (!strcmp(name, "alertmanager")) {
        if (!(c->set & SET_AM) && !(o->am_list = cfg_keep(o, value)))
            goto fail;
    } else if (!strcmp(name, "console_url")) {
        if (!(c->set & SET_CONSOLE) && !(o->console_url = cfg_keep(o, value)))
            goto fail;
    } else if (!strcmp(name, "alerts_endpoint")) {
        if (!(c->set & SET_PUB) && !(o->pub_ep = cfg_keep(o, value)))
            goto fail;
    } else if (!strcmp(name, "query_endpoint")) {
        if (!(c->set & SET_QUERY) && !(o->query_ep = cfg_keep(o, value)))
            goto fail;
    } else if (!strcmp(name, "resend_seconds")) {
        if (!parse_int(what, value, 1, 86400, &n))
            goto fail;
        if (!(c->set & SET_RESEND))
            o->resend_seconds = (int)n;
    } else if (!strcmp(name, "stats_seconds")) {
        if (!parse_int(what, value, 0, 86400, &n))
            goto fail;
        if (!(c->set & SET_STATS))
            o->stats_seconds = (int)n;
    } else if (!strcmp(name, "queue_max")) {
        if (!parse_int(what, value, 1, 10000000, &n))
            goto fail;
        if (!(c->set & SET_QMAX))
            o->queue_max = n;
    } else if (!strcmp(name, "region")) {
        if (!(c->set & SET_REGION) && !parse_regions(o, what, value))
            goto fail;
    } else {
        fprintf(stderr,
                WHO
                ": %s:%d: [notify] unknown key \"%s\"; the keys are alertmanager, "
                "console_url, resend_seconds, queue_max, stats_seconds, region, alerts_endpoint, "
                "query_endpoint\n",
                c->path, c->line, name);
        goto fail;
    }
    return 1;
fail:
    c->failed = true;
    return 0;
}

static bool cfg_load(struct notify_opts *o, const char *path, unsigned set)
{
    struct cfg_ctx c = {.o = o, .path = path, .set = set};
    if (!(c.f = fopen(path, "r"))) {
        fprintf(stderr, WHO ": cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    int rc = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
    fclose(c.f);
    if (rc > 0 && !c.failed)
        fprintf(stderr, WHO ": %s:%d: not a key = value line or [section]\n", path, rc);
    return rc == 0 && !c.failed;
}

/* --------------------------------------------------------------------------------------------
 * The feed
 * ------------------------------------------------------------------------------------------ */

static const char *store_name(struct notify *n, const char *store)
{
    const struct store_view *sv = store_views_find(&n->stores, store);
    /* A store the daemon took on since: ask again, at most once a minute. */
    if (!sv && fw_mono_ns() - n->stores_loaded_ns > 60ull * 1000000000u) {
        store_views_free(&n->stores);
        store_views_load(&n->stores, WHO, n->ctx, n->o->query_ep, n->o->timeout_s, &stop_flag);
        n->stores_loaded_ns = fw_mono_ns();
        sv = store_views_find(&n->stores, store);
    }
    return sv && sv->name[0] ? sv->name : NULL;
}

static bool snapshot_alert(void *arg, const Floorwalker__Alert *a)
{
    struct notify *n = arg;
    amsend_update(n->am, a, store_name(n, a->store_id));
    return true;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A snapshot of region i (or of all regions when there are none); false if the daemon did not
 * answer (tried again in a while). */
static bool snapshot(struct notify *n, int i)
{
    const struct notify_opts *o = n->o;
    const char *region = o->nregions ? o->regions[i] : NULL;
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    Floorwalker__QueryResult *r = NULL;
    q.kind = FLOORWALKER__QUERY__KIND__ALERTS;
    q.region = region ? (char *)region : "";
    uint64_t deadline = fw_mono_ns() + (uint64_t)o->timeout_s * 1000000000u;
    if (cli_ask(WHO, n->ctx, o->query_ep, &q, o->timeout_s, deadline, &stop_flag, &r) != ASK_OK)
        return false;
    if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
        fprintf(stderr, WHO ": the snapshot query was refused: %s\n", r->error);
        floorwalker__query_result__free_unpacked(r, NULL);
        return false;
    }
    if (!n->stores.n) {
        store_views_load(&n->stores, WHO, n->ctx, o->query_ep, o->timeout_s, &stop_flag);
        n->stores_loaded_ns = fw_mono_ns();
    }
    amsend_mark(n->am, region);
    feed_take_snapshot(&n->seqs, r, region, snapshot_alert, n);
    amsend_sweep(n->am, region, wall_ms());
    floorwalker__query_result__free_unpacked(r, NULL);
    return true;
}

static void snapshots_due(struct notify *n)
{
    if (fw_mono_ns() < n->snap_retry_ns)
        return;
    int k = n->o->nregions ? n->o->nregions : 1;
    for (int i = 0; i < k && !stop_flag; i++)
        if (n->snap_due[i]) {
            if (!snapshot(n, i)) {
                n->snap_retry_ns = fw_mono_ns() + 2000000000ull;
                return;
            }
            n->snap_due[i] = false;
        }
}

static int region_index(const struct notify_opts *o, const char *region)
{
    for (int i = 0; i < o->nregions; i++)
        if (!strcmp(o->regions[i], region))
            return i;
    return o->nregions ? -1 : 0;
}

static void recv_live(struct notify *n)
{
    Floorwalker__Alert *a = feed_recv(n->sub, WHO);
    if (!a)
        return;
    int ri = region_index(n->o, a->region);
    uint64_t missed = 0;
    if (ri >= 0) {
        switch (feed_seqs_live(&n->seqs, a, true, &missed)) {
        case FEED_COVERED:
            break;
        case FEED_GAP:
            /* Missed messages (a RESOLVED among them, maybe): a new snapshot of the region
             * says what is active now; this message is in it or after it. */
            fprintf(stderr,
                    WHO ": region %s: %" PRIu64 " alert messages missed; taking a new snapshot\n",
                    a->region, missed);
            n->snap_due[ri] = true;
            break;
        case FEED_NEXT:
            amsend_update(n->am, a, store_name(n, a->store_id));
            break;
        }
    }
    floorwalker__alert__free_unpacked(a, NULL);
}

static void print_stats(struct notify *n)
{
    struct amsend_stats st;
    char last[40] = "never";
    amsend_get_stats(n->am, &st);
    if (st.last_success_ms) {
        time_t t = (time_t)(st.last_success_ms / 1000);
        struct tm tm;
        strftime(last, sizeof last, "%Y-%m-%dT%H:%M:%S%z", localtime_r(&t, &tm));
    }
    fprintf(stderr,
            WHO ": posts_ok=%" PRIu64 " posts_failed=%" PRIu64 " alerts_posted=%" PRIu64
                " queued=%zu resolved_queued=%zu firing=%zu deferred=%" PRIu64 " last_success=%s\n",
            st.posts_ok, st.posts_failed, st.alerts_posted, st.queued, st.resolved_queued,
            st.firing, st.deferred, last);
}

static int subscribe(struct notify *n)
{
    int zero = 0;
    char topic[8 + FW_ID_MAX + 2];
    if (!(n->sub = zmq_socket(n->ctx, ZMQ_SUB))) {
        fprintf(stderr, WHO ": zmq_socket: %s\n", zmq_strerror(zmq_errno()));
        return -1;
    }
    zmq_setsockopt(n->sub, ZMQ_LINGER, &zero, sizeof zero);
    for (int i = 0; i < (n->o->nregions ? n->o->nregions : 1); i++) {
        snprintf(topic, sizeof topic, "alert/%s%s", n->o->nregions ? n->o->regions[i] : "",
                 n->o->nregions ? "/" : "");
        zmq_setsockopt(n->sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    }
    if (cli_secure(n->sub, WHO) != 0)
        return -1;
    void *mon = cli_monitor(n->ctx, n->sub, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (zmq_connect(n->sub, n->o->pub_ep) != 0) {
        fprintf(stderr, WHO ": cannot connect to %s: %s\n", n->o->pub_ep,
                zmq_strerror(zmq_errno()));
        if (mon)
            feed_monitor_wait_stop(n->sub, mon, 0, &stop_flag);
        return -1;
    }
    if (mon)
        feed_monitor_wait_stop(n->sub, mon, fw_mono_ns() + 1000000000ull, &stop_flag);
    return 0;
}

static int run(struct notify_opts *o)
{
    struct amsend_opts ao = {.console_url =
                                 o->console_url && o->console_url[0] ? o->console_url : NULL,
                             .resend_seconds = o->resend_seconds,
                             .queue_max = (size_t)o->queue_max,
                             .http_timeout_ms = o->timeout_s * 1000L};
    for (char *tok = strtok(o->am_list, ", "); tok; tok = strtok(NULL, ", ")) {
        if (ao.n_urls == AMSEND_MAX_URLS) {
            fprintf(stderr, WHO ": --alertmanager: at most %d URLs\n", AMSEND_MAX_URLS);
            return EXIT_USAGE;
        }
        if (strncmp(tok, "http://", 7) && strncmp(tok, "https://", 8)) {
            fprintf(stderr, WHO ": --alertmanager \"%s\": give an http:// or https:// URL\n", tok);
            return EXIT_USAGE;
        }
        ao.urls[ao.n_urls++] = tok;
    }
    if (!ao.n_urls) {
        fprintf(stderr, WHO ": give --alertmanager URL (or alertmanager = in the config file)\n");
        return EXIT_USAGE;
    }
    struct notify n = {.o = o};
    int rc = EXIT_OK;
    cli_catch_stop(on_signal);
    if (amsend_new(&n.am, &ao) != 0)
        return EXIT_NODAEMON;
    if (!(n.ctx = zmq_ctx_new())) {
        amsend_destroy(&n.am);
        return EXIT_NODAEMON;
    }
    if (subscribe(&n) != 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    for (int i = 0; i <= MAX_REGIONS; i++)
        n.snap_due[i] = true;
    uint64_t stats_ns = (uint64_t)o->stats_seconds * 1000000000ull;
    uint64_t next_stats = fw_mono_ns() + stats_ns;
    while (!stop_flag) {
        snapshots_due(&n);
        long wait = amsend_run(n.am, fw_mono_ns());
        if (stats_ns && fw_mono_ns() >= next_stats) {
            print_stats(&n);
            next_stats = fw_mono_ns() + stats_ns;
        }
        zmq_pollitem_t it = {n.sub, 0, ZMQ_POLLIN, 0};
        int k = zmq_poll(&it, 1, wait);
        if (k < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, WHO ": zmq_poll: %s\n", zmq_strerror(zmq_errno()));
            rc = EXIT_NODAEMON;
            break;
        }
        /* Drain what is there (bounded, so posting keeps its pace under a flood). */
        for (int m = 0; k > 0 && m < 10000 && !stop_flag; m++) {
            int ev = 0;
            size_t len = sizeof ev;
            if (zmq_getsockopt(n.sub, ZMQ_EVENTS, &ev, &len) != 0 || !(ev & ZMQ_POLLIN))
                break;
            recv_live(&n);
        }
    }
    print_stats(&n);
out:
    if (n.sub)
        zmq_close(n.sub);
    zmq_ctx_term(n.ctx);
    amsend_destroy(&n.am);
    feed_seqs_free(&n.seqs);
    store_views_free(&n.stores);
    return rc;
}

int cmd_notify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"alertmanager", required_argument, NULL, 'a'},
        {"config", required_argument, NULL, 'c'},
        {"endpoint", required_argument, NULL, 'e'},
        {"query", required_argument, NULL, 'q'},
        {"console-url", required_argument, NULL, 'U'},
        {"region", required_argument, NULL, 'r'},
        {"resend-seconds", required_argument, NULL, 'R'},
        {"queue-max", required_argument, NULL, 'Q'},
        {"stats", required_argument, NULL, 'S'},
        {"timeout", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct notify_opts o = {.pub_ep = cli_endpoint("FLOORWALKER_ALERTS", DEFAULT_ALERTS),
                            .query_ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY),
                            .resend_seconds = 60,
                            .stats_seconds = 60,
                            .timeout_s = 5,
                            .queue_max = 10000};
    const char *cfg = NULL, *am = NULL, *console = NULL;
    unsigned set = 0;
    long v;
    int c, rc = EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:c:e:q:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            am = optarg;
            set |= SET_AM;
            break;
        case 'c':
            cfg = optarg;
            break;
        case 'e':
            o.pub_ep = optarg;
            set |= SET_PUB;
            break;
        case 'q':
            o.query_ep = optarg;
            set |= SET_QUERY;
            break;
        case 'U':
            console = optarg;
            set |= SET_CONSOLE;
            break;
        case 'r':
            if (!parse_regions(&o, "--region", optarg))
                return EXIT_USAGE;
            set |= SET_REGION;
            break;
        case 'R':
            if (!parse_int("--resend-seconds", optarg, 1, 86400, &v))
                return EXIT_USAGE;
            o.resend_seconds = (int)v;
            set |= SET_RESEND;
            break;
        case 'Q':
            if (!parse_int("--queue-max", optarg, 1, 10000000, &v))
                return EXIT_USAGE;
            o.queue_max = v;
            set |= SET_QMAX;
            break;
        case 'S':
            if (!parse_int("--stats", optarg, 0, 86400, &v))
                return EXIT_USAGE;
            o.stats_seconds = (int)v;
            set |= SET_STATS;
            break;
        case 'w':
            if (!parse_int("--timeout", optarg, 1, 3600, &v))
                return EXIT_USAGE;
            o.timeout_s = (int)v;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, WHO ": unexpected argument \"%s\"\n\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (am && !(o.am_list = strdup(am)))
        return EXIT_NODAEMON;
    if (console)
        o.console_url = (char *)console;
    if (cfg && !cfg_load(&o, cfg, set))
        goto out;
    if (o.am_list && !(set & SET_AM) && !(o.am_list = strdup(o.am_list)))
        goto out;
    /* A supervisor's bridge forwards all of their regions (the daemon sends no others). */
    if (!o.nregions && cli_key_regions() &&
        !parse_regions(&o, "the key's regions", cli_key_regions()))
        goto out;
    if (!o.am_list) {
        fprintf(stderr, WHO ": give --alertmanager URL (or alertmanager = in the config file)\n");
        goto out;
    }
    rc = run(&o);
out:
    free(o.am_list);
    for (int i = 0; i < 4; i++)
        free(o.cfg_strs[i]);
    return rc;
}
