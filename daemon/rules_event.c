#include "rules_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tz.h"

struct rules_event {
    const struct config *cfg;
    struct rollup *r;
    struct alerts *a;
};

#define TH(s, t) config_threshold(re->cfg, (s)->id, (t))
#define KEYMAX 160

static const char *const severity_names[] = {"", "MINOR", "MAJOR", "CRITICAL"};
static const char *const channel_names[] = {"", "COUNTER", "PHONE", "ONLINE", "REGULATOR"};

static int32_t today_of(const struct rules_event *re, const struct store_info *s)
{
    struct tz_local l;
    tz_local(s->tz, alerts_now(re->a), &l);
    return l.day;
}

/* "<what>@<day>": the subject of a rule judged per day ("<day>" without what). */
static void day_subject(char *out, size_t len, const char *what, int32_t day)
{
    char d[11];
    tz_format_day(day, d);
    if (what && what[0])
        snprintf(out, len, "%s@%s", what, d);
    else if (len >= sizeof d)
        memcpy(out, d, sizeof d); /* once per sale: no snprintf */
    else if (len) {
        memcpy(out, d, len - 1);
        out[len - 1] = '\0';
    }
}

/* ---- sales ---------------------------------------------------------------------------------- */

static void return_rate(struct rules_event *re, const struct rollup_applied *ap)
{
    const struct store_info *s = ap->s;
    int32_t day = ap->day;
    uint8_t k[KEYMAX];
    int64_t sd[SH_N];
    if (!rollup_sales_day(re->r, ap, sd, SH_N))
        rollup_peek(re->r, k, rollup_key(k, CELL_SALES_DAY, s->id, "d", day), sd, SH_N, NULL, 0);
    char subj[16];
    day_subject(subj, sizeof subj, NULL, day);
    int64_t pct = TH(s, TH_RETURN_RATE_PCT), min = TH(s, TH_RETURN_RATE_MIN_TXNS);
    int64_t bp = sd[SH_GROSS] ? sd[SH_RET_C] * 10000 / sd[SH_GROSS] : 0;
    if (sd[SH_TXNS] >= min && sd[SH_GROSS] > 0 && sd[SH_RET_C] * 100 >= pct * sd[SH_GROSS])
        alerts_raise(re->a, RULE_RETURN_RATE_HIGH, s->id, s->region, subj, SEV_WARNING, bp,
                     pct * 100, day,
                     "returns are %s of gross sales today, at or above %s (%s of %s, %" PRId64
                     " transactions)",
                     MSG_RATE(bp), MSG_RATE(pct * 100), MSG_MONEY(re->cfg, sd[SH_RET_C], s->id),
                     MSG_MONEY(re->cfg, sd[SH_GROSS], s->id), sd[SH_TXNS]);
    else
        alerts_clear(re->a, RULE_RETURN_RATE_HIGH, s->id, subj, NULL);
}

static void cashier_returns(struct rules_event *re, const struct store_info *s, int32_t day,
                            const char *cashier)
{
    uint8_t k[KEYMAX];
    int64_t ka[KA_N];
    rollup_peek(re->r, k, rollup_key(k, CELL_CASHIER, s->id, "ds", day, cashier), ka, KA_N, NULL,
                0);
    char subj[128];
    day_subject(subj, sizeof subj, cashier, day);
    int64_t n = ka[KA_RET_N] + ka[KA_VOID_N], max = TH(s, TH_CASHIER_RETURNS_MAX);
    if (n > max)
        alerts_raise(re->a, RULE_CASHIER_RETURNS_HIGH, s->id, s->region, subj, SEV_WARNING, n, max,
                     day, "cashier %s has %" PRId64 " returns and post-voids today, over %" PRId64,
                     cashier, n, max);
}

/* The stock rules' messages, said from the alert's figures when read (their value changes with
 * every sale of the SKU: alerts_raise_fn). */
static void negative_stock_msg(char *buf, size_t len, const Floorwalker__Alert *m)
{
    snprintf(buf, len, "book stock of %s is %s units, below %s: a data error to check", m->subject,
             MSG_QTY(m->value), MSG_QTY(m->threshold));
}

