/*
 * fwb_pg: the same event stream applied to PostgreSQL, the way a team without Floorwalker would
 * build it: an ingest service that decodes each terminal batch and, in ONE transaction per
 * batch (about 1,000 events, synchronous_commit on, so durable like Floorwalker's ack), COPYs
 * the events into per-connection staging tables and applies them with set-based multi-row
 * upserts (INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE) into tables holding the
 * raw events (primary key terminal/epoch/seq, the dedup) and the same rollups and live state
 * as Floorwalker's: hourly store sales, SKU-day, category-day, cashier-day, stock moves by
 * day and kind, stock on hand, complaint state, attendance per employee-day, drawer cash, and
 * the terminals' sequence marks. Business day and hour are computed in the loader (UTC, as the
 * benchmark's stores are). Alert rules are not evaluated (Floorwalker evaluates them).
 *
 * Connections: one per terminal up to -c (a pool); each connection takes its terminals'
 * batches in order. A deadlock or serialization failure is rolled back and retried.
 *
 * Usage: fwb_pg -d CONNINFO --init            create the schema
 *        fwb_pg -d CONNINFO [-c CONNS] STREAM load the stream; prints one JSON line
 */
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floorwalker.pb-c.h"
#include "fwb.h"
#include "fwcommon.h"

static const char schema_sql[] =
    "CREATE TABLE events (terminal_id text, epoch bigint, seq bigint, store_id text NOT NULL,"
    "  event_ms bigint NOT NULL, kind smallint NOT NULL, body bytea NOT NULL,"
    "  PRIMARY KEY (terminal_id, epoch, seq));"
    "CREATE TABLE terminal_marks (terminal_id text, epoch bigint, acked_seq bigint NOT NULL,"
    "  PRIMARY KEY (terminal_id, epoch));"
    "CREATE TABLE sales_hour (store_id text, day date, hour smallint,"
    "  transactions bigint, items_milli bigint, gross bigint, discounts bigint, returns bigint,"
    "  returns_cents bigint, voids bigint, voids_cents bigint, net bigint, cash bigint,"
    "  card bigint, mobile bigint, voucher bigint, other bigint,"
    "  PRIMARY KEY (store_id, day, hour));"
    "CREATE TABLE sku_day (store_id text, day date, sku text, category text, qty_milli bigint,"
    "  net bigint, promo_qty_milli bigint, promo_net bigint, PRIMARY KEY (store_id, day, sku));"
    "CREATE TABLE category_day (store_id text, day date, category text, qty_milli bigint,"
    "  net bigint, PRIMARY KEY (store_id, day, category));"
    "CREATE TABLE cashier_day (store_id text, day date, cashier_id text, transactions bigint,"
    "  net bigint, items_milli bigint, returns bigint, voids bigint,"
    "  PRIMARY KEY (store_id, day, cashier_id));"
    "CREATE TABLE stock_on_hand (store_id text, sku text, on_hand_milli bigint,"
    "  PRIMARY KEY (store_id, sku));"
    "CREATE TABLE stock_moves_day (store_id text, day date, kind smallint, qty_milli bigint,"
    "  value_cents bigint, PRIMARY KEY (store_id, day, kind));"
    "CREATE TABLE complaints (store_id text, complaint_id text, state smallint,"
    "  category text, severity smallint, channel smallint, opened_ms bigint,"
    "  first_response_ms bigint, updated_ms bigint, compensation_cents bigint,"
    "  PRIMARY KEY (store_id, complaint_id));"
    "CREATE TABLE attendance_day (store_id text, day date, employee_id text, clock_ins int,"
    "  clock_outs int, breaks int, last_kind smallint, last_ms bigint,"
    "  PRIMARY KEY (store_id, day, employee_id));"
    "CREATE TABLE drawer_cash (store_id text, drawer_id text, cashier_id text,"
    "  expected_cents bigint, PRIMARY KEY (store_id, drawer_id));";

/* Per connection: staging tables emptied at every commit (temporary: no WAL). */
static const char staging_sql[] =
    "CREATE TEMP TABLE s_ev (terminal_id text, epoch bigint, seq bigint, store_id text,"
    "  event_ms bigint, day date, hour smallint, kind smallint, body bytea,"
    "  sale_kind smallint, cashier_id text, net bigint, sale_total bigint, items_milli bigint,"
    "  gross bigint, discounts bigint, cash bigint, card bigint, mobile bigint, voucher bigint,"
    "  other bigint, sku text, category text, move_kind smallint, move_qty bigint,"
    "  move_value bigint, complaint_id text, c_action smallint, c_severity smallint,"
    "  c_channel smallint, compensation bigint, employee_id text, att_kind smallint,"
    "  drawer_id text, d_amount bigint) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE s_line (store_id text, day date, sku text, category text,"
    "  qty_milli bigint, net bigint, promo boolean) ON COMMIT DELETE ROWS;";

