/*
 * floorwalker publish: events through the terminal library, so the CLI behaves as a terminal
 * does (spooled first, resent until acked). Events from flags (one per call) or JSON lines.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "floorwalker.h"
#include "fwcommon.h"
#include "pbjson.h"

#define CHUNK 1000
#define MAX_TERMINALS 256

struct term {
    char store[FW_ID_MAX + 1], terminal[FW_ID_MAX + 1];
    fw_client *c;
    Floorwalker__Event **pending;
    size_t npending;
    uint64_t sent;
};

struct publish {
    const char *endpoint, *spool_base, *def_store, *def_terminal;
    int64_t time_ms;
    int timeout_s;
    bool no_wait, quiet;
    struct term terms[MAX_TERMINALS];
    size_t nterms;
    uint64_t input_errors;
};

static void on_reject(void *arg, uint64_t seq, int code, const char *reason)
{
    struct term *t = arg;
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&floorwalker__reject_code__descriptor, code);
    fprintf(stderr, "rejected: terminal %s seq %" PRIu64 ": %s: %s\n", t->terminal, seq,
            v ? v->name : "?", reason);
}

static struct term *term_for(struct publish *p, const char *store, const char *terminal)
{
    for (size_t i = 0; i < p->nterms; i++)
        if (!strcmp(p->terms[i].store, store) && !strcmp(p->terms[i].terminal, terminal))
            return &p->terms[i];
    if (p->nterms == MAX_TERMINALS) {
        fprintf(stderr, "floorwalker publish: more than %d terminals in one run\n", MAX_TERMINALS);
        return NULL;
    }
    struct term *t = &p->terms[p->nterms];
    memset(t, 0, sizeof *t);
    snprintf(t->store, sizeof t->store, "%s", store);
    snprintf(t->terminal, sizeof t->terminal, "%s", terminal);
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/%s", p->spool_base, terminal);
    if (fw_mkdir_p(p->spool_base, 0750) != 0) {
        fprintf(stderr, "floorwalker publish: spool %s: %s\n", p->spool_base, strerror(errno));
        return NULL;
    }
    struct fw_options o = {
        .endpoint = p->endpoint, .spool_dir = dir, .on_reject = on_reject, .arg = t};
    cli_fw_options(&o);
    int rc = fw_open_opts(&t->c, store, terminal, &o);
    if (rc) {
        fprintf(stderr, "floorwalker publish: cannot open the spool %s: %s\n", dir,
                fw_strerror_code(rc));
        return NULL;
    }
    t->pending = calloc(CHUNK, sizeof *t->pending);
    if (!t->pending)
        return NULL;
    p->nterms++;
    return t;
}

static int term_send(struct term *t)
{
    if (!t->npending)
        return 0;
    int rc = fw_send_events(t->c, (const Floorwalker__Event *const *)t->pending, t->npending);
    for (size_t i = 0; i < t->npending; i++)
        protobuf_c_message_free_unpacked(&t->pending[i]->base, NULL);
    if (rc) {
        fprintf(stderr, "floorwalker publish: spooling failed: %s\n", fw_strerror_code(rc));
        t->npending = 0;
        return -1;
    }
    t->sent += t->npending;
    t->npending = 0;
    return 0;
}

/* Takes ownership of e. */
static int add_event(struct publish *p, Floorwalker__Event *e, const char *where)
{
    const char *store = e->store_id[0] ? e->store_id : p->def_store;
    const char *terminal = e->terminal_id[0] ? e->terminal_id : p->def_terminal;
    if (!store || !fw_id_valid(store) || !fw_id_valid(terminal)) {
        fprintf(stderr, "%s: %s; give store_id in the event or --store\n", where,
                store ? "store_id or terminal_id is not an id" : "no store_id");
        protobuf_c_message_free_unpacked(&e->base, NULL);
        p->input_errors++;
        return -1;
    }
    if (!e->event_time_ms)
        e->event_time_ms = p->time_ms;
    struct term *t = term_for(p, store, terminal);
    if (!t) {
        protobuf_c_message_free_unpacked(&e->base, NULL);
        return -2;
    }
    t->pending[t->npending++] = e;
    if (t->npending == CHUNK && term_send(t))
        return -2;
    return 0;
}