static void out_of_stock_msg(char *buf, size_t len, const Floorwalker__Alert *m)
{
    snprintf(buf, len,
             "%s is out of stock: on hand %s, at or below %s, and sold in the last 28 days",
             m->subject, MSG_QTY(m->value), MSG_QTY(m->threshold));
}

/* The on-hand cell's memo (rollup_peek_memo) keeps the SKU's two alert records (alert_hint),
 * so a sale line finds them without building and looking up their ids, and a flag: the SKU was
 * in stock when last judged, so both were cleared, and nothing has raised either since (only
 * stock() raises them). A SKU in stock that stays in stock, most sale lines, is then judged
 * without touching its alerts at all. */
enum { HINT_NEGATIVE, HINT_OUT_OF_STOCK };
#define MEMO_STOCK_QUIET 1

/* out_of_stock and negative_stock of one SKU, from its on-hand cell (line i of the event). */
static void stock(struct rules_event *re, const struct rollup_applied *ap, size_t i,
                  const char *sku)
{
    const struct store_info *s = ap->s;
    uint8_t k[KEYMAX];
    int64_t oh[OH_N];
    struct rollup_memo *memo, none = {0};
    if (!rollup_on_hand(re->r, ap, i, oh, OH_N, &memo))
        rollup_peek_memo(re->r, k, rollup_key(k, CELL_ON_HAND, s->id, "s", sku), oh, OH_N, &memo);
    if (!memo)
        memo = &none; /* out of memory: look them up */
    int64_t q = oh[OH_QTY];
    if (memo->flags == MEMO_STOCK_QUIET && q > 0)
        return;
    memo->flags = q > 0 ? MEMO_STOCK_QUIET : 0; /* q > 0: both are cleared below */
    alert_hint neg = memo->hint[HINT_NEGATIVE], out = memo->hint[HINT_OUT_OF_STOCK];
    if (q < 0)
        alerts_raise_fn_at(re->a, &neg, RULE_NEGATIVE_STOCK, s->id, s->region, sku, SEV_WARNING, q,
                           0, -1, negative_stock_msg);
    else
        alerts_clear_at(re->a, &neg, RULE_NEGATIVE_STOCK, s->id, sku, NULL);
    bool sold_recently =
        oh[OH_LAST_SOLD_MS] && alerts_now(re->a) - oh[OH_LAST_SOLD_MS] <= 28 * 86400000LL;
    if (q <= 0 && sold_recently)
        alerts_raise_fn_at(re->a, &out, RULE_OUT_OF_STOCK, s->id, s->region, sku, SEV_WARNING, q, 0,
                           -1, out_of_stock_msg);
    else if (q > 0)
        alerts_clear_at(re->a, &out, RULE_OUT_OF_STOCK, s->id, sku, NULL);
    memo->hint[HINT_NEGATIVE] = neg;
    memo->hint[HINT_OUT_OF_STOCK] = out;
}

static void drawer_limit(struct rules_event *re, const struct store_info *s, const char *drawer,
                         bool closed)
{
    uint8_t k[KEYMAX];
    int64_t d[DR_N];
    rollup_peek(re->r, k, rollup_key(k, CELL_DRAWER, s->id, "s", drawer), d, DR_N, NULL, 0);
    int64_t lim = TH(s, TH_DRAWER_LIMIT_CENTS);
    if (d[DR_OPEN] && d[DR_EXPECTED] > lim)
        alerts_raise(re->a, RULE_DRAWER_OVER_LIMIT, s->id, s->region, drawer, SEV_WARNING,
                     d[DR_EXPECTED], lim, -1,
                     "drawer %s should hold %s, over the limit of %s: a pickup is due", drawer,
                     MSG_MONEY(re->cfg, d[DR_EXPECTED], s->id), MSG_MONEY(re->cfg, lim, s->id));
    else
        alerts_clear(re->a, RULE_DRAWER_OVER_LIMIT, s->id, drawer,
                     closed ? "drawer closed" : "back at or below the limit");
}

