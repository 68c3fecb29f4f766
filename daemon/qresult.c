#include "qresult.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void *grow_ptrs(struct arena *a, void *old, size_t n, size_t *cap)
{
    if (n < *cap)
        return old;
    size_t ncap = *cap ? *cap * 2 : 8;
    void **p = arena_alloc(a, ncap * sizeof(void *));
    if (p && old)
        memcpy(p, old, *cap * sizeof(void *));
    *cap = ncap;
    return p;
}

struct rtable res_table(struct result *res, const char *name, int ncols, ...)
{
    struct rtable rt = {NULL, 0};
    Floorwalker__Table *t = arena_alloc(res->a, sizeof *t);
    char **cols = arena_alloc(res->a, (size_t)ncols * sizeof *cols);
    Floorwalker__Table **tabs = grow_ptrs(res->a, res->r.tables, res->r.n_tables, &res->tables_cap);
    if (!t || !cols || !tabs) {
        res->oom = true;
        return rt;
    }
    floorwalker__table__init(t);
    t->name = (char *)name;
    va_list ap;
    va_start(ap, ncols);
    for (int i = 0; i < ncols; i++)
        cols[i] = va_arg(ap, char *);
    va_end(ap);
    t->columns = cols;
    t->n_columns = (size_t)ncols;
    res->r.tables = tabs;
    tabs[res->r.n_tables++] = t;
    rt.t = t;
    return rt;
}

void res_row(struct result *res, struct rtable *rt, const char *fmt, ...)
{
    Floorwalker__Table *t = rt->t;
    if (!t)
        return;
    size_t n = strlen(fmt);
    Floorwalker__Row *row = arena_alloc(res->a, sizeof *row);
    Floorwalker__Value *vals = arena_alloc(res->a, n * sizeof *vals);
    Floorwalker__Value **cells = arena_alloc(res->a, n * sizeof *cells);
    Floorwalker__Row **rows = grow_ptrs(res->a, t->rows, t->n_rows, &rt->cap);
    if (!row || !vals || !cells || !rows) {
        res->oom = true;
        return;
    }
    floorwalker__row__init(row);
    va_list ap;
    va_start(ap, fmt);
    for (size_t i = 0; i < n; i++) {
        floorwalker__value__init(&vals[i]);
        switch (fmt[i]) {
        case 's':
            vals[i].v_case = FLOORWALKER__VALUE__V_S;
            vals[i].s = arena_strdup(res->a, va_arg(ap, const char *));
            if (!vals[i].s)
                res->oom = true;
            break;
        case 'i':
            vals[i].v_case = FLOORWALKER__VALUE__V_I;
            vals[i].i = va_arg(ap, int64_t);
            break;
        case 'd':
            vals[i].v_case = FLOORWALKER__VALUE__V_D;
            vals[i].d = va_arg(ap, double);
            break;
        case 'o': { /* optional double: int present, double value */
            int present = va_arg(ap, int);
            double d = va_arg(ap, double);
            if (present) {
                vals[i].v_case = FLOORWALKER__VALUE__V_D;
                vals[i].d = d;
            }
            break;
        }
        case 'O': { /* optional int64: int present, int64_t value */
            int present = va_arg(ap, int);
            int64_t x = va_arg(ap, int64_t);
            if (present) {
                vals[i].v_case = FLOORWALKER__VALUE__V_I;
                vals[i].i = x;
            }
            break;
        }
        default: /* 'n': no value */
            break;
        }
        cells[i] = &vals[i];
    }
    va_end(ap);
    row->cells = cells;
    row->n_cells = n;
    t->rows = rows;
    t->rows[t->n_rows++] = row;
}

void res_error(struct result *res, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    res->r.status = FLOORWALKER__QUERY_RESULT__STATUS__ERROR;
    res->r.error = arena_strdup(res->a, buf);
}
