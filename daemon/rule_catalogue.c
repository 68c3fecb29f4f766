#include "rule_catalogue.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fwunits.h"

/* Keep docs/ALERTS.md's table in step: the unit test compares them cell by cell. */
const struct rule_def rule_catalogue[RULE_N] = {
    [RULE_RETURN_RATE_HIGH] = {"return_rate_high", SEV_WARNING, TRIGGER_EVENT,
                               "return_rate_pct return_rate_min_txns", false, true,
                               "below again (same day), or the day ends"},
    [RULE_CASHIER_RETURNS_HIGH] = {"cashier_returns_high", SEV_WARNING, TRIGGER_EVENT,
                                   "cashier_returns_max", false, true, "the day ends"},
    [RULE_CASH_OVER_SHORT] = {"cash_over_short", SEV_WARNING, TRIGGER_EVENT,
                              "cash_over_short_cents", true, true, "ack, or the day ends"},
    [RULE_DRAWER_OVER_LIMIT] = {"drawer_over_limit", SEV_WARNING, TRIGGER_EVENT,
                                "drawer_limit_cents", false, false,
                                "back at or below (a PICKUP), or CLOSE"},
    [RULE_COMPLAINT_MAJOR] = {"complaint_major", SEV_CRITICAL, TRIGGER_EVENT, "", false, false,
                              "RESOLVED"},
    [RULE_COMPLAINT_OVERDUE] = {"complaint_overdue", SEV_WARNING, TRIGGER_TIMER,
                                "complaint_sla_hours", false, false, "RESPONDED or RESOLVED"},
    [RULE_COMPLAINT_SURGE] = {"complaint_surge", SEV_WARNING, TRIGGER_EVENT,
                              "complaint_surge_count", false, false,
                              "fewer than that in the last 24 h (rule pass)"},
    [RULE_COMPENSATION_OVER_LIMIT] = {"compensation_over_limit", SEV_WARNING, TRIGGER_EVENT,
                                      "compensation_limit_cents", true, false, "ack"},
    [RULE_OUT_OF_STOCK] = {"out_of_stock", SEV_WARNING, TRIGGER_EVENT, "", false, false,
                           "on hand > 0"},
    [RULE_NEGATIVE_STOCK] = {"negative_stock", SEV_WARNING, TRIGGER_EVENT, "", false, false,
                             "on hand >= 0"},
    [RULE_COUNT_VARIANCE] = {"count_variance", SEV_WARNING, TRIGGER_EVENT,
                             "count_variance_milli count_variance_pct", true, false, "ack"},
    [RULE_SHRINK_HIGH] = {"shrink_high", SEV_WARNING, TRIGGER_TIMER,
                          "shrink_rate_bp shrink_min_cents", true, false,
                          "ack, or the next day ends"},
    [RULE_LATE_CLOCK_IN] = {"late_clock_in", SEV_INFO, TRIGGER_EVENT, "late_minutes", false, true,
                            "the day ends"},
    [RULE_NO_SHOW] = {"no_show", SEV_WARNING, TRIGGER_TIMER, "no_show_minutes", false, false,
                      "CLOCK_IN for the shift, the shift's cancellation, or its end"},
    [RULE_EARLY_LEAVE] = {"early_leave", SEV_INFO, TRIGGER_EVENT, "early_leave_minutes", false,
                          true, "the day ends"},
    [RULE_UNDERSTAFFED] = {"understaffed", SEV_WARNING, TRIGGER_TIMER,
                           "min_staff understaffed_grace_minutes", false, false,
                           "back at the minimum, or closing time"},
    [RULE_STORE_SILENT] = {"store_silent", SEV_CRITICAL, TRIGGER_TIMER, "store_silent_minutes",
                           false, false, "the next event"},
    [RULE_TERMINAL_SILENT] = {"terminal_silent", SEV_WARNING, TRIGGER_TIMER,
                              "terminal_silent_minutes", false, false,
                              "its next event, or closing time"},
    [RULE_CLOCK_SKEW] = {"clock_skew", SEV_INFO, TRIGGER_ARRIVAL, "clock_skew_seconds", false,
                         false, "a heartbeat back within"},
    [RULE_SALES_BEHIND_TARGET] = {"sales_behind_target", SEV_WARNING, TRIGGER_TIMER,
                                  "sales_behind_pct sales_behind_min_gap_pct", false, true,
                                  "net back at or above what is due, or the day ends"},
};

enum rule_id rule_by_name(const char *name)
{
    for (int i = 0; i < RULE_N; i++)
        if (name && !strcmp(rule_catalogue[i].name, name))
            return (enum rule_id)i;
    return RULE_N;
}

const char *rule_severity_name(enum rule_severity s)
{
    return s == SEV_INFO       ? "INFO"
           : s == SEV_WARNING  ? "WARNING"
           : s == SEV_CRITICAL ? "CRITICAL"
                               : "";
}

const char *rule_trigger_name(enum rule_trigger t)
{
    return t == TRIGGER_EVENT ? "event" : t == TRIGGER_TIMER ? "timer" : "arrival";
}

/* Signed fixed-point with `dec` decimals of a value scaled by 10^dec. */
static const char *fixed(char *buf, size_t n, int64_t v, int64_t scale, int dec)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    snprintf(buf, n, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "", a / (uint64_t)scale, dec,
             a % (uint64_t)scale);
    return buf;
}

const char *msg_money(char *buf, size_t n, int64_t minor, const struct config *cfg,
                      const char *store)
{
    const char *code = NULL;
    int digits = 2;
    if (cfg)
        config_store_currency(cfg, store, &code, &digits);
    fw_fmt_money(buf, n, minor, digits, code);
    return buf;
}

const char *msg_qty(char *buf, size_t n, int64_t milli)
{
    fw_fmt_qty_milli(buf, n, milli);
    return buf;
}

const char *msg_rate(char *buf, size_t n, int64_t bp)
{
    fixed(buf, n, bp, 100, 2);
    size_t l = strlen(buf);
    if (l + 1 < n) {
        buf[l] = '%';
        buf[l + 1] = 0;
    }
    return buf;
}

const char *msg_duration(char *buf, size_t n, int64_t seconds)
{
    uint64_t a = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;
    const char *sign = seconds < 0 ? "-" : "";
    if (a >= 3600)
        snprintf(buf, n, "%s%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", sign, a / 3600, a / 60 % 60,
                 a % 60);
    else if (a >= 60)
        snprintf(buf, n, "%s%" PRIu64 "m%02" PRIu64 "s", sign, a / 60, a % 60);
    else
        snprintf(buf, n, "%s%" PRIu64 "s", sign, a);
    return buf;
}

int64_t msg_seconds_up(int64_t ms)
{
    return ms >= 0 ? (ms + 999) / 1000 : -((-ms + 999) / 1000);
}