static const char apply_sql[] =
    "INSERT INTO events SELECT terminal_id, epoch, seq, store_id, event_ms, kind, body FROM s_ev;"
    "INSERT INTO terminal_marks AS t SELECT terminal_id, epoch, max(seq) FROM s_ev GROUP BY 1, 2"
    "  ORDER BY 1, 2 ON CONFLICT (terminal_id, epoch) DO UPDATE"
    "  SET acked_seq = greatest(t.acked_seq, excluded.acked_seq);"
    "INSERT INTO sales_hour AS t SELECT store_id, day, hour,"
    "  count(*) FILTER (WHERE sale_kind = 1),"
    "  coalesce(sum(items_milli) FILTER (WHERE sale_kind = 1), 0),"
    "  coalesce(sum(gross) FILTER (WHERE sale_kind = 1), 0),"
    "  coalesce(sum(discounts) FILTER (WHERE sale_kind = 1), 0),"
    "  count(*) FILTER (WHERE sale_kind = 2),"
    "  coalesce(sum(sale_total) FILTER (WHERE sale_kind = 2), 0),"
    "  count(*) FILTER (WHERE sale_kind = 3),"
    "  coalesce(sum(sale_total) FILTER (WHERE sale_kind = 3), 0),"
    "  sum(net), sum(cash), sum(card), sum(mobile), sum(voucher), sum(other)"
    "  FROM s_ev WHERE sale_kind IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (store_id, day, hour) DO UPDATE SET"
    "  transactions = t.transactions + excluded.transactions,"
    "  items_milli = t.items_milli + excluded.items_milli, gross = t.gross + excluded.gross,"
    "  discounts = t.discounts + excluded.discounts, returns = t.returns + excluded.returns,"
    "  returns_cents = t.returns_cents + excluded.returns_cents,"
    "  voids = t.voids + excluded.voids, voids_cents = t.voids_cents + excluded.voids_cents,"
    "  net = t.net + excluded.net, cash = t.cash + excluded.cash,"
    "  card = t.card + excluded.card, mobile = t.mobile + excluded.mobile,"
    "  voucher = t.voucher + excluded.voucher, other = t.other + excluded.other;"
    "INSERT INTO sku_day AS t SELECT store_id, day, sku, min(category), sum(qty_milli), sum(net),"
    "  coalesce(sum(qty_milli) FILTER (WHERE promo), 0),"
    "  coalesce(sum(net) FILTER (WHERE promo), 0)"
    "  FROM s_line GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (store_id, day, sku) DO UPDATE SET qty_milli = t.qty_milli +"
    "  excluded.qty_milli, net = t.net + excluded.net,"
    "  promo_qty_milli = t.promo_qty_milli + excluded.promo_qty_milli,"
    "  promo_net = t.promo_net + excluded.promo_net;"
    "INSERT INTO category_day AS t SELECT store_id, day, category, sum(qty_milli), sum(net)"
    "  FROM s_line GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (store_id, day, category) DO UPDATE SET"
    "  qty_milli = t.qty_milli + excluded.qty_milli, net = t.net + excluded.net;"
    "INSERT INTO cashier_day AS t SELECT store_id, day, cashier_id,"
    "  count(*) FILTER (WHERE sale_kind = 1), sum(net),"
    "  coalesce(sum(items_milli) FILTER (WHERE sale_kind = 1), 0),"
    "  count(*) FILTER (WHERE sale_kind = 2), count(*) FILTER (WHERE sale_kind = 3)"
    "  FROM s_ev WHERE sale_kind IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (store_id, day, cashier_id) DO UPDATE SET"
    "  transactions = t.transactions + excluded.transactions, net = t.net + excluded.net,"
    "  items_milli = t.items_milli + excluded.items_milli,"
    "  returns = t.returns + excluded.returns, voids = t.voids + excluded.voids;"
    "INSERT INTO stock_on_hand AS t SELECT store_id, sku, sum(d) FROM ("
    "  SELECT store_id, sku, -qty_milli AS d FROM s_line UNION ALL"
    "  SELECT store_id, sku, move_qty FROM s_ev WHERE move_kind IS NOT NULL AND move_kind <> 8"
    "  ) x GROUP BY 1, 2 ORDER BY 1, 2 ON CONFLICT (store_id, sku) DO UPDATE"
    "  SET on_hand_milli = t.on_hand_milli + excluded.on_hand_milli;"
    "INSERT INTO stock_on_hand AS t SELECT DISTINCT ON (store_id, sku) store_id, sku, move_qty"
    "  FROM s_ev WHERE move_kind = 8 ORDER BY store_id, sku, event_ms DESC, seq DESC"
    "  ON CONFLICT (store_id, sku) DO UPDATE SET on_hand_milli = excluded.on_hand_milli;"
    "INSERT INTO stock_moves_day AS t SELECT store_id, day, move_kind, sum(move_qty),"
    "  sum(move_value) FROM s_ev WHERE move_kind IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (store_id, day, kind) DO UPDATE SET qty_milli = t.qty_milli +"
    "  excluded.qty_milli, value_cents = t.value_cents + excluded.value_cents;"
    "INSERT INTO complaints AS t SELECT DISTINCT ON (store_id, complaint_id) store_id,"
    "  complaint_id, c_action, category, c_severity, c_channel,"
    "  CASE WHEN c_action = 1 THEN event_ms END, CASE WHEN c_action IN (2, 3) THEN event_ms END,"
    "  event_ms, compensation FROM s_ev WHERE complaint_id IS NOT NULL"
    "  ORDER BY store_id, complaint_id, event_ms DESC, seq DESC"
    "  ON CONFLICT (store_id, complaint_id) DO UPDATE SET state = excluded.state,"
    "  opened_ms = coalesce(t.opened_ms, excluded.opened_ms),"
    "  first_response_ms = coalesce(t.first_response_ms, excluded.first_response_ms),"
    "  updated_ms = excluded.updated_ms,"
    "  compensation_cents = t.compensation_cents + excluded.compensation_cents;"
    "INSERT INTO attendance_day AS t SELECT store_id, day, employee_id,"
    "  count(*) FILTER (WHERE att_kind = 1), count(*) FILTER (WHERE att_kind = 2),"
    "  count(*) FILTER (WHERE att_kind = 3),"
    "  (array_agg(att_kind ORDER BY event_ms DESC, seq DESC))[1], max(event_ms)"
    "  FROM s_ev WHERE att_kind IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (store_id, day, employee_id) DO UPDATE SET"
    "  clock_ins = t.clock_ins + excluded.clock_ins,"
    "  clock_outs = t.clock_outs + excluded.clock_outs, breaks = t.breaks + excluded.breaks,"
    "  last_kind = CASE WHEN excluded.last_ms >= t.last_ms THEN excluded.last_kind"
    "  ELSE t.last_kind END, last_ms = greatest(t.last_ms, excluded.last_ms);"
    "INSERT INTO drawer_cash AS t SELECT store_id, drawer_id, max(cashier_id), sum(d_amount)"
    "  FROM s_ev WHERE drawer_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
    "  ON CONFLICT (store_id, drawer_id) DO UPDATE SET"
    "  expected_cents = t.expected_cents + excluded.expected_cents,"
    "  cashier_id = coalesce(excluded.cashier_id, t.cashier_id);"
    "UPDATE drawer_cash d SET expected_cents = d.expected_cents + x.cash FROM ("
    "  SELECT store_id, cashier_id, sum(cash) AS cash FROM s_ev WHERE cash <> 0"
    "  GROUP BY 1, 2) x WHERE d.store_id = x.store_id AND d.cashier_id = x.cashier_id;"
    "COMMIT;";

