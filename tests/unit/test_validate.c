/*
 * Unit tests for daemon/validate.c: the data-quality checks on one decoded event
 * (docs/DOMAIN.md "Data quality").
 *
 * Every event is built on the stack with the protobuf-c init macros, starting from a valid
 * event of its kind, and then broken in exactly one place; the expected reject code and the
 * field named in the reason come from the proto contract and docs/DOMAIN.md, never from the code
 * under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "floorwalker.pb-c.h"
#include "validate.h"

#define R(code) FLOORWALKER__REJECT_CODE__##code

/* ---------------------------------------------------------------------------------------------
 * Limits and fixtures
 * ------------------------------------------------------------------------------------------- */

#define NOW_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define MAX_FUTURE_MS (10 * 60 * 1000LL)
#define RETENTION_MS (400 * 86400000LL)
#define MAX_QTY 100000000LL     /* 100,000 units */
#define MAX_AMOUNT 1000000000LL /* 10,000,000.00 */
#define MAX_LINES 4

static const struct validate_limits lim = {
    .now_ms = NOW_MS,
    .max_future_ms = MAX_FUTURE_MS,
    .retention_ms = RETENTION_MS,
    .max_qty_milli = MAX_QTY,
    .max_amount_cents = MAX_AMOUNT,
    .max_lines = MAX_LINES,
};

/* Storage for one event and every body kind, so that each test can build on the stack. */
struct fx {
    Floorwalker__Event ev;
    Floorwalker__Sale sale;
    Floorwalker__SaleLine line[MAX_LINES + 1];
    Floorwalker__SaleLine *lines[MAX_LINES + 1];
    Floorwalker__Tender tender[2];
    Floorwalker__Tender *tenders[2];
    Floorwalker__Complaint complaint;
    Floorwalker__StockMove stock;
    Floorwalker__Attendance att;
    Floorwalker__Shift shift;
    Floorwalker__SalesTarget target;
    Floorwalker__Drawer drawer;
    Floorwalker__Heartbeat hb;
};

static char *const skus[MAX_LINES + 1] = {"SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5"};

/* A valid event header with no body yet. */
static void fx_init(struct fx *f)
{
    Floorwalker__Event ev = FLOORWALKER__EVENT__INIT;

    memset(f, 0, sizeof *f);
    f->ev = ev;
    f->ev.store_id = "S1";
    f->ev.terminal_id = "T1";
    f->ev.epoch = 1;
    f->ev.seq = 1;
    f->ev.event_time_ms = NOW_MS - 60 * 1000;
}

/* The exact value of line i as as_sale builds it: qty (i+1) units at 2.50 + 1.00*i, discount
 * 0.10*i. Whole units, so no rounding is involved. */
static int64_t line_value(size_t i)
{
    return (int64_t)(i + 1) * (250 + 100 * (int64_t)i) - 10 * (int64_t)i;
}

/* Total of the first n lines of as_sale. */
static int64_t sale_total(size_t n)
{
    int64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += line_value(i);
    return t;
}

/* A valid SALE with n lines, the exact total and one cash tender of the total. */
static void as_sale(struct fx *f, size_t n)
{
    Floorwalker__Sale s = FLOORWALKER__SALE__INIT;
    Floorwalker__Tender t = FLOORWALKER__TENDER__INIT;

    f->sale = s;
    f->sale.receipt_id = "R-0001";
    f->sale.cashier_id = "C1";
    f->sale.kind = FLOORWALKER__SALE__KIND__SALE;
    for (size_t i = 0; i < n; i++) {
        Floorwalker__SaleLine ln = FLOORWALKER__SALE_LINE__INIT;
        ln.sku = skus[i];
        ln.category = "grocery";
        ln.qty_milli = (int64_t)(i + 1) * 1000;
        ln.unit_price_cents = 250 + 100 * (int64_t)i;
        ln.discount_cents = 10 * (int64_t)i;
        f->line[i] = ln;
        f->lines[i] = &f->line[i];
    }
    f->sale.n_lines = n;
    f->sale.lines = f->lines;
    f->sale.total_cents = sale_total(n);
    f->tender[0] = t;
    f->tender[0].method = FLOORWALKER__TENDER__METHOD__CASH;
    f->tender[0].amount_cents = f->sale.total_cents;
    f->tenders[0] = &f->tender[0];
    f->sale.n_tenders = 1;
    f->sale.tenders = f->tenders;
    f->ev.body_case = FLOORWALKER__EVENT__BODY_SALE;
    f->ev.sale = &f->sale;
}

/* A sale of one line: qty_milli at price, total as given. */
static void as_one_line_sale(struct fx *f, int64_t qty_milli, int64_t price, int64_t total)
{
    as_sale(f, 1);
    f->line[0].qty_milli = qty_milli;
    f->line[0].unit_price_cents = price;
    f->line[0].discount_cents = 0;
    f->sale.total_cents = total;
    f->tender[0].amount_cents = total;
}

