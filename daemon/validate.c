#include "validate.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwcommon.h"
#include "fwunits.h"
#include "rule_catalogue.h"

#define R(code) FLOORWALKER__REJECT_CODE__##code
/* Values quoted in a reason are escaped (fw_quote): the reason goes back in the Ack, and a
 * proto3 string that is not UTF-8 makes stock protobuf refuse the whole Ack. */
#define VALIDATE_QUOTE_MAX (80 * 4 + 4)

struct vctx {
    const struct validate_limits *l;
    const char *store; /* the event's store_id, for its currency */
    char *reason;
    size_t len;
};

/* Money in a reason as the ops team reads it: minor units in the store's currency ("5.00 USD"),
 * the wire field beside it keeps the exact integer. Quantities in units. */
#define MONEY(c, v) MSG_MONEY((c)->l->cfg, (v), (c)->store)
#define UNITS(v) MSG_QTY(v)

/* A sum of lines, which can pass the range of int64 (bounded amounts times bounded counts). */
static int64_t clamp64(__int128 v)
{
    return v > INT64_MAX ? INT64_MAX : v < -INT64_MAX ? -INT64_MAX : (int64_t)v;
}

static Floorwalker__RejectCode why(struct vctx *c, Floorwalker__RejectCode code, const char *fmt,
                                   ...) __attribute__((format(printf, 3, 4)));
static Floorwalker__RejectCode why(struct vctx *c, Floorwalker__RejectCode code, const char *fmt,
                                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, c->len, fmt, ap);
    va_end(ap);
    return code;
}