struct buf {
    char *p;
    size_t len, cap;
};

static void need(struct buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t c = b->cap ? b->cap : 1 << 16;
    while (c < b->len + n)
        c *= 2;
    if (!(b->p = realloc(b->p, c)))
        fwb_die("out of memory");
    b->cap = c;
}

static void put_raw(struct buf *b, const char *s, size_t n)
{
    need(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* A text column for COPY (text format), then the delimiter d. NULL or "" for strings that
 * may be absent: empty strings are written as NULL (\N) when null_if_empty. */
static void put_str(struct buf *b, const char *s, bool null_if_empty, char d)
{
    if (!s || (null_if_empty && !*s)) {
        put_raw(b, "\\N", 2);
    } else {
        need(b, strlen(s) * 2 + 1);
        for (; *s; s++) {
            char c = *s;
            if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
                b->p[b->len++] = '\\';
                c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
            }
            b->p[b->len++] = c;
        }
    }
    need(b, 1);
    b->p[b->len++] = d;
}

static void put_i(struct buf *b, int64_t v, char d)
{
    need(b, 24);
    b->len += (size_t)snprintf(b->p + b->len, 24, "%" PRId64 "%c", v, d);
}

static void put_null(struct buf *b, int n, char d)
{
    for (int i = 0; i < n; i++) {
        put_raw(b, "\\N", 2);
        need(b, 1);
        b->p[b->len++] = (i == n - 1) ? d : '\t';
    }
}

static void put_hex(struct buf *b, const uint8_t *p, size_t n, char d)
{
    static const char hx[] = "0123456789abcdef";
    need(b, 3 + 2 * n + 1);
    b->p[b->len++] = '\\';
    b->p[b->len++] = '\\';
    b->p[b->len++] = 'x';
    for (size_t i = 0; i < n; i++) {
        b->p[b->len++] = hx[p[i] >> 4];
        b->p[b->len++] = hx[p[i] & 15];
    }
    b->p[b->len++] = d;
}

/* "YYYY-MM-DD" of a UTC day number, cached: events of a batch share a day or two. */
static const char *day_text(int64_t dayno, int64_t *cached_no, char *cached)
{
    if (dayno != *cached_no) {
        time_t secs = (time_t)(dayno * 86400);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(cached, 11, "%Y-%m-%d", &tm);
        *cached_no = dayno;
    }
    return cached;
}

static int64_t round_half_up_milli(int64_t qty_milli, int64_t cents)
{
    int64_t x = qty_milli * cents;
    return x >= 0 ? (x + 500) / 1000 : -((-x + 500) / 1000);
}

struct rows {
    struct buf ev, line;
    int64_t dayno;
    char day[16];
};

/* One event as a row of s_ev (and its sale lines as rows of s_line). */
static void event_rows(struct rows *r, const Floorwalker__Event *e, const uint8_t *raw,
                       size_t rawlen)
{
    struct buf *b = &r->ev;
    int64_t ms = e->event_time_ms;
    int64_t dayno = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    const char *day = day_text(dayno, &r->dayno, r->day);
    int hour = (int)((ms - dayno * 86400000) / 3600000);
    put_str(b, e->terminal_id, false, '\t');
    put_i(b, (int64_t)e->epoch, '\t');
    put_i(b, (int64_t)e->seq, '\t');
    put_str(b, e->store_id, false, '\t');
    put_i(b, ms, '\t');
    put_str(b, day, false, '\t');
    put_i(b, hour, '\t');
    put_i(b, (int64_t)e->body_case, '\t');
    put_hex(b, raw, rawlen, '\t');
    /* sale: sale_kind .. other (12 columns) */
    if (e->body_case == FLOORWALKER__EVENT__BODY_SALE) {
        const Floorwalker__Sale *s = e->sale;
        int sign = s->kind == FLOORWALKER__SALE__KIND__SALE ? 1 : -1;
        int64_t items = 0, gross = 0, disc = 0, tender[6] = {0};
        for (size_t i = 0; i < s->n_lines; i++) {
            const Floorwalker__SaleLine *l = s->lines[i];
            int64_t lg = round_half_up_milli(l->qty_milli, l->unit_price_cents);
            items += l->qty_milli;
            gross += lg;
            disc += l->discount_cents;
            put_str(&r->line, e->store_id, false, '\t');
            put_str(&r->line, day, false, '\t');
            put_str(&r->line, l->sku, false, '\t');
            put_str(&r->line, l->category, true, '\t');
            put_i(&r->line, sign * l->qty_milli, '\t');
            put_i(&r->line, sign * (lg - l->discount_cents), '\t');
            put_raw(&r->line, l->promo && *l->promo ? "t\n" : "f\n", 2);
        }
        for (size_t i = 0; i < s->n_tenders; i++) {
            unsigned m = (unsigned)s->tenders[i]->method;
            tender[m <= 5 ? m : 5] += sign * s->tenders[i]->amount_cents;
        }
        put_i(b, s->kind, '\t');
        put_str(b, s->cashier_id, true, '\t');
        put_i(b, sign * s->total_cents, '\t');
        put_i(b, s->total_cents, '\t');
        put_i(b, items, '\t');
        put_i(b, gross, '\t');
        put_i(b, disc, '\t');
        for (int m = 1; m <= 5; m++)
            put_i(b, tender[m], '\t');
    } else {
        /* A drawer's cashier goes in cashier_id: cash sales by that cashier move its drawer. */
        put_null(b, 1, '\t');
        put_str(b, e->body_case == FLOORWALKER__EVENT__BODY_DRAWER ? e->drawer->cashier_id : NULL,
                true, '\t');
        put_null(b, 10, '\t');
    }
    /* stock move: sku .. move_value (5 columns) */
    if (e->body_case == FLOORWALKER__EVENT__BODY_STOCK_MOVE) {
        const Floorwalker__StockMove *m = e->stock_move;
        int64_t q = m->qty_milli;
        switch (m->kind) {
        case FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_OUT:
        case FLOORWALKER__STOCK_MOVE__KIND__RETURN_TO_VENDOR:
        case FLOORWALKER__STOCK_MOVE__KIND__DAMAGE:
        case FLOORWALKER__STOCK_MOVE__KIND__SHRINK:
            q = -q;
            break;
        default:
            break;
        }
        put_str(b, m->sku, false, '\t');
        put_str(b, m->category, true, '\t');
        put_i(b, m->kind, '\t');
        put_i(b, q, '\t');
        put_i(b, round_half_up_milli(m->qty_milli, m->unit_cost_cents), '\t');
    } else if (e->body_case == FLOORWALKER__EVENT__BODY_COMPLAINT) {
        put_null(b, 1, '\t');
        put_str(b, e->complaint->category, true, '\t'); /* complaints use the category column */
        put_null(b, 3, '\t');
    } else {
        put_null(b, 5, '\t');
    }
    /* complaint: complaint_id .. compensation (5 columns) */
    if (e->body_case == FLOORWALKER__EVENT__BODY_COMPLAINT) {
        const Floorwalker__Complaint *c = e->complaint;
        put_str(b, c->complaint_id, false, '\t');
        put_i(b, c->action, '\t');
        put_i(b, c->severity, '\t');
        put_i(b, c->channel, '\t');
        put_i(b, c->compensation_cents, '\t');
    } else {
        put_null(b, 5, '\t');
    }
    /* attendance: employee_id, att_kind */
    if (e->body_case == FLOORWALKER__EVENT__BODY_ATTENDANCE) {
        put_str(b, e->attendance->employee_id, false, '\t');
        put_i(b, e->attendance->kind, '\t');
    } else {
        put_null(b, 2, '\t');
    }
    /* drawer: drawer_id, d_amount */
    if (e->body_case == FLOORWALKER__EVENT__BODY_DRAWER) {
        const Floorwalker__Drawer *d = e->drawer;
        int64_t a = d->amount_cents;
        if (d->kind == FLOORWALKER__DRAWER__KIND__PICKUP ||
            d->kind == FLOORWALKER__DRAWER__KIND__PAID_OUT)
            a = -a;
        else if (d->kind == FLOORWALKER__DRAWER__KIND__CLOSE)
            a = 0;
        put_str(b, d->drawer_id, false, '\t');
        put_i(b, a, '\n');
    } else {
        put_null(b, 2, '\n');
    }
}

struct worker {
    const struct fwb_stream *s;
    const char *conninfo;
    unsigned idx, nconn;
    uint64_t events, batches, retries;
    pthread_t th;
};

static bool pg_ok(PGresult *res, ExecStatusType want, const char *what, bool *retry)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == want) {
        PQclear(res);
        return true;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (retry && state && (!strcmp(state, "40P01") || !strcmp(state, "40001"))) {
        *retry = true;
        PQclear(res);
        return false;
    }
    fwb_die("%s: %s", what, PQresultErrorMessage(res));
}