static void as_complaint(struct fx *f)
{
    Floorwalker__Complaint c = FLOORWALKER__COMPLAINT__INIT;

    f->complaint = c;
    f->complaint.complaint_id = "CMP-1";
    f->complaint.action = FLOORWALKER__COMPLAINT__ACTION__OPENED;
    f->complaint.category = "staff";
    f->complaint.severity = FLOORWALKER__COMPLAINT__SEVERITY__MAJOR;
    f->complaint.channel = FLOORWALKER__COMPLAINT__CHANNEL__PHONE;
    f->complaint.compensation_cents = 1500;
    f->complaint.handler_id = "H1";
    f->complaint.note = "customer waited 20 minutes at the desk";
    f->ev.body_case = FLOORWALKER__EVENT__BODY_COMPLAINT;
    f->ev.complaint = &f->complaint;
}

static void as_stock(struct fx *f, Floorwalker__StockMove__Kind kind, int64_t qty_milli)
{
    Floorwalker__StockMove m = FLOORWALKER__STOCK_MOVE__INIT;

    f->stock = m;
    f->stock.sku = "SKU-1";
    f->stock.category = "dairy";
    f->stock.kind = kind;
    f->stock.qty_milli = qty_milli;
    f->stock.unit_cost_cents = 80;
    f->stock.reference = "PO 17/3";
    if (kind == FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_IN ||
        kind == FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_OUT)
        f->stock.counterparty_store = "S2";
    f->ev.body_case = FLOORWALKER__EVENT__BODY_STOCK_MOVE;
    f->ev.stock_move = &f->stock;
}

static void as_attendance(struct fx *f)
{
    Floorwalker__Attendance a = FLOORWALKER__ATTENDANCE__INIT;

    f->att = a;
    f->att.employee_id = "E1";
    f->att.kind = FLOORWALKER__ATTENDANCE__KIND__CLOCK_IN;
    f->att.role = "cashier";
    f->ev.body_case = FLOORWALKER__EVENT__BODY_ATTENDANCE;
    f->ev.attendance = &f->att;
}

static void as_shift(struct fx *f)
{
    Floorwalker__Shift s = FLOORWALKER__SHIFT__INIT;

    f->shift = s;
    f->shift.shift_id = "SH-1";
    f->shift.employee_id = "E1";
    f->shift.role = "cashier";
    f->shift.start_ms = NOW_MS + 3600 * 1000LL;
    f->shift.end_ms = f->shift.start_ms + 8 * 3600 * 1000LL;
    f->ev.body_case = FLOORWALKER__EVENT__BODY_SHIFT;
    f->ev.shift = &f->shift;
}

static void as_target(struct fx *f, char *day)
{
    Floorwalker__SalesTarget t = FLOORWALKER__SALES_TARGET__INIT;

    f->target = t;
    f->target.business_day = day;
    f->target.target_cents = 5000000;
    f->ev.body_case = FLOORWALKER__EVENT__BODY_SALES_TARGET;
    f->ev.sales_target = &f->target;
}

static void as_drawer(struct fx *f)
{
    Floorwalker__Drawer d = FLOORWALKER__DRAWER__INIT;

    f->drawer = d;
    f->drawer.drawer_id = "D1";
    f->drawer.cashier_id = "C1";
    f->drawer.kind = FLOORWALKER__DRAWER__KIND__CLOSE;
    f->drawer.amount_cents = 20000;
    f->drawer.counted_cents = 20050;
    f->ev.body_case = FLOORWALKER__EVENT__BODY_DRAWER;
    f->ev.drawer = &f->drawer;
}

static void as_heartbeat(struct fx *f)
{
    Floorwalker__Heartbeat h = FLOORWALKER__HEARTBEAT__INIT;

    f->hb = h;
    f->hb.terminal_time_ms = NOW_MS;
    f->hb.spool_depth = 3;
    f->ev.body_case = FLOORWALKER__EVENT__BODY_HEARTBEAT;
    f->ev.heartbeat = &f->hb;
}

/* ---------------------------------------------------------------------------------------------
 * Checking helpers
 * ------------------------------------------------------------------------------------------- */

/* The event gets code want; for a reject, the reason is non-empty, one line, and contains
 * needle (the field name). For REJECT_NONE the reason is empty. */
static void expect_at(int line, const Floorwalker__Event *e, const struct validate_limits *l,
                      Floorwalker__RejectCode want, const char *needle)
{
    char reason[512];

    memset(reason, 'X', sizeof reason);
    Floorwalker__RejectCode got = validate_event(e, l, reason, sizeof reason);
    if (!memchr(reason, '\0', sizeof reason))
        fail_msg("line %d: reason is not terminated", line);
    if (got != want)
        fail_msg("line %d: got code %d, want %d (reason \"%s\")", line, (int)got, (int)want,
                 reason);
    if (want == R(REJECT_NONE)) {
        if (reason[0])
            fail_msg("line %d: accepted but reason is \"%s\"", line, reason);
        return;
    }
    if (!reason[0])
        fail_msg("line %d: code %d with an empty reason", line, (int)got);
    if (strchr(reason, '\n'))
        fail_msg("line %d: reason \"%s\" is more than one line", line, reason);
    if (needle && !strstr(reason, needle))
        fail_msg("line %d: reason \"%s\" does not name \"%s\"", line, reason, needle);
}

