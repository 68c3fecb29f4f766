/*
 * floorwalker alerts: follow floorwalkerd's alerts as docs/ALERTS.md describes. Subscribe
 * first, then take the snapshot of the active alerts over the query socket and print it, then
 * print live messages, dropping those the snapshot already covers (pub_seq not above the
 * snapshot's for their region) and reporting jumps in a region's pub_seq on stderr.
 *
 * floorwalker alerts ack ALERT_ID: one Query{ACK_ALERT} over REQ, like `floorwalker query`.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zmq.h>

#include "alertfeed.h"
#include "cli.h"
#include "floorwalker.pb-c.h"
#include "fwcommon.h"
#include "fwunits.h"
#include "merge.h"
#include "qjson.h"
#include "tz.h"

/* The SUB socket is "subscribed" once its handshake with the daemon is done: the
 * subscription goes out right after it. */
#ifdef ZMQ_EVENT_HANDSHAKE_SUCCEEDED
#define SUB_READY_EVENT ZMQ_EVENT_HANDSHAKE_SUCCEEDED
#else
#define SUB_READY_EVENT ZMQ_EVENT_CONNECTED
#endif
/* How long we wait for that before asking for the snapshot anyway (the query then tells
 * whether the daemon is there at all): at most this, and at most half of -w, whose time it
 * comes out of. */
#define SUB_READY_MAX_MS 1000

#define ALERTS_MAX_REGIONS 16

/* A daemon followed: its endpoints, its SUB, its regions' pub_seq, its stores. */
struct source {
    const char *query_ep;
    char pub_ep[256];
    void *sub;
    struct feed_seqs seqs;
    struct store_views stores; /* from a STORES query at start (human lines only) */
};

struct alerts_opts {
    const char *pub_ep, *query_ep;
    const char *daemons[CLI_MAX_DAEMONS]; /* --daemon QUERY_EP, repeated */
    int ndaemons;
    const char *region, *store, *rule; /* NULL: any; region: the only one of regions[] */
    char regions[ALERTS_MAX_REGIONS][FW_ID_MAX + 1]; /* --region A,B or a supervisor key's */
    int nregions;                                    /* 0: any */
    int min_severity;                                /* 0: any */
    bool json, snapshot;
    long count;    /* -C: exit after this many lines; 0 = no limit */
    double idle_s; /* -W: exit after this long without a line; 0 = never */
    int timeout_s; /* -w: snapshot and ack answer */
};