static bool copy_in(PGconn *c, const char *sql, const struct buf *b, bool *retry)
{
    if (!pg_ok(PQexec(c, sql), PGRES_COPY_IN, sql, retry))
        return false;
    if (PQputCopyData(c, b->p, (int)b->len) != 1 || PQputCopyEnd(c, NULL) != 1)
        fwb_die("COPY: %s", PQerrorMessage(c));
    PGresult *res;
    bool ok = true;
    while ((res = PQgetResult(c)))
        ok = pg_ok(res, PGRES_COMMAND_OK, "COPY", retry) && ok;
    return ok;
}

/* The multi-statement string stops at the first error; drain every result. */
static bool exec_all(PGconn *c, const char *sql, bool *retry)
{
    if (!PQsendQuery(c, sql))
        fwb_die("send: %s", PQerrorMessage(c));
    PGresult *res;
    bool ok = true;
    while ((res = PQgetResult(c))) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            PQclear(res);
        else
            ok = pg_ok(res, PGRES_COMMAND_OK, "apply", retry) && ok;
    }
    return ok;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct fwb_stream *s = w->s;
    PGconn *c = PQconnectdb(w->conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fwb_die("connect: %s", PQerrorMessage(c));
    if (!pg_ok(PQexec(c, staging_sql), PGRES_COMMAND_OK, "staging tables", NULL))
        return NULL;
    struct rows r = {.dayno = INT64_MIN};
    struct fw_slice *sl = NULL;
    size_t slcap = 0;
    for (size_t i = 0; i < s->nb; i++) {
        const struct fwb_batch *b = &s->b[i];
        if (b->term % w->nconn != w->idx)
            continue;
        if (b->nev > slcap) {
            slcap = b->nev;
            free(sl);
            if (!(sl = malloc(slcap * sizeof *sl)))
                fwb_die("out of memory");
        }
        fw_batch_split(b->data, b->len, sl, slcap);
        r.ev.len = r.line.len = 0;
        for (unsigned k = 0; k < b->nev; k++) {
            Floorwalker__Event *e = floorwalker__event__unpack(NULL, sl[k].len, sl[k].p);
            if (!e)
                fwb_die("an event does not decode");
            event_rows(&r, e, sl[k].p, sl[k].len);
            floorwalker__event__free_unpacked(e, NULL);
        }
        for (;;) {
            bool retry = false;
            if (pg_ok(PQexec(c, "BEGIN"), PGRES_COMMAND_OK, "BEGIN", NULL) &&
                copy_in(c, "COPY s_ev FROM STDIN", &r.ev, &retry) &&
                (!r.line.len || copy_in(c, "COPY s_line FROM STDIN", &r.line, &retry)) &&
                exec_all(c, apply_sql, &retry))
                break;
            if (!retry)
                fwb_die("batch failed");
            pg_ok(PQexec(c, "ROLLBACK"), PGRES_COMMAND_OK, "ROLLBACK", NULL);
            w->retries++;
        }
        w->events += b->nev;
        w->batches++;
    }
    free(sl);
    free(r.ev.p);
    free(r.line.p);
    PQfinish(c);
    return NULL;
}