#define EXPECT(f, want, needle) expect_at(__LINE__, &(f)->ev, &lim, R(want), needle)
#define EXPECT_OK(f) expect_at(__LINE__, &(f)->ev, &lim, R(REJECT_NONE), NULL)

/* A string of n copies of c in buf (which must hold n + 1). */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = 0;
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Valid events
 * ------------------------------------------------------------------------------------------- */

static void test_valid_each_body_kind(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_sale(&f, 2);
    EXPECT_OK(&f);

    fx_init(&f);
    as_complaint(&f);
    EXPECT_OK(&f);

    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__RECEIVE, 12000);
    EXPECT_OK(&f);

    fx_init(&f);
    as_attendance(&f);
    EXPECT_OK(&f);

    fx_init(&f);
    as_shift(&f);
    EXPECT_OK(&f);

    fx_init(&f);
    as_target(&f, "2026-01-01");
    EXPECT_OK(&f);

    fx_init(&f);
    as_drawer(&f);
    EXPECT_OK(&f);

    fx_init(&f);
    as_heartbeat(&f);
    EXPECT_OK(&f);
}

/* Variants that are valid and must stay so: other sale kinds, later complaint actions without
 * severity/channel, every stock kind, a cancelled shift. */
static void test_valid_variants(void **state)
{
    struct fx f;
    (void)state;

    /* A RETURN names the original receipt; amounts stay positive. */
    fx_init(&f);
    as_sale(&f, 1);
    f.sale.kind = FLOORWALKER__SALE__KIND__RETURN;
    f.sale.original_receipt_id = "R-0000";
    EXPECT_OK(&f);

    /* A POST_VOID names the voided receipt and may have no lines. */
    fx_init(&f);
    as_sale(&f, 0);
    f.sale.kind = FLOORWALKER__SALE__KIND__POST_VOID;
    f.sale.original_receipt_id = "R-0000";
    f.sale.n_tenders = 0;
    EXPECT_OK(&f);

    /* A sale with no tenders at all is not rejected here. */
    fx_init(&f);
    as_sale(&f, 1);
    f.sale.n_tenders = 0;
    EXPECT_OK(&f);

    /* A RESPONDED complaint may leave severity and channel unset. */
    fx_init(&f);
    as_complaint(&f);
    f.complaint.action = FLOORWALKER__COMPLAINT__ACTION__RESPONDED;
    f.complaint.severity = FLOORWALKER__COMPLAINT__SEVERITY__SEVERITY_UNSPECIFIED;
    f.complaint.channel = FLOORWALKER__COMPLAINT__CHANNEL__CHANNEL_UNSPECIFIED;
    EXPECT_OK(&f);

    for (int k = FLOORWALKER__STOCK_MOVE__KIND__RECEIVE; k <= FLOORWALKER__STOCK_MOVE__KIND__COUNT;
         k++) {
        fx_init(&f);
        as_stock(&f, (Floorwalker__StockMove__Kind)k, 5000);
        EXPECT_OK(&f);
    }

    /* A cancelled shift is not checked for times. */
    fx_init(&f);
    as_shift(&f);
    f.shift.cancelled = 1;
    f.shift.start_ms = 0;
    f.shift.end_ms = 0;
    EXPECT_OK(&f);

    /* Optional ids may be empty. */
    fx_init(&f);
    as_complaint(&f);
    f.complaint.handler_id = "";
    EXPECT_OK(&f);
    fx_init(&f);
    as_drawer(&f);
    f.drawer.cashier_id = "";
    EXPECT_OK(&f);
}

/* ---------------------------------------------------------------------------------------------
 * Ids
 * ------------------------------------------------------------------------------------------- */

static void test_missing_id(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.store_id = "";
    EXPECT(&f, MISSING_ID, "store_id");

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.terminal_id = "";
    EXPECT(&f, MISSING_ID, "terminal_id");

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.receipt_id = "";
    EXPECT(&f, MISSING_ID, "sale.receipt_id");

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.cashier_id = "";
    EXPECT(&f, MISSING_ID, "sale.cashier_id");

    fx_init(&f);
    as_sale(&f, 1);
    f.line[0].sku = "";
    EXPECT(&f, MISSING_ID, "sku");

    /* A POST_VOID without the receipt it voids. */
    fx_init(&f);
    as_sale(&f, 0);
    f.sale.kind = FLOORWALKER__SALE__KIND__POST_VOID;
    EXPECT(&f, MISSING_ID, "original_receipt_id");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.complaint_id = "";
    EXPECT(&f, MISSING_ID, "complaint_id");

    fx_init(&f);
    as_attendance(&f);
    f.att.employee_id = "";
    EXPECT(&f, MISSING_ID, "employee_id");

    fx_init(&f);
    as_drawer(&f);
    f.drawer.drawer_id = "";
    EXPECT(&f, MISSING_ID, "drawer_id");

    /* A transfer names the other store. */
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_OUT, 1000);
    f.stock.counterparty_store = "";
    EXPECT(&f, MISSING_ID, "counterparty_store");
}

