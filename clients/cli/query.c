/*
 * floorwalker query / stats: one Query over REQ, one QueryResult back, printed as an aligned
 * table (people), JSON lines or CSV (scripts).
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "floorwalker.pb-c.h"
#include "fwcommon.h"
#include "fwunits.h"
#include "merge.h"
#include "qjson.h"

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

/* Raw text of a cell (--csv --units raw): integers exact, doubles at full precision (the
 * shortest form that reads back as the same double). */
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
        snprintf(buf, len, "%.15g", v->d);
        if (strtod(buf, NULL) != v->d)
            snprintf(buf, len, "%.17g", v->d);
        break;
    default:
        buf[0] = 0;
    }
}

/* ---- the human view ------------------------------------------------------------------------
 * What people read: each column shown by its Table.Unit (set by the daemon), money in the
 * currency of the row's store (QueryResult.stores) or of the table, instants in the store's
 * local time (the daemon's <name>_local column stands in for <name>_ms). One view serves the
 * aligned table and --csv --units human. */

#define U(x) FLOORWALKER__TABLE__UNIT__##x

struct view {
    const Floorwalker__QueryResult *r;
    const Floorwalker__Table *t;
    size_t n;      /* shown columns */
    size_t *col;   /* their table column */
    char **head;   /* their headers */
    int store_col; /* the first STORE column, or -1 */
    bool one_code; /* every row's money is in one currency: its code is in the headers */
    const char *code;
    int digits;
};

static Floorwalker__Table__Unit unit_of(const Floorwalker__Table *t, size_t c)
{
    return c < t->n_units && t->n_units == t->n_columns ? t->units[c] : U(UNIT_UNSPECIFIED);
}

static const Floorwalker__StoreInfo *store_info(const Floorwalker__QueryResult *r, const char *id)
{
    for (size_t i = 0; i < r->n_stores; i++)
        if (!strcmp(r->stores[i]->id, id))
            return r->stores[i];
    return NULL;
}

/* The currency of row's money: its store's, else the table's; code "" if neither is known. */
static void row_currency(const struct view *v, const Floorwalker__Row *row, const char **code,
                         int *digits)
{
    *code = v->t->currency ? v->t->currency : "";
    *digits = (int)v->t->currency_digits;
    if (v->store_col >= 0 && (size_t)v->store_col < row->n_cells &&
        row->cells[v->store_col]->v_case == FLOORWALKER__VALUE__V_S) {
        const Floorwalker__StoreInfo *si = store_info(v->r, row->cells[v->store_col]->s);
        if (si) {
            *code = si->currency;
            *digits = (int)si->currency_digits;
        }
    }
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a > b && !strcmp(s + a - b, suf);
}

static bool has_column(const Floorwalker__Table *t, const char *name, size_t len)
{
    for (size_t c = 0; c < t->n_columns; c++)
        if (strlen(t->columns[c]) == len && !strncmp(t->columns[c], name, len))
            return true;
    return false;
}

/* A column's header for people: the name without its raw-unit suffix, and the unit. */
static char *human_head(const struct view *v, size_t c)
{
    const char *name = v->t->columns[c];
    size_t len = strlen(name);
    char buf[256];
    switch (unit_of(v->t, c)) {
    case U(MONEY): {
        const char *what = v->one_code ? v->code : v->code[0] ? NULL : "minor units";
        bool cents = ends_with(name, "_cents");
        if (cents)
            len -= 6;
        /* returns_cents beside the returns count: "returns_value". */
        const char *more = cents && has_column(v->t, name, len) ? "_value" : "";
        if (what)
            snprintf(buf, sizeof buf, "%.*s%s (%s)", (int)len, name, more, what);
        else
            snprintf(buf, sizeof buf, "%.*s%s", (int)len, name, more);
        return strdup(buf);
    }
    case U(QTY_MILLI):
        snprintf(buf, sizeof buf, "%.*s (units)", (int)(ends_with(name, "_milli") ? len - 6 : len),
                 name);
        return strdup(buf);
    case U(RATIO):
        snprintf(buf, sizeof buf, "%s (%%)", name);
        return strdup(buf);
    case U(DURATION_MIN):
    case U(DURATION_H):
    case U(DURATION_MS): {
        const char *us = strrchr(name, '_');
        size_t keep = us && (!strcmp(us, "_min") || !strcmp(us, "_h") || !strcmp(us, "_ms"))
                          ? (size_t)(us - name)
                          : len;
        snprintf(buf, sizeof buf, "%.*s", (int)keep, name);
        return strdup(buf);
    }
    case U(TIME_LOCAL):
        snprintf(buf, sizeof buf, "%.*s (local time)",
                 (int)(ends_with(name, "_local") ? len - 6 : len), name);
        return strdup(buf);
    case U(TIME_MS):
        snprintf(buf, sizeof buf, "%.*s (UTC)", (int)(ends_with(name, "_ms") ? len - 3 : len),
                 name);
        return strdup(buf);
    default:
        return strdup(name);
    }
}

