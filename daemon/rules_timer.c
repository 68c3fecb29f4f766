#include "rules_timer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "htab.h"
#include "log.h"
#include "reports.h"
#include "rules_event.h"
#include "sales_due.h"
#include "tz.h"

struct seen_store {
    int64_t last_ms;
    int last_hour;       /* local hour of the last sales_behind_target judgement */
    int64_t report_hour; /* day * 24 + hour last seen by the rollup reports; -1: not yet */
    bool silent_alert;   /* store_silent may be active (raised, or stored before a restart) */
    bool open;           /* within its opening hours at the last rule pass */
    int64_t rota_ms;     /* daemon time of the last SHIFT event (understaffed's grace); 0: none */
    struct sales_profile profile; /* sales_behind_target's, read once per local day */
};

struct seen_terminal {
    char store[FW_ID_MAX + 1];
    int64_t last_ms;
    int64_t spool_depth, spool_ms; /* from its last heartbeat */
    uint64_t hb_epoch, hb_seq;     /* that heartbeat's epoch and seq */
    uint64_t last_seq;             /* the highest seq heard since, in hb_epoch */
    bool silent_alert;             /* terminal_silent may be active */
};

struct rules {
    const struct config *cfg;
    struct store *st;
    struct rollup *r;
    struct alerts *a;
    struct rules_event *ev; /* the event rules (their rule-pass part) */
    struct htab *stores;    /* id -> seen_store */
    struct htab *terminals; /* id -> seen_terminal, at most [alerts] terminal_records_max */
    int64_t started_ms;
};

#define TH(s, t) config_threshold(ru->cfg, (s), (t))

static struct seen_store *seen_store(struct rules *ru, const char *id)
{
    struct seen_store *s = htab_get(ru->stores, id);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s || htab_put(ru->stores, id, s) != 0) {
        free(s);
        return NULL;
    }
    /* Not heard from since the daemon started: count silence from the start. */
    s->last_ms = ru->started_ms;
    s->last_hour = -1;
    s->report_hour = -1;
    s->profile.day = -1;
    s->silent_alert = true;
    return s;
}

/*
 * The per-terminal records are bounded ([alerts] terminal_records_max): many terminals, or a
 * peer inventing terminal ids in plain mode, cannot grow the daemon's memory without limit.
 * Past the maximum the least recently heard quarter is dropped (one sort, amortised over the
 * quarter of inserts that refill it). A dropped terminal loses only what the records keep in
 * memory: when heard again its record is rebuilt as at start (its terminal_silent, if stored
 * in LMDB as active, resolves then), its last spool depth is gone until its next heartbeat,
 * and while dropped it cannot newly fire terminal_silent (set the maximum above the real
 * number of terminals).
 */
struct term_ref {
    const char *id;
    struct seen_terminal *t;
};

static void collect_terminal(const char *id, void *val, void *arg)
{
    struct term_ref **p = arg;
    (*p)->id = id;
    (*p)->t = val;
    (*p)++;
}