static void test_bad_id(void **state)
{
    struct fx f;
    char id[80];
    (void)state;

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.store_id = "S 1";
    EXPECT(&f, BAD_ID, "store_id");

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.terminal_id = repeat(id, 'T', 65);
    EXPECT(&f, BAD_ID, "terminal_id");

    /* 64 characters is the longest id. */
    fx_init(&f);
    as_heartbeat(&f);
    f.ev.terminal_id = repeat(id, 'T', 64);
    EXPECT_OK(&f);

    /* Every allowed character class. */
    fx_init(&f);
    as_heartbeat(&f);
    f.ev.store_id = "Az09_.-";
    EXPECT_OK(&f);

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.store_id = "S/1";
    EXPECT(&f, BAD_ID, "store_id");

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.cashier_id = "C\xc3\xa9";
    EXPECT(&f, BAD_ID, "sale.cashier_id");

    /* An optional id, when present, must be well-formed. */
    fx_init(&f);
    as_sale(&f, 1);
    f.line[0].promo = "2 for 1";
    EXPECT(&f, BAD_ID, "promo");
}

/* ---------------------------------------------------------------------------------------------
 * Sequence, body, enums
 * ------------------------------------------------------------------------------------------- */

static void test_bad_seq(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.seq = 0;
    EXPECT(&f, BAD_SEQ, "seq");

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.epoch = 0;
    EXPECT(&f, BAD_SEQ, "epoch");

    /* The largest values are fine. */
    fx_init(&f);
    as_heartbeat(&f);
    f.ev.epoch = UINT64_MAX;
    f.ev.seq = UINT64_MAX;
    EXPECT_OK(&f);
}

static void test_missing_body(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    EXPECT(&f, MISSING_BODY, "body");
}

static void test_bad_enum(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.kind = FLOORWALKER__SALE__KIND__KIND_UNSPECIFIED;
    EXPECT(&f, BAD_ENUM, "sale.kind");

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.kind = (Floorwalker__Sale__Kind)4;
    EXPECT(&f, BAD_ENUM, "sale.kind");

    fx_init(&f);
    as_sale(&f, 1);
    f.tender[0].method = (Floorwalker__Tender__Method)99;
    EXPECT(&f, BAD_ENUM, "method");

    fx_init(&f);
    as_sale(&f, 1);
    f.tender[0].method = FLOORWALKER__TENDER__METHOD__METHOD_UNSPECIFIED;
    EXPECT(&f, BAD_ENUM, "method");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.action = FLOORWALKER__COMPLAINT__ACTION__ACTION_UNSPECIFIED;
    EXPECT(&f, BAD_ENUM, "complaint.action");

    /* One past the last value of each enum. */
    fx_init(&f);
    as_sale(&f, 1);
    f.tender[0].method = (Floorwalker__Tender__Method)6;
    EXPECT(&f, BAD_ENUM, "method");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.action = (Floorwalker__Complaint__Action)6;
    EXPECT(&f, BAD_ENUM, "complaint.action");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.severity = (Floorwalker__Complaint__Severity)4;
    EXPECT(&f, BAD_ENUM, "complaint.severity");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.channel = (Floorwalker__Complaint__Channel)5;
    EXPECT(&f, BAD_ENUM, "complaint.channel");

    fx_init(&f);
    as_attendance(&f);
    f.att.kind = (Floorwalker__Attendance__Kind)5;
    EXPECT(&f, BAD_ENUM, "attendance.kind");

    /* OPENED needs severity and channel. */
    fx_init(&f);
    as_complaint(&f);
    f.complaint.severity = FLOORWALKER__COMPLAINT__SEVERITY__SEVERITY_UNSPECIFIED;
    EXPECT(&f, BAD_ENUM, "complaint.severity");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.channel = FLOORWALKER__COMPLAINT__CHANNEL__CHANNEL_UNSPECIFIED;
    EXPECT(&f, BAD_ENUM, "complaint.channel");

    /* Out of range is wrong whatever the action. */
    fx_init(&f);
    as_complaint(&f);
    f.complaint.action = FLOORWALKER__COMPLAINT__ACTION__RESOLVED;
    f.complaint.severity = (Floorwalker__Complaint__Severity)7;
    EXPECT(&f, BAD_ENUM, "complaint.severity");

    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__KIND_UNSPECIFIED, 1000);
    EXPECT(&f, BAD_ENUM, "stock_move.kind");

    fx_init(&f);
    as_stock(&f, (Floorwalker__StockMove__Kind)9, 1000);
    EXPECT(&f, BAD_ENUM, "stock_move.kind");

    fx_init(&f);
    as_attendance(&f);
    f.att.kind = FLOORWALKER__ATTENDANCE__KIND__KIND_UNSPECIFIED;
    EXPECT(&f, BAD_ENUM, "attendance.kind");

    fx_init(&f);
    as_drawer(&f);
    f.drawer.kind = (Floorwalker__Drawer__Kind)6;
    EXPECT(&f, BAD_ENUM, "drawer.kind");
}

/* ---------------------------------------------------------------------------------------------
 * Sale arithmetic
 * ------------------------------------------------------------------------------------------- */

