/*
 * A QueryResult as the machine formats show it: the query kinds by name, and the rows as JSON
 * objects with the table's column names (`floorwalker query --json`, and the web console's
 * /api/query/KIND, which must answer exactly the same rows). Alerts as JSON objects with the
 * Alert message's field names (`floorwalker alerts --json`, the console's alert stream).
 */
#ifndef FW_QJSON_H
#define FW_QJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "floorwalker.pb-c.h"

/* The kind named name ("sales", "top-skus", ...), or 0 (QUERY_KIND unspecified). */
Floorwalker__Query__Kind query_kind_by_name(const char *name);
/* Their names, for usage lines and error messages: "sales, top-skus, ..." */
const char *query_kind_names(void);

/* One cell: strings, integers exact, doubles; null when empty. */
json_t *qjson_cell(const Floorwalker__Value *v);
/* One row as an object of the table's column names; with table_key, "table": the table's name
 * first (results of several tables). */
json_t *qjson_row(const Floorwalker__Table *t, const Floorwalker__Row *row, bool table_key);
/* Every row of every table of r, in order, as one array (table_key when r has several). */
json_t *qjson_rows(const Floorwalker__QueryResult *r);

/* An Alert's singular fields by name (enums by name): a field added to Alert shows up without
 * a change here. */
json_t *qjson_alert(const Floorwalker__Alert *a);

#endif