static int newest_first(const void *a, const void *b)
{
    int64_t x = ((const struct term_ref *)a)->t->last_ms,
            y = ((const struct term_ref *)b)->t->last_ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void bound_terminals(struct rules *ru)
{
    size_t n = htab_count(ru->terminals), max = (size_t)ru->cfg->terminal_records_max;
    if (n <= max)
        return;
    struct term_ref *v = malloc(n * sizeof *v), *p = v;
    struct htab *h = htab_new();
    if (!v || !h) {
        free(v);
        htab_destroy(&h, NULL);
        return; /* keep them all; try again at the next insert */
    }
    htab_foreach(ru->terminals, collect_terminal, &p);
    qsort(v, n, sizeof *v, newest_first);
    size_t keep = max - max / 4, i;
    for (i = 0; i < keep; i++)
        if (htab_put(h, v[i].id, v[i].t) != 0)
            break;
    if (i < keep) { /* out of memory: give up the new table, keep the old */
        htab_destroy(&h, NULL);
        free(v);
        return;
    }
    for (; i < n; i++)
        free(v[i].t);
    htab_destroy(&ru->terminals, NULL);
    ru->terminals = h;
    log_info("terminal_silent: %zu terminal records over the maximum of %zu: dropped the %zu "
             "least recently heard",
             n, max, n - keep);
    free(v);
}

/* clock_skew's message, said from the alert's figures when read: a skewed terminal's every
 * heartbeat changes the value, and formatting two durations per heartbeat showed in profiles. */
static void clock_skew_msg(char *buf, size_t len, const Floorwalker__Alert *m)
{
    snprintf(buf, len, "terminal %s's clock is off by %s (%s the daemon's), beyond %s either way",
             m->subject, MSG_DURATION(m->value), m->value < 0 ? "behind" : "ahead of",
             MSG_DURATION(m->threshold));
}

void rules_seen(struct rules *ru, const Floorwalker__Event *e)
{
    if (!ru)
        return;
    int64_t now = alerts_now(ru->a);
    struct seen_store *s = seen_store(ru, e->store_id);
    if (s)
        s->last_ms = now;
    struct seen_terminal *t = htab_get(ru->terminals, e->terminal_id);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (t && htab_put(ru->terminals, e->terminal_id, t) != 0) {
            free(t);
            t = NULL;
        }
        if (t)
            t->silent_alert = true;
    }
    if (t) {
        if (strcmp(t->store, e->store_id))
            memcpy(t->store, e->store_id, strnlen(e->store_id, FW_ID_MAX) + 1);
        t->last_ms = now;
    }
    const struct store_info *si = rollup_store(ru->r, e->store_id);
    const char *region = si ? si->region : "default";
    /* Hot path: look the silence alerts up only when one may be active. */
    if (!s || s->silent_alert) {
        alerts_clear(ru->a, RULE_STORE_SILENT, e->store_id, "", "an event arrived");
        if (s)
            s->silent_alert = false;
    }
    if (!t || t->silent_alert) {
        alerts_clear(ru->a, RULE_TERMINAL_SILENT, e->store_id, e->terminal_id,
                     "the terminal was heard again");
        if (t)
            t->silent_alert = false;
    }
    if (t && e->body_case == FLOORWALKER__EVENT__BODY_HEARTBEAT) {
        uint64_t depth = e->heartbeat->spool_depth; /* any uint64 is valid on the wire */
        t->spool_depth = depth > INT64_MAX ? INT64_MAX : (int64_t)depth;
        t->spool_ms = now;
        t->hb_epoch = e->epoch;
        t->hb_seq = t->last_seq = e->seq;
    } else if (t && e->epoch == t->hb_epoch && e->seq > t->last_seq) {
        t->last_seq = e->seq;
    }
    if (e->body_case == FLOORWALKER__EVENT__BODY_HEARTBEAT && e->heartbeat->terminal_time_ms) {
        int64_t skew; /* validation keeps the time >= 0; saturate anyway */
        if (__builtin_sub_overflow(e->heartbeat->terminal_time_ms, now, &skew))
            skew = e->heartbeat->terminal_time_ms < now ? INT64_MIN / 2 : INT64_MAX / 2;
        int64_t lim = TH(e->store_id, TH_CLOCK_SKEW_SECONDS) * 1000;
        int64_t v = msg_seconds_up(skew);
        if (skew > lim || skew < -lim)
            alerts_raise_fn(ru->a, RULE_CLOCK_SKEW, e->store_id, region, e->terminal_id, SEV_INFO,
                            v, lim / 1000, -1, clock_skew_msg);
        else
            alerts_clear(ru->a, RULE_CLOCK_SKEW, e->store_id, e->terminal_id, NULL);
    }
    if (htab_count(ru->terminals) > (size_t)ru->cfg->terminal_records_max)
        bound_terminals(ru); /* t may be gone now: not used below */
    /* The timer rules that an event ends (or starts a grace for). */
    if (s && e->body_case == FLOORWALKER__EVENT__BODY_SHIFT)
        s->rota_ms = now;
    if (e->body_case == FLOORWALKER__EVENT__BODY_SHIFT && e->shift->cancelled)
        alerts_clear(ru->a, RULE_NO_SHOW, e->store_id, e->shift->shift_id, "shift cancelled");
    if (e->body_case == FLOORWALKER__EVENT__BODY_COMPLAINT &&
        (e->complaint->action == FLOORWALKER__COMPLAINT__ACTION__RESPONDED ||
         e->complaint->action == FLOORWALKER__COMPLAINT__ACTION__RESOLVED))
        alerts_clear(ru->a, RULE_COMPLAINT_OVERDUE, e->store_id, e->complaint->complaint_id,
                     e->complaint->action == FLOORWALKER__COMPLAINT__ACTION__RESPONDED
                         ? "responded"
                         : "complaint resolved");
    /* no_show is keyed by the shift: a CLOCK_IN resolves it at the next rule pass, which
     * reads the shift it matched (CELL_DAY_SHIFT). */
}

