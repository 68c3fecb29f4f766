#include "rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "htab.h"
#include "reports.h"
#include "log.h"
#include "tz.h"

struct seen_store {
    int64_t last_ms;
    int last_hour;       /* local hour of the last sales_behind_target judgement */
    int64_t report_hour; /* day * 24 + hour last seen by the rollup reports; -1: not yet */
    bool silent_alert;   /* store_silent may be active (raised, or stored before a restart) */
};

struct seen_terminal {
    char store[FW_ID_MAX + 1];
    int64_t last_ms;
    int64_t spool_depth, spool_ms; /* from its last heartbeat */
    bool silent_alert;             /* terminal_silent may be active */
};

struct rules {
    const struct config *cfg;
    struct store *st;
    struct rollup *r;
    struct alerts *a;
    struct htab *stores;    /* id -> seen_store */
    struct htab *terminals; /* id -> seen_terminal */
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
    s->silent_alert = true;
    return s;
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
        alerts_clear(ru->a, "store_silent", e->store_id, "");
        if (s)
            s->silent_alert = false;
    }
    if (!t || t->silent_alert) {
        alerts_clear(ru->a, "terminal_silent", e->store_id, e->terminal_id);
        if (t)
            t->silent_alert = false;
    }
    if (t && e->body_case == FLOORWALKER__EVENT__BODY_HEARTBEAT) {
        t->spool_depth = (int64_t)e->heartbeat->spool_depth;
        t->spool_ms = now;
    }
    if (e->body_case == FLOORWALKER__EVENT__BODY_HEARTBEAT && e->heartbeat->terminal_time_ms) {
        int64_t skew; /* validation keeps the time >= 0; saturate anyway */
        if (__builtin_sub_overflow(e->heartbeat->terminal_time_ms, now, &skew))
            skew = e->heartbeat->terminal_time_ms < now ? INT64_MIN / 2 : INT64_MAX / 2;
        int64_t lim = TH(e->store_id, TH_CLOCK_SKEW_SECONDS) * 1000;
        if (skew > lim || skew < -lim)
            alerts_raise(ru->a, "clock_skew", e->store_id, region, e->terminal_id, SEV_INFO,
                         skew / 1000, lim / 1000, -1,
                         "terminal %s's clock is %" PRId64 " s %s the daemon's", e->terminal_id,
                         skew < 0 ? -skew / 1000 : skew / 1000, skew < 0 ? "behind" : "ahead of");
        else
            alerts_clear(ru->a, "clock_skew", e->store_id, e->terminal_id);
    }
}

/* ---- timer rules ---------------------------------------------------------------------------- */

struct store_ctx {
    struct rules *ru;
    const struct store_info *s;
    MDB_txn *txn;
    int64_t now;
    int32_t today;
};

static void visit_overdue(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct store_ctx *c = arg;
    char id[FW_ID_MAX + 1];
    if (!rollup_suffix_id(suf, n, id))
        return;
    int64_t sla = config_threshold(c->ru->cfg, c->s->id, TH_COMPLAINT_SLA_HOURS) * 3600000LL;
    if (v[CX_OPEN] && v[CX_OPENED_MS] && !v[CX_RESPONDED_MS] && c->now - v[CX_OPENED_MS] > sla)
        alerts_raise(c->ru->a, "complaint_overdue", c->s->id, c->s->region, id, SEV_WARNING,
                     (c->now - v[CX_OPENED_MS]) / 3600000, sla / 3600000, -1,
                     "complaint %s (%s) has had no response for %" PRId64 " hours", id,
                     tag ? tag : "", (c->now - v[CX_OPENED_MS]) / 3600000);
    else if (!v[CX_OPEN] || v[CX_RESPONDED_MS])
        alerts_clear(c->ru->a, "complaint_overdue", c->s->id, id);
}

static void visit_no_show(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct store_ctx *c = arg;
    char emp[FW_ID_MAX + 1];
    if (!rollup_suffix_id(suf, n, emp))
        return;
    int64_t after = config_threshold(c->ru->cfg, c->s->id, TH_NO_SHOW_MINUTES) * 60000;
    /* Only shifts that started in the last 24 hours: older ones are history, not alerts. */
    if (v[FS_LIVE] && !v[FS_CLOCK_IN] && v[FS_START] + after < c->now &&
        c->now - v[FS_START] < 86400000LL)
        alerts_raise(c->ru->a, "no_show", c->s->id, c->s->region, emp, SEV_WARNING,
                     (c->now - v[FS_START]) / 60000, after / 60000, -1,
                     "%s has not clocked in for shift %s that started %" PRId64 " minutes ago", emp,
                     tag ? tag : "", (c->now - v[FS_START]) / 60000);
}

