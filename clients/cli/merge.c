/* One answer from several daemons; see merge.h. */
#include "merge.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define U(x) FLOORWALKER__TABLE__UNIT__##x
#define DEFAULT_SKU_LIMIT 10 /* the daemon's, when the query gives none */

struct merged {
    void **blocks; /* everything allocated for the merged result */
    size_t nblocks, cap;
    Floorwalker__QueryResult r;
    bool failed;
};

static void *m_alloc(struct merged *m, size_t size)
{
    if (m->nblocks == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        void **nb = realloc(m->blocks, ncap * sizeof *nb);
        if (!nb) {
            m->failed = true;
            return NULL;
        }
        m->blocks = nb;
        m->cap = ncap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        m->failed = true;
        return NULL;
    }
    m->blocks[m->nblocks++] = p;
    return p;
}

void merge_free(struct merged **pm)
{
    struct merged *m = *pm;
    if (!m)
        return;
    for (size_t i = 0; i < m->nblocks; i++)
        free(m->blocks[i]);
    free(m->blocks);
    free(m);
    *pm = NULL;
}

static void note(char *notes, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(char *notes, size_t len, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (strstr(notes, line))
        return;
    size_t used = strlen(notes);
    snprintf(notes + used, len - used, "%s%s", used ? "\n" : "", line);
}

/* ---- columns -------------------------------------------------------------------------------- */

enum how { KEY, SUM, RATIO, MEAN, MAX, RANK, FIRST };

/* Figures derived from others: recomputed from the merged parts. */
static const struct derived {
    const char *table, *col, *num, *den;
    enum how how;
    double scale;
} derived[] = {
    {"sales", "avg_ticket", "net", "transactions", RATIO, 1.0},
    {"sales", "items_per_txn", "items_milli", "transactions", RATIO, 0.001},
    {"sales", "return_rate", "returns_cents", "gross", RATIO, 1.0},
    {"sales", "attainment", "net", "target", RATIO, 1.0},
    {"complaints", "within_sla_share", "within_sla", "first_responses", RATIO, 1.0},
    {"complaints", "first_response_mean_min", NULL, "first_responses", MEAN, 1.0},
    {"complaints", "first_response_p90_min", NULL, NULL, MAX, 1.0},
    {"summary", "shrink_rate", "shrink_value", "net_sales", RATIO, 1.0},
};

struct col {
    enum how how;
    int num, den; /* column indexes of a ratio's parts, a mean's weight; -1 if none */
    double scale;
};

static int col_index(const Floorwalker__Table *t, const char *name)
{
    for (size_t i = 0; name && i < t->n_columns; i++)
        if (!strcmp(t->columns[i], name))
            return (int)i;
    return -1;
}

/* Whole numbers that describe a row rather than count things: never added. */
static bool attribute(const char *col)
{
    static const char *const attrs[] = {"currency_digits", "epoch",    "seq", "acked_seq", "pos",
                                        "pub_seq",         "threshold"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (!strcmp(col, attrs[i]))
            return true;
    return false;
}

static void classify(const Floorwalker__Table *t, struct col *c)
{
    for (size_t i = 0; i < t->n_columns; i++) {
        Floorwalker__Table__Unit u = i < t->n_units ? t->units[i] : U(UNIT_UNSPECIFIED);
        c[i] = (struct col){FIRST, -1, -1, 1.0};
        const struct derived *d = NULL;
        for (size_t k = 0; k < sizeof derived / sizeof derived[0] && !d; k++)
            if (!strcmp(derived[k].table, t->name) && !strcmp(derived[k].col, t->columns[i]))
                d = &derived[k];
        if (d) {
            c[i] = (struct col){d->how, col_index(t, d->num), col_index(t, d->den), d->scale};
        } else if (!strcmp(t->columns[i], "rank")) {
            c[i].how = RANK;
        } else if (attribute(t->columns[i])) {
            c[i].how = FIRST;
        } else if (u == U(TEXT) || u == U(STORE) || u == U(STORE_NAME) || u == U(TIME_MS) ||
                   u == U(TIME_LOCAL)) {
            c[i].how = KEY;
        } else if (u == U(COUNT) || u == U(MONEY) || u == U(QTY_MILLI) || u == U(DURATION_MS) ||
                   u == U(DURATION_MIN) || u == U(DURATION_H)) {
            c[i].how = SUM;
        }
    }
}

/* ---- rows ----------------------------------------------------------------------------------- */

struct entry {
    const Floorwalker__Row *row;
    size_t seen; /* order of first sight: daemon by daemon, row by row */
    char *key;
};

static bool cell_num(const Floorwalker__Value *v, double *x)
{
    if (v->v_case == FLOORWALKER__VALUE__V_I)
        *x = (double)v->i;
    else if (v->v_case == FLOORWALKER__VALUE__V_D)
        *x = v->d;
    else
        return false;
    return true;
}

static char *row_key(struct merged *m, const Floorwalker__Row *row, const struct col *c,
                     size_t ncols)
{
    size_t len = 1;
    char num[32];
    for (size_t i = 0; i < ncols && i < row->n_cells; i++) {
        if (c[i].how != KEY)
            continue;
        const Floorwalker__Value *v = row->cells[i];
        len += (v->v_case == FLOORWALKER__VALUE__V_S ? strlen(v->s) : sizeof num) + 1;
    }
    char *k = m_alloc(m, len);
    if (!k)
        return NULL;
    for (size_t i = 0; i < ncols && i < row->n_cells; i++) {
        if (c[i].how != KEY)
            continue;
        const Floorwalker__Value *v = row->cells[i];
        const char *s = v->v_case == FLOORWALKER__VALUE__V_S ? v->s : "";
        if (v->v_case == FLOORWALKER__VALUE__V_I) {
            snprintf(num, sizeof num, "%" PRId64, v->i);
            s = num;
        }
        strcat(k, s);
        strcat(k, "\x1f");
    }
    return k;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->seen > b->seen) - (a->seen < b->seen);
}

static int seen_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    return (a->seen > b->seen) - (a->seen < b->seen);
}