static int read_lines(struct publish *p, const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "floorwalker publish: %s: %s\n", path, strerror(errno));
        return EXIT_INPUT;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\n' || *s == '\r' || *s == 0 || *s == '#')
            continue;
        char err[512], where[1100];
        snprintf(where, sizeof where, "%s:%ld", path, lineno);
        /* Parsed here, not by pbjson_parse_str, so that a syntax error is placed by the file's
         * line and the column in it (jansson sees one line, so it would say "line 1"). */
        json_error_t je;
        json_t *root = json_loads(s, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        if (!root) {
            /* Past the line's end (an unclosed object) jansson counts a line 2: point just
             * after the last character instead. */
            long col = je.line > 1 || je.column < 1 ? (long)strcspn(s, "\r\n") + 1 : je.column;
            fprintf(stderr, "%s:%ld:%ld: invalid JSON: %s\n", path, lineno, (long)(s - line) + col,
                    je.text);
            p->input_errors++;
            continue;
        }
        ProtobufCMessage *m = pbjson_parse(&floorwalker__event__descriptor, root, err, sizeof err);
        json_decref(root);
        if (!m) {
            fprintf(stderr, "%s: %s\n", where, err);
            p->input_errors++;
            continue;
        }
        if (add_event(p, (Floorwalker__Event *)m, where) == -2) {
            rc = EXIT_NODAEMON;
            break;
        }
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static const char *const kinds[] = {"sale",  "complaint",    "stock_move", "attendance",
                                    "shift", "sales_target", "drawer",     "heartbeat"};

/* KIND field=value ...: builds {"KIND": {...}} with each value typed by its field. */
static int event_from_flags(struct publish *p, int argc, char **argv)
{
    const char *kind = argv[0];
    const ProtobufCFieldDescriptor *kf =
        protobuf_c_message_descriptor_get_field_by_name(&floorwalker__event__descriptor, kind);
    bool ok = false;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        ok |= !strcmp(kinds[i], kind);
    if (!ok || !kf) {
        fprintf(stderr,
                "floorwalker publish: unknown event kind \"%s\"; one of: sale, complaint, "
                "stock_move, attendance, shift, sales_target, drawer, heartbeat\n",
                kind);
        return EXIT_USAGE;
    }
    const ProtobufCMessageDescriptor *bd = kf->descriptor;
    json_t *body = json_object(), *ev = json_object();
    json_object_set_new(ev, kind, body);
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "floorwalker publish: \"%s\": expected field=value\n", argv[i]);
            json_decref(ev);
            return EXIT_USAGE;
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - argv[i]), argv[i]);
        const char *val = eq + 1;
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name(bd, name);
        json_t *jv;
        if (fd && fd->type == PROTOBUF_C_TYPE_STRING && fd->label != PROTOBUF_C_LABEL_REPEATED) {
            jv = json_string(val);
        } else if (fd && fd->type == PROTOBUF_C_TYPE_ENUM) {
            jv = json_string(val);
        } else {
            json_error_t je;
            jv = json_loads(val, JSON_DECODE_ANY, &je);
            if (!jv)
                jv = json_string(val); /* let pbjson name the field and the problem */
        }
        json_object_set_new(body, name, jv);
    }
    char err[512];
    ProtobufCMessage *m = pbjson_parse(&floorwalker__event__descriptor, ev, err, sizeof err);
    json_decref(ev);
    if (!m) {
        fprintf(stderr, "floorwalker publish: %s\n", err);
        return EXIT_INPUT;
    }
    return add_event(p, (Floorwalker__Event *)m, "floorwalker publish") == 0 ? 0 : EXIT_INPUT;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker publish [OPTIONS] KIND [FIELD=VALUE ...]\n"
            "       floorwalker publish [OPTIONS] -f FILE|-\n"
            "\n"
            "Sends events through the terminal library: each is written to a local spool first,\n"
            "sent in batches and resent until floorwalkerd acks it.\n"
            "\n"
            "KIND is sale, complaint, stock_move, attendance, shift, sales_target, drawer or\n"
            "heartbeat; FIELD=VALUE sets a field of that body as named in floorwalker.proto\n"
            "(enums by name, lists and sub-messages as JSON), e.g.\n"
            "  floorwalker publish -s S1 -t T1 complaint complaint_id=C1 action=OPENED \\\n"
            "      severity=MAJOR channel=COUNTER category=service\n"
            "  floorwalker publish -s S1 -t T1 sale receipt_id=R1 cashier_id=K1 kind=SALE \\\n"
            "      'lines=[{\"sku\":\"A1\",\"qty_milli\":1000,\"unit_price_cents\":250}]' "
            "total_cents=250\n"
            "With -f, each line is one Event as JSON, fields as in the proto, e.g.\n"
            "  {\"store_id\":\"S1\",\"terminal_id\":\"T1\",\"heartbeat\":{}}\n"
            "(epoch and seq are assigned by the library; a line's store_id/terminal_id override\n"
            "-s/-t; each terminal gets its own spool under --spool.)\n"
            "\n"
            "Options:\n"
            "  -e, --endpoint EP   ingest endpoint (default %s, or $FLOORWALKER_INGEST)\n"
            "  -s, --store ID      store of events that name none\n"
            "  -t, --terminal ID   terminal of events that name none (default \"cli\")\n"
            "      --spool DIR     spool base directory (default ./floorwalker-spool)\n"
            "      --time MS       event time, Unix milliseconds (default: now)\n"
            "  -f, --file FILE     JSON lines from FILE, or - for standard input\n"
            "  -w, --timeout SEC   wait this long for acks (default 10)\n"
            "      --no-wait       spool and return; the next publish sends what is left\n"
            "  -q, --quiet         no summary line\n"
            "\n"
            "Exit status: 0 all acked, 1 bad input (bad lines are named and skipped), 2 bad\n"
            "usage, 3 not all acked in time (they stay spooled), 4 some events rejected.\n",
            DEFAULT_INGEST);
}