/* ---- timer rules ---------------------------------------------------------------------------- */

struct store_ctx {
    struct rules *ru;
    const struct store_info *s;
    struct store_txn *txn;
    int64_t now;
    int32_t today;
    int32_t scan_day;  /* the day of the shifts being visited */
    int64_t scheduled; /* live shifts running now (understaffed) */
    bool rota_today;   /* a live shift starts today (understaffed takes its minimum from it) */
};

static void visit_overdue(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct store_ctx *c = arg;
    char id[FW_ID_MAX + 1];
    if (!rollup_suffix_id(suf, n, id))
        return;
    int64_t sla = config_threshold(c->ru->cfg, c->s->id, TH_COMPLAINT_SLA_HOURS) * 3600000LL;
    int64_t age = msg_seconds_up(c->now - v[CX_OPENED_MS]);
    if (v[CX_OPEN] && v[CX_OPENED_MS] && !v[CX_RESPONDED_MS] && c->now - v[CX_OPENED_MS] > sla)
        alerts_raise(c->ru->a, RULE_COMPLAINT_OVERDUE, c->s->id, c->s->region, id, SEV_WARNING, age,
                     sla / 1000, -1,
                     "complaint %s (%s) has had no response for %s, longer than the %s allowed", id,
                     tag ? tag : "", MSG_DURATION(age), MSG_DURATION(sla / 1000));
    else if (!v[CX_OPEN] || v[CX_RESPONDED_MS])
        alerts_clear(c->ru->a, RULE_COMPLAINT_OVERDUE, c->s->id, id,
                     v[CX_RESPONDED_MS] ? "responded" : "complaint resolved");
}

/* no_show, one alert per shift (subject: its shift_id), so that one day's absence cannot
 * stand for another's. Also counts the shifts running now for understaffed. */
static void visit_no_show(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct store_ctx *c = arg;
    char emp[FW_ID_MAX + 1];
    if (!rollup_suffix_id(suf, n, emp) || !tag || !tag[0])
        return;
    if (!v[FS_LIVE]) {
        /* Cancelled, or moved to another day (whose cell judges it then). */
        uint8_t k[160];
        int64_t ss[SS_N];
        size_t kl = rollup_key(k, CELL_SHIFT, c->s->id, "s", tag);
        if (!rollup_get(c->ru->r, c->txn, k, kl, ss, SS_N, NULL, 0) || !ss[SS_LIVE])
            alerts_clear(c->ru->a, RULE_NO_SHOW, c->s->id, tag, "shift cancelled");
        return;
    }
    if (c->scan_day == c->today)
        c->rota_today = true;
    if (rollup_shift_running(v, c->now))
        c->scheduled++;
    if (v[FS_CLOCK_IN]) {
        alerts_clear(c->ru->a, RULE_NO_SHOW, c->s->id, tag, "clocked in");
        return;
    }
    if (c->now >= v[FS_END]) {
        alerts_clear(c->ru->a, RULE_NO_SHOW, c->s->id, tag, "shift ended without clock-in");
        return;
    }
    int64_t after = config_threshold(c->ru->cfg, c->s->id, TH_NO_SHOW_MINUTES) * 60000;
    if (v[FS_START] + after < c->now) {
        int64_t since = msg_seconds_up(c->now - v[FS_START]);
        struct tz_local l;
        tz_local(c->s->tz, v[FS_START], &l);
        char day[11];
        tz_format_day(l.day, day);
        alerts_raise(c->ru->a, RULE_NO_SHOW, c->s->id, c->s->region, tag, SEV_WARNING, since,
                     after / 1000, -1,
                     "%s has not clocked in for shift %s (%s %02d:%02d store time), which started "
                     "%s ago, more than %s",
                     emp, tag, day, l.hour, l.minute, MSG_DURATION(since),
                     MSG_DURATION(after / 1000));
    }
}

