/*
 * The alert rules as one table (docs/ALERTS.md "The rules as implemented" is checked against it
 * by tests/unit/test_catalogue.c). Each rule lives wholly in one file: the rules that an applied
 * event triggers in rules_event.c, the rules that the clock or the arrival of messages triggers
 * in rules_timer.c. alerts.c takes a rule's name, and whether an ack resolves it, from here.
 */
#ifndef FW_RULE_CATALOGUE_H
#define FW_RULE_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

enum rule_id {
    RULE_RETURN_RATE_HIGH,
    RULE_CASHIER_RETURNS_HIGH,
    RULE_CASH_OVER_SHORT,
    RULE_DRAWER_OVER_LIMIT,
    RULE_COMPLAINT_MAJOR,
    RULE_COMPLAINT_OVERDUE,
    RULE_COMPLAINT_SURGE,
    RULE_COMPENSATION_OVER_LIMIT,
    RULE_OUT_OF_STOCK,
    RULE_NEGATIVE_STOCK,
    RULE_COUNT_VARIANCE,
    RULE_SHRINK_HIGH,
    RULE_LATE_CLOCK_IN,
    RULE_NO_SHOW,
    RULE_EARLY_LEAVE,
    RULE_UNDERSTAFFED,
    RULE_STORE_SILENT,
    RULE_TERMINAL_SILENT,
    RULE_CLOCK_SKEW,
    RULE_SALES_BEHIND_TARGET,
    RULE_N
};

enum rule_severity { SEV_INFO = 1, SEV_WARNING = 2, SEV_CRITICAL = 3 };

/* What triggers a rule: an applied event (rules_event.c); the rule pass every 15 s
 * (rules_timer.c); a message as it arrives, judged against the daemon's clock (rules_timer.c,
 * beside the silences that arrivals end). */
enum rule_trigger { TRIGGER_EVENT, TRIGGER_TIMER, TRIGGER_ARRIVAL };

struct rule_def {
    const char *name;
    enum rule_severity severity; /* the usual one; cash_over_short escalates to CRITICAL */
    enum rule_trigger trigger;
    const char *keys;     /* its threshold keys, space separated ("" for none) */
    bool by_ack;          /* ACK_ALERT resolves it */
    bool per_day;         /* judged per store-local day: resolves when the day is over */
    const char *resolves; /* how it resolves, word for word as docs/ALERTS.md says */
};

extern const struct rule_def rule_catalogue[RULE_N];

/* The rule's entry, by id; its name is a string literal (alerts.c caches by pointer). */
static inline const char *rule_name(enum rule_id id)
{
    return rule_catalogue[id].name;
}
/* RULE_N when no rule has that name. */
enum rule_id rule_by_name(const char *name);
const char *rule_severity_name(enum rule_severity s);
const char *rule_trigger_name(enum rule_trigger t);

/*
 * The figures in alert messages, one helper per kind, so that the store's currency and units
 * come in one place later. Each writes into buf and returns it (for use as a printf argument);
 * the MSG_* macros give each call its own buffer for the length of the enclosing statement.
 * Money in the store's currency (3444 minor units of CNY: "34.44 CNY", grouped: "5,000.00 CNY";
 * with no currency configured or no cfg at all, "34.44"). Quantities in units, up to three decimals
 * (1500 milli: "1.5"). Both from clients/common/fwunits.c, as the CLI shows them. Durations in
 * whole seconds: "5m01s", "48h00m00s", "42s". Rates in basis points: "12.34%".
 */
const char *msg_money(char *buf, size_t n, int64_t minor, const struct config *cfg,
                      const char *store);
const char *msg_qty(char *buf, size_t n, int64_t milli);
const char *msg_duration(char *buf, size_t n, int64_t seconds);
const char *msg_rate(char *buf, size_t n, int64_t bp);
#define MSG_MONEY(cfg, c, s) msg_money((char[48]){0}, 48, (c), (cfg), (s))
#define MSG_QTY(q) msg_qty((char[32]){0}, 32, (q))
#define MSG_DURATION(sec) msg_duration((char[32]){0}, 32, (sec))
#define MSG_RATE(bp) msg_rate((char[32]){0}, 32, (bp))
/* Whole seconds of a duration in ms, rounded up: a condition "more than N s" always shows a
 * value above N, never one truncated down to it. */
int64_t msg_seconds_up(int64_t ms);

#endif
