/*
 * floorwalker query / stats: one Query over REQ, one QueryResult back, printed as an aligned
 * table (people), JSON lines or CSV (scripts).
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "floorwalker.pb-c.h"
#include "fwcommon.h"

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

/* Sends q to endpoint and waits up to timeout_s. NULL (with a message) if no answer. */
static Floorwalker__QueryResult *ask(const char *endpoint, const Floorwalker__Query *q,
                                     int timeout_s)
{
    void *ctx = zmq_ctx_new();
    Floorwalker__QueryResult *r = NULL;
    if (!ctx)
        return NULL;
    cli_ask("floorwalker", ctx, endpoint, q, timeout_s,
            fw_mono_ns() + (uint64_t)timeout_s * 1000000000u, NULL, &r);
    zmq_ctx_term(ctx);
    return r;
}

static void cell_str(const Floorwalker__Value *v, char *buf, size_t len)
{
    switch (v->v_case) {
    case FLOORWALKER__VALUE__V_S:
        snprintf(buf, len, "%s", v->s);
        break;
    case FLOORWALKER__VALUE__V_I:
        snprintf(buf, len, "%" PRId64, v->i);
        break;
    case FLOORWALKER__VALUE__V_D:
        snprintf(buf, len, "%.3f", v->d);
        break;
    default:
        buf[0] = 0;
    }
}

static json_t *cell_json(const Floorwalker__Value *v)
{
    switch (v->v_case) {
    case FLOORWALKER__VALUE__V_S:
        return json_string(v->s);
    case FLOORWALKER__VALUE__V_I:
        return json_integer(v->i);
    case FLOORWALKER__VALUE__V_D:
        return json_real(v->d);
    default:
        return json_null();
    }
}

static void print_table(const Floorwalker__Table *t, bool title)
{
    size_t nc = t->n_columns;
    size_t *w = calloc(nc ? nc : 1, sizeof *w);
    char buf[1024];
    if (!w)
        return;
    for (size_t c = 0; c < nc; c++)
        w[c] = strlen(t->columns[c]);
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < nc && c < t->rows[r]->n_cells; c++) {
            cell_str(t->rows[r]->cells[c], buf, sizeof buf);
            if (strlen(buf) > w[c])
                w[c] = strlen(buf);
        }
    if (title)
        printf("== %s ==\n", t->name);
    for (size_t c = 0; c < nc; c++)
        printf("%-*s%s", (int)w[c], t->columns[c], c + 1 < nc ? "  " : "\n");
    for (size_t c = 0; c < nc; c++) {
        for (size_t i = 0; i < w[c]; i++)
            putchar('-');
        printf("%s", c + 1 < nc ? "  " : "\n");
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < nc; c++) {
            const Floorwalker__Value *v = c < t->rows[r]->n_cells ? t->rows[r]->cells[c] : NULL;
            if (v)
                cell_str(v, buf, sizeof buf);
            else
                buf[0] = 0;
            bool num = v && v->v_case != FLOORWALKER__VALUE__V_S;
            printf(num ? "%*s%s" : "%-*s%s", (int)w[c], buf, c + 1 < nc ? "  " : "\n");
        }
    }
    if (t->n_rows == 0)
        printf("(no rows)\n");
    free(w);
}

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_result(const Floorwalker__QueryResult *r, enum out_format fmt)
{
    bool multi = r->n_tables > 1;
    for (size_t i = 0; i < r->n_tables; i++) {
        const Floorwalker__Table *t = r->tables[i];
        if (fmt == OUT_TABLE) {
            print_table(t, multi);
            if (multi && i + 1 < r->n_tables)
                putchar('\n');
            continue;
        }
        if (fmt == OUT_CSV) {
            if (multi)
                printf("%stable,", i ? "\n" : "");
            for (size_t c = 0; c < t->n_columns; c++) {
                csv_field(t->columns[c]);
                putchar(c + 1 < t->n_columns ? ',' : '\n');
            }
        }
        for (size_t rr = 0; rr < t->n_rows; rr++) {
            const Floorwalker__Row *row = t->rows[rr];
            if (fmt == OUT_JSON) {
                json_t *o = json_object();
                if (multi)
                    json_object_set_new(o, "table", json_string(t->name));
                for (size_t c = 0; c < t->n_columns && c < row->n_cells; c++)
                    json_object_set_new(o, t->columns[c], cell_json(row->cells[c]));
                char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (s)
                    puts(s);
                free(s);
                json_decref(o);
            } else {
                char buf[1024];
                if (multi) {
                    csv_field(t->name);
                    putchar(',');
                }
                for (size_t c = 0; c < row->n_cells; c++) {
                    cell_str(row->cells[c], buf, sizeof buf);
                    csv_field(buf);
                    putchar(c + 1 < row->n_cells ? ',' : '\n');
                }
            }
        }
    }
}

