/*
 * How much of a store-day's sales target is due by a moment of that day: the one home of the
 * arithmetic that sales_behind_target judges by (rules_timer.c, with its threshold percentage)
 * and that the sales query reports as target_due (reports.c, the console's board). The day's
 * target is spread over the day in the shape of the store's own sales (its hourly profile: net
 * by local hour over its last 4 same weekdays, or its last 7 days while it has no same weekday
 * yet); with no sales history at all, evenly over the opening hours.
 */
#ifndef FW_SALES_DUE_H
#define FW_SALES_DUE_H

#include <stdbool.h>
#include <stdint.h>

#include "rollup.h"

struct sales_profile {
    int32_t day;   /* the local day it was read for; -1: not yet */
    bool weekdays; /* from same weekdays (else from the last 7 days) */
    int64_t hour[24], total;
};

/* Reads store's profile for local day today from the rollup's hourly sales cells (hours of
 * negative net count 0); p->total is 0 when the store has no sales history. */
void sales_profile_read(struct rollup *r, struct store_txn *txn, const char *store, int32_t today,
                        struct sales_profile *p);

/* pct percent of target due by local time hour:minute (opening hours [open_min, close_min) in
 * minutes after midnight): by p's shape when it has sales (this hour pro rata by minute), else
 * pro rata over the opening hours. Between 0 and target * pct / 100. */
int64_t sales_due(const struct sales_profile *p, int64_t target, int64_t pct, int open_min,
                  int close_min, int hour, int minute);

#endif