static void view_free(struct view *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->head[i]);
    free(v->head);
    free(v->col);
}

static int view_init(struct view *v, const Floorwalker__QueryResult *r, const Floorwalker__Table *t)
{
    *v = (struct view){.r = r, .t = t, .store_col = -1, .code = ""};
    size_t nc = t->n_columns;
    v->col = calloc(nc ? nc : 1, sizeof *v->col);
    v->head = calloc(nc ? nc : 1, sizeof *v->head);
    if (!v->col || !v->head)
        return -1;
    for (size_t c = 0; c < nc; c++)
        if (unit_of(t, c) == U(STORE) && v->store_col < 0)
            v->store_col = (int)c;
    /* One currency for all rows? Then it goes in the headers. */
    v->one_code = true;
    row_currency(v, &(Floorwalker__Row){0}, &v->code, &v->digits);
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *code;
        int digits;
        row_currency(v, t->rows[i], &code, &digits);
        if (i == 0) {
            v->code = code;
            v->digits = digits;
        } else if (strcmp(code, v->code) || digits != v->digits) {
            v->one_code = false;
            v->code = "x"; /* known per row: codes go in the cells */
        }
    }
    if (!v->code[0])
        v->one_code = false;
    for (size_t c = 0; c < nc; c++) {
        /* An instant is shown by the local-time column the daemon put after it. */
        if (unit_of(t, c) == U(TIME_MS) && c + 1 < nc && unit_of(t, c + 1) == U(TIME_LOCAL))
            continue;
        v->col[v->n] = c;
        if (!(v->head[v->n++] = human_head(v, c)))
            return -1;
    }
    return 0;
}

static bool numeric_unit(Floorwalker__Table__Unit u)
{
    return u == U(COUNT) || u == U(MONEY) || u == U(QTY_MILLI) || u == U(RATIO) || u == U(NUMBER) ||
           u == U(DURATION_MS) || u == U(DURATION_MIN) || u == U(DURATION_H);
}

/*
 * The daemon's own figures (stats, table "daemon": one name/value row each) carry their unit in
 * the name, as in --json: uptime_s, commit_ms_avg, rss_kb, map_size_mb, events_per_s. People
 * read them as a duration, milliseconds, MiB and a rate; 0 when the name says nothing.
 */
static bool daemon_figure(const struct view *v, const Floorwalker__Row *row, double x, char *buf,
                          size_t len)
{
    if (strcmp(v->t->name, "daemon") || row->n_cells < 2 ||
        row->cells[0]->v_case != FLOORWALKER__VALUE__V_S)
        return false;
    const char *name = row->cells[0]->s;
    char num[64];
    if (ends_with(name, "_s") && !ends_with(name, "_per_s")) {
        fw_fmt_duration_ms(buf, len, (int64_t)llround(x * 1000));
        return true;
    }
    if (ends_with(name, "_per_s")) {
        fw_fmt_number(num, sizeof num, x);
        snprintf(buf, len, "%s/s", num);
        return true;
    }
    if (ends_with(name, "_ms") || strstr(name, "_ms_")) {
        fw_fmt_number(num, sizeof num, x);
        snprintf(buf, len, "%s ms", num);
        return true;
    }
    if (ends_with(name, "_kb") || ends_with(name, "_mb")) {
        fw_fmt_number(num, sizeof num, ends_with(name, "_kb") ? x / 1024 : x);
        snprintf(buf, len, "%s MiB", num);
        return true;
    }
    return false;
}

