/*
 * Building a QueryResult: typed tables allocated in the query's arena (freed wholesale after
 * the reply is sent).
 */
#ifndef FW_QRESULT_H
#define FW_QRESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "floorwalker.pb-c.h"

struct result {
    struct arena *a;
    Floorwalker__QueryResult r;
    size_t tables_cap;
    bool oom; /* an allocation failed: the caller answers with an error instead */
};

struct rtable {
    Floorwalker__Table *t;
    size_t cap;
};

/* Adds a table with ncols column names (const char *, kept by reference). */
struct rtable res_table(struct result *res, const char *name, int ncols, ...);
/* Appends a row; fmt has one letter per cell: s = string (copied), i = int64_t, d = double,
 * n = no value (JSON null; takes no argument), o = optional double (int present, double),
 * O = optional int64 (int present, int64_t). */
void res_row(struct result *res, struct rtable *t, const char *fmt, ...);
void res_error(struct result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