static void test_sale_total_mismatch(void **state)
{
    struct fx f;
    const size_t n = 3;
    const int64_t exact = 250 + 2 * 350 - 10 + 3 * 450 - 20; /* line_value(0..2) by hand */
    (void)state;

    assert_int_equal(sale_total(n), exact); /* the fixture agrees with the hand sum */

    /* Within 1 cent per line (3 lines: +-3) passes. */
    for (int64_t d = -(int64_t)n; d <= (int64_t)n; d++) {
        fx_init(&f);
        as_sale(&f, n);
        f.sale.total_cents = exact + d;
        EXPECT_OK(&f);
    }
    /* One cent more than that fails, either way. */
    fx_init(&f);
    as_sale(&f, n);
    f.sale.total_cents = exact + (int64_t)n + 1;
    EXPECT(&f, SALE_TOTAL_MISMATCH, "total_cents");

    fx_init(&f);
    as_sale(&f, n);
    f.sale.total_cents = exact - (int64_t)n - 1;
    EXPECT(&f, SALE_TOTAL_MISMATCH, "total_cents");

    /* The line discount counts: dropping it from the total is off by 10 + 20 cents. */
    fx_init(&f);
    as_sale(&f, n);
    f.sale.total_cents = exact + 30;
    EXPECT(&f, SALE_TOTAL_MISMATCH, "total_cents");
}

/* The line value is qty_milli * unit_price_cents / 1000 rounded to the cent; a one-line sale
 * is accepted within 1 cent of it. */
static void test_sale_line_rounding(void **state)
{
    struct fx f;
    (void)state;

    /* 0.532 x 2.99 = 1.59068 -> 159 cents: 158..160 pass, 157 and 161 fail. */
    for (int64_t total = 158; total <= 160; total++) {
        fx_init(&f);
        as_one_line_sale(&f, 532, 299, total);
        EXPECT_OK(&f);
    }
    fx_init(&f);
    as_one_line_sale(&f, 532, 299, 157);
    EXPECT(&f, SALE_TOTAL_MISMATCH, "total_cents");
    fx_init(&f);
    as_one_line_sale(&f, 532, 299, 161);
    EXPECT(&f, SALE_TOTAL_MISMATCH, "total_cents");

    /* 0.500 x 2.99 = 1.495 -> half up to 150 cents: 151 passes, 148 fails (truncating to 149
     * would do the opposite). */
    fx_init(&f);
    as_one_line_sale(&f, 500, 299, 151);
    EXPECT_OK(&f);
    fx_init(&f);
    as_one_line_sale(&f, 500, 299, 148);
    EXPECT(&f, SALE_TOTAL_MISMATCH, "total_cents");

    /* Large values do not overflow: 100,000 units at 10,000,000.00 is 10^14 cents of line
     * value, far over a total that is itself within bounds. */
    fx_init(&f);
    as_one_line_sale(&f, MAX_QTY, MAX_AMOUNT, MAX_AMOUNT);
    EXPECT(&f, SALE_TOTAL_MISMATCH, "total_cents");
}

/* A reason speaks money in the store's currency and quantities in units, beside the wire field's
 * exact integer: the ops team reads it in `floorwalker query quarantine`. */
static void test_reasons_in_units(void **state)
{
    struct config cfg;
    struct fx f;
    char reason[512];
    (void)state;

    config_defaults(&cfg);
    snprintf(cfg.currency.code, sizeof cfg.currency.code, "EUR");
    cfg.currency.digits = 2;
    struct validate_limits l = lim;
    l.cfg = &cfg;

    /* 0.532 x 2.99 = 1.59 against a total of 1.61. */
    fx_init(&f);
    as_one_line_sale(&f, 532, 299, 161);
    assert_int_equal(validate_event(&f.ev, &l, reason, sizeof reason), R(SALE_TOTAL_MISMATCH));
    assert_non_null(strstr(reason, "add up to 1.59 EUR"));
    assert_non_null(strstr(reason, "total_cents 161 is 1.61 EUR"));
    assert_non_null(strstr(reason, "0.02 EUR apart"));
    assert_non_null(strstr(reason, "round by 0.01 EUR"));

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.total_cents = -250;
    assert_int_equal(validate_event(&f.ev, &l, reason, sizeof reason), R(NEGATIVE_AMOUNT));
    assert_non_null(strstr(reason, "sale.total_cents is negative (-250: -2.50 EUR)"));

    fx_init(&f);
    as_sale(&f, 1);
    f.tender[0].amount_cents = MAX_AMOUNT + 1;
    assert_int_equal(validate_event(&f.ev, &l, reason, sizeof reason), R(AMOUNT_OUT_OF_BOUNDS));
    assert_non_null(strstr(reason, "(10,000,000.01 EUR) is over the limit of 10,000,000.00 EUR"));

    /* A currency of no minor unit: the same figures as whole yen. */
    snprintf(cfg.currency.code, sizeof cfg.currency.code, "JPY");
    cfg.currency.digits = 0;
    fx_init(&f);
    as_one_line_sale(&f, 532, 299, 161);
    assert_int_equal(validate_event(&f.ev, &l, reason, sizeof reason), R(SALE_TOTAL_MISMATCH));
    assert_non_null(strstr(reason, "add up to 159 JPY"));

    fx_init(&f);
    as_one_line_sale(&f, 0, 299, 0);
    assert_int_equal(validate_event(&f.ev, &l, reason, sizeof reason), R(QTY_OUT_OF_BOUNDS));
    assert_non_null(strstr(reason, "qty_milli 0 (0 units) is outside 0.001..100,000 units"));

    /* Without a configuration: two decimals, no code. */
    fx_init(&f);
    as_one_line_sale(&f, 532, 299, 161);
    assert_int_equal(validate_event(&f.ev, &lim, reason, sizeof reason), R(SALE_TOTAL_MISMATCH));
    assert_non_null(strstr(reason, "add up to 1.59 but"));
    config_free(&cfg);
}