static void on_sale(struct rules_event *re, const struct rollup_applied *ap)
{
    const struct store_info *s = ap->s;
    const Floorwalker__Sale *sa = ap->e->sale;
    for (size_t i = 0; i < sa->n_lines; i++)
        stock(re, ap, i, sa->lines[i]->sku);
    bool cash = false;
    for (size_t i = 0; i < sa->n_tenders; i++)
        cash |= sa->tenders[i]->method == FLOORWALKER__TENDER__METHOD__CASH &&
                sa->tenders[i]->amount_cents;
    uint8_t k[KEYMAX];
    int64_t cd[1];
    char drawer[FW_ID_MAX + 1];
    /* Cash moved the drawer the cashier has open. */
    if (cash &&
        rollup_peek(re->r, k, rollup_key(k, CELL_CASHIER_DRAWER, s->id, "s", sa->cashier_id), cd, 1,
                    drawer, sizeof drawer) &&
        cd[0] && drawer[0])
        drawer_limit(re, s, drawer, false);
    if (ap->day != today_of(re, s))
        return; /* a closed day is not judged again */
    return_rate(re, ap);
    if (sa->kind != FLOORWALKER__SALE__KIND__SALE)
        cashier_returns(re, s, ap->day, sa->cashier_id);
}

/* ---- stock ---------------------------------------------------------------------------------- */

static void count_variance(struct rules_event *re, const struct store_info *s,
                           const Floorwalker__StockMove *m, int64_t book)
{
    int64_t var = m->qty_milli - book, abs_var = var < 0 ? -var : var;
    int64_t abs_book = book < 0 ? -book : book;
    int64_t lim = TH(s, TH_COUNT_VARIANCE_MILLI);
    int64_t pct_lim = abs_book * TH(s, TH_COUNT_VARIANCE_PCT) / 100;
    if (pct_lim > lim)
        lim = pct_lim;
    if (abs_var > lim)
        alerts_raise(re->a, RULE_COUNT_VARIANCE, s->id, s->region, m->sku, SEV_WARNING, var, lim,
                     -1,
                     "count of %s found %s units against a book of %s: variance %s, beyond %s "
                     "either way",
                     m->sku, MSG_QTY(m->qty_milli), MSG_QTY(book), MSG_QTY(var), MSG_QTY(lim));
}

static void on_stock(struct rules_event *re, const struct rollup_applied *ap)
{
    const Floorwalker__StockMove *m = ap->e->stock_move;
    stock(re, ap, 0, m->sku);
    if (m->kind == FLOORWALKER__STOCK_MOVE__KIND__COUNT)
        count_variance(re, ap->s, m, ap->before);
    /* shrink_high is judged on closed days: rules_timer.c. */
}

/* ---- drawers -------------------------------------------------------------------------------- */

static void on_drawer(struct rules_event *re, const struct rollup_applied *ap)
{
    const struct store_info *s = ap->s;
    const Floorwalker__Drawer *d = ap->e->drawer;
    bool closed = d->kind == FLOORWALKER__DRAWER__KIND__CLOSE;
    if (closed && ap->day == today_of(re, s)) {
        int64_t over = d->counted_cents - ap->before, lim = TH(s, TH_CASH_OVER_SHORT_CENTS);
        if (over > lim || over < -lim)
            alerts_raise(re->a, RULE_CASH_OVER_SHORT, s->id, s->region, d->drawer_id,
                         over > 10 * lim || over < -10 * lim ? SEV_CRITICAL : SEV_WARNING, over,
                         lim, ap->day,
                         "drawer %s closed %s %s (counted %s, expected %s; cashier %s), beyond "
                         "%s either way",
                         d->drawer_id, MSG_MONEY(re->cfg, over < 0 ? -over : over, s->id),
                         over < 0 ? "short" : "over", MSG_MONEY(re->cfg, d->counted_cents, s->id),
                         MSG_MONEY(re->cfg, ap->before, s->id), ap->cashier,
                         MSG_MONEY(re->cfg, lim, s->id));
    }
    drawer_limit(re, s, d->drawer_id, closed);
}

/* ---- complaints ----------------------------------------------------------------------------- */