struct follow {
    const struct alerts_opts *o;
    struct source src[CLI_MAX_DAEMONS];
    int nsrc;
    long printed;
    bool track_gaps; /* only when we see whole regions (no --store, no --rule) */
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
            "Usage: floorwalker alerts [OPTIONS]\n"
            "       floorwalker alerts ack ALERT_ID [-r REASON] [-q QUERY_EP | --daemon EP ...]\n"
            "                              [-w SEC]\n"
            "\n"
            "Follow floorwalkerd's alerts (docs/ALERTS.md): first a snapshot of the active\n"
            "alerts (lines prefixed [snapshot]), then live messages, one line each:\n"
            "  YYYY-MM-DD HH:MM +HH:MM STATE SEVERITY RULE store=S (NAME) region=R subject=X: "
            "message\n"
            "(the alert's last change in the store's local time, and the store's name; the\n"
            "message says the value and threshold in money, units or hours), e.g.\n"
            "  2026-11-02 20:00 +08:00 FIRING WARNING sales_behind_target store=SH1 (Nanjing "
            "Road)\n"
            "  region=east subject=2026-11-02: net sales of 108.00 CNY today are below ...\n"
            "(one line). `ack` acknowledges an alert of a rule that resolves by\n"
            "acknowledgement (cash_over_short, compensation_over_limit, count_variance,\n"
            "shrink_high); its resolution names your key (plain mode: \"an ops client\") and\n"
            "the --reason, e.g. \"acknowledged by sup-east: recounted, till was right\".\n"
            "\n"
            "  -e, --endpoint EP   alerts PUB endpoint (default %s, or $FLOORWALKER_ALERTS)\n"
            "  -q, --query EP      query endpoint for the snapshot and ack (default %s,\n"
            "                      or $FLOORWALKER_QUERY)\n"
            "      --daemon EP     repeated: follow every daemon (stores sharded across them),\n"
            "                      each named by its query endpoint (its alerts endpoint is\n"
            "                      asked of it); a gap is then reported per daemon. ack:\n"
            "                      asked of each in turn until one holds the alert\n"
            "      --region R[,R]  only the alerts of these regions (an unknown one is an\n"
            "                      error); with a supervisor's --key, all of the key's regions\n"
            "      --store S       only the alerts of store S\n"
            "      --rule NAME     only the alerts of rule NAME (docs/ALERTS.md; another is bad\n"
            "                      usage)\n"
            "      --severity LVL  only alerts at least this severe: INFO, WARNING or CRITICAL\n"
            "      --json          one JSON object per line: the Alert's fields, plus\n"
            "                      \"snapshot\": true for snapshot lines\n"
            "  -C N                exit after N lines (snapshot lines count)\n"
            "  -W SECONDS          exit after SECONDS without a line\n"
            "      --no-snapshot   live messages only\n"
            "  -r, --reason TEXT   ack: why (up to 160 bytes), kept in the resolution\n"
            "  -w, --timeout SEC   wait this long for the snapshot or ack answer (default 5)\n"
            "  -h, --help          this text\n"
            "\n"
            "A jump in a region's pub_seq (messages this subscriber missed) is reported on\n"
            "stderr as `gap: region R pub_seq A -> B (N missed)`; not with --store or --rule,\n"
            "which see only part of a region.\n"
            "\n"
            "Exit status:\n"
            "  0  ok (also after -C N lines, -W seconds of silence, SIGINT or SIGTERM)\n"
            "  1  the daemon refused the snapshot query or the ack (the reason is printed)\n"
            "  2  bad command line\n"
            "  3  the daemon did not answer in time\n",
            DEFAULT_ALERTS, DEFAULT_QUERY);
}

static bool parse_timeout(const char *arg, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v <= 0 || v > 86400) {
        fprintf(stderr,
                "floorwalker alerts: --timeout \"%s\": give a whole number of seconds, "
                "1 to 86400\n",
                arg);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool check_id(const char *opt, const char *v)
{
    if (fw_id_valid(v))
        return true;
    fprintf(stderr,
            "floorwalker alerts: %s \"%s\" is not an id ([A-Za-z0-9_.-], 1-64 characters)\n", opt,
            v);
    return false;
}

/* --------------------------------------------------------------------------------------------
 * The query socket
 * ------------------------------------------------------------------------------------------ */

/* --------------------------------------------------------------------------------------------
 * Printing
 * ------------------------------------------------------------------------------------------ */

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t len)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    if (ev)
        return ev->name;
    snprintf(buf, len, "%d", v);
    return buf;
}