/* ---------------------------------------------------------------------------------------------
 * Amounts and quantities
 * ------------------------------------------------------------------------------------------- */

static void test_negative_amount(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_sale(&f, 2);
    f.line[1].unit_price_cents = -350;
    EXPECT(&f, NEGATIVE_AMOUNT, "unit_price_cents");

    fx_init(&f);
    as_sale(&f, 2);
    f.line[1].discount_cents = -10;
    EXPECT(&f, NEGATIVE_AMOUNT, "discount_cents");

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.total_cents = -250;
    EXPECT(&f, NEGATIVE_AMOUNT, "total_cents");

    fx_init(&f);
    as_sale(&f, 1);
    f.tender[0].amount_cents = -1;
    EXPECT(&f, NEGATIVE_AMOUNT, "amount_cents");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.compensation_cents = -100;
    EXPECT(&f, NEGATIVE_AMOUNT, "compensation_cents");

    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__RECEIVE, 1000);
    f.stock.unit_cost_cents = -80;
    EXPECT(&f, NEGATIVE_AMOUNT, "unit_cost_cents");

    fx_init(&f);
    as_target(&f, "2026-01-01");
    f.target.target_cents = -1;
    EXPECT(&f, NEGATIVE_AMOUNT, "target_cents");

    fx_init(&f);
    as_drawer(&f);
    f.drawer.counted_cents = -5;
    EXPECT(&f, NEGATIVE_AMOUNT, "counted_cents");

    /* Zero is not negative: a free item. */
    fx_init(&f);
    as_one_line_sale(&f, 1000, 0, 0);
    EXPECT_OK(&f);
}

static void test_qty_out_of_bounds(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_one_line_sale(&f, 0, 299, 0);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");

    fx_init(&f);
    as_one_line_sale(&f, -1000, 299, 0);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");

    /* The bound itself passes (100,000 units at 0.01 = 1000.00), one more fails. */
    fx_init(&f);
    as_one_line_sale(&f, MAX_QTY, 1, MAX_QTY / 1000);
    EXPECT_OK(&f);
    fx_init(&f);
    as_one_line_sale(&f, MAX_QTY + 1, 1, MAX_QTY / 1000);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");

    /* Stock: a COUNT is a counted quantity, never negative; zero is a real count. */
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__COUNT, -1000);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__COUNT, 0);
    EXPECT_OK(&f);

    /* An ADJUST is a signed delta, bounded both ways, and not zero. */
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__ADJUST, -5000);
    EXPECT_OK(&f);
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__ADJUST, -MAX_QTY);
    EXPECT_OK(&f);
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__ADJUST, -MAX_QTY - 1);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__ADJUST, 0);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");

    /* Every other kind carries the direction in the kind: the quantity is positive. */
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__RECEIVE, 0);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__DAMAGE, -1000);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");
    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__SHRINK, MAX_QTY + 1);
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "qty_milli");
}

static void test_amount_out_of_bounds(void **state)
{
    struct fx f;
    (void)state;

    /* A unit price at the bound passes (one unit, total = price), one more fails. */
    fx_init(&f);
    as_one_line_sale(&f, 1000, MAX_AMOUNT, MAX_AMOUNT);
    EXPECT_OK(&f);
    fx_init(&f);
    as_one_line_sale(&f, 1000, MAX_AMOUNT + 1, MAX_AMOUNT);
    EXPECT(&f, AMOUNT_OUT_OF_BOUNDS, "unit_price_cents");

    fx_init(&f);
    as_sale(&f, 1);
    f.sale.total_cents = MAX_AMOUNT + 1;
    EXPECT(&f, AMOUNT_OUT_OF_BOUNDS, "total_cents");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.compensation_cents = MAX_AMOUNT;
    EXPECT_OK(&f);
    fx_init(&f);
    as_complaint(&f);
    f.complaint.compensation_cents = MAX_AMOUNT + 1;
    EXPECT(&f, AMOUNT_OUT_OF_BOUNDS, "compensation_cents");

    fx_init(&f);
    as_target(&f, "2026-01-01");
    f.target.target_cents = INT64_MAX;
    EXPECT(&f, AMOUNT_OUT_OF_BOUNDS, "target_cents");

    fx_init(&f);
    as_drawer(&f);
    f.drawer.amount_cents = MAX_AMOUNT + 1;
    EXPECT(&f, AMOUNT_OUT_OF_BOUNDS, "amount_cents");
}