/* Keeps only the sales row of one period (the hour being reported). */
static void keep_period(Floorwalker__QueryResult *r, const char *period)
{
    for (size_t i = 0; i < r->n_tables; i++) {
        Floorwalker__Table *t = r->tables[i];
        size_t j = 0;
        for (size_t k = 0; k < t->n_rows; k++)
            if (t->rows[k]->n_cells && t->rows[k]->cells[0]->v_case == FLOORWALKER__VALUE__V_S &&
                !strcmp(t->rows[k]->cells[0]->s, period))
                t->rows[j++] = t->rows[k];
        t->n_rows = j;
    }
}

/* Publishes the rollup report of a store-local hour (and of the day, at its end) on
 * rollup/<region>/<store>/hour|day: a QueryResult with the same tables as the queries. */
static void report(struct rules *ru, const struct store_info *s, int32_t day, int hour,
                   bool day_end, int64_t now)
{
    struct arena ar;
    arena_init(&ar, 64 << 20);
    char d[11], period[32], topic[200];
    tz_format_day(day, d);
    for (int pass = 0; pass < (day_end ? 2 : 1); pass++) {
        struct result res = {.a = &ar, .r = FLOORWALKER__QUERY_RESULT__INIT};
        Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
        q.store_id = (char *)s->id;
        q.from_day = d;
        q.to_day = d;
        if (pass == 0) {
            q.kind = FLOORWALKER__QUERY__KIND__SALES;
            q.granularity = (char *)"hour";
            reports_run(ru->r, ru->st, &q, &res, now);
            snprintf(period, sizeof period, "%s %02d:00", d, hour);
            keep_period(&res.r, period);
        } else {
            static const Floorwalker__Query__Kind kinds[] = {
                FLOORWALKER__QUERY__KIND__SALES, FLOORWALKER__QUERY__KIND__CASHIERS,
                FLOORWALKER__QUERY__KIND__COMPLAINTS, FLOORWALKER__QUERY__KIND__STOCK,
                FLOORWALKER__QUERY__KIND__ATTENDANCE};
            for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                q.kind = kinds[i];
                reports_run(ru->r, ru->st, &q, &res, now);
            }
        }
        if (res.oom || res.r.status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
            log_warn("rollup report of %s %s: %s", s->id, d,
                     res.oom ? "out of memory" : res.r.error);
            break;
        }
        size_t n = floorwalker__query_result__get_packed_size(&res.r);
        uint8_t *buf = arena_alloc(&ar, n ? n : 1);
        if (buf) {
            floorwalker__query_result__pack(&res.r, buf);
            snprintf(topic, sizeof topic, "rollup/%s/%s/%s", s->region, s->id,
                     pass ? "day" : "hour");
            alerts_publish(ru->a, topic, buf, n);
        }
    }
    arena_destroy(&ar);
}