/* A required id: MISSING_ID if empty, BAD_ID if malformed. */
static Floorwalker__RejectCode need_id(struct vctx *c, const char *field, const char *v)
{
    if (!v || !v[0])
        return why(c, R(MISSING_ID), "%s is missing", field);
    char q[VALIDATE_QUOTE_MAX];
    if (!fw_id_valid(v))
        return why(c, R(BAD_ID), "%s \"%s\" is not an id (1-64 of A-Z a-z 0-9 _ . -)", field,
                   fw_quote(q, sizeof q, v, 80));
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode opt_id(struct vctx *c, const char *field, const char *v)
{
    if (!v || !v[0])
        return R(REJECT_NONE);
    return need_id(c, field, v);
}

static Floorwalker__RejectCode text(struct vctx *c, const char *field, const char *v, size_t max)
{
    size_t n = v ? strnlen(v, max + 1) : 0;
    if (n > max)
        return why(c, R(STRING_TOO_LONG), "%s is longer than %zu bytes", field, max);
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode amount(struct vctx *c, const char *field, int64_t v)
{
    if (v < 0)
        return why(c, R(NEGATIVE_AMOUNT), "%s is negative (%" PRId64 ": %s)", field, v,
                   MONEY(c, v));
    if (v > c->l->max_amount_cents)
        return why(c, R(AMOUNT_OUT_OF_BOUNDS),
                   "%s %" PRId64 " (%s) is over the limit of %s ([limits] max_amount_cents)", field,
                   v, MONEY(c, v), MONEY(c, c->l->max_amount_cents));
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode qty(struct vctx *c, const char *field, int64_t v, bool positive)
{
    if ((positive && v <= 0) || v > c->l->max_qty_milli || v < -c->l->max_qty_milli)
        return why(c, R(QTY_OUT_OF_BOUNDS),
                   "%s %" PRId64 " (%s units) is outside %s..%s units ([limits] max_qty_milli)",
                   field, v, UNITS(v), positive ? "0.001" : UNITS(-c->l->max_qty_milli),
                   UNITS(c->l->max_qty_milli));
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode bad_enum(struct vctx *c, const char *field, int v)
{
    if (v == 0)
        return why(c, R(BAD_ENUM), "%s is not set", field);
    return why(c, R(BAD_ENUM), "%s has the unknown value %d", field, v);
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        Floorwalker__RejectCode rc_ = (x);                                                         \
        if (rc_ != R(REJECT_NONE))                                                                 \
            return rc_;                                                                            \
    } while (0)

/*
 * A check of an element of a repeated field. It runs with an empty name first, so a line that
 * passes (nearly all of them) costs no formatting; a failing check runs again with the
 * element's name ("sale.lines[3].sku") for the reason. Each check only reads its arguments.
 */
#define TRY_FIELD(name_fmt, call)                                                                  \
    do {                                                                                           \
        f[0] = '\0';                                                                               \
        if ((call) != R(REJECT_NONE)) {                                                            \
            snprintf(f, sizeof f, name_fmt, i);                                                    \
            return (call);                                                                         \
        }                                                                                          \
    } while (0)

static Floorwalker__RejectCode check_sale(struct vctx *c, const Floorwalker__Sale *s)
{
    TRY(need_id(c, "sale.receipt_id", s->receipt_id));
    TRY(need_id(c, "sale.cashier_id", s->cashier_id));
    TRY(opt_id(c, "sale.original_receipt_id", s->original_receipt_id));
    if (s->kind < FLOORWALKER__SALE__KIND__SALE || s->kind > FLOORWALKER__SALE__KIND__POST_VOID)
        return bad_enum(c, "sale.kind", s->kind);
    if (s->kind == FLOORWALKER__SALE__KIND__POST_VOID && !s->original_receipt_id[0])
        return why(c, R(MISSING_ID),
                   "sale.original_receipt_id is missing (a POST_VOID names "
                   "the receipt it voids)");
    if (s->n_lines == 0 && s->kind != FLOORWALKER__SALE__KIND__POST_VOID)
        return why(c, R(BAD_FIELD), "sale has no lines");
    if (s->n_lines > c->l->max_lines)
        return why(c, R(TOO_MANY_LINES), "sale has %zu lines, the limit is %zu", s->n_lines,
                   c->l->max_lines);
    TRY(amount(c, "sale.total_cents", s->total_cents));
    __int128 sum = 0;
    char f[64] = "";
    for (size_t i = 0; i < s->n_lines; i++) {
        const Floorwalker__SaleLine *ln = s->lines[i];
        TRY_FIELD("sale.lines[%zu].sku", need_id(c, f, ln->sku));
        TRY_FIELD("sale.lines[%zu].category", text(c, f, ln->category, VALIDATE_LABEL_MAX));
        TRY_FIELD("sale.lines[%zu].promo", opt_id(c, f, ln->promo));
        TRY_FIELD("sale.lines[%zu].qty_milli", qty(c, f, ln->qty_milli, true));
        TRY_FIELD("sale.lines[%zu].unit_price_cents", amount(c, f, ln->unit_price_cents));
        TRY_FIELD("sale.lines[%zu].discount_cents", amount(c, f, ln->discount_cents));
        sum += fw_milli_value(ln->qty_milli, ln->unit_price_cents) - ln->discount_cents;
    }
    for (size_t i = 0; i < s->n_tenders; i++) {
        const Floorwalker__Tender *t = s->tenders[i];
        if (t->method < FLOORWALKER__TENDER__METHOD__CASH ||
            t->method > FLOORWALKER__TENDER__METHOD__OTHER) {
            snprintf(f, sizeof f, "sale.tenders[%zu].method", i);
            return bad_enum(c, f, t->method);
        }
        TRY_FIELD("sale.tenders[%zu].amount_cents", amount(c, f, t->amount_cents));
    }
    if (s->n_lines) {
        __int128 diff = sum - s->total_cents;
        if (diff < 0)
            diff = -diff;
        if (diff > (__int128)s->n_lines)
            return why(c, R(SALE_TOTAL_MISMATCH),
                       "the sale's lines add up to %s but its total_cents %" PRId64
                       " is %s (%s apart; each line may round by %s)",
                       MONEY(c, clamp64(sum)), s->total_cents, MONEY(c, s->total_cents),
                       MONEY(c, clamp64(diff)), MONEY(c, 1));
    }
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode check_complaint(struct vctx *c, const Floorwalker__Complaint *p)
{
    TRY(need_id(c, "complaint.complaint_id", p->complaint_id));
    TRY(opt_id(c, "complaint.handler_id", p->handler_id));
    TRY(text(c, "complaint.category", p->category, VALIDATE_LABEL_MAX));
    TRY(text(c, "complaint.note", p->note, VALIDATE_TEXT_MAX));
    if (p->action < FLOORWALKER__COMPLAINT__ACTION__OPENED ||
        p->action > FLOORWALKER__COMPLAINT__ACTION__REOPENED)
        return bad_enum(c, "complaint.action", p->action);
    bool opened = p->action == FLOORWALKER__COMPLAINT__ACTION__OPENED;
    if ((opened || p->severity) && (p->severity < FLOORWALKER__COMPLAINT__SEVERITY__MINOR ||
                                    p->severity > FLOORWALKER__COMPLAINT__SEVERITY__CRITICAL))
        return bad_enum(c, "complaint.severity", p->severity);
    if ((opened || p->channel) && (p->channel < FLOORWALKER__COMPLAINT__CHANNEL__COUNTER ||
                                   p->channel > FLOORWALKER__COMPLAINT__CHANNEL__REGULATOR))
        return bad_enum(c, "complaint.channel", p->channel);
    TRY(amount(c, "complaint.compensation_cents", p->compensation_cents));
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode check_stock(struct vctx *c, const Floorwalker__StockMove *m)
{
    TRY(need_id(c, "stock_move.sku", m->sku));
    TRY(text(c, "stock_move.category", m->category, VALIDATE_LABEL_MAX));
    TRY(text(c, "stock_move.reference", m->reference, VALIDATE_TEXT_MAX));
    TRY(opt_id(c, "stock_move.counterparty_store", m->counterparty_store));
    if (m->kind < FLOORWALKER__STOCK_MOVE__KIND__RECEIVE ||
        m->kind > FLOORWALKER__STOCK_MOVE__KIND__COUNT)
        return bad_enum(c, "stock_move.kind", m->kind);
    switch (m->kind) {
    case FLOORWALKER__STOCK_MOVE__KIND__ADJUST:
        TRY(qty(c, "stock_move.qty_milli", m->qty_milli, false));
        if (m->qty_milli == 0)
            return why(c, R(QTY_OUT_OF_BOUNDS), "stock_move.qty_milli is 0 for an ADJUST");
        break;
    case FLOORWALKER__STOCK_MOVE__KIND__COUNT:
        TRY(qty(c, "stock_move.qty_milli", m->qty_milli, false));
        if (m->qty_milli < 0)
            return why(c, R(QTY_OUT_OF_BOUNDS),
                       "stock_move.qty_milli %" PRId64 " is negative for a COUNT", m->qty_milli);
        break;
    default: /* the kind gives the direction; the quantity is positive */
        TRY(qty(c, "stock_move.qty_milli", m->qty_milli, true));
        break;
    }
    if ((m->kind == FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_IN ||
         m->kind == FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_OUT) &&
        !m->counterparty_store[0])
        return why(c, R(MISSING_ID), "stock_move.counterparty_store is missing for a transfer");
    TRY(amount(c, "stock_move.unit_cost_cents", m->unit_cost_cents));
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode check_attendance(struct vctx *c, const Floorwalker__Attendance *a)
{
    TRY(need_id(c, "attendance.employee_id", a->employee_id));
    TRY(text(c, "attendance.role", a->role, VALIDATE_LABEL_MAX));
    if (a->kind < FLOORWALKER__ATTENDANCE__KIND__CLOCK_IN ||
        a->kind > FLOORWALKER__ATTENDANCE__KIND__BREAK_END)
        return bad_enum(c, "attendance.kind", a->kind);
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode check_shift(struct vctx *c, const Floorwalker__Shift *s)
{
    TRY(need_id(c, "shift.shift_id", s->shift_id));
    TRY(need_id(c, "shift.employee_id", s->employee_id));
    TRY(text(c, "shift.role", s->role, VALIDATE_LABEL_MAX));
    if (!s->cancelled) {
        if (s->start_ms <= 0 || s->end_ms <= s->start_ms)
            return why(c, R(BAD_FIELD),
                       "shift.end_ms %" PRId64 " is not after shift.start_ms %" PRId64, s->end_ms,
                       s->start_ms);
        if (s->end_ms - s->start_ms > 24 * 3600 * 1000LL)
            return why(c, R(BAD_FIELD), "shift is longer than 24 hours");
    }
    return R(REJECT_NONE);
}

int validate_day(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return 0;
    return 1;
}

static Floorwalker__RejectCode check_target(struct vctx *c, const Floorwalker__SalesTarget *t)
{
    char q[VALIDATE_QUOTE_MAX];
    if (!validate_day(t->business_day))
        return why(c, R(BAD_FIELD), "sales_target.business_day \"%s\" is not a YYYY-MM-DD date",
                   fw_quote(q, sizeof q, t->business_day, 40));
    TRY(amount(c, "sales_target.target_cents", t->target_cents));
    return R(REJECT_NONE);
}

static Floorwalker__RejectCode check_drawer(struct vctx *c, const Floorwalker__Drawer *d)
{
    TRY(need_id(c, "drawer.drawer_id", d->drawer_id));
    TRY(opt_id(c, "drawer.cashier_id", d->cashier_id));
    if (d->kind < FLOORWALKER__DRAWER__KIND__OPEN || d->kind > FLOORWALKER__DRAWER__KIND__CLOSE)
        return bad_enum(c, "drawer.kind", d->kind);
    TRY(amount(c, "drawer.amount_cents", d->amount_cents));
    TRY(amount(c, "drawer.counted_cents", d->counted_cents));
    return R(REJECT_NONE);
}

/* A heartbeat's clock is compared with the daemon's (clock_skew): a time before 1970 is no
 * clock reading, and far enough from now it would overflow the difference. 0 means "not sent". */
static Floorwalker__RejectCode check_heartbeat(struct vctx *c, const Floorwalker__Heartbeat *h)
{
    if (h->terminal_time_ms < 0)
        return why(c, R(BAD_FIELD), "heartbeat.terminal_time_ms %" PRId64 " is negative",
                   h->terminal_time_ms);
    return R(REJECT_NONE);
}

Floorwalker__RejectCode validate_event(const Floorwalker__Event *e, const struct validate_limits *l,
                                       char *reason, size_t len)
{
    struct vctx c = {l, e->store_id, reason, len};
    reason[0] = 0;
    TRY(need_id(&c, "store_id", e->store_id));
    TRY(need_id(&c, "terminal_id", e->terminal_id));
    if (e->epoch == 0 || e->seq == 0)
        return why(&c, R(BAD_SEQ),
                   "epoch and seq must be at least 1 (epoch %" PRIu64 ", seq %" PRIu64 ")",
                   e->epoch, e->seq);
    if (e->event_time_ms <= 0)
        return why(&c, R(BAD_FIELD), "event_time_ms is missing");
    if (e->event_time_ms > l->now_ms + l->max_future_ms)
        return why(&c, R(TIME_IN_FUTURE),
                   "event_time_ms %" PRId64 " is %" PRId64 " s ahead of the daemon's clock",
                   e->event_time_ms, (e->event_time_ms - l->now_ms) / 1000);
    if (e->event_time_ms < l->now_ms - l->retention_ms)
        return why(&c, R(TIME_TOO_OLD),
                   "event_time_ms %" PRId64 " is older than the retention of %" PRId64 " days",
                   e->event_time_ms, l->retention_ms / 86400000);
    switch (e->body_case) {
    case FLOORWALKER__EVENT__BODY_SALE:
        return check_sale(&c, e->sale);
    case FLOORWALKER__EVENT__BODY_COMPLAINT:
        return check_complaint(&c, e->complaint);
    case FLOORWALKER__EVENT__BODY_STOCK_MOVE:
        return check_stock(&c, e->stock_move);
    case FLOORWALKER__EVENT__BODY_ATTENDANCE:
        return check_attendance(&c, e->attendance);
    case FLOORWALKER__EVENT__BODY_SHIFT:
        return check_shift(&c, e->shift);
    case FLOORWALKER__EVENT__BODY_SALES_TARGET:
        return check_target(&c, e->sales_target);
    case FLOORWALKER__EVENT__BODY_DRAWER:
        return check_drawer(&c, e->drawer);
    case FLOORWALKER__EVENT__BODY_HEARTBEAT:
        return check_heartbeat(&c, e->heartbeat);
    default:
        return why(&c, R(MISSING_BODY), "the event has no body (sale, complaint, ...)");
    }
}