static void complaint_major(struct rules_event *re, const struct store_info *s, const char *id,
                            const char *category, int64_t sev, int64_t ch, bool reopened)
{
    if (sev < FLOORWALKER__COMPLAINT__SEVERITY__MAJOR &&
        ch != FLOORWALKER__COMPLAINT__CHANNEL__REGULATOR)
        return;
    const char *sn = sev >= 1 && sev <= 3 ? severity_names[sev] : "UNSPECIFIED";
    const char *cn = ch >= 1 && ch <= 4 ? channel_names[ch] : "UNSPECIFIED";
    alerts_raise(re->a, RULE_COMPLAINT_MAJOR, s->id, s->region, id, SEV_CRITICAL, sev,
                 FLOORWALKER__COMPLAINT__SEVERITY__MAJOR, -1,
                 "%s complaint %s (%s) %s via %s: severity rank %" PRId64 ", escalated at rank %d "
                 "(MAJOR) and above%s",
                 sn, id, category, reopened ? "reopened" : "opened", cn, sev,
                 FLOORWALKER__COMPLAINT__SEVERITY__MAJOR,
                 ch == FLOORWALKER__COMPLAINT__CHANNEL__REGULATOR
                     ? "; it came through the REGULATOR, which always escalates"
                     : "");
}

/* complaint_surge: n openings (by event time) in the 24 hours up to t; the cell holds the last
 * SURGE_MAX opening times, newest first. Subject: the store-local day of t. */
static void complaint_surge(struct rules_event *re, const struct store_info *s, int64_t t)
{
    uint8_t k[KEYMAX];
    int64_t v[SURGE_MAX + 1];
    rollup_peek(re->r, k, rollup_key(k, CELL_SURGE, s->id, ""), v, SURGE_MAX + 1, NULL, 0);
    int64_t n = TH(s, TH_COMPLAINT_SURGE_COUNT), in = 0;
    for (int64_t i = 1; i <= v[0] && i <= SURGE_MAX; i++)
        in += v[i] <= t && v[i] > t - 86400000LL;
    if (in < n)
        return;
    struct tz_local l;
    tz_local(s->tz, t, &l);
    char subj[16];
    day_subject(subj, sizeof subj, NULL, l.day);
    alerts_raise(re->a, RULE_COMPLAINT_SURGE, s->id, s->region, subj, SEV_WARNING, in, n, -1,
                 "%" PRId64 " complaints opened in the 24 hours up to %s %02d:%02d (store time), "
                 "at or above %" PRId64,
                 in, subj, l.hour, l.minute, n);
}

static void on_complaint(struct rules_event *re, const struct rollup_applied *ap)
{
    const struct store_info *s = ap->s;
    const Floorwalker__Complaint *p = ap->e->complaint;
    const char *id = p->complaint_id;
    uint8_t k[KEYMAX];
    int64_t x[CX_N];
    char category[FW_ID_MAX + 1];
    rollup_peek(re->r, k, rollup_key(k, CELL_COMPLAINT, s->id, "s", id), x, CX_N, category,
                sizeof category);
    switch (p->action) {
    case FLOORWALKER__COMPLAINT__ACTION__OPENED:
        complaint_major(re, s, id, category, p->severity, p->channel, false);
        complaint_surge(re, s, ap->e->event_time_ms);
        break;
    case FLOORWALKER__COMPLAINT__ACTION__REOPENED:
        if (x[CX_OPEN])
            complaint_major(re, s, id, category, x[CX_SEVERITY], x[CX_CHANNEL], true);
        break;
    case FLOORWALKER__COMPLAINT__ACTION__RESOLVED:
        alerts_clear(re->a, RULE_COMPLAINT_MAJOR, s->id, id, "complaint resolved");
        break;
    default:
        break;
    }
    int64_t lim = TH(s, TH_COMPENSATION_LIMIT_CENTS);
    if (p->compensation_cents > lim)
        alerts_raise(re->a, RULE_COMPENSATION_OVER_LIMIT, s->id, s->region, id, SEV_WARNING,
                     p->compensation_cents, lim, -1,
                     "compensation of %s on complaint %s is over the desk's authority of %s",
                     MSG_MONEY(re->cfg, p->compensation_cents, s->id), id,
                     MSG_MONEY(re->cfg, lim, s->id));
}

/* ---- attendance ----------------------------------------------------------------------------- */