static bool value_eq(const Floorwalker__Value *a, const Floorwalker__Value *b)
{
    if (a->v_case != b->v_case)
        return false;
    switch (a->v_case) {
    case FLOORWALKER__VALUE__V_S:
        return !strcmp(a->s, b->s);
    case FLOORWALKER__VALUE__V_I:
        return a->i == b->i;
    case FLOORWALKER__VALUE__V_D:
        return a->d == b->d;
    default:
        return true;
    }
}

static Floorwalker__Value *value_new(struct merged *m)
{
    Floorwalker__Value *v = m_alloc(m, sizeof *v);
    if (v)
        floorwalker__value__init(v);
    return v;
}

/* A row of its own: the cells array copied, so cells can be replaced. */
static Floorwalker__Row *row_copy(struct merged *m, const Floorwalker__Row *src)
{
    Floorwalker__Row *r = m_alloc(m, sizeof *r);
    Floorwalker__Value **cells = m_alloc(m, src->n_cells * sizeof *cells);
    if (!r || !cells)
        return NULL;
    *r = *src;
    memcpy(cells, src->cells, src->n_cells * sizeof *cells);
    r->cells = cells;
    return r;
}

/* Combines the rows e[0..n-1] (one key) into one. */
static const Floorwalker__Row *combine(struct merged *m, const Floorwalker__Table *t,
                                       const struct col *c, const struct entry *e, size_t n,
                                       char *notes, size_t len)
{
    if (n == 1)
        return e[0].row;
    Floorwalker__Row *r = row_copy(m, e[0].row);
    if (!r)
        return NULL;
    size_t nc = r->n_cells < t->n_columns ? r->n_cells : t->n_columns;
    /* Means first: weighted by their counts before those are summed. */
    for (size_t i = 0; i < nc; i++) {
        if (c[i].how == SUM) {
            int64_t sum = 0;
            bool any = false;
            for (size_t k = 0; k < n; k++)
                if (i < e[k].row->n_cells &&
                    e[k].row->cells[i]->v_case == FLOORWALKER__VALUE__V_I) {
                    sum += e[k].row->cells[i]->i;
                    any = true;
                }
            if (!any)
                continue;
            Floorwalker__Value *v = value_new(m);
            if (!v)
                return NULL;
            v->v_case = FLOORWALKER__VALUE__V_I;
            v->i = sum;
            r->cells[i] = v;
        } else if (c[i].how == MEAN || c[i].how == MAX) {
            double acc = 0, w = 0, x, wk;
            bool any = false;
            for (size_t k = 0; k < n; k++) {
                if (!cell_num(e[k].row->cells[i], &x))
                    continue;
                if (c[i].how == MAX) {
                    acc = any && acc > x ? acc : x;
                } else if (c[i].den >= 0 && cell_num(e[k].row->cells[c[i].den], &wk)) {
                    acc += x * wk;
                    w += wk;
                }
                any = true;
            }
            Floorwalker__Value *v = value_new(m);
            if (!v)
                return NULL;
            if (any && (c[i].how == MAX || w > 0)) {
                v->v_case = FLOORWALKER__VALUE__V_D;
                v->d = c[i].how == MAX ? acc : acc / w;
            }
            r->cells[i] = v;
            if (c[i].how == MAX)
                note(notes, len,
                     "%s.%s over several daemons is the highest of theirs: an upper bound of "
                     "the whole's, not exact",
                     t->name, t->columns[i]);
        } else if (c[i].how == FIRST) {
            for (size_t k = 1; k < n; k++)
                if (!value_eq(e[k].row->cells[i], e[0].row->cells[i]))
                    note(notes, len,
                         "%s.%s differs between daemons for the same row; the first daemon's "
                         "is shown",
                         t->name, t->columns[i]);
        }
    }
    /* Ratios from the summed parts. */
    for (size_t i = 0; i < nc; i++) {
        if (c[i].how != RATIO)
            continue;
        double num, den;
        Floorwalker__Value *v = value_new(m);
        if (!v)
            return NULL;
        if (c[i].num >= 0 && c[i].den >= 0 && cell_num(r->cells[c[i].num], &num) &&
            cell_num(r->cells[c[i].den], &den) && den != 0) {
            v->v_case = FLOORWALKER__VALUE__V_D;
            v->d = num / den * c[i].scale;
        }
        r->cells[i] = v;
    }
    return r;
}

