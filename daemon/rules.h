/*
 * The alert rules that time, not an event, triggers (complaint_overdue, no_show, understaffed,
 * store_silent, terminal_silent, sales_behind_target, and the end of complaint_surge and of
 * day-scoped alerts), the rules that depend on arrival (clock_skew, silences), and the
 * spot-check sample. The rules that events trigger run in rollup.c as events are applied.
 * Every rule reads the daemon's clock through alerts_now, so tests can move it.
 */
#ifndef FW_RULES_H
#define FW_RULES_H

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