/* shrink_high, judged once on a closed day (at the first rule pass of the next store-local
 * day) from that day's figures: in the morning the day's net sales are too small a base. */
static void shrink_closed_day(struct rules *ru, const struct store_info *s, struct store_txn *txn,
                              int32_t day)
{
    uint8_t k[160];
    int64_t value = 0, mv[MV_N], sd[SH_N];
    for (int kind = FLOORWALKER__STOCK_MOVE__KIND__DAMAGE;
         kind <= FLOORWALKER__STOCK_MOVE__KIND__SHRINK; kind++) {
        rollup_get(ru->r, txn, k, rollup_key(k, CELL_MOVES, s->id, "db", day, kind), mv, MV_N, NULL,
                   0);
        value += mv[MV_VALUE];
    }
    rollup_get(ru->r, txn, k, rollup_key(k, CELL_SALES_DAY, s->id, "d", day), sd, SH_N, NULL, 0);
    int64_t net = sd[SH_NET];
    int64_t bp = TH(s->id, TH_SHRINK_RATE_BP), min = TH(s->id, TH_SHRINK_MIN_CENTS);
    int64_t limit = net > 0 ? net * bp / 10000 : 0;
    if (limit < min)
        limit = min;
    char subj[16], prev[16];
    tz_format_day(day, subj);
    tz_format_day(day - 1, prev);
    alerts_clear(ru->a, RULE_SHRINK_HIGH, s->id, prev, "the next day ended");
    if (value > limit)
        alerts_raise(ru->a, RULE_SHRINK_HIGH, s->id, s->region, subj, SEV_WARNING, value, limit,
                     day,
                     "damage and shrink on %s (a closed day) were worth %s, over the limit of %s "
                     "(%s of that day's net sales %s, at least %s)",
                     subj, MSG_MONEY(ru->cfg, value, s->id), MSG_MONEY(ru->cfg, limit, s->id),
                     MSG_RATE(bp), MSG_MONEY(ru->cfg, net, s->id), MSG_MONEY(ru->cfg, min, s->id));
}