/* Prints s keeping the line one line: control characters become spaces. */
static void put_oneline(const char *s)
{
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static void print_alert(const struct follow *f, const Floorwalker__Alert *a, bool snapshot)
{
    if (f->o->json) {
        json_t *o = qjson_alert(a);
        json_object_set_new(o, "snapshot", json_boolean(snapshot));
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else {
        /* The store's local time and name: what its manager reads. */
        const struct store_view *sv = NULL;
        for (int i = 0; i < f->nsrc && !sv; i++)
            sv = store_views_find(&f->src[i].stores, a->store_id);
        char ts[FW_FMT_MAX], b1[16], b2[16];
        fw_fmt_local(ts, sizeof ts, a->updated_ms, sv ? sv->tz : NULL);
        printf("%s%s %s %s ", snapshot ? "[snapshot] " : "", ts,
               enum_name(&floorwalker__alert__state__descriptor, a->state, b1, sizeof b1),
               enum_name(&floorwalker__alert__severity__descriptor, a->severity, b2, sizeof b2));
        put_oneline(a->rule);
        fputs(" store=", stdout);
        put_oneline(a->store_id);
        if (sv && sv->name[0]) {
            fputs(" (", stdout);
            put_oneline(sv->name);
            putchar(')');
        }
        fputs(" region=", stdout);
        put_oneline(a->region);
        fputs(" subject=", stdout);
        put_oneline(a->subject);
        /* value and threshold are in the rule's own measure (cents, seconds, thousandths):
         * the message says both in people's units; --json keeps them exact. */
        if (a->message[0]) {
            fputs(": ", stdout);
            put_oneline(a->message);
        }
        putchar('\n');
    }
    fflush(stdout);
}

/* --------------------------------------------------------------------------------------------
 * Following
 * ------------------------------------------------------------------------------------------ */

static bool region_wanted(const struct alerts_opts *o, const char *region)
{
    for (int i = 0; i < o->nregions; i++)
        if (!strcmp(o->regions[i], region))
            return true;
    return o->nregions == 0;
}

static bool passes_filters(const struct alerts_opts *o, const Floorwalker__Alert *a)
{
    if (!region_wanted(o, a->region))
        return false;
    if (o->store && strcmp(a->store_id, o->store))
        return false;
    if (o->rule && strcmp(a->rule, o->rule))
        return false;
    return (int)a->severity >= o->min_severity;
}

static bool count_reached(const struct follow *f)
{
    return f->o->count > 0 && f->printed >= f->o->count;
}

/* A live alert: drop it if the snapshot covers it, check its region's pub_seq for a gap, then
 * filter and print. Returns true if a line was printed. */
static bool handle_live(struct follow *f, struct source *src, const Floorwalker__Alert *a)
{
    if (!region_wanted(f->o, a->region))
        return false;
    uint64_t missed = 0;
    switch (feed_seqs_live(&src->seqs, a, f->track_gaps, &missed)) {
    case FEED_COVERED:
        return false;
    case FEED_GAP:
        fprintf(stderr,
                "gap: region %s pub_seq %" PRIu64 " -> %" PRIu64 " (%" PRIu64 " missed)%s%s\n",
                a->region, a->pub_seq - missed - 1, a->pub_seq, missed, f->nsrc > 1 ? " from " : "",
                f->nsrc > 1 ? src->query_ep : "");
        break;
    case FEED_NEXT:
        break;
    }
    if (!passes_filters(f->o, a))
        return false;
    print_alert(f, a, false);
    f->printed++;
    return true;
}

/* Reads one message from sub (which zmq_poll said is readable); true if a line was printed. */
static bool recv_live(struct follow *f, struct source *src)
{
    Floorwalker__Alert *a = feed_recv(src->sub, "floorwalker alerts");
    if (!a)
        return false;
    bool printed = handle_live(f, src, a);
    floorwalker__alert__free_unpacked(a, NULL);
    return printed;
}

/* A snapshot alert: filter and print (until -C). */
static bool snapshot_alert(void *arg, const Floorwalker__Alert *a)
{
    struct follow *f = arg;
    if (count_reached(f))
        return false;
    if (passes_filters(f->o, a)) {
        print_alert(f, a, true);
        f->printed++;
    }
    return true;
}

/* The SUB of one daemon, subscribed as narrowly as the filters allow (before it connects):
 * region, then store, then rule, each only if the ones before it are given. The rule is the
 * last topic part, so no "/" after it; the client-side filter removes rules that merely start
 * with it. A monitor (*mon) watches for its handshake when a snapshot follows. */
static int source_open(struct source *src, const struct alerts_opts *o, void *ctx, void **mon)
{
    int zero = 0;
    char topic[8 + 3 * (FW_ID_MAX + 1)];
    src->sub = zmq_socket(ctx, ZMQ_SUB);
    if (!src->sub) {
        fprintf(stderr, "floorwalker alerts: zmq_socket: %s\n", zmq_strerror(zmq_errno()));
        return EXIT_NODAEMON;
    }
    zmq_setsockopt(src->sub, ZMQ_LINGER, &zero, sizeof zero);
    snprintf(topic, sizeof topic, "alert/");
    if (o->region) {
        size_t n = strlen(topic);
        snprintf(topic + n, sizeof topic - n, "%s/", o->region);
        if (o->store) {
            n = strlen(topic);
            snprintf(topic + n, sizeof topic - n, "%s/", o->store);
            if (o->rule) {
                n = strlen(topic);
                snprintf(topic + n, sizeof topic - n, "%s", o->rule);
            }
        }
    }
    if (o->nregions > 1) {
        for (int i = 0; i < o->nregions; i++) {
            snprintf(topic, sizeof topic, "alert/%s/", o->regions[i]);
            zmq_setsockopt(src->sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
        }
    } else {
        zmq_setsockopt(src->sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    }
    if (cli_secure(src->sub, "floorwalker alerts") != 0)
        return EXIT_USAGE;
    if (o->snapshot) /* before connect: the event cannot be missed */
        *mon = cli_monitor(ctx, src->sub, SUB_READY_EVENT);
    if (zmq_connect(src->sub, src->pub_ep) != 0) {
        fprintf(stderr, "floorwalker alerts: cannot connect to %s: %s\n", src->pub_ep,
                zmq_strerror(zmq_errno()));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The snapshot of one daemon: one query per region (the daemon takes one region a query). */
static int source_snapshot(struct follow *f, struct source *src, void *ctx, uint64_t deadline)
{
    const struct alerts_opts *o = f->o;
    for (int ri = 0; ri < (o->nregions ? o->nregions : 1); ri++) {
        Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
        Floorwalker__QueryResult *r = NULL;
        q.kind = FLOORWALKER__QUERY__KIND__ALERTS;
        q.region = o->nregions ? (char *)o->regions[ri] : "";
        q.store_id = o->store ? (char *)o->store : "";
        q.rule = o->rule ? (char *)o->rule : "";
        switch (cli_ask("floorwalker alerts", ctx, src->query_ep, &q, o->timeout_s, deadline,
                        &stop_flag, &r)) {
        case ASK_OK:
            break;
        case ASK_STOPPED:
            return EXIT_OK;
        case ASK_BADEP:
            return EXIT_USAGE;
        case ASK_NOANSWER:
            return EXIT_NODAEMON;
        }
        if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
            fprintf(stderr, "floorwalker alerts: the snapshot query was refused%s%s: %s\n",
                    f->nsrc > 1 ? " by " : "", f->nsrc > 1 ? src->query_ep : "", r->error);
            floorwalker__query_result__free_unpacked(r, NULL);
            return EXIT_INPUT;
        }
        feed_take_snapshot(&src->seqs, r, o->nregions ? o->regions[ri] : NULL, snapshot_alert, f);
        floorwalker__query_result__free_unpacked(r, NULL);
    }
    return EXIT_OK;
}

/* A daemon named by its query endpoint: its alerts endpoint is what its STORES answer says. */
static int source_discover(struct source *src, void *ctx, int timeout_s)
{
    switch (cli_alerts_endpoint("floorwalker alerts", ctx, src->query_ep, timeout_s, &stop_flag,
                                src->pub_ep, sizeof src->pub_ep)) {
    case ASK_OK:
        break;
    case ASK_BADEP:
        return EXIT_USAGE;
    default:
        return EXIT_NODAEMON;
    }
    if (!src->pub_ep[0]) {
        fprintf(stderr,
                "floorwalker alerts: floorwalkerd at %s does not tell its alerts endpoint (an "
                "older version): use -e and -q for it\n",
                src->query_ep);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int follow_run(const struct alerts_opts *o)
{
    struct follow f = {.o = o, .track_gaps = !o->store && !o->rule};
    void *ctx = zmq_ctx_new(), *mons[CLI_MAX_DAEMONS] = {0};
    int rc = EXIT_OK;
    zmq_pollitem_t items[CLI_MAX_DAEMONS];

    if (!ctx) {
        fprintf(stderr, "floorwalker alerts: zmq_ctx_new: %s\n", zmq_strerror(zmq_errno()));
        return EXIT_NODAEMON;
    }
    cli_catch_stop(on_signal);
    if (o->ndaemons) {
        for (int i = 0; i < o->ndaemons && rc == EXIT_OK; i++) {
            f.src[f.nsrc].query_ep = o->daemons[i];
            rc = source_discover(&f.src[f.nsrc++], ctx, o->timeout_s);
        }
    } else {
        f.src[0].query_ep = o->query_ep;
        snprintf(f.src[0].pub_ep, sizeof f.src[0].pub_ep, "%s", o->pub_ep);
        f.nsrc = 1;
    }
    for (int i = 0; i < f.nsrc && rc == EXIT_OK; i++)
        rc = source_open(&f.src[i], o, ctx, &mons[i]);
    if (rc != EXIT_OK)
        goto out;

    if (!o->json)
        for (int i = 0; i < f.nsrc; i++)
            store_views_load(&f.src[i].stores, "floorwalker alerts", ctx, f.src[i].query_ep,
                             o->timeout_s, &stop_flag);
    if (o->snapshot) {
        uint64_t deadline = fw_mono_ns() + (uint64_t)o->timeout_s * 1000000000u;
        uint64_t max_ns = (uint64_t)o->timeout_s * 500000000u;
        if (max_ns > (uint64_t)SUB_READY_MAX_MS * 1000000u)
            max_ns = (uint64_t)SUB_READY_MAX_MS * 1000000u;
        uint64_t ready_by = fw_mono_ns() + max_ns;
        for (int i = 0; i < f.nsrc; i++) {
            if (mons[i])
                feed_monitor_wait_stop(f.src[i].sub, mons[i], ready_by, &stop_flag);
            mons[i] = NULL;
        }
        for (int i = 0; i < f.nsrc && rc == EXIT_OK && !stop_flag; i++)
            rc = source_snapshot(&f, &f.src[i], ctx, deadline);
        if (rc != EXIT_OK || stop_flag)
            goto out;
    }

    uint64_t idle_ns = o->idle_s > 0 ? (uint64_t)(o->idle_s * 1e9) : 0;
    uint64_t last_line = fw_mono_ns();
    for (int i = 0; i < f.nsrc; i++)
        items[i] = (zmq_pollitem_t){f.src[i].sub, 0, ZMQ_POLLIN, 0};
    while (!stop_flag && !count_reached(&f)) {
        long wait_ms = -1;
        if (idle_ns) {
            uint64_t now = fw_mono_ns();
            if (now - last_line >= idle_ns)
                break;
            wait_ms = (long)((idle_ns - (now - last_line) + 999999) / 1000000);
        }
        int n = zmq_poll(items, f.nsrc, wait_ms);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            fprintf(stderr, "floorwalker alerts: zmq_poll: %s\n", zmq_strerror(zmq_errno()));
            rc = EXIT_NODAEMON;
            break;
        }
        for (int i = 0; n > 0 && i < f.nsrc && !count_reached(&f); i++)
            if ((items[i].revents & ZMQ_POLLIN) && recv_live(&f, &f.src[i]))
                last_line = fw_mono_ns();
    }

out:
    for (int i = 0; i < f.nsrc; i++) {
        if (mons[i]) {
            zmq_socket_monitor(f.src[i].sub, NULL, 0);
            zmq_close(mons[i]);
        }
        if (f.src[i].sub)
            zmq_close(f.src[i].sub);
        feed_seqs_free(&f.src[i].seqs);
        store_views_free(&f.src[i].stores);
    }
    zmq_ctx_term(ctx);
    return rc;
}

/* floorwalker alerts ack ALERT_ID: argv[0] is "ack". */
static int ack_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"query", required_argument, NULL, 'q'},  {"daemon", required_argument, NULL, 'D'},
        {"reason", required_argument, NULL, 'r'}, {"timeout", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY);
    const char *eps[CLI_MAX_DAEMONS];
    size_t neps = 0;
    const char *reason = "";
    int timeout = 5, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "q:r:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            ep = optarg;
            break;
        case 'D':
            if (neps == CLI_MAX_DAEMONS) {
                fprintf(stderr, "floorwalker alerts ack: at most %d --daemon\n", CLI_MAX_DAEMONS);
                return EXIT_USAGE;
            }
            eps[neps++] = optarg;
            break;
        case 'r':
            if (strlen(optarg) > 160) {
                fprintf(stderr, "floorwalker alerts ack: --reason is %zu bytes; keep it to 160\n",
                        strlen(optarg));
                return EXIT_USAGE;
            }
            reason = optarg;
            break;
        case 'w':
            if (!parse_timeout(optarg, &timeout))
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !argv[optind][0]) {
        fprintf(stderr, "floorwalker alerts ack: give exactly one ALERT_ID (rule/store/subject)\n");
        return EXIT_USAGE;
    }
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = FLOORWALKER__QUERY__KIND__ACK_ALERT;
    q.alert_id = argv[optind];
    q.reason = (char *)reason;
    void *ctx = zmq_ctx_new();
    if (!ctx) {
        fprintf(stderr, "floorwalker alerts: zmq_ctx_new: %s\n", zmq_strerror(zmq_errno()));
        return EXIT_NODAEMON;
    }
    /* With several daemons: to each in turn until one holds the alert. */
    int rc;
    struct sharded s;
    const Floorwalker__QueryResult *r;
    size_t which;
    if (!neps)
        eps[neps++] = ep;
    switch (merge_ask_holder(&s, "floorwalker alerts", ctx, eps, neps, &q, timeout, &stop_flag, &r,
                             &which)) {
    case ASK_OK:
        if (r->status == FLOORWALKER__QUERY_RESULT__STATUS__OK) {
            printf("acknowledged %s\n", q.alert_id);
            rc = EXIT_OK;
        } else {
            fprintf(stderr, "floorwalker alerts ack: %s%s%s\n", neps > 1 ? eps[which] : "",
                    neps > 1 ? ": " : "", r->error[0] ? r->error : "refused (no reason given)");
            rc = EXIT_INPUT;
        }
        break;
    case ASK_BADEP:
        rc = EXIT_USAGE;
        break;
    default: /* no answer (ack installs no signal handler, so never ASK_STOPPED) */
        rc = EXIT_NODAEMON;
    }
    merge_ask_free(&s);
    zmq_ctx_term(ctx);
    return rc;
}

/* The rule ids of docs/ALERTS.md (tests/integration/test_alerts.py checks this list against
 * its table), so that a misspelt --rule is bad usage instead of a silent empty feed. */
static const char *const known_rules[] = {"return_rate_high", "cashier_returns_high",
                                          "cash_over_short",  "drawer_over_limit",
                                          "complaint_major",  "complaint_overdue",
                                          "complaint_surge",  "compensation_over_limit",
                                          "out_of_stock",     "negative_stock",
                                          "count_variance",   "shrink_high",
                                          "late_clock_in",    "no_show",
                                          "early_leave",      "understaffed",
                                          "store_silent",     "terminal_silent",
                                          "clock_skew",       "sales_behind_target"};

static bool check_rule(const char *rule)
{
    size_t n = sizeof known_rules / sizeof known_rules[0];
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rule, known_rules[i]))
            return true;
    fprintf(stderr, "floorwalker alerts: --rule \"%s\" is not a rule; the rules are:", rule);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", known_rules[i]);
    fputc('\n', stderr);
    return false;
}

/* --region A,B (or a supervisor key's regions) into o->regions. */
static bool parse_regions(struct alerts_opts *o, const char *what, const char *list)
{
    const char *s = list;
    o->nregions = 0;
    while (*s) {
        size_t n = strcspn(s, ", ");
        if (n) {
            if (o->nregions == ALERTS_MAX_REGIONS || n > FW_ID_MAX) {
                fprintf(stderr, "floorwalker alerts: %s \"%s\": at most %d region ids\n", what,
                        list, ALERTS_MAX_REGIONS);
                return false;
            }
            snprintf(o->regions[o->nregions], sizeof o->regions[0], "%.*s", (int)n, s);
            if (!check_id(what, o->regions[o->nregions]))
                return false;
            o->nregions++;
        }
        s += n;
        s += strspn(s, ", ");
    }
    if (!o->nregions) {
        fprintf(stderr, "floorwalker alerts: %s: give a region id, or a list like east,north\n",
                what);
        return false;
    }
    return true;
}

/* Each region asked for must have a store a daemon knows (its region-scoped sales report says
 * "no store in region" otherwise): an unknown region is named, not followed in silence. With
 * several daemons, one of them knowing it is enough. */
static int regions_known(const struct alerts_opts *o)
{
    int rc = EXIT_OK;
    void *ctx = o->nregions ? zmq_ctx_new() : NULL;
    const char *const *eps = o->ndaemons ? o->daemons : &o->query_ep;
    int neps = o->ndaemons ? o->ndaemons : 1;
    for (int i = 0; i < o->nregions && rc == EXIT_OK; i++) {
        bool known = false;
        for (int d = 0; d < neps && rc == EXIT_OK && !known; d++) {
            Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
            Floorwalker__QueryResult *r = NULL;
            q.kind = FLOORWALKER__QUERY__KIND__SALES;
            q.scope = "region";
            q.region = (char *)o->regions[i];
            q.from_day = q.to_day = "today";
            uint64_t deadline = fw_mono_ns() + (uint64_t)o->timeout_s * 1000000000u;
            switch (
                cli_ask("floorwalker alerts", ctx, eps[d], &q, o->timeout_s, deadline, NULL, &r)) {
            case ASK_OK:
                break;
            case ASK_BADEP:
                rc = EXIT_USAGE;
                continue;
            default:
                rc = EXIT_NODAEMON;
                continue;
            }
            known = r->status == FLOORWALKER__QUERY_RESULT__STATUS__OK ||
                    !strstr(r->error, "no store in region");
            floorwalker__query_result__free_unpacked(r, NULL);
        }
        if (rc == EXIT_OK && !known) {
            fprintf(stderr,
                    "floorwalker alerts: region \"%s\" is unknown: floorwalkerd at %s%s has no "
                    "store in it\n",
                    o->regions[i], eps[0], neps > 1 ? " (and every other --daemon)" : "");
            rc = EXIT_INPUT;
        }
    }
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

int cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'}, {"query", required_argument, NULL, 'q'},
        {"region", required_argument, NULL, 'r'},   {"store", required_argument, NULL, 's'},
        {"rule", required_argument, NULL, 'R'},     {"severity", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},           {"no-snapshot", no_argument, NULL, 'N'},
        {"timeout", required_argument, NULL, 'w'},  {"daemon", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && !strcmp(argv[1], "ack"))
        return ack_run(argc - 1, argv + 1);

    struct alerts_opts o = {.pub_ep = cli_endpoint("FLOORWALKER_ALERTS", DEFAULT_ALERTS),
                            .query_ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY),
                            .snapshot = true,
                            .timeout_s = 5};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:q:C:W:w:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'e':
            o.pub_ep = optarg;
            break;
        case 'q':
            o.query_ep = optarg;
            break;
        case 'D':
            if (o.ndaemons == CLI_MAX_DAEMONS) {
                fprintf(stderr, "floorwalker alerts: at most %d --daemon\n", CLI_MAX_DAEMONS);
                return EXIT_USAGE;
            }
            o.daemons[o.ndaemons++] = optarg;
            break;
        case 'r':
            if (!parse_regions(&o, "--region", optarg))
                return EXIT_USAGE;
            break;
        case 's':
            if (!check_id("--store", optarg))
                return EXIT_USAGE;
            o.store = optarg;
            break;
        case 'R':
            if (!check_rule(optarg))
                return EXIT_USAGE;
            o.rule = optarg;
            break;
        case 'S': {
            static const char *const names[] = {"INFO", "WARNING", "CRITICAL"};
            o.min_severity = 0;
            for (int i = 0; i < 3; i++)
                if (!strcasecmp(optarg, names[i]))
                    o.min_severity = FLOORWALKER__ALERT__SEVERITY__INFO + i;
            if (!o.min_severity) {
                fprintf(stderr,
                        "floorwalker alerts: --severity \"%s\": give INFO, WARNING or CRITICAL\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'j':
            o.json = true;
            break;
        case 'N':
            o.snapshot = false;
            break;
        case 'C':
            errno = 0;
            o.count = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || o.count <= 0) {
                fprintf(stderr,
                        "floorwalker alerts: -C \"%s\": give a number of lines, 1 or more\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'W':
            errno = 0;
            o.idle_s = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(o.idle_s) || o.idle_s <= 0 ||
                o.idle_s > 1e7) {
                fprintf(stderr, "floorwalker alerts: -W \"%s\": give a number of seconds above 0\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'w':
            if (!parse_timeout(optarg, &o.timeout_s))
                return EXIT_USAGE;
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
        fprintf(stderr, "floorwalker alerts: unexpected argument \"%s\"\n\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    /* A supervisor follows all of their regions unless told which. */
    if (!o.nregions && !o.store && cli_key_regions() &&
        !parse_regions(&o, "the key's regions", cli_key_regions()))
        return EXIT_USAGE;
    o.region = o.nregions == 1 ? o.regions[0] : NULL;
    int rc = regions_known(&o);
    return rc != EXIT_OK ? rc : follow_run(&o);
}