/* top/bottom SKUs: ranked again over the merged rows, and cut to the limit. */
struct rank_ctx {
    int qty, net, sku;
    bool top;
};
static struct rank_ctx rank_by; /* qsort has no argument; the CLI is single-threaded */

static int64_t cell_i(const Floorwalker__Row *r, int c)
{
    return c >= 0 && (size_t)c < r->n_cells && r->cells[c]->v_case == FLOORWALKER__VALUE__V_I
               ? r->cells[c]->i
               : 0;
}

static int rank_cmp(const void *pa, const void *pb)
{
    const Floorwalker__Row *a = *(const Floorwalker__Row *const *)pa;
    const Floorwalker__Row *b = *(const Floorwalker__Row *const *)pb;
    int s = rank_by.top ? -1 : 1;
    int64_t qa = cell_i(a, rank_by.qty), qb = cell_i(b, rank_by.qty);
    if (qa != qb)
        return qa < qb ? -s : s;
    int64_t na = cell_i(a, rank_by.net), nb = cell_i(b, rank_by.net);
    if (na != nb)
        return na < nb ? -s : s;
    const Floorwalker__Value *sa = a->cells[rank_by.sku], *sb = b->cells[rank_by.sku];
    return strcmp(sa->v_case == FLOORWALKER__VALUE__V_S ? sa->s : "",
                  sb->v_case == FLOORWALKER__VALUE__V_S ? sb->s : "");
}

static int rerank(struct merged *m, Floorwalker__Table *t, const Floorwalker__Query *q)
{
    rank_by = (struct rank_ctx){col_index(t, "qty_milli"), col_index(t, "net"), col_index(t, "sku"),
                                q->kind == FLOORWALKER__QUERY__KIND__TOP_SKUS};
    int rank = col_index(t, "rank");
    if (rank_by.sku < 0 || rank < 0)
        return 0;
    qsort(t->rows, t->n_rows, sizeof *t->rows, rank_cmp);
    size_t limit = q->limit ? q->limit : DEFAULT_SKU_LIMIT;
    if (t->n_rows > limit)
        t->n_rows = limit;
    for (size_t i = 0; i < t->n_rows; i++) {
        Floorwalker__Row *r = row_copy(m, t->rows[i]);
        Floorwalker__Value *v = value_new(m);
        if (!r || !v)
            return -1;
        v->v_case = FLOORWALKER__VALUE__V_I;
        v->i = (int64_t)i + 1;
        r->cells[rank] = v;
        t->rows[i] = r;
    }
    return 0;
}

/* ---- tables --------------------------------------------------------------------------------- */

static const Floorwalker__Table *table_of(const Floorwalker__QueryResult *r, const char *name)
{
    for (size_t i = 0; i < r->n_tables; i++)
        if (!strcmp(r->tables[i]->name, name))
            return r->tables[i];
    return NULL;
}