static void tick_store(struct rules *ru, const struct store_info *s, struct store_txn *txn,
                       int64_t now)
{
    struct tz_local l;
    tz_local(s->tz, now, &l);
    struct store_ctx c = {ru, s, txn, now, l.day, l.day, 0, false};
    alerts_end_days(ru->a, s->id, l.day);
    uint8_t k[160];
    size_t kl;
    int open_min = s->open_min, close_min = s->close_min, m = l.hour * 60 + l.minute;
    bool open = m >= open_min && m < close_min;

    kl = rollup_key(k, CELL_COMPLAINT, s->id, "");
    if (rollup_scan(ru->r, txn, k, kl, visit_overdue, &c) != FW_OK)
        log_warn("complaint_overdue: cannot read the complaints of %s", s->id);
    for (int32_t d = l.day - 1; d <= l.day; d++) {
        c.scan_day = d;
        kl = rollup_key(k, CELL_DAY_SHIFT, s->id, "d", d);
        if (rollup_scan(ru->r, txn, k, kl, visit_no_show, &c) != FW_OK)
            log_warn("no_show: cannot read the shifts of %s", s->id);
    }

    rules_event_tick(ru->ev, s, txn, now);

    struct seen_store *ss = seen_store(ru, s->id);
    if (ss)
        ss->open = open;

    /* understaffed: the minimum is min_staff, or, when today has a rota (a live shift starting
     * today), the number of shifts running now capped by min_staff. Not newly raised in the
     * grace after opening or after a change of the rota. */
    int64_t staff = 0, min_staff = TH(s->id, TH_MIN_STAFF), need = min_staff;
    if (c.rota_today && c.scheduled < need)
        need = c.scheduled;
    int64_t grace = TH(s->id, TH_UNDERSTAFFED_GRACE_MINUTES);
    bool in_grace =
        m - open_min < grace || (ss && ss->rota_ms && now - ss->rota_ms < grace * 60000);
    kl = rollup_key(k, CELL_ON_DUTY_NOW, s->id, "");
    rollup_get(ru->r, txn, k, kl, &staff, 1, NULL, 0);
    if (open && staff < need) {
        if (!in_grace || alerts_active(ru->a, RULE_UNDERSTAFFED, s->id, ""))
            alerts_raise(
                ru->a, RULE_UNDERSTAFFED, s->id, s->region, "", SEV_WARNING, staff, need, -1,
                "%" PRId64 " on duty during opening hours, below the minimum of %" PRId64 " (%s)",
                staff, need,
                c.rota_today ? (need < min_staff ? "the shifts on the rota now"
                                                 : "min_staff; the rota has at least as many")
                             : "min_staff; no rota for today");
    } else {
        alerts_clear(ru->a, RULE_UNDERSTAFFED, s->id, "",
                     open ? "back at the minimum" : "closing time");
    }

    int64_t hour_key = (int64_t)l.day * 24 + l.hour;
    if (ss && ss->report_hour >= 0 && ss->report_hour != hour_key) {
        int32_t pd = (int32_t)(ss->report_hour / 24);
        reports_publish(ru->r, ru->st, ru->a, s, pd, (int)(ss->report_hour % 24), pd != l.day, now);
        if (pd != l.day)
            shrink_closed_day(ru, s, txn, pd);
    }
    if (ss)
        ss->report_hour = hour_key;
    int64_t silent = TH(s->id, TH_STORE_SILENT_MINUTES) * 60000;
    if (ss && open && now - ss->last_ms > silent) {
        ss->silent_alert = true;
        int64_t v = msg_seconds_up(now - ss->last_ms);
        alerts_raise(ru->a, RULE_STORE_SILENT, s->id, s->region, "", SEV_CRITICAL, v, silent / 1000,
                     -1, "no event or heartbeat from any terminal for %s, longer than %s",
                     MSG_DURATION(v), MSG_DURATION(silent / 1000));
    }

    /* sales_behind_target, judged at each hour during opening hours. */
    int64_t target = 0, sd[SH_N];
    kl = rollup_key(k, CELL_TARGET, s->id, "d", l.day);
    rollup_get(ru->r, txn, k, kl, &target, 1, NULL, 0);
    kl = rollup_key(k, CELL_SALES_DAY, s->id, "d", l.day);
    rollup_get(ru->r, txn, k, kl, sd, SH_N, NULL, 0);
    char subj[16];
    tz_format_day(l.day, subj);
    if (open && target > 0 && close_min > open_min) {
        int64_t pct = TH(s->id, TH_SALES_BEHIND_PCT);
        if (ss && ss->profile.day != l.day)
            sales_profile_read(ru->r, txn, s->id, l.day, &ss->profile);
        bool profiled = ss && ss->profile.total > 0;
        int64_t due =
            sales_due(ss ? &ss->profile : NULL, target, pct, open_min, close_min, l.hour, l.minute);
        /* A shortfall of less than sales_behind_min_gap_pct of the day's target is not worth a
         * supervisor's look: early in the day what is due is small and an hour's sales at a
         * few tills are noisy, so a store a few sales short of a line it ends far above would
         * fire. Once firing, the alert stays until net is back at what is due. */
        int64_t gap = target * TH(s->id, TH_SALES_BEHIND_MIN_GAP_PCT) / 100;
        bool new_hour = ss && ss->last_hour != l.hour;
        bool firing = alerts_active(ru->a, RULE_SALES_BEHIND_TARGET, s->id, subj);
        if (sd[SH_NET] < due && new_hour && (firing || due - sd[SH_NET] >= gap))
            alerts_raise(ru->a, RULE_SALES_BEHIND_TARGET, s->id, s->region, subj, SEV_WARNING,
                         sd[SH_NET], due, l.day,
                         "net sales of %s today are below the %s due by now (%" PRId64
                         "%% of the day's target %s, %s)",
                         MSG_MONEY(ru->cfg, sd[SH_NET], s->id), MSG_MONEY(ru->cfg, due, s->id), pct,
                         MSG_MONEY(ru->cfg, target, s->id),
                         !profiled ? "pro rata over the opening hours (no sales history yet)"
                         : ss->profile.weekdays
                             ? "by the store's hourly profile of the last 4 same weekdays"
                             : "by the store's hourly profile of its last 7 days");
        else if (sd[SH_NET] >= due)
            alerts_clear(ru->a, RULE_SALES_BEHIND_TARGET, s->id, subj, "caught up with the target");
        if (ss)
            ss->last_hour = l.hour;
    }
}