int cmd_publish(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"store", required_argument, NULL, 's'},
        {"terminal", required_argument, NULL, 't'},
        {"spool", required_argument, NULL, 'S'},
        {"time", required_argument, NULL, 'T'},
        {"file", required_argument, NULL, 'f'},
        {"timeout", required_argument, NULL, 'w'},
        {"no-wait", no_argument, NULL, 'N'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct publish p = {.endpoint = cli_endpoint("FLOORWALKER_INGEST", DEFAULT_INGEST),
                        .spool_base = "./floorwalker-spool",
                        .def_terminal = "cli",
                        .timeout_s = 10};
    const char *file = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+e:s:t:f:w:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            p.endpoint = optarg;
            break;
        case 's':
            p.def_store = optarg;
            break;
        case 't':
            p.def_terminal = optarg;
            break;
        case 'S':
            p.spool_base = optarg;
            break;
        case 'T':
            p.time_ms = strtoll(optarg, NULL, 10);
            break;
        case 'f':
            file = optarg;
            break;
        case 'w':
            p.timeout_s = atoi(optarg);
            break;
        case 'N':
            p.no_wait = true;
            break;
        case 'q':
            p.quiet = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!file && optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (file && optind < argc) {
        fprintf(stderr, "floorwalker publish: give either -f or KIND FIELD=VALUE..., not both\n");
        return EXIT_USAGE;
    }
    int rc = file ? read_lines(&p, file) : event_from_flags(&p, argc - optind, argv + optind);
    uint64_t total = 0, rejected = 0, depth = 0, refused = 0;
    for (size_t i = 0; i < p.nterms; i++) {
        struct term *t = &p.terms[i];
        if (term_send(t) && !rc)
            rc = EXIT_NODAEMON;
    }
    for (size_t i = 0; i < p.nterms; i++) {
        struct term *t = &p.terms[i];
        if (!p.no_wait && fw_flush(t->c, p.timeout_s * 1000) != 0 && !rc)
            rc = EXIT_NODAEMON;
        struct fw_client_stats st;
        fw_client_stats(t->c, &st);
        total += t->sent;
        rejected += st.rejected;
        depth += st.spool_depth;
        refused += st.auth_refused;
        fw_close(&t->c);
        free(t->pending);
    }
    if (!p.quiet)
        fprintf(stderr,
                "published %" PRIu64 " event(s) from %zu terminal(s): %" PRIu64 " acked, %" PRIu64
                " rejected, %" PRIu64 " still spooled%s\n",
                total, p.nterms, total - depth, rejected, depth,
                depth && !p.no_wait ? " (the daemon did not ack in time; they will be resent)"
                                    : "");
    if (refused && depth)
        fprintf(
            stderr,
            "floorwalker publish: the daemon refused this terminal's key (not in its "
            "[key:NAME] sections or key_dir, or not a terminal key); the events stay spooled\n");
    if (!rc && p.input_errors)
        rc = EXIT_INPUT;
    if (!rc && rejected)
        rc = EXIT_REJECTED;
    return rc;
}