static bool same_columns(const Floorwalker__Table *a, const Floorwalker__Table *b)
{
    if (a->n_columns != b->n_columns)
        return false;
    for (size_t i = 0; i < a->n_columns; i++)
        if (strcmp(a->columns[i], b->columns[i]))
            return false;
    return true;
}

static Floorwalker__Table *merge_table(struct merged *m, Floorwalker__QueryResult *const *rs,
                                       size_t n, const char *name, const Floorwalker__Query *q,
                                       char *notes, size_t len)
{
    const Floorwalker__Table *first = NULL;
    size_t total = 0;
    for (size_t k = 0; k < n; k++) {
        const Floorwalker__Table *t = table_of(rs[k], name);
        if (!t)
            continue;
        if (!first)
            first = t;
        else if (!same_columns(first, t))
            return NULL;
        total += t->n_rows;
    }
    Floorwalker__Table *out = m_alloc(m, sizeof *out);
    struct col *c = m_alloc(m, first->n_columns * sizeof *c);
    struct entry *e = m_alloc(m, total * sizeof *e);
    Floorwalker__Row **rows = m_alloc(m, total * sizeof *rows);
    if (!out || !c || !e || !rows)
        return NULL;
    *out = *first;
    classify(first, c);
    bool sorted = true;
    size_t ne = 0;
    for (size_t k = 0; k < n; k++) {
        const Floorwalker__Table *t = table_of(rs[k], name);
        for (size_t i = 0; t && i < t->n_rows; i++) {
            e[ne] = (struct entry){t->rows[i], ne, row_key(m, t->rows[i], c, first->n_columns)};
            if (!e[ne].key)
                return NULL;
            if (i && strcmp(e[ne - 1].key, e[ne].key) > 0)
                sorted = false;
            ne++;
        }
        if (t && t->currency && first->currency && strcmp(t->currency, first->currency)) {
            out->currency = (char *)"";
            out->currency_digits = 0;
        }
    }
    qsort(e, ne, sizeof *e, entry_cmp);
    /* Each key once; in key order when every daemon answered in key order, else as first
     * seen. */
    size_t nr = 0;
    for (size_t i = 0; i < ne;) {
        size_t j = i + 1;
        while (j < ne && !strcmp(e[j].key, e[i].key))
            j++;
        const Floorwalker__Row *r = combine(m, first, c, e + i, j - i, notes, len);
        if (!r)
            return NULL;
        e[nr] = (struct entry){r, e[i].seen, e[i].key};
        nr++;
        i = j;
    }
    if (!sorted)
        qsort(e, nr, sizeof *e, seen_cmp);
    for (size_t i = 0; i < nr; i++)
        rows[i] = (Floorwalker__Row *)e[i].row;
    out->rows = rows;
    out->n_rows = nr;
    if (!strcmp(name, "skus") && (q->kind == FLOORWALKER__QUERY__KIND__TOP_SKUS ||
                                  q->kind == FLOORWALKER__QUERY__KIND__BOTTOM_SKUS)) {
        for (size_t k = 0; k < n; k++) {
            const Floorwalker__Table *t = table_of(rs[k], name);
            if (t && t->n_rows >= MERGE_SKU_ROWS)
                note(notes, len,
                     "a daemon has more SKUs than the %d rows asked of each: the merged "
                     "ranking is approximate",
                     MERGE_SKU_ROWS);
        }
        if (rerank(m, out, q) != 0)
            return NULL;
    }
    return out;
}