/* ---------------------------------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------------------------------- */

static void test_time_in_future(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.event_time_ms = NOW_MS + MAX_FUTURE_MS;
    EXPECT_OK(&f);

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.event_time_ms = NOW_MS + MAX_FUTURE_MS + 1;
    EXPECT(&f, TIME_IN_FUTURE, "event_time_ms");

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.event_time_ms = INT64_MAX;
    EXPECT(&f, TIME_IN_FUTURE, "event_time_ms");
}

static void test_time_too_old(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.event_time_ms = NOW_MS - RETENTION_MS;
    EXPECT_OK(&f);

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.event_time_ms = NOW_MS - RETENTION_MS - 1;
    EXPECT(&f, TIME_TOO_OLD, "event_time_ms");

    /* No time at all is a bad field, not an old event. */
    fx_init(&f);
    as_heartbeat(&f);
    f.ev.event_time_ms = 0;
    EXPECT(&f, BAD_FIELD, "event_time_ms");

    fx_init(&f);
    as_heartbeat(&f);
    f.ev.event_time_ms = -1;
    EXPECT(&f, BAD_FIELD, "event_time_ms");
}

/* ---------------------------------------------------------------------------------------------
 * Sizes
 * ------------------------------------------------------------------------------------------- */

static void test_too_many_lines(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_sale(&f, MAX_LINES);
    EXPECT_OK(&f);

    fx_init(&f);
    as_sale(&f, MAX_LINES + 1);
    EXPECT(&f, TOO_MANY_LINES, "lines");
}

static void test_string_too_long(void **state)
{
    struct fx f;
    static char buf[VALIDATE_TEXT_MAX + 2];
    static char label[VALIDATE_LABEL_MAX + 2];
    (void)state;

    fx_init(&f);
    as_complaint(&f);
    f.complaint.note = repeat(buf, 'n', 1024);
    EXPECT_OK(&f);

    fx_init(&f);
    as_complaint(&f);
    f.complaint.note = repeat(buf, 'n', 1025);
    EXPECT(&f, STRING_TOO_LONG, "complaint.note");

    fx_init(&f);
    as_complaint(&f);
    f.complaint.category = repeat(label, 'c', 64);
    EXPECT_OK(&f);

    fx_init(&f);
    as_complaint(&f);
    f.complaint.category = repeat(label, 'c', 65);
    EXPECT(&f, STRING_TOO_LONG, "complaint.category");

    fx_init(&f);
    as_stock(&f, FLOORWALKER__STOCK_MOVE__KIND__RECEIVE, 1000);
    f.stock.reference = repeat(buf, 'r', 1025);
    EXPECT(&f, STRING_TOO_LONG, "stock_move.reference");

    fx_init(&f);
    as_attendance(&f);
    f.att.role = repeat(label, 'r', 65);
    EXPECT(&f, STRING_TOO_LONG, "attendance.role");

    fx_init(&f);
    as_sale(&f, 2);
    f.line[1].category = repeat(label, 'c', 65);
    EXPECT(&f, STRING_TOO_LONG, "category");
}

/* ---------------------------------------------------------------------------------------------
 * Other fields
 * ------------------------------------------------------------------------------------------- */

/* A bad element of a repeated field is named with its index (the name is built only when a
 * check fails, so these also show the right element is named after passing ones). */
static void test_element_names(void **state)
{
    struct fx f;
    (void)state;

    fx_init(&f);
    as_sale(&f, 3);
    f.line[2].sku = "bad sku!";
    EXPECT(&f, BAD_ID, "sale.lines[2].sku");

    fx_init(&f);
    as_sale(&f, 3);
    f.line[1].discount_cents = -1;
    EXPECT(&f, NEGATIVE_AMOUNT, "sale.lines[1].discount_cents");

    fx_init(&f);
    as_sale(&f, 2);
    f.line[1].qty_milli = MAX_QTY + 1;
    EXPECT(&f, QTY_OUT_OF_BOUNDS, "sale.lines[1].qty_milli");

    fx_init(&f);
    as_sale(&f, 2);
    f.tender[0].amount_cents = -5;
    EXPECT(&f, NEGATIVE_AMOUNT, "sale.tenders[0].amount_cents");

    /* A heartbeat's terminal clock before 1970 is no reading (and INT64_MIN would overflow the
     * clock-skew difference). */
    fx_init(&f);
    as_heartbeat(&f);
    f.hb.terminal_time_ms = INT64_MIN;
    EXPECT(&f, BAD_FIELD, "heartbeat.terminal_time_ms");
    f.hb.terminal_time_ms = 0;
    EXPECT_OK(&f);
}