struct term_ctx {
    struct rules *ru;
    int64_t now;
};

/* A terminal silent while another of its store is live. */
static void tick_terminal(const char *id, void *val, void *arg)
{
    struct term_ctx *c = arg;
    struct seen_terminal *t = val;
    struct rules *ru = c->ru;
    int64_t lim = TH(t->store, TH_TERMINAL_SILENT_MINUTES) * 60000;
    if (c->now - t->last_ms <= lim)
        return;
    struct seen_store *ss = htab_get(ru->stores, t->store);
    if (ss && !ss->open) {
        /* Outside opening hours a till switched off is not an alarm. */
        if (t->silent_alert)
            alerts_clear(ru->a, RULE_TERMINAL_SILENT, t->store, id, "store closed");
        t->silent_alert = false;
        return;
    }
    if (!ss || c->now - ss->last_ms > lim)
        return; /* the whole store is quiet: store_silent's business */
    const struct store_info *si = rollup_store(ru->r, t->store);
    t->silent_alert = true;
    int64_t v = msg_seconds_up(c->now - t->last_ms);
    alerts_raise(ru->a, RULE_TERMINAL_SILENT, t->store, si ? si->region : "default", id,
                 SEV_WARNING, v, lim / 1000, -1,
                 "terminal %s has been silent for %s, longer than %s, while others are live", id,
                 MSG_DURATION(v), MSG_DURATION(lim / 1000));
}

void rules_tick(struct rules *ru)
{
    if (!ru)
        return;
    int64_t now = alerts_now(ru->a);
    struct store_txn t;
    store_txn_begin(ru->st, &t, true);
    if (t.err) {
        log_warn("rules: cannot read the database");
        return;
    }
    size_t n;
    const struct store_info *const *all = rollup_stores(ru->r, &n);
    for (size_t i = 0; i < n; i++)
        tick_store(ru, all[i], &t, now);
    store_txn_abort(&t);
    struct term_ctx tc = {ru, now};
    htab_foreach(ru->terminals, tick_terminal, &tc);
    alerts_flush(ru->a);
}

/* What is left of the spool its last heartbeat reported: a terminal sends its spool in seq
 * order, so each event heard from it since (same epoch) is one fewer waiting. A terminal that
 * drained its spool and then fell quiet (a sim that ended, a till switched off) so shows 0
 * instead of its last report until its next heartbeat. */
static int64_t spool_left(const struct seen_terminal *t)
{
    uint64_t since = t->last_seq - t->hb_seq;
    return since >= (uint64_t)t->spool_depth ? 0 : t->spool_depth - (int64_t)since;
}

struct spool_rows {
    struct result *res;
    struct rtable t;
};

static void spool_row(const char *id, void *val, void *arg)
{
    struct spool_rows *s = arg;
    struct seen_terminal *t = val;
    if (t->spool_ms)
        res_row(s->res, &s->t, "ssiii", id, t->store, spool_left(t), t->spool_depth, t->spool_ms);
}

void rules_stats(struct rules *ru, struct result *res)
{
    if (!ru)
        return;
    struct spool_rows s = {res, res_table(res, "terminal_spools", 5, "terminal", "store",
                                          "spool_depth", "reported_depth", "reported_ms")};
    htab_foreach(ru->terminals, spool_row, &s);
}