int main(int argc, char **argv)
{
    fwb_prog = "fwb_pg";
    const char *conninfo = NULL;
    unsigned conns = 8;
    bool init = false;
    static const struct option opts[] = {{"init", no_argument, NULL, 'i'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "d:c:", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            conninfo = optarg;
            break;
        case 'c':
            conns = (unsigned)atoi(optarg);
            break;
        case 'i':
            init = true;
            break;
        default:
            fwb_die("usage: fwb_pg -d CONNINFO (--init | [-c CONNS] STREAM)");
        }
    }
    if (!conninfo || !conns || (!init && optind + 1 != argc))
        fwb_die("usage: fwb_pg -d CONNINFO (--init | [-c CONNS] STREAM)");
    if (init) {
        PGconn *pc = PQconnectdb(conninfo);
        if (PQstatus(pc) != CONNECTION_OK)
            fwb_die("connect: %s", PQerrorMessage(pc));
        pg_ok(PQexec(pc, schema_sql), PGRES_COMMAND_OK, "schema", NULL);
        PQfinish(pc);
        return 0;
    }
    struct fwb_stream s;
    fwb_stream_open(&s, argv[optind]);
    if (conns > s.nterms)
        conns = s.nterms;
    struct worker *w = calloc(conns, sizeof *w);
    uint64_t t0 = fwb_now_ns();
    for (unsigned i = 0; i < conns; i++) {
        w[i] = (struct worker){.s = &s, .conninfo = conninfo, .idx = i, .nconn = conns};
        pthread_create(&w[i].th, NULL, worker_main, &w[i]);
    }
    uint64_t events = 0, batches = 0, retries = 0;
    for (unsigned i = 0; i < conns; i++) {
        pthread_join(w[i].th, NULL);
        events += w[i].events;
        batches += w[i].batches;
        retries += w[i].retries;
    }
    double secs = (double)(fwb_now_ns() - t0) / 1e9;
    printf("{\"events\": %" PRIu64 ", \"batches\": %" PRIu64 ", \"terminals\": %u, "
           "\"connections\": %u, \"retries\": %" PRIu64 ", \"seconds\": %.4f, "
           "\"events_per_s\": %.0f}\n",
           events, batches, s.nterms, conns, retries, secs, (double)events / secs);
    free(w);
    fwb_stream_close(&s);
    return 0;
}