/* Stats as one JSON object: name/value tables become objects, the others arrays of rows. */
static void print_stats_json(const Floorwalker__QueryResult *r)
{
    json_t *root = json_object();
    for (size_t i = 0; i < r->n_tables; i++) {
        const Floorwalker__Table *t = r->tables[i];
        bool kv =
            t->n_columns == 2 && (!strcmp(t->columns[0], "name") ||
                                  !strcmp(t->columns[0], "kind") || !strcmp(t->columns[0], "code"));
        json_t *v = kv ? json_object() : json_array();
        for (size_t rr = 0; rr < t->n_rows; rr++) {
            const Floorwalker__Row *row = t->rows[rr];
            if (kv && row->n_cells == 2 && row->cells[0]->v_case == FLOORWALKER__VALUE__V_S) {
                json_object_set_new(v, row->cells[0]->s, cell_json(row->cells[1]));
            } else if (!kv) {
                json_t *o = json_object();
                for (size_t c = 0; c < t->n_columns && c < row->n_cells; c++)
                    json_object_set_new(o, t->columns[c], cell_json(row->cells[c]));
                json_array_append_new(v, o);
            }
        }
        json_object_set_new(root, t->name, v);
    }
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
    json_decref(root);
}

static const struct {
    const char *name;
    Floorwalker__Query__Kind kind;
} query_kinds[] = {
    {"stats", FLOORWALKER__QUERY__KIND__STATS},
    {"quarantine", FLOORWALKER__QUERY__KIND__QUARANTINE},
    {"sales", FLOORWALKER__QUERY__KIND__SALES},
    {"top-skus", FLOORWALKER__QUERY__KIND__TOP_SKUS},
    {"bottom-skus", FLOORWALKER__QUERY__KIND__BOTTOM_SKUS},
    {"categories", FLOORWALKER__QUERY__KIND__CATEGORIES},
    {"cashiers", FLOORWALKER__QUERY__KIND__CASHIERS},
    {"complaints", FLOORWALKER__QUERY__KIND__COMPLAINTS},
    {"stock", FLOORWALKER__QUERY__KIND__STOCK},
    {"attendance", FLOORWALKER__QUERY__KIND__ATTENDANCE},
    {"alerts", FLOORWALKER__QUERY__KIND__ALERTS},
    {"spotcheck", FLOORWALKER__QUERY__KIND__SPOTCHECK},
};