/* The text of one cell for people. */
static void human_cell(const struct view *v, const Floorwalker__Row *row, size_t c, char *buf,
                       size_t len)
{
    const Floorwalker__Value *x = c < row->n_cells ? row->cells[c] : NULL;
    Floorwalker__Table__Unit u = unit_of(v->t, c);
    bool none = !x || x->v_case == FLOORWALKER__VALUE__V__NOT_SET;
    bool is_i = x && x->v_case == FLOORWALKER__VALUE__V_I;
    bool is_d = x && x->v_case == FLOORWALKER__VALUE__V_D;
    if (none) {
        /* A ratio or average over nothing, an instant not set: "-" rather than a blank. */
        snprintf(buf, len, "%s", u == U(TEXT) || u == U(UNIT_UNSPECIFIED) ? "" : "-");
        return;
    }
    switch (u) {
    case U(MONEY): {
        const char *code;
        int digits;
        row_currency(v, row, &code, &digits);
        if (!v->one_code && !code[0]) { /* mixed currencies summed: show the minor units */
            cell_str(x, buf, len);
            return;
        }
        const char *shown = v->one_code ? NULL : code;
        if (is_i)
            fw_fmt_money(buf, len, x->i, digits, shown);
        else if (is_d)
            fw_fmt_money_d(buf, len, x->d, digits, shown);
        else
            cell_str(x, buf, len);
        return;
    }
    case U(QTY_MILLI):
        if (is_i) {
            fw_fmt_qty_milli(buf, len, x->i);
            return;
        }
        break;
    case U(RATIO):
        if (is_d) {
            fw_fmt_ratio(buf, len, x->d);
            return;
        }
        break;
    case U(NUMBER):
        if ((is_d || is_i) && daemon_figure(v, row, is_d ? x->d : (double)x->i, buf, len))
            return;
        if (is_d) {
            fw_fmt_number(buf, len, x->d);
            return;
        }
        if (is_i) {
            fw_fmt_money(buf, len, x->i, 0, NULL); /* grouped */
            return;
        }
        break;
    case U(DURATION_MS):
    case U(DURATION_MIN):
    case U(DURATION_H): {
        double scale = u == U(DURATION_MS) ? 1 : u == U(DURATION_MIN) ? 60000.0 : 3600000.0;
        if (is_i || is_d) {
            double ms = (is_i ? (double)x->i : x->d) * scale;
            fw_fmt_duration_ms(buf, len, (int64_t)llround(ms));
            return;
        }
        break;
    }
    case U(TEXT):
        /* A scope that is a store: its id and name ("S003 Suzhou West End"). */
        if (x->v_case == FLOORWALKER__VALUE__V_S && !strcmp(v->t->columns[c], "scope")) {
            const Floorwalker__StoreInfo *si = store_info(v->r, x->s);
            if (si && si->name && si->name[0]) {
                snprintf(buf, len, "%s %s", x->s, si->name);
                return;
            }
        }
        break;
    case U(TIME_LOCAL):
        /* 2026-12-05T09:14:03.250+08:00 -> 2026-12-05 09:14 +08:00 */
        if (x->v_case == FLOORWALKER__VALUE__V_S && strlen(x->s) >= 22) {
            size_t sl = strlen(x->s);
            snprintf(buf, len, "%.10s %.5s %s", x->s, x->s + 11, x->s + sl - 6);
            return;
        }
        break;
    case U(TIME_MS):
        if (is_i) {
            fw_fmt_local(buf, len, x->i, NULL);
            return;
        }
        break;
    default:
        break;
    }
    cell_str(x, buf, len);
}

static bool right_aligned(const struct view *v, const Floorwalker__Row *row, size_t c)
{
    Floorwalker__Table__Unit u = unit_of(v->t, c);
    if (u != U(UNIT_UNSPECIFIED))
        return numeric_unit(u);
    return c < row->n_cells && row->cells[c]->v_case != FLOORWALKER__VALUE__V_S;
}

static bool has_unit(const Floorwalker__Table *t, Floorwalker__Table__Unit u)
{
    for (size_t c = 0; c < t->n_columns; c++)
        if (unit_of(t, c) == u)
            return true;
    return false;
}

/* One output line: cells padded to their width, two blanks apart, no trailing blanks. */
struct line {
    char buf[8192];
    size_t n;
};

static void line_cell(struct line *ln, const char *s, size_t w, bool right)
{
    if (ln->n)
        ln->n += (size_t)snprintf(ln->buf + ln->n, sizeof ln->buf - ln->n, "  ");
    if (ln->n < sizeof ln->buf)
        ln->n += (size_t)snprintf(ln->buf + ln->n, sizeof ln->buf - ln->n, right ? "%*s" : "%-*s",
                                  (int)w, s);
    if (ln->n >= sizeof ln->buf)
        ln->n = sizeof ln->buf - 1;
}

