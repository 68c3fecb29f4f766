/*
 * The rollup query kinds: sales, top and bottom SKUs, categories, cashiers, complaints, stock,
 * attendance (docs/ROLLUPS.md "Query results"). Each reads cells through the rollup module in
 * one read-only LMDB transaction and answers typed tables.
 */
#ifndef FW_REPORTS_H
#define FW_REPORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "floorwalker.pb-c.h"
#include "alerts.h"
#include "qresult.h"
#include "rollup.h"

/* Answers q into res (status ERROR with a reason for a bad date, scope or store). now_ms
 * resolves "today" and the ages of live items. */
void reports_run(struct rollup *r, struct store *st, const Floorwalker__Query *q,
                 struct result *res, int64_t now_ms);
/* True for the kinds reports_run answers. */
bool reports_serves(Floorwalker__Query__Kind kind);
/* The query's scope: its explicit scope, else "store" when it names a store, else "region"
 * when it names a region, else "chain". */
const char *reports_scope(const Floorwalker__Query *q);

/* Publishes the rollup report of a store-local hour (and of the day too, at its end) on
 * rollup/<region>/<store>/hour|day: a QueryResult with the same tables as the queries. */
void reports_publish(struct rollup *r, struct store *st, struct alerts *a,
                     const struct store_info *s, int32_t day, int hour, bool day_end, int64_t now);

#endif