static void on_attendance(struct rules_event *re, const struct rollup_applied *ap)
{
    const struct store_info *s = ap->s;
    const Floorwalker__Attendance *at = ap->e->attendance;
    int64_t t = ap->e->event_time_ms;
    if (!ap->shift || ap->day != today_of(re, s))
        return;
    char subj[128];
    day_subject(subj, sizeof subj, at->employee_id, ap->shift_day);
    if (at->kind == FLOORWALKER__ATTENDANCE__KIND__CLOCK_IN) {
        int64_t late = TH(s, TH_LATE_MINUTES) * 60000;
        if (t > ap->shift_start + late) {
            int64_t v = msg_seconds_up(t - ap->shift_start);
            alerts_raise(re->a, RULE_LATE_CLOCK_IN, s->id, s->region, subj, SEV_INFO, v,
                         late / 1000, ap->shift_day,
                         "%s clocked in %s after the start of shift %s, later than %s",
                         at->employee_id, MSG_DURATION(v), ap->shift_id, MSG_DURATION(late / 1000));
        }
    } else if (at->kind == FLOORWALKER__ATTENDANCE__KIND__CLOCK_OUT) {
        int64_t early = TH(s, TH_EARLY_LEAVE_MINUTES) * 60000;
        if (t < ap->shift_end - early) {
            int64_t v = msg_seconds_up(ap->shift_end - t);
            alerts_raise(re->a, RULE_EARLY_LEAVE, s->id, s->region, subj, SEV_INFO, v, early / 1000,
                         ap->shift_day, "%s clocked out %s before the shift end, earlier than %s",
                         at->employee_id, MSG_DURATION(v), MSG_DURATION(early / 1000));
        }
    }
}

/* ---- the hook, the rule pass, life cycle ---------------------------------------------------- */

static void on_applied(void *arg, const struct rollup_applied *ap)
{
    struct rules_event *re = arg;
    switch (ap->e->body_case) {
    case FLOORWALKER__EVENT__BODY_SALE:
        on_sale(re, ap);
        break;
    case FLOORWALKER__EVENT__BODY_STOCK_MOVE:
        on_stock(re, ap);
        break;
    case FLOORWALKER__EVENT__BODY_DRAWER:
        on_drawer(re, ap);
        break;
    case FLOORWALKER__EVENT__BODY_COMPLAINT:
        on_complaint(re, ap);
        break;
    case FLOORWALKER__EVENT__BODY_ATTENDANCE:
        on_attendance(re, ap);
        break;
    default:
        break;
    }
}

void rules_event_tick(struct rules_event *re, const struct store_info *s, struct store_txn *txn,
                      int64_t now)
{
    if (!re)
        return;
    /* complaint_surge resolves when fewer than the threshold were opened in the last 24 h. */
    uint8_t k[KEYMAX];
    int64_t v[SURGE_MAX + 1];
    size_t kl = rollup_key(k, CELL_SURGE, s->id, "");
    int64_t n = TH(s, TH_COMPLAINT_SURGE_COUNT);
    if (!rollup_get(re->r, txn, k, kl, v, SURGE_MAX + 1, NULL, 0) ||
        !(v[0] < n || n > SURGE_MAX || now - v[n] > 86400000LL))
        return;
    struct tz_local l;
    tz_local(s->tz, now, &l);
    for (int32_t d = l.day - 2; d <= l.day; d++) {
        char subj[16];
        day_subject(subj, sizeof subj, NULL, d);
        alerts_clear(re->a, RULE_COMPLAINT_SURGE, s->id, subj,
                     "fewer complaints in the last 24 hours");
    }
}

fw_err rules_event_create(struct rules_event **out, const struct config *cfg, struct rollup *r,
                          struct alerts *a)
{
    struct rules_event *re = calloc(1, sizeof *re);
    if (!re)
        return FW_ENOMEM;
    re->cfg = cfg;
    re->r = r;
    re->a = a;
    rollup_set_hook(r, on_applied, re);
    *out = re;
    return FW_OK;
}

/* The rollup may be gone already (main.c destroys it first): it is not touched. */
void rules_event_destroy(struct rules_event **pre)
{
    free(*pre);
    *pre = NULL;
}
