/*
 * The alert rules that an applied event triggers (docs/ALERTS.md; trigger "event" in
 * rule_catalogue.c): return_rate_high, cashier_returns_high, cash_over_short,
 * drawer_over_limit, complaint_major, complaint_surge, compensation_over_limit, out_of_stock,
 * negative_stock, count_variance, late_clock_in, early_leave. Each is raised and
 * resolved here (rules judged per day also resolve when the day ends, in alerts.c); the rule
 * pass calls rules_event_tick for what time ends (complaint_surge's window).
 */
#ifndef FW_RULES_EVENT_H
#define FW_RULES_EVENT_H

#include <stdint.h>

#include "alerts.h"
#include "config.h"
#include "rollup.h"

struct rules_event;

/* Hooks itself into r (rollup_set_hook): from then on every applied event is judged. */
fw_err rules_event_create(struct rules_event **out, const struct config *cfg, struct rollup *r,
                          struct alerts *a) FW_WUR;
void rules_event_destroy(struct rules_event **re);

/* The rule pass, for store s at now (txn: a read transaction for the cells). */
void rules_event_tick(struct rules_event *re, const struct store_info *s, struct store_txn *txn,
                      int64_t now);

#endif