const Floorwalker__QueryResult *merge_results(struct merged **pm,
                                              Floorwalker__QueryResult *const *rs, size_t n,
                                              const Floorwalker__Query *q, char *notes, size_t len)
{
    notes[0] = 0;
    struct merged *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    *pm = m;
    m->r = *rs[0];
    /* Tables by name, in the first daemon's order, then any only others have. */
    size_t cap = 0;
    for (size_t k = 0; k < n; k++)
        cap += rs[k]->n_tables;
    Floorwalker__Table **tables = m_alloc(m, cap * sizeof *tables);
    size_t nt = 0;
    for (size_t k = 0; tables && k < n; k++) {
        for (size_t i = 0; i < rs[k]->n_tables; i++) {
            const char *name = rs[k]->tables[i]->name;
            bool done = false;
            for (size_t j = 0; j < nt && !done; j++)
                done = !strcmp(tables[j]->name, name);
            if (done)
                continue;
            if (!(tables[nt] = merge_table(m, rs, n, name, q, notes, len))) {
                if (!m->failed)
                    snprintf(notes, len,
                             "the daemons answer table %s with different columns: are they of "
                             "different versions?",
                             name);
                return NULL;
            }
            nt++;
        }
    }
    /* Every store any table names. */
    size_t scap = 0;
    for (size_t k = 0; k < n; k++)
        scap += rs[k]->n_stores;
    Floorwalker__StoreInfo **stores = m_alloc(m, scap * sizeof *stores);
    size_t ns = 0;
    for (size_t k = 0; stores && k < n; k++) {
        for (size_t i = 0; i < rs[k]->n_stores; i++) {
            bool dup = false;
            for (size_t j = 0; j < ns && !dup; j++)
                dup = !strcmp(stores[j]->id, rs[k]->stores[i]->id);
            if (!dup)
                stores[ns++] = rs[k]->stores[i];
        }
    }
    if (m->failed || !tables || !stores)
        return NULL;
    m->r.tables = tables;
    m->r.n_tables = nt;
    m->r.stores = stores;
    m->r.n_stores = ns;
    return &m->r;
}

enum ask_status merge_ask(struct sharded *s, const char *who, void *ctx, const char *const *eps,
                          size_t n, const Floorwalker__Query *q, int timeout_s,
                          const fw_stop_flag *stop, const Floorwalker__QueryResult **out,
                          size_t *which)
{
    memset(s, 0, sizeof *s);
    *out = NULL;
    *which = 0;
    Floorwalker__Query each = *q;
    /* A ranked list is merged exactly from every daemon's whole list (one daemon's is as
     * asked). */
    if (n > 1 && (q->kind == FLOORWALKER__QUERY__KIND__TOP_SKUS ||
                  q->kind == FLOORWALKER__QUERY__KIND__BOTTOM_SKUS))
        each.limit = MERGE_SKU_ROWS;
    uint64_t deadline = fw_mono_ns() + (uint64_t)timeout_s * 1000000000u;
    Floorwalker__QueryResult *ok[CLI_MAX_DAEMONS];
    size_t nok = 0;
    long not_found = -1; /* the first daemon that does not hold the store or region asked */
    for (size_t i = 0; i < n; i++) {
        enum ask_status st = cli_ask(who, ctx, eps[i], &each, timeout_s, deadline, stop, &s->rs[i]);
        s->n = i + 1;
        if (st != ASK_OK) {
            *which = i;
            return st;
        }
        switch (s->rs[i]->status) {
        case FLOORWALKER__QUERY_RESULT__STATUS__OK:
            ok[nok++] = s->rs[i];
            break;
        case FLOORWALKER__QUERY_RESULT__STATUS__NOT_FOUND:
            if (not_found < 0)
                not_found = (long)i;
            break;
        default:
            *which = i;
            *out = s->rs[i];
            return ASK_OK;
        }
    }
    if (!nok) {
        /* No daemon holds it: the first one's word for it. */
        *which = (size_t)not_found;
        *out = s->rs[not_found];
    } else if (n == 1) {
        *out = ok[0];
    } else {
        *out = merge_results(&s->m, ok, nok, q, s->notes, sizeof s->notes);
    }
    return ASK_OK;
}

enum ask_status merge_ask_holder(struct sharded *s, const char *who, void *ctx,
                                 const char *const *eps, size_t n, const Floorwalker__Query *q,
                                 int timeout_s, const fw_stop_flag *stop,
                                 const Floorwalker__QueryResult **out, size_t *which)
{
    memset(s, 0, sizeof *s);
    *out = NULL;
    *which = 0;
    uint64_t deadline = fw_mono_ns() + (uint64_t)timeout_s * 1000000000u;
    for (size_t i = 0; i < n; i++) {
        enum ask_status st = cli_ask(who, ctx, eps[i], q, timeout_s, deadline, stop, &s->rs[i]);
        s->n = i + 1;
        if (st != ASK_OK) {
            *which = i;
            return st;
        }
        if (s->rs[i]->status != FLOORWALKER__QUERY_RESULT__STATUS__NOT_FOUND) {
            *which = i;
            *out = s->rs[i];
            return ASK_OK;
        }
    }
    *out = s->rs[0];
    return ASK_OK;
}

void merge_ask_free(struct sharded *s)
{
    merge_free(&s->m);
    for (size_t i = 0; i < s->n; i++)
        if (s->rs[i])
            floorwalker__query_result__free_unpacked(s->rs[i], NULL);
    s->n = 0;
}