static void test_bad_field(void **state)
{
    struct fx f;
    (void)state;

    /* Shift end before start, equal, and longer than a day. */
    fx_init(&f);
    as_shift(&f);
    f.shift.end_ms = f.shift.start_ms - 1;
    EXPECT(&f, BAD_FIELD, "shift.end_ms");

    fx_init(&f);
    as_shift(&f);
    f.shift.end_ms = f.shift.start_ms;
    EXPECT(&f, BAD_FIELD, "shift.end_ms");

    fx_init(&f);
    as_shift(&f);
    f.shift.end_ms = f.shift.start_ms + 24 * 3600 * 1000LL;
    EXPECT_OK(&f);

    fx_init(&f);
    as_shift(&f);
    f.shift.end_ms = f.shift.start_ms + 24 * 3600 * 1000LL + 1;
    EXPECT(&f, BAD_FIELD, "shift");

    /* A business day that is not a calendar date. */
    fx_init(&f);
    as_target(&f, "2026-02-30");
    EXPECT(&f, BAD_FIELD, "business_day");

    fx_init(&f);
    as_target(&f, "");
    EXPECT(&f, BAD_FIELD, "business_day");

    /* A sale or return must have lines. */
    fx_init(&f);
    as_sale(&f, 0);
    EXPECT(&f, BAD_FIELD, "lines");

    fx_init(&f);
    as_sale(&f, 0);
    f.sale.kind = FLOORWALKER__SALE__KIND__RETURN;
    f.sale.original_receipt_id = "R-0000";
    EXPECT(&f, BAD_FIELD, "lines");
}

/* ---------------------------------------------------------------------------------------------
 * validate_day
 * ------------------------------------------------------------------------------------------- */

static void test_day_calendar(void **state)
{
    (void)state;

    /* Leap years: every 4th, not every 100th, but every 400th. */
    assert_true(validate_day("2024-02-29"));
    assert_false(validate_day("2025-02-29"));
    assert_false(validate_day("2100-02-29"));
    assert_true(validate_day("2000-02-29"));
    assert_true(validate_day("2025-02-28"));

    /* Month lengths. */
    assert_true(validate_day("2026-01-31"));
    assert_false(validate_day("2026-02-30"));
    assert_true(validate_day("2026-03-31"));
    assert_false(validate_day("2026-04-31"));
    assert_true(validate_day("2026-04-30"));
    assert_false(validate_day("2026-06-31"));
    assert_false(validate_day("2026-09-31"));
    assert_false(validate_day("2026-11-31"));
    assert_true(validate_day("2026-12-31"));

    /* Out of range parts. */
    assert_false(validate_day("2026-00-10"));
    assert_false(validate_day("2026-13-01"));
    assert_false(validate_day("2026-01-00"));
    assert_false(validate_day("2026-01-32"));
    assert_true(validate_day("1970-01-01"));
    assert_true(validate_day("9999-12-31"));
}

static void test_day_malformed(void **state)
{
    (void)state;

    assert_false(validate_day(NULL));
    assert_false(validate_day(""));
    assert_false(validate_day("2026-1-01"));
    assert_false(validate_day("2026-01-1"));
    assert_false(validate_day("26-01-01"));
    assert_false(validate_day("2026/01/01"));
    assert_false(validate_day("20260101"));
    assert_false(validate_day("2026-01-01x"));
    assert_false(validate_day("2026-01-01 "));
    assert_false(validate_day(" 2026-01-01"));
    assert_false(validate_day("2026-01-01T00:00"));
    assert_false(validate_day("abcd-ef-gh"));
    assert_false(validate_day("2026--1-01"));
    assert_false(validate_day("2026-01--1"));
    assert_false(validate_day("2026-0a-01"));
}

/* "YYYY-MM-DD" is ten digits and two dashes; sscanf's %d also takes a sign or leading
 * blanks inside the two-character fields. */
static void test_day_only_digits(void **state)
{
    (void)state;

    /* Was a bug: validate.c validate_day() parses with sscanf("%4d-%2d-%2d"), which lets a
     * two-character field be " 1" or "+1"; these ten-character strings are accepted as
     * 2026-01-01 but are not YYYY-MM-DD. */
    assert_false(validate_day("2026- 1-01"));
    assert_false(validate_day("2026-+1-01"));
    assert_false(validate_day("2026-01- 1"));
    assert_false(validate_day("2026-01-+1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_each_body_kind),
        cmocka_unit_test(test_valid_variants),
        cmocka_unit_test(test_missing_id),
        cmocka_unit_test(test_bad_id),
        cmocka_unit_test(test_bad_seq),
        cmocka_unit_test(test_missing_body),
        cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_sale_total_mismatch),
        cmocka_unit_test(test_sale_line_rounding),
        cmocka_unit_test(test_negative_amount),
        cmocka_unit_test(test_qty_out_of_bounds),
        cmocka_unit_test(test_amount_out_of_bounds),
        cmocka_unit_test(test_time_in_future),
        cmocka_unit_test(test_time_too_old),
        cmocka_unit_test(test_too_many_lines),
        cmocka_unit_test(test_string_too_long),
        cmocka_unit_test(test_bad_field),
        cmocka_unit_test(test_element_names),
        cmocka_unit_test(test_reasons_in_units),
        cmocka_unit_test(test_day_calendar),
        cmocka_unit_test(test_day_malformed),
        cmocka_unit_test(test_day_only_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