/* ---- spot check ----------------------------------------------------------------------------- */

struct spot {
    char (*ids)[FW_ID_MAX + 1];
    int64_t *since;
    size_t n, cap;
};

static void visit_on_duty(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct spot *s = arg;
    if (!v[WK_IN_MS] || v[WK_BREAK_START])
        return;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        char(*ni)[FW_ID_MAX + 1] = realloc(s->ids, ncap * sizeof *ni);
        if (!ni)
            return;
        s->ids = ni;
        int64_t *ns = realloc(s->since, ncap * sizeof *ns);
        if (!ns)
            return;
        s->since = ns;
        s->cap = ncap;
    }
    if (!rollup_suffix_id(suf, n, s->ids[s->n]))
        return;
    s->since[s->n++] = v[WK_IN_MS];
}

void rules_spotcheck(struct rules *ru, const Floorwalker__Query *q, struct result *res)
{
    if (!q->store_id[0]) {
        res_error(res, "spotcheck needs a store");
        return;
    }
    if (!rollup_store(ru->r, q->store_id)) {
        res_not_found(res, "unknown store \"%.64s\"", q->store_id);
        return;
    }
    struct store_txn tx;
    store_txn_begin(ru->st, &tx, true);
    if (tx.err) {
        res_error(res, "cannot read the database");
        return;
    }
    struct spot s = {0};
    uint8_t k[160];
    size_t kl = rollup_key(k, CELL_WORKER, q->store_id, "");
    fw_err err = rollup_scan(ru->r, &tx, k, kl, visit_on_duty, &s);
    store_txn_abort(&tx);
    if (err != FW_OK) {
        res->oom = true;
        goto out;
    }
    /* Fewer than 5: all; 5-20: half; more than 20: 30% (rounded up). */
    size_t want = s.n < 5 ? s.n : s.n <= 20 ? (s.n + 1) / 2 : (s.n * 3 + 9) / 10;
    uint64_t rng = q->seed ? q->seed : (uint64_t)fw_mono_ns() | 1;
    for (size_t i = 0; i < want; i++) { /* partial Fisher-Yates */
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t j = i + (size_t)(rng % (s.n - i));
        char tmp[FW_ID_MAX + 1];
        memcpy(tmp, s.ids[i], sizeof tmp);
        memcpy(s.ids[i], s.ids[j], sizeof tmp);
        memcpy(s.ids[j], tmp, sizeof tmp);
        int64_t t = s.since[i];
        s.since[i] = s.since[j];
        s.since[j] = t;
    }
    struct rtable t =
        res_table(res, "spotcheck", 4, "store", "employee", "clocked_in_ms", "on_duty");
    for (size_t i = 0; i < want; i++)
        res_row(res, &t, "ssii", q->store_id, s.ids[i], s.since[i], (int64_t)s.n);
out:
    free(s.ids);
    free(s.since);
}

/* ---- life cycle ----------------------------------------------------------------------------- */

fw_err rules_create(struct rules **out, const struct config *cfg, struct store *st,
                    struct rollup *r, struct alerts *a)
{
    struct rules *ru = calloc(1, sizeof *ru);
    if (!ru)
        return FW_ENOMEM;
    ru->cfg = cfg;
    ru->st = st;
    ru->r = r;
    ru->a = a;
    ru->started_ms = alerts_now(a);
    ru->stores = htab_new();
    ru->terminals = htab_new();
    if (!ru->stores || !ru->terminals || rules_event_create(&ru->ev, cfg, r, a) != FW_OK) {
        rules_destroy(&ru);
        return FW_ENOMEM;
    }
    *out = ru;
    return FW_OK;
}

void rules_destroy(struct rules **pru)
{
    struct rules *ru = *pru;
    if (!ru)
        return;
    htab_destroy(&ru->stores, free);
    htab_destroy(&ru->terminals, free);
    rules_event_destroy(&ru->ev);
    free(ru);
    *pru = NULL;
}
