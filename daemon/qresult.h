/*
 * Building a QueryResult: typed tables allocated in the query's arena (freed wholesale after
 * the reply is sent).
 *
 * Units: res_table gives every column its Table.Unit from one catalogue (qresult.c), so the
 * modules that build tables name columns only. With an environment (struct res_env), a table
 * also gains, for people and scripts alike, a store_name column after each store id column and
 * a <name>_local column (ISO 8601 in the row's store's zone) after each <name>_ms instant;
 * res_row fills them. The catalogue is the list the docs and the units test are checked against.
 */
#ifndef FW_QRESULT_H
#define FW_QRESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "floorwalker.pb-c.h"

struct config;
struct rollup;

/* What units and added columns need: store names and currencies (cfg), store zones (rollup),
 * and the currency of the query's scope ("" when its stores keep different ones). */
struct res_env {
    const struct config *cfg;
    struct rollup *rollup;
    const char *currency;
    int currency_digits;
};

struct result {
    struct arena *a;
    const struct res_env *env; /* NULL: units only, no added columns (the /metrics scrape) */
    Floorwalker__QueryResult r;
    size_t tables_cap, stores_cap;
    bool oom; /* an allocation failed: the caller answers with an error instead */
};

struct rcol; /* internal: where an output column comes from */

struct rtable {
    Floorwalker__Table *t;
    size_t cap;
    const struct rcol *plan; /* internal, NULL: the columns are the caller's */
    int nsrc, store_src, term_src;
};

/* The unit of column col of table (the catalogue); UNIT_UNSPECIFIED if not listed. */
Floorwalker__Table__Unit res_unit(const char *table, const char *col);

/* Adds a table with ncols column names (const char *, kept by reference), their units, and
 * with res->env the added columns (see above). */
struct rtable res_table(struct result *res, const char *name, int ncols, ...);
/* Appends a row; fmt has one letter per cell: s = string (copied), i = int64_t, d = double,
 * n = no value (JSON null; takes no argument), o = optional double (int present, double),
 * O = optional int64 (int present, int64_t). */
void res_row(struct result *res, struct rtable *t, const char *fmt, ...);
void res_error(struct result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As res_error, with status NOT_FOUND: the store, region or alert asked about is not this
 * daemon's. */
void res_not_found(struct result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After the tables are built: QueryResult.stores gets every store a STORE column names. */
void res_finish(struct result *res);
/* Adds one StoreInfo (id, name, region, zone, currency) for store, once. */
void res_store_info(struct result *res, const char *store);

#endif