static void usage(FILE *f, bool stats)
{
    if (stats) {
        fprintf(f,
                "Usage: floorwalker stats [-e EP] [--json] [-w SEC]\n"
                "\n"
                "What floorwalkerd holds: events stored by kind, duplicates, rejects by code,\n"
                "terminals with the seq acked in each epoch, batches and commit times.\n"
                "\n"
                "  -e, --endpoint EP  query endpoint (default %s, or $FLOORWALKER_QUERY)\n"
                "      --json         one JSON object\n"
                "  -w, --timeout SEC  wait this long for the answer (default 5)\n"
                "\n"
                "Exit status: 0 ok, 2 bad usage, 3 no answer.\n",
                DEFAULT_QUERY);
        return;
    }
    fprintf(f,
            "Usage: floorwalker query [OPTIONS] KIND\n"
            "\n"
            "KIND: sales, top-skus, bottom-skus, categories, cashiers, complaints, stock,\n"
            "attendance, alerts (active ones), spotcheck (a random sample of who is on duty\n"
            "now at --store: all of fewer than 5, half of 5-20, 30%% of more), stats,\n"
            "quarantine (rejected events, newest first). docs/ROLLUPS.md defines every figure.\n"
            "\n"
            "  -e, --endpoint EP  query endpoint (default %s, or $FLOORWALKER_QUERY)\n"
            "      --scope S      store, region or chain (default: store if --store is given,\n"
            "                     region if --region is given, else chain)\n"
            "      --store ID     one store\n"
            "      --region ID    the stores of one region\n"
            "      --from DAY     first day: YYYY-MM-DD, today, yesterday, this-week,\n"
            "                     last-week, this-month, last-month (default today; the\n"
            "                     words are resolved in each store's time zone)\n"
            "      --to DAY       last day, inclusive (default: the end of --from)\n"
            "  -g, --granularity G  hour, day, week or month (sales; default day)\n"
            "      --employee ID  one employee (attendance)\n"
            "      --sku ID       one SKU (stock)\n"
            "  -n, --limit N      at most N rows\n"
            "      --json         one JSON object per row\n"
            "      --csv          CSV with a header line\n"
            "  -w, --timeout SEC  wait this long for the answer (default 5)\n"
            "\n"
            "Exit status: 0 ok (an empty range prints no rows), 1 the daemon refused the query\n"
            "(a bad date, an unknown store or region: the reason is printed),\n"
            "2 bad usage, 3 no answer.\n",
            DEFAULT_QUERY);
}

static int run(int argc, char **argv, bool stats)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"store", required_argument, NULL, 's'},
        {"region", required_argument, NULL, 'r'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"limit", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 'w'},
        {"scope", required_argument, NULL, 'S'},
        {"granularity", required_argument, NULL, 'g'},
        {"employee", required_argument, NULL, 'E'},
        {"sku", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    const char *ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY);
    enum out_format fmt = OUT_TABLE;
    int timeout = 5, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:n:w:g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            ep = optarg;
            break;
        case 'S':
            q.scope = optarg;
            break;
        case 'g':
            q.granularity = optarg;
            break;
        case 'E':
            q.employee_id = optarg;
            break;
        case 'K':
            q.sku = optarg;
            break;
        case 's':
            q.store_id = optarg;
            break;
        case 'r':
            q.region = optarg;
            break;
        case 'F':
            q.from_day = optarg;
            break;
        case 'T':
            q.to_day = optarg;
            break;
        case 'n':
            q.limit = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'j':
            fmt = OUT_JSON;
            break;
        case 'c':
            fmt = OUT_CSV;
            break;
        case 'w':
            timeout = atoi(optarg);
            if (timeout <= 0) {
                fprintf(stderr, "floorwalker: --timeout takes a whole number of seconds\n");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout, stats);
            return EXIT_OK;
        default:
            usage(stderr, stats);
            return EXIT_USAGE;
        }
    }
    if (stats) {
        q.kind = FLOORWALKER__QUERY__KIND__STATS;
        if (optind < argc) {
            usage(stderr, true);
            return EXIT_USAGE;
        }
    } else {
        if (optind + 1 != argc) {
            usage(stderr, false);
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof query_kinds / sizeof query_kinds[0]; i++)
            if (!strcmp(argv[optind], query_kinds[i].name))
                q.kind = query_kinds[i].kind;
        if (!q.kind) {
            fprintf(stderr, "floorwalker query: unknown kind \"%s\"\n", argv[optind]);
            usage(stderr, false);
            return EXIT_USAGE;
        }
    }
    Floorwalker__QueryResult *r = ask(ep, &q, timeout);
    if (!r)
        return EXIT_NODAEMON;
    int rc = EXIT_OK;
    if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
        fprintf(stderr, "floorwalker: %s\n", r->error);
        rc = EXIT_INPUT;
    } else if (stats && fmt == OUT_JSON) {
        print_stats_json(r);
    } else {
        print_result(r, fmt);
    }
    floorwalker__query_result__free_unpacked(r, NULL);
    return rc;
}

int cmd_query(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cmd_stats(int argc, char **argv)
{
    return run(argc, argv, true);
}