static void tick_store(struct rules *ru, const struct store_info *s, MDB_txn *txn, int64_t now)
{
    struct tz_local l;
    tz_local(s->tz, now, &l);
    struct store_ctx c = {ru, s, txn, now, l.day};
    alerts_end_days(ru->a, s->id, l.day);
    uint8_t k[160];
    size_t kl;
    int open_min, close_min, m = l.hour * 60 + l.minute;
    config_hours(ru->cfg, s->id, &open_min, &close_min);
    bool open = m >= open_min && m < close_min;

    kl = rollup_key(k, CELL_COMPLAINT, s->id, "");
    if (rollup_scan(ru->r, txn, k, kl, visit_overdue, &c) != FW_OK)
        log_warn("complaint_overdue: cannot read the complaints of %s", s->id);
    for (int32_t d = l.day - 1; d <= l.day; d++) {
        kl = rollup_key(k, CELL_DAY_SHIFT, s->id, "d", d);
        if (rollup_scan(ru->r, txn, k, kl, visit_no_show, &c) != FW_OK)
            log_warn("no_show: cannot read the shifts of %s", s->id);
    }

    /* complaint_surge resolves when fewer than the threshold were opened in the last 24 h. */
    int64_t v[SURGE_MAX + 1];
    kl = rollup_key(k, CELL_SURGE, s->id, "");
    int64_t n = TH(s->id, TH_COMPLAINT_SURGE_COUNT);
    if (n > SURGE_MAX)
        n = SURGE_MAX;
    if (rollup_get(ru->r, txn, k, kl, v, SURGE_MAX + 1, NULL, 0) &&
        (v[0] < n || now - v[n] > 86400000LL))
        alerts_clear(ru->a, "complaint_surge", s->id, "");

    int64_t staff = 0, min_staff = TH(s->id, TH_MIN_STAFF);
    kl = rollup_key(k, CELL_ON_DUTY_NOW, s->id, "");
    rollup_get(ru->r, txn, k, kl, &staff, 1, NULL, 0);
    if (open && staff < min_staff)
        alerts_raise(ru->a, "understaffed", s->id, s->region, "", SEV_WARNING, staff, min_staff, -1,
                     "%" PRId64 " on duty during opening hours; the minimum is %" PRId64, staff,
                     min_staff);
    else
        alerts_clear(ru->a, "understaffed", s->id, "");

    struct seen_store *ss = seen_store(ru, s->id);
    int64_t hour_key = (int64_t)l.day * 24 + l.hour;
    if (ss && ss->report_hour >= 0 && ss->report_hour != hour_key) {
        int32_t pd = (int32_t)(ss->report_hour / 24);
        report(ru, s, pd, (int)(ss->report_hour % 24), pd != l.day, now);
    }
    if (ss)
        ss->report_hour = hour_key;
    int64_t silent = TH(s->id, TH_STORE_SILENT_MINUTES) * 60000;
    if (ss && open && now - ss->last_ms > silent) {
        ss->silent_alert = true;
        alerts_raise(ru->a, "store_silent", s->id, s->region, "", SEV_CRITICAL,
                     (now - ss->last_ms) / 60000, silent / 60000, -1,
                     "no event or heartbeat from any terminal for %" PRId64 " minutes",
                     (now - ss->last_ms) / 60000);
    }

    /* sales_behind_target, judged at each hour during opening hours. */
    int64_t target = 0, dt[DT_N];
    kl = rollup_key(k, CELL_TARGET, s->id, "d", l.day);
    rollup_get(ru->r, txn, k, kl, &target, 1, NULL, 0);
    kl = rollup_key(k, CELL_DAY_TOTAL, s->id, "d", l.day);
    rollup_get(ru->r, txn, k, kl, dt, DT_N, NULL, 0);
    char subj[16];
    tz_format_day(l.day, subj);
    if (open && target > 0 && close_min > open_min) {
        int64_t pct = TH(s->id, TH_SALES_BEHIND_PCT);
        int64_t due = target * (m - open_min) / (close_min - open_min) * pct / 100;
        bool new_hour = ss && ss->last_hour != l.hour;
        if (dt[DT_NET] < due && new_hour)
            alerts_raise(ru->a, "sales_behind_target", s->id, s->region, subj, SEV_WARNING,
                         dt[DT_NET], due, l.day,
                         "net sales %" PRId64 " are below %" PRId64 "%% of the target due by "
                         "now (%" PRId64 " of %" PRId64 ")",
                         dt[DT_NET], pct, due, target);
        else if (dt[DT_NET] >= due)
            alerts_clear(ru->a, "sales_behind_target", s->id, subj);
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
    if (!ss || c->now - ss->last_ms > lim)
        return; /* the whole store is quiet: store_silent's business */
    const struct store_info *si = rollup_store(ru->r, t->store);
    t->silent_alert = true;
    alerts_raise(ru->a, "terminal_silent", t->store, si ? si->region : "default", id, SEV_WARNING,
                 (c->now - t->last_ms) / 60000, lim / 60000, -1,
                 "terminal %s has been silent for %" PRId64 " minutes while others are live", id,
                 (c->now - t->last_ms) / 60000);
}

void rules_tick(struct rules *ru)
{
    if (!ru)
        return;
    int64_t now = alerts_now(ru->a);
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(ru->st->env, NULL, MDB_RDONLY, &txn) != 0) {
        log_warn("rules: cannot read the database");
        return;
    }
    size_t n;
    const struct store_info *const *all = rollup_stores(ru->r, &n);
    for (size_t i = 0; i < n; i++)
        tick_store(ru, all[i], txn, now);
    mdb_txn_abort(txn);
    struct term_ctx tc = {ru, now};
    htab_foreach(ru->terminals, tick_terminal, &tc);
    alerts_flush(ru->a);
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
        res_row(s->res, &s->t, "ssii", id, t->store, t->spool_depth, t->spool_ms);
}

void rules_stats(struct rules *ru, struct result *res)
{
    if (!ru)
        return;
    struct spool_rows s = {res, res_table(res, "terminal_spools", 4, "terminal", "store",
                                          "spool_depth", "reported_ms")};
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
    if (!q->store_id[0] || !rollup_store(ru->r, q->store_id)) {
        res_error(res, q->store_id[0] ? "unknown store \"%.64s\"" : "spotcheck needs a store%.0s",
                  q->store_id);
        return;
    }
    MDB_txn *txn;
    if (mdb_txn_begin(ru->st->env, NULL, MDB_RDONLY, &txn) != 0) {
        res_error(res, "cannot read the database");
        return;
    }
    struct spot s = {0};
    uint8_t k[160];
    size_t kl = rollup_key(k, CELL_WORKER, q->store_id, "");
    fw_err err = rollup_scan(ru->r, txn, k, kl, visit_on_duty, &s);
    mdb_txn_abort(txn);
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
    if (!ru->stores || !ru->terminals) {
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
    free(ru);
    *pru = NULL;
}
