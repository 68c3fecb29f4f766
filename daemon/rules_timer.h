/*
 * The alert rules that the rule pass triggers (trigger "timer" in rule_catalogue.c:
 * complaint_overdue, no_show, understaffed, store_silent, terminal_silent,
 * sales_behind_target, shrink_high on a closed day) and the one judged as a message arrives
 * (clock_skew), each raised and resolved here (an arriving event ends a silence or an overdue
 * complaint, a cancelled shift its no_show). The per-terminal records are bounded
 * ([alerts] terminal_records_max). The rule
 * pass also ends the day-scoped alerts, runs the event rules' timed part (rules_event_tick) and
 * publishes the rollup reports (reports_publish). The event rules are in rules_event.c. Also
 * here: the terminals' spool depths (STATS) and the spot-check sample. Every rule reads the
 * daemon's clock through alerts_now, so tests can move it.
 */
#ifndef FW_RULES_TIMER_H
#define FW_RULES_TIMER_H

#include <stdint.h>

#include "alerts.h"
#include "config.h"
#include "qresult.h"
#include "rollup.h"

struct rules;

fw_err rules_create(struct rules **out, const struct config *cfg, struct store *st,
                    struct rollup *r, struct alerts *a) FW_WUR;
void rules_destroy(struct rules **ru);

/* An event of store from terminal arrived (after its commit). */
void rules_seen(struct rules *ru, const Floorwalker__Event *e);

/* Evaluates the time-driven rules for every store, then publishes what changed. */
void rules_tick(struct rules *ru);

/* For STATS: the spool depth each terminal reported in its last heartbeat. */
void rules_stats(struct rules *ru, struct result *res);

/* Query SPOTCHECK: a random sample of who is on duty now at q->store_id, sized by the
 * supervisors' rule: fewer than 5 on duty, all; 5 to 20, half; more than 20, 30%. */
void rules_spotcheck(struct rules *ru, const Floorwalker__Query *q, struct result *res);

#endif