static void line_end(struct line *ln)
{
    while (ln->n && ln->buf[ln->n - 1] == ' ')
        ln->n--;
    printf("%.*s\n", (int)ln->n, ln->buf);
    ln->n = 0;
}

static void print_table(const Floorwalker__QueryResult *r, const Floorwalker__Table *t, bool title)
{
    struct view v;
    char buf[1024];
    size_t *w = NULL;
    struct line ln = {.n = 0};
    if (view_init(&v, r, t) != 0 || !(w = calloc(v.n ? v.n : 1, sizeof *w)))
        goto out;
    for (size_t i = 0; i < v.n; i++)
        w[i] = strlen(v.head[i]);
    for (size_t rr = 0; rr < t->n_rows; rr++)
        for (size_t i = 0; i < v.n; i++) {
            human_cell(&v, t->rows[rr], v.col[i], buf, sizeof buf);
            if (strlen(buf) > w[i])
                w[i] = strlen(buf);
        }
    if (title)
        printf("== %s ==\n", t->name);
    if (!v.one_code && !v.code[0] && has_unit(t, U(MONEY)))
        printf("(money in minor units: the stores of this scope keep different currencies)\n");
    for (size_t i = 0; i < v.n; i++)
        line_cell(&ln, v.head[i], w[i], false);
    line_end(&ln);
    for (size_t i = 0; i < v.n; i++) {
        size_t k = w[i] < sizeof buf ? w[i] : sizeof buf - 1;
        memset(buf, '-', k);
        buf[k] = 0;
        line_cell(&ln, buf, w[i], false);
    }
    line_end(&ln);
    for (size_t rr = 0; rr < t->n_rows; rr++) {
        for (size_t i = 0; i < v.n; i++) {
            human_cell(&v, t->rows[rr], v.col[i], buf, sizeof buf);
            line_cell(&ln, buf, w[i], right_aligned(&v, t->rows[rr], v.col[i]));
        }
        line_end(&ln);
    }
    if (t->n_rows == 0)
        printf("(no rows)\n");
out:
    free(w);
    view_free(&v);
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

/* --csv --units human: the human view's columns and cells, as CSV. */
static void print_csv_human(const Floorwalker__QueryResult *r, const Floorwalker__Table *t,
                            size_t i, bool multi)
{
    struct view v;
    char buf[1024];
    if (view_init(&v, r, t) != 0) {
        view_free(&v);
        return;
    }
    if (multi)
        printf("%stable,", i ? "\n" : "");
    for (size_t c = 0; c < v.n; c++) {
        csv_field(v.head[c]);
        putchar(c + 1 < v.n ? ',' : '\n');
    }
    for (size_t rr = 0; rr < t->n_rows; rr++) {
        if (multi) {
            csv_field(t->name);
            putchar(',');
        }
        for (size_t c = 0; c < v.n; c++) {
            human_cell(&v, t->rows[rr], v.col[c], buf, sizeof buf);
            csv_field(buf);
            putchar(c + 1 < v.n ? ',' : '\n');
        }
    }
    view_free(&v);
}

static void print_result(const Floorwalker__QueryResult *r, enum out_format fmt, bool human)
{
    bool multi = r->n_tables > 1;
    for (size_t i = 0; i < r->n_tables; i++) {
        const Floorwalker__Table *t = r->tables[i];
        if (fmt == OUT_TABLE) {
            print_table(r, t, multi);
            if (multi && i + 1 < r->n_tables)
                putchar('\n');
            continue;
        }
        if (fmt == OUT_CSV && human) {
            print_csv_human(r, t, i, multi);
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
                json_t *o = qjson_row(t, row, multi);
                char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
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
                json_object_set_new(v, row->cells[0]->s, qjson_cell(row->cells[1]));
            } else if (!kv) {
                json_t *o = json_object();
                for (size_t c = 0; c < t->n_columns && c < row->n_cells; c++)
                    json_object_set_new(o, t->columns[c], qjson_cell(row->cells[c]));
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
            "quarantine (rejected events, newest first), stores (names, zones, currencies).\n"
            "docs/ROLLUPS.md defines every figure.\n"
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
            "      --units U      with --csv: raw (default; exact integers: cents, thousandths,\n"
            "                     Unix ms) or human (as the table below)\n"
            "  -w, --timeout SEC  wait this long for the answer (default 5)\n"
            "      --daemon EP    repeated: ask every daemon (stores sharded across them) and\n"
            "                     merge: sums added, ratios recomputed from their parts,\n"
            "                     top/bottom SKUs ranked again; what is approximate is said\n"
            "\n"
            "The table is for people: money in the store's currency (code in the header),\n"
            "quantities in units, ratios in %%, durations, times in the store's zone, names:\n"
            "  $ floorwalker query spotcheck --store SH1\n"
            "  store  store_name    employee  clocked_in (local time)  on_duty\n"
            "  -----  ------------  --------  -----------------------  -------\n"
            "  SH1    Nanjing Road  E1        2026-11-02 09:00 +08:00        1\n"
            "  $ floorwalker query categories --store SH1 --from 2026-11-02\n"
            "  category  qty (units)  net (CNY)\n"
            "  --------  -----------  ---------\n"
            "  dairy               2      90.50\n"
            "  grocery          1.75      17.50\n"
            "--json and --csv keep the integers and add store_name and NAME_local (ISO 8601 in\n"
            "the store's zone) beside store and NAME_ms columns.\n"
            "\n"
            "Exit status: 0 ok (an empty range prints no rows), 1 the daemon refused the query\n"
            "(a bad date, an unknown store or region: the reason is printed),\n"
            "2 bad usage, 3 no answer.\n",
            DEFAULT_QUERY);
}

/* The query asked of every daemon (stores sharded across them), the answers merged. */
static int run_sharded(Floorwalker__Query *q, const char *const *eps, size_t n, int timeout,
                       enum out_format fmt, bool human_csv)
{
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return EXIT_NODAEMON;
    struct sharded s;
    const Floorwalker__QueryResult *r;
    size_t which;
    int rc = EXIT_OK;
    if (merge_ask(&s, "floorwalker", ctx, eps, n, q, timeout, NULL, &r, &which) != ASK_OK) {
        rc = EXIT_NODAEMON;
    } else if (r && r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
        fprintf(stderr, "floorwalker: %s: %s\n", eps[which], r->error);
        rc = EXIT_INPUT;
    } else if (!r) {
        fprintf(stderr, "floorwalker: cannot merge the answers: %s\n",
                s.notes[0] ? s.notes : "out of memory");
        rc = EXIT_INPUT;
    } else {
        print_result(r, fmt, human_csv);
        if (s.notes[0])
            fprintf(stderr, "floorwalker: note: %s\n", s.notes);
    }
    merge_ask_free(&s);
    zmq_ctx_term(ctx);
    return rc;
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
        {"units", required_argument, NULL, 'U'},
        {"timeout", required_argument, NULL, 'w'},
        {"scope", required_argument, NULL, 'S'},
        {"granularity", required_argument, NULL, 'g'},
        {"employee", required_argument, NULL, 'E'},
        {"sku", required_argument, NULL, 'K'},
        {"daemon", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    const char *ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY);
    const char *eps[CLI_MAX_DAEMONS];
    size_t neps = 0;
    enum out_format fmt = OUT_TABLE;
    bool human_csv = false;
    int timeout = 5, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:n:w:g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            ep = optarg;
            break;
        case 'D':
            if (neps == CLI_MAX_DAEMONS) {
                fprintf(stderr, "floorwalker: at most %d --daemon\n", CLI_MAX_DAEMONS);
                return EXIT_USAGE;
            }
            eps[neps++] = optarg;
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
        case 'U':
            if (strcmp(optarg, "raw") && strcmp(optarg, "human")) {
                fprintf(stderr, "floorwalker: --units \"%s\": expected raw or human\n", optarg);
                return EXIT_USAGE;
            }
            human_csv = !strcmp(optarg, "human");
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
        q.kind = query_kind_by_name(argv[optind]);
        if (!q.kind) {
            fprintf(stderr, "floorwalker query: unknown kind \"%s\"\n", argv[optind]);
            usage(stderr, false);
            return EXIT_USAGE;
        }
    }
    if (neps > 1 && stats) {
        fprintf(stderr, "floorwalker stats: one daemon at a time (give -e EP)\n");
        return EXIT_USAGE;
    }
    if (neps > 1)
        return run_sharded(&q, eps, neps, timeout, fmt, human_csv);
    if (neps == 1)
        ep = eps[0];
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
        print_result(r, fmt, human_csv);
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
