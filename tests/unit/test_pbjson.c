/*
 * Unit tests for clients/common/pbjson.c: JSON <-> protobuf-c by reflection.
 *
 * Uses the floorwalker generated types, plus one hand-written proto2-style descriptor (AllTypes)
 * that has every scalar type and every label, which floorwalker.proto alone does not cover.
 * Run under valgrind too: every error case must free what it built.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floorwalker.pb-c.h"
#include "pbjson.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static ProtobufCMessage *parse_ok(const ProtobufCMessageDescriptor *d, const char *text)
{
    char err[256] = "";
    ProtobufCMessage *m = pbjson_parse_str(d, text, err, sizeof(err));

    if (m == NULL)
        fail_msg("parse of %s failed: %s", text, err);
    assert_string_equal(err, "");
    return m;
}

/* The parse fails, err is one line and contains each of the (NULL-terminated) needles. */
static void expect_error(const ProtobufCMessageDescriptor *d, const char *text, ...)
{
    char err[512];
    ProtobufCMessage *m;
    va_list ap;
    const char *needle;

    memset(err, 'X', sizeof(err));
    m = pbjson_parse_str(d, text, err, sizeof(err));
    if (m != NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail_msg("parse of %s should have failed", text);
    }
    assert_non_null(memchr(err, '\0', sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
    va_start(ap, text);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(err, needle) == NULL)
            fail_msg("error for %s is \"%s\", which lacks \"%s\"", text, err, needle);
    }
    va_end(ap);
}

/* The parse fails with exactly this message. */
static void expect_error_exact(const ProtobufCMessageDescriptor *d, const char *text,
                               const char *want)
{
    char err[512] = "";
    ProtobufCMessage *m = pbjson_parse_str(d, text, err, sizeof(err));

    if (m != NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail_msg("parse of %s should have failed", text);
    }
    assert_string_equal(err, want);
}

static void assert_same_wire(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la = protobuf_c_message_get_packed_size(a);
    size_t lb = protobuf_c_message_get_packed_size(b);
    uint8_t *ba, *bb;

    assert_int_equal(la, lb);
    ba = malloc(la + 1);
    bb = malloc(lb + 1);
    assert_non_null(ba);
    assert_non_null(bb);
    assert_int_equal(protobuf_c_message_pack(a, ba), la);
    assert_int_equal(protobuf_c_message_pack(b, bb), lb);
    assert_memory_equal(ba, bb, la);
    free(ba);
    free(bb);
}

/*
 * m -> JSON text -> message must give the same wire bytes, with and without defaults; returns
 * the JSON (without defaults) for field-by-field checks.
 */
static json_t *roundtrip(const ProtobufCMessage *m)
{
    json_t *j = NULL;

    for (int defaults = 1; defaults >= 0; defaults--) {
        char err[256] = "";
        json_t *out = pbjson_from_message(m, defaults);
        char *text;
        ProtobufCMessage *back;

        assert_non_null(out);
        text = json_dumps(out, JSON_COMPACT);
        assert_non_null(text);
        back = pbjson_parse_str(m->descriptor, text, err, sizeof(err));
        if (back == NULL)
            fail_msg("re-parse of %s failed: %s", text, err);
        assert_same_wire(m, back);
        protobuf_c_message_free_unpacked(back, NULL);
        free(text);
        if (defaults)
            json_decref(out);
        else
            j = out;
    }
    return j;
}

static const json_t *get(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL)
        fail_msg("key \"%s\" missing", key);
    return v;
}

static void assert_json_str(const json_t *obj, const char *key, const char *want)
{
    const json_t *v = get(obj, key);

    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), want);
}

static void assert_json_int(const json_t *obj, const char *key, json_int_t want)
{
    const json_t *v = get(obj, key);

    assert_true(json_is_integer(v));
    assert_true(json_integer_value(v) == want);
}

static void assert_json_absent(const json_t *obj, const char *key)
{
    if (json_object_get(obj, key) != NULL)
        fail_msg("key \"%s\" should be absent", key);
}

/* ---------------------------------------------------------------------------------------------
 * Round trips over floorwalker types
 * ------------------------------------------------------------------------------------------- */

static const char SALE_EVENT[] =
    "{\"store_id\": \"S001\", \"terminal_id\": \"T01\", \"epoch\": \"7\", \"seq\": 42,"
    " \"event_time_ms\": 1700000000123,"
    " \"sale\": {\"receipt_id\": \"R-1\", \"cashier_id\": \"C9\", \"kind\": \"SALE\","
    "   \"lines\": ["
    "     {\"sku\": \"SKU-1\", \"category\": \"dairy\", \"qty_milli\": 1500,"
    "      \"unit_price_cents\": 299, \"discount_cents\": 0},"
    "     {\"sku\": \"SKU-2\", \"category\": \"bakery\", \"qty_milli\": 1000,"
    "      \"unit_price_cents\": 350, \"discount_cents\": 50, \"promo\": \"P1\"}],"
    "   \"tenders\": [{\"method\": \"CASH\", \"amount_cents\": 500},"
    "                 {\"method\": \"CARD\", \"amount_cents\": 299}],"
    "   \"total_cents\": 799}}";

static void test_sale_roundtrip(void **state)
{
    Floorwalker__Event *ev;
    Floorwalker__Sale *s;
    json_t *j;
    const json_t *js, *lines, *tenders;

    (void)state;
    ev = (Floorwalker__Event *)parse_ok(&floorwalker__event__descriptor, SALE_EVENT);
    assert_string_equal(ev->store_id, "S001");
    assert_string_equal(ev->terminal_id, "T01");
    assert_int_equal(ev->epoch, 7);
    assert_int_equal(ev->seq, 42);
    assert_true(ev->event_time_ms == 1700000000123LL);
    assert_int_equal(ev->body_case, FLOORWALKER__EVENT__BODY_SALE);
    s = ev->sale;
    assert_non_null(s);
    assert_string_equal(s->receipt_id, "R-1");
    assert_int_equal(s->kind, FLOORWALKER__SALE__KIND__SALE);
    assert_int_equal(s->n_lines, 2);
    assert_string_equal(s->lines[0]->sku, "SKU-1");
    assert_true(s->lines[0]->qty_milli == 1500);
    assert_true(s->lines[1]->discount_cents == 50);
    assert_string_equal(s->lines[1]->promo, "P1");
    /* fields not given keep the shared empty string */
    assert_ptr_equal(s->lines[0]->promo, protobuf_c_empty_string);
    assert_ptr_equal(s->original_receipt_id, protobuf_c_empty_string);
    assert_int_equal(s->n_tenders, 2);
    assert_int_equal(s->tenders[0]->method, FLOORWALKER__TENDER__METHOD__CASH);
    assert_int_equal(s->tenders[1]->method, FLOORWALKER__TENDER__METHOD__CARD);
    assert_true(s->tenders[1]->amount_cents == 299);
    assert_true(s->total_cents == 799);

    j = roundtrip(&ev->base);
    assert_int_equal(json_object_size(j), 6);
    assert_json_str(j, "store_id", "S001");
    assert_json_str(j, "terminal_id", "T01");
    assert_json_int(j, "epoch", 7);
    assert_json_int(j, "seq", 42);
    assert_json_int(j, "event_time_ms", 1700000000123LL);
    assert_json_absent(j, "complaint");
    js = get(j, "sale");
    assert_int_equal(json_object_size(js), 6);
    assert_json_str(js, "receipt_id", "R-1");
    assert_json_str(js, "cashier_id", "C9");
    assert_json_str(js, "kind", "SALE");
    assert_json_int(js, "total_cents", 799);
    assert_json_absent(js, "original_receipt_id");
    lines = get(js, "lines");
    assert_true(json_is_array(lines));
    assert_int_equal(json_array_size(lines), 2);
    assert_int_equal(json_object_size(json_array_get(lines, 0)), 4); /* no discount, no promo */
    assert_json_str(json_array_get(lines, 0), "sku", "SKU-1");
    assert_json_int(json_array_get(lines, 0), "qty_milli", 1500);
    assert_json_absent(json_array_get(lines, 0), "discount_cents");
    assert_json_absent(json_array_get(lines, 0), "promo");
    assert_json_int(json_array_get(lines, 1), "discount_cents", 50);
    assert_json_str(json_array_get(lines, 1), "promo", "P1");
    tenders = get(js, "tenders");
    assert_int_equal(json_array_size(tenders), 2);
    assert_json_str(json_array_get(tenders, 0), "method", "CASH");
    assert_json_int(json_array_get(tenders, 0), "amount_cents", 500);
    assert_json_str(json_array_get(tenders, 1), "method", "CARD");
    json_decref(j);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static void test_complaint_roundtrip(void **state)
{
    Floorwalker__Event *ev;
    Floorwalker__Complaint *c;
    json_t *j;
    const json_t *jc;

    (void)state;
    ev = (Floorwalker__Event *)parse_ok(
        &floorwalker__event__descriptor,
        "{\"store_id\": \"S002\", \"terminal_id\": \"T9\", \"epoch\": 1, \"seq\": \"3\","
        " \"complaint\": {\"complaint_id\": \"CMP-77\", \"action\": \"ESCALATED\","
        "   \"category\": \"service\", \"severity\": \"CRITICAL\", \"channel\": \"REGULATOR\","
        "   \"compensation_cents\": \"2500\", \"handler_id\": \"H1\","
        "   \"note\": \"caf\\u00e9 \\u2615 said \\\"no\\\"\\nline 2\"}}");
    assert_int_equal(ev->body_case, FLOORWALKER__EVENT__BODY_COMPLAINT);
    c = ev->complaint;
    assert_string_equal(c->complaint_id, "CMP-77");
    assert_int_equal(c->action, FLOORWALKER__COMPLAINT__ACTION__ESCALATED);
    assert_int_equal(c->severity, FLOORWALKER__COMPLAINT__SEVERITY__CRITICAL);
    assert_int_equal(c->channel, FLOORWALKER__COMPLAINT__CHANNEL__REGULATOR);
    assert_true(c->compensation_cents == 2500);
    assert_string_equal(c->note, "caf\xc3\xa9 \xe2\x98\x95 said \"no\"\nline 2");

    j = roundtrip(&ev->base);
    assert_json_int(j, "seq", 3);
    assert_json_absent(j, "event_time_ms");
    assert_json_absent(j, "sale");
    jc = get(j, "complaint");
    assert_json_str(jc, "complaint_id", "CMP-77");
    assert_json_str(jc, "action", "ESCALATED");
    assert_json_str(jc, "category", "service");
    assert_json_str(jc, "severity", "CRITICAL");
    assert_json_str(jc, "channel", "REGULATOR");
    assert_json_int(jc, "compensation_cents", 2500);
    assert_json_str(jc, "handler_id", "H1");
    assert_json_str(jc, "note", "caf\xc3\xa9 \xe2\x98\x95 said \"no\"\nline 2");
    json_decref(j);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static void test_heartbeat_uint64(void **state)
{
    Floorwalker__Event *ev;
    json_t *j;
    const json_t *hb;

    (void)state;
    ev = (Floorwalker__Event *)parse_ok(
        &floorwalker__event__descriptor,
        "{\"epoch\": \"9223372036854775808\", \"seq\": 9223372036854775807,"
        " \"heartbeat\": {\"terminal_time_ms\": -5, \"spool_depth\": \"18446744073709551615\"}}");
    assert_true(ev->epoch == 9223372036854775808ULL);
    assert_true(ev->seq == 9223372036854775807ULL);
    assert_int_equal(ev->body_case, FLOORWALKER__EVENT__BODY_HEARTBEAT);
    assert_true(ev->heartbeat->terminal_time_ms == -5);
    assert_true(ev->heartbeat->spool_depth == UINT64_MAX);

    j = roundtrip(&ev->base);
    assert_json_str(j, "epoch", "9223372036854775808"); /* above INT64_MAX: a string */
    assert_json_int(j, "seq", INT64_MAX);               /* up to INT64_MAX: an integer */
    hb = get(j, "heartbeat");
    assert_json_int(hb, "terminal_time_ms", -5);
    assert_json_str(hb, "spool_depth", "18446744073709551615");
    json_decref(j);
    protobuf_c_message_free_unpacked(&ev->base, NULL);

    /* an empty body is still a set oneof member, and is written */
    ev = (Floorwalker__Event *)parse_ok(&floorwalker__event__descriptor, "{\"heartbeat\": {}}");
    assert_int_equal(ev->body_case, FLOORWALKER__EVENT__BODY_HEARTBEAT);
    assert_non_null(ev->heartbeat);
    j = roundtrip(&ev->base);
    assert_int_equal(json_object_size(j), 1);
    assert_true(json_is_object(get(j, "heartbeat")));
    assert_int_equal(json_object_size(get(j, "heartbeat")), 0);
    json_decref(j);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static void test_enum_by_number(void **state)
{
    Floorwalker__Sale *s;
    json_t *j;

    (void)state;
    s = (Floorwalker__Sale *)parse_ok(&floorwalker__sale__descriptor,
                                      "{\"kind\": 2, \"tenders\": [{\"method\": 4.0}]}");
    assert_int_equal(s->kind, FLOORWALKER__SALE__KIND__RETURN);
    assert_int_equal(s->tenders[0]->method, FLOORWALKER__TENDER__METHOD__VOUCHER);
    j = roundtrip(&s->base);
    assert_json_str(j, "kind", "RETURN");
    assert_json_str(json_array_get(get(j, "tenders"), 0), "method", "VOUCHER");
    json_decref(j);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* proto3 enums are open: a number without a name is kept and written as a number */
    s = (Floorwalker__Sale *)parse_ok(&floorwalker__sale__descriptor, "{\"kind\": 42}");
    assert_int_equal(s->kind, 42);
    j = roundtrip(&s->base);
    assert_json_int(j, "kind", 42);
    json_decref(j);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    s = (Floorwalker__Sale *)parse_ok(&floorwalker__sale__descriptor, "{\"kind\": -2147483648}");
    assert_true((int)s->kind == INT32_MIN);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* the 0 value by name is the default and is omitted */
    s = (Floorwalker__Sale *)parse_ok(&floorwalker__sale__descriptor,
                                      "{\"kind\": \"KIND_UNSPECIFIED\"}");
    j = roundtrip(&s->base);
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void test_int64_as_string(void **state)
{
    Floorwalker__SaleLine *l;
    Floorwalker__Ack *a;
    json_t *j;

    (void)state;
    l = (Floorwalker__SaleLine *)parse_ok(
        &floorwalker__sale_line__descriptor,
        "{\"qty_milli\": \"-9223372036854775808\", \"unit_price_cents\": \"9223372036854775807\","
        " \"discount_cents\": 3.0}");
    assert_true(l->qty_milli == INT64_MIN);
    assert_true(l->unit_price_cents == INT64_MAX);
    assert_true(l->discount_cents == 3);
    j = roundtrip(&l->base);
    assert_json_int(j, "qty_milli", INT64_MIN);
    assert_json_int(j, "unit_price_cents", INT64_MAX);
    assert_json_int(j, "discount_cents", 3);
    json_decref(j);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* reals: integral ones are taken, exactly, on both sides of 2^52 */
    l = (Floorwalker__SaleLine *)parse_ok(&floorwalker__sale_line__descriptor,
                                          "{\"qty_milli\": 1e17, \"unit_price_cents\": "
                                          "-4503599627370495.0, \"discount_cents\": -0.0}");
    assert_true(l->qty_milli == 100000000000000000LL);
    assert_true(l->unit_price_cents == -4503599627370495LL);
    assert_true(l->discount_cents == 0);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    expect_error_exact(&floorwalker__sale_line__descriptor, "{\"qty_milli\": -0.5}",
                       "qty_milli: expected an integer, got number -0.5");

    a = (Floorwalker__Ack *)parse_ok(
        &floorwalker__ack__descriptor,
        "{\"stored\": \"4294967295\", \"duplicates\": 4294967295, \"epoch\": \"-0\","
        " \"acked_seq\": \"007\", \"batch_code\": \"SEQ_GAP\","
        " \"rejected\": [{\"seq\": 5, \"code\": \"BAD_ENUM\", \"reason\": \"kind not set\"}]}");
    assert_true(a->stored == UINT32_MAX);
    assert_true(a->duplicates == UINT32_MAX);
    assert_true(a->epoch == 0);
    assert_true(a->acked_seq == 7);
    assert_int_equal(a->batch_code, FLOORWALKER__REJECT_CODE__SEQ_GAP);
    assert_int_equal(a->n_rejected, 1);
    assert_int_equal(a->rejected[0]->code, FLOORWALKER__REJECT_CODE__BAD_ENUM);
    j = roundtrip(&a->base);
    assert_json_int(j, "stored", UINT32_MAX);
    assert_json_int(j, "acked_seq", 7);
    assert_json_str(j, "batch_code", "SEQ_GAP");
    assert_json_absent(j, "epoch");
    assert_json_str(json_array_get(get(j, "rejected"), 0), "code", "BAD_ENUM");
    json_decref(j);
    protobuf_c_message_free_unpacked(&a->base, NULL);
}

static void test_bytes_roundtrip(void **state)
{
    Floorwalker__Event ev = FLOORWALKER__EVENT__INIT;
    Floorwalker__Heartbeat hb = FLOORWALKER__HEARTBEAT__INIT;
    Floorwalker__QuarantineRecord rec = FLOORWALKER__QUARANTINE_RECORD__INIT;
    Floorwalker__QuarantineRecord *back;
    Floorwalker__Event *inner;
    uint8_t buf[256];
    json_t *j;
    char *text;

    (void)state;
    /* a known vector */
    rec.raw.data = (uint8_t *)"hello";
    rec.raw.len = 5;
    j = roundtrip(&rec.base);
    assert_json_str(j, "raw", "aGVsbG8=");
    json_decref(j);

    /* a real encoded Event, as the daemon keeps it */
    ev.store_id = "S1";
    ev.terminal_id = "T1";
    ev.epoch = 3;
    ev.seq = 1;
    ev.body_case = FLOORWALKER__EVENT__BODY_HEARTBEAT;
    ev.heartbeat = &hb;
    hb.spool_depth = 12;
    rec.raw.len = floorwalker__event__pack(&ev, buf);
    rec.raw.data = buf;
    rec.received_ms = 1700000000000LL;
    rec.code = FLOORWALKER__REJECT_CODE__UNKNOWN_STORE;
    rec.reason = "store S1 is not configured";
    j = pbjson_from_message(&rec.base, 0);
    assert_non_null(j);
    assert_json_str(j, "code", "UNKNOWN_STORE");
    text = json_dumps(j, 0);
    json_decref(j);
    back = (Floorwalker__QuarantineRecord *)parse_ok(&floorwalker__quarantine_record__descriptor,
                                                     text);
    free(text);
    assert_int_equal(back->raw.len, rec.raw.len);
    assert_memory_equal(back->raw.data, buf, rec.raw.len);
    inner = floorwalker__event__unpack(NULL, back->raw.len, back->raw.data);
    assert_non_null(inner);
    assert_string_equal(inner->store_id, "S1");
    assert_true(inner->heartbeat->spool_depth == 12);
    floorwalker__event__free_unpacked(inner, NULL);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    /* every length 0..7 and every byte value survive */
    for (size_t len = 0; len < 8; len++) {
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(0xff - i * 37);
        rec.raw.data = buf;
        rec.raw.len = len;
        j = roundtrip(&rec.base);
        json_decref(j);
    }

    /* the URL-safe alphabet and missing padding are accepted */
    back = (Floorwalker__QuarantineRecord *)parse_ok(&floorwalker__quarantine_record__descriptor,
                                                     "{\"raw\": \"-_8\"}");
    assert_int_equal(back->raw.len, 2);
    assert_int_equal(back->raw.data[0], 0xfb);
    assert_int_equal(back->raw.data[1], 0xff);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    back = (Floorwalker__QuarantineRecord *)parse_ok(&floorwalker__quarantine_record__descriptor,
                                                     "{\"raw\": \"aGVsbG8\"}");
    assert_int_equal(back->raw.len, 5);
    assert_memory_equal(back->raw.data, "hello", 5);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    back = (Floorwalker__QuarantineRecord *)parse_ok(&floorwalker__quarantine_record__descriptor,
                                                     "{\"raw\": \"\"}");
    assert_int_equal(back->raw.len, 0);
    j = pbjson_from_message(&back->base, 0);
    assert_json_absent(j, "raw");
    json_decref(j);
    protobuf_c_message_free_unpacked(&back->base, NULL);
}

static void test_query_result_nested(void **state)
{
    Floorwalker__QueryResult *qr;
    Floorwalker__Table *t;
    json_t *j;
    const json_t *jt, *cells;

    (void)state;
    qr = (Floorwalker__QueryResult *)parse_ok(
        &floorwalker__query_result__descriptor,
        "{\"status\": \"ERROR\", \"error\": \"x\", \"pub_seq\": 9, \"tables\": ["
        " {\"name\": \"sales\", \"columns\": [\"day\", \"total\", \"share\", \"\"],"
        "  \"rows\": [{\"cells\": [{\"s\": \"2024-01-01\"}, {\"i\": \"-7\"}, {\"d\": 0.25},"
        "                         {\"s\": \"\"}, {}]},"
        "            {\"cells\": []}]},"
        " {\"name\": \"empty\"}]}");
    assert_int_equal(qr->status, FLOORWALKER__QUERY_RESULT__STATUS__ERROR);
    assert_int_equal(qr->n_tables, 2);
    t = qr->tables[0];
    assert_int_equal(t->n_columns, 4);
    assert_string_equal(t->columns[1], "total");
    assert_string_equal(t->columns[3], "");
    assert_int_equal(t->n_rows, 2);
    assert_int_equal(t->rows[0]->n_cells, 5);
    assert_int_equal(t->rows[0]->cells[0]->v_case, FLOORWALKER__VALUE__V_S);
    assert_string_equal(t->rows[0]->cells[0]->s, "2024-01-01");
    assert_int_equal(t->rows[0]->cells[1]->v_case, FLOORWALKER__VALUE__V_I);
    assert_true(t->rows[0]->cells[1]->i == -7);
    assert_int_equal(t->rows[0]->cells[2]->v_case, FLOORWALKER__VALUE__V_D);
    assert_true(t->rows[0]->cells[2]->d == 0.25);
    assert_int_equal(t->rows[0]->cells[3]->v_case, FLOORWALKER__VALUE__V_S);
    assert_int_equal(t->rows[0]->cells[4]->v_case, FLOORWALKER__VALUE__V__NOT_SET);
    assert_int_equal(t->rows[1]->n_cells, 0);

    j = roundtrip(&qr->base);
    assert_json_str(j, "status", "ERROR");
    assert_json_int(j, "pub_seq", 9);
    jt = json_array_get(get(j, "tables"), 0);
    assert_json_str(jt, "name", "sales");
    assert_int_equal(json_array_size(get(jt, "columns")), 4);
    assert_string_equal(json_string_value(json_array_get(get(jt, "columns"), 3)), "");
    cells = get(json_array_get(get(jt, "rows"), 0), "cells");
    assert_json_str(json_array_get(cells, 0), "s", "2024-01-01");
    assert_json_int(json_array_get(cells, 1), "i", -7);
    assert_true(json_real_value(get(json_array_get(cells, 2), "d")) == 0.25);
    assert_json_str(json_array_get(cells, 3), "s", ""); /* a set oneof member, though empty */
    assert_int_equal(json_object_size(json_array_get(cells, 4)), 0);
    assert_int_equal(json_object_size(json_array_get(get(jt, "rows"), 1)), 0);
    json_decref(j);
    protobuf_c_message_free_unpacked(&qr->base, NULL);
}

static void test_doubles(void **state)
{
    Floorwalker__Value *v;
    json_t *j;

    (void)state;
    v = (Floorwalker__Value *)parse_ok(&floorwalker__value__descriptor, "{\"d\": \"NaN\"}");
    assert_true(isnan(v->d));
    j = pbjson_from_message(&v->base, 0);
    assert_json_str(j, "d", "NaN");
    json_decref(j);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    v = (Floorwalker__Value *)parse_ok(&floorwalker__value__descriptor, "{\"d\": \"-Infinity\"}");
    assert_true(isinf(v->d) && v->d < 0);
    j = roundtrip(&v->base);
    assert_json_str(j, "d", "-Infinity");
    json_decref(j);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    v = (Floorwalker__Value *)parse_ok(&floorwalker__value__descriptor, "{\"d\": 3}");
    assert_true(v->d == 3.0);
    j = roundtrip(&v->base);
    assert_true(json_is_real(get(j, "d")));
    assert_true(json_real_value(get(j, "d")) == 3.0);
    json_decref(j);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    v = (Floorwalker__Value *)parse_ok(&floorwalker__value__descriptor, "{\"d\": \"-1.5e3\"}");
    assert_true(v->d == -1500.0);
    protobuf_c_message_free_unpacked(&v->base, NULL);
}

static void test_null_leaves_default(void **state)
{
    Floorwalker__Event *ev;

    (void)state;
    ev = (Floorwalker__Event *)parse_ok(
        &floorwalker__event__descriptor,
        "{\"store_id\": null, \"seq\": null, \"sale\": null, \"complaint\": {\"note\": null}}");
    assert_ptr_equal(ev->store_id, protobuf_c_empty_string);
    assert_int_equal(ev->seq, 0);
    assert_int_equal(ev->body_case, FLOORWALKER__EVENT__BODY_COMPLAINT);
    assert_ptr_equal(ev->complaint->note, protobuf_c_empty_string);
    protobuf_c_message_free_unpacked(&ev->base, NULL);

    ev = (Floorwalker__Event *)parse_ok(&floorwalker__event__descriptor, "{\"sale\": null}");
    assert_int_equal(ev->body_case, FLOORWALKER__EVENT__BODY__NOT_SET);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static void test_include_defaults(void **state)
{
    Floorwalker__Event ev = FLOORWALKER__EVENT__INIT;
    Floorwalker__Sale sale = FLOORWALKER__SALE__INIT;
    Floorwalker__QueryResult qr = FLOORWALKER__QUERY_RESULT__INIT;
    json_t *j;
    const json_t *js;

    (void)state;
    j = pbjson_from_message(&ev.base, 0);
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);

    j = pbjson_from_message(&ev.base, 1);
    assert_int_equal(json_object_size(j), 5); /* no oneof member is set */
    assert_json_str(j, "store_id", "");
    assert_json_str(j, "terminal_id", "");
    assert_json_int(j, "epoch", 0);
    assert_json_int(j, "seq", 0);
    assert_json_int(j, "event_time_ms", 0);
    json_decref(j);

    ev.body_case = FLOORWALKER__EVENT__BODY_SALE;
    ev.sale = &sale;
    j = pbjson_from_message(&ev.base, 1);
    js = get(j, "sale");
    assert_int_equal(json_object_size(js), 7);
    assert_json_str(js, "kind", "KIND_UNSPECIFIED");
    assert_true(json_is_array(get(js, "lines")));
    assert_int_equal(json_array_size(get(js, "lines")), 0);
    assert_int_equal(json_array_size(get(js, "tenders")), 0);
    assert_json_str(js, "original_receipt_id", "");
    json_decref(j);
    j = pbjson_from_message(&ev.base, 0);
    assert_int_equal(json_object_size(j), 1);
    assert_int_equal(json_object_size(get(j, "sale")), 0);
    json_decref(j);

    j = pbjson_from_message(&qr.base, 1);
    assert_json_str(j, "status", "OK");
    assert_json_int(j, "request_id", 0);
    json_decref(j);

    assert_null(pbjson_from_message(NULL, 0));
}

static void test_invalid_utf8_output(void **state)
{
    Floorwalker__Table t = FLOORWALKER__TABLE__INIT;
    char *cols[2] = {"ok", "bad\xff\xc3(\xed\xa0\x80z"};
    json_t *j;

    (void)state;
    t.name = "a\xe2\x82";
    t.n_columns = 2;
    t.columns = cols;
    j = pbjson_from_message(&t.base, 0);
    assert_non_null(j);
    assert_json_str(j, "name", "a\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_array_get(get(j, "columns"), 0)), "ok");
    assert_string_equal(json_string_value(json_array_get(get(j, "columns"), 1)),
                        "bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
    json_decref(j);
}

/* ---------------------------------------------------------------------------------------------
 * Errors: NULL, a one-line reason naming the field path, and nothing leaked (valgrind)
 * ------------------------------------------------------------------------------------------- */

static void test_errors_scalars(void **state)
{
    const ProtobufCMessageDescriptor *E = &floorwalker__event__descriptor;

    (void)state;
    expect_error_exact(E,
                       "{\"sale\": {\"lines\": [{\"sku\": \"a\", \"qty_milli\": 1},"
                       " {\"sku\": \"b\", \"qty_milli\": \"x\"}]}}",
                       "sale.lines[1].qty_milli: expected an integer, got string \"x\"");
    expect_error_exact(&floorwalker__ack__descriptor, "{\"stored\": 4294967296}",
                       "stored: integer 4294967296 is out of range for uint32");
    expect_error_exact(E, "{\"epoch\": -1}", "epoch: integer -1 is out of range for uint64");
    expect_error_exact(E, "{\"event_time_ms\": \"9223372036854775808\"}",
                       "event_time_ms: string \"9223372036854775808\" is out of range for int64");
    expect_error(E, "{\"event_time_ms\": \"-9223372036854775809\"}",
                 "event_time_ms: ", "out of range for int64", NULL);
    expect_error(E, "{\"seq\": \"99999999999999999999999\"}", "seq: ", "out of range for uint64",
                 NULL);
    expect_error(E, "{\"seq\": 1e20}", "seq: ", "out of range for uint64", NULL);
    expect_error_exact(E, "{\"seq\": 1.5}", "seq: expected an integer, got number 1.5");
    expect_error(E, "{\"seq\": \"12abc\"}", "seq: expected an integer, got string \"12abc\"", NULL);
    expect_error(E, "{\"seq\": \" 12\"}", "seq: expected an integer", NULL);
    expect_error(E, "{\"seq\": \"+1\"}", "seq: expected an integer", NULL);
    expect_error(E, "{\"seq\": \"\"}", "seq: expected an integer, got string \"\"", NULL);
    expect_error(E, "{\"seq\": \"1.0\"}", "seq: expected an integer", NULL);
    expect_error(E, "{\"seq\": true}", "seq: expected an integer, got true", NULL);
    expect_error(E, "{\"seq\": [1]}", "seq: expected an integer, got an array", NULL);
    expect_error_exact(&floorwalker__shift__descriptor, "{\"cancelled\": \"true\"}",
                       "cancelled: expected true or false, got string \"true\"");
    expect_error(&floorwalker__shift__descriptor, "{\"cancelled\": 1}",
                 "cancelled: expected true or false, got integer 1", NULL);
    expect_error_exact(E, "{\"store_id\": 5}", "store_id: expected a string, got integer 5");
    expect_error(E, "{\"terminal_id\": {}}", "terminal_id: expected a string, got an object", NULL);
    expect_error(E, "{\"store_id\": \"a\\u0000b\"}", "store_id: ", "NUL", NULL);
    expect_error_exact(&floorwalker__value__descriptor, "{\"d\": \"1e999\"}",
                       "d: string \"1e999\" is out of range for double");
    expect_error(&floorwalker__value__descriptor, "{\"d\": \"abc\"}",
                 "d: expected a number, got string \"abc\"", NULL);
    expect_error(&floorwalker__value__descriptor, "{\"d\": \"0x10\"}", "d: expected a number",
                 NULL);
    /* long strings are cut in the message */
    expect_error(E,
                 "{\"seq\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
                 "seq: expected an integer, got string \"aaaaaaaaaa", "...\"", NULL);
}

static void test_errors_enums(void **state)
{
    const ProtobufCMessageDescriptor *E = &floorwalker__event__descriptor;

    (void)state;
    expect_error_exact(E, "{\"sale\": {\"kind\": \"SAEL\"}}",
                       "sale.kind: unknown value \"SAEL\" for floorwalker.Sale.Kind (did you mean "
                       "\"SALE\"?); valid: KIND_UNSPECIFIED, SALE, RETURN, POST_VOID");
    expect_error(E, "{\"sale\": {\"tenders\": [{\"method\": \"CASH\"}, {\"method\": \"cash\"}]}}",
                 "sale.tenders[1].method: unknown value \"cash\"", "did you mean \"CASH\"",
                 "valid: METHOD_UNSPECIFIED, CASH, CARD, MOBILE, VOUCHER, OTHER", NULL);
    expect_error(E, "{\"sale\": {\"kind\": \"BANANA\"}}", "sale.kind: unknown value \"BANANA\"",
                 "valid: KIND_UNSPECIFIED", NULL);
    expect_error(E, "{\"sale\": {\"kind\": \"2\"}}", "sale.kind: unknown value \"2\"", NULL);
    expect_error(E, "{\"sale\": {\"kind\": true}}",
                 "sale.kind: expected an enum name or number, got true", NULL);
    expect_error(E, "{\"sale\": {\"kind\": 2147483648}}",
                 "sale.kind: integer 2147483648 is out of range for enum", NULL);
    expect_error(E, "{\"sale\": {\"kind\": 1.5}}", "sale.kind: expected an integer", NULL);
}

static void test_errors_structure(void **state)
{
    const ProtobufCMessageDescriptor *E = &floorwalker__event__descriptor;

    (void)state;
    expect_error_exact(E, "{\"sale\": {\"lienz\": []}}",
                       "sale: unknown field \"lienz\" in floorwalker.Sale (did you mean "
                       "\"lines\"?)");
    expect_error_exact(E, "{\"bogus_thing\": 1}",
                       "unknown field \"bogus_thing\" in floorwalker.Event");
    expect_error(E, "{\"Store_ID\": \"x\"}", "unknown field \"Store_ID\"",
                 "did you mean \"store_id\"", NULL);
    expect_error(E, "{\"heartbeat\": {\"spool_dept\": 1}}",
                 "heartbeat: unknown field \"spool_dept\"", "did you mean \"spool_depth\"", NULL);
    expect_error(E, "{\"sale\": {\"lines\": [{}, {\"qty\": 1}]}}",
                 "sale.lines[1]: unknown field \"qty\" in floorwalker.SaleLine", NULL);
    expect_error_exact(E, "{\"sale\": []}",
                       "sale: expected an object (floorwalker.Sale), got an array");
    expect_error_exact(E, "{\"sale\": {\"lines\": {}}}",
                       "sale.lines: expected an array, got an object");
    expect_error_exact(E, "{\"sale\": {\"lines\": [{\"sku\": \"a\"}, 5]}}",
                       "sale.lines[1]: expected an object (floorwalker.SaleLine), got integer 5");
    expect_error_exact(&floorwalker__table__descriptor, "{\"columns\": [\"a\", \"b\", null]}",
                       "columns[2]: expected a string, got null");
    expect_error_exact(E, "{\"sale\": {}, \"complaint\": {}}",
                       "complaint: \"complaint\" and \"sale\" are members of one oneof: set only "
                       "one");
    expect_error(&floorwalker__value__descriptor, "{\"s\": \"x\", \"i\": 1}",
                 "i: \"i\" and \"s\" are members of one oneof", NULL);
    expect_error_exact(
        &floorwalker__query_result__descriptor,
        "{\"tables\": [{\"rows\": [{\"cells\": [{\"s\": \"x\"}, {\"i\": \"nope\"}]}]}]}",
        "tables[0].rows[0].cells[1].i: expected an integer, got string \"nope\"");
    expect_error_exact(&floorwalker__quarantine_record__descriptor, "{\"raw\": \"aGV$bG8=\"}",
                       "raw: invalid base64 at offset 3");
    expect_error(&floorwalker__quarantine_record__descriptor, "{\"raw\": \"aGVsbG8==\"}",
                 "raw: invalid base64", NULL);
    expect_error(&floorwalker__quarantine_record__descriptor, "{\"raw\": \"aGVsb\"}",
                 "raw: invalid base64", NULL);
    expect_error(&floorwalker__quarantine_record__descriptor, "{\"raw\": \"aG==bG8=\"}",
                 "raw: invalid base64 at offset 2", NULL);
    expect_error(&floorwalker__quarantine_record__descriptor, "{\"raw\": 5}",
                 "raw: expected a base64 string, got integer 5", NULL);

    /* failures after other parts were built: valgrind checks they are all freed */
    expect_error(E, "{\"store_id\": \"S\", \"sale\": {\"lines\": [{\"sku\": \"x\"}]}, \"zzz\": 1}",
                 "unknown field \"zzz\"", NULL);
    expect_error(E,
                 "{\"store_id\": \"S\", \"sale\": {\"receipt_id\": \"R\", \"lines\": [{\"sku\": "
                 "\"x\", \"promo\": \"p\"}, {\"sku\": \"y\"}], \"tenders\": [{\"method\": 1}, "
                 "{\"method\": \"NOPE\"}]}}",
                 "sale.tenders[1].method: unknown value \"NOPE\"", NULL);
    expect_error(&floorwalker__quarantine_record__descriptor,
                 "{\"raw\": \"aGVsbG8=\", \"reason\": \"r\", \"code\": \"NOPE\"}",
                 "code: unknown value \"NOPE\" for floorwalker.RejectCode", NULL);
    expect_error(
        &floorwalker__query_result__descriptor,
        "{\"tables\": [{\"name\": \"t\", \"columns\": [\"a\", \"b\"], \"rows\": [{\"cells\":"
        " [{\"s\": \"x\"}]}]}, {\"columns\": [\"c\", 7]}]}",
        "tables[1].columns[1]: expected a string, got integer 7", NULL);
    expect_error(&floorwalker__event_batch__descriptor,
                 "{\"events\": [{\"sale\": {\"receipt_id\": \"R\"}}, {\"complaint\": {\"note\": "
                 "\"n\"}, \"heartbeat\": {}}]}",
                 "events[1].heartbeat: \"heartbeat\" and \"complaint\" are members of one oneof",
                 NULL);
}

static void test_errors_toplevel(void **state)
{
    const ProtobufCMessageDescriptor *E = &floorwalker__event__descriptor;
    char err[16];
    ProtobufCMessage *m;
    json_t *num;

    (void)state;
    expect_error_exact(E, "[1, 2]", "expected an object (floorwalker.Event), got an array");
    expect_error(E, "{\"seq\": }", "invalid JSON at line 1", NULL);
    expect_error(E, "{\"seq\": 1} {}", "invalid JSON", NULL);
    expect_error(E, "{\"seq\": 1, \"seq\": 2}", "invalid JSON", "duplicate", NULL);
    expect_error(E, "", "invalid JSON", NULL);

    num = json_integer(5);
    m = pbjson_parse(E, num, err, sizeof(err));
    json_decref(num);
    assert_null(m);
    assert_int_equal(strlen(err), sizeof(err) - 1); /* cut to the buffer, NUL-terminated */

    m = pbjson_parse(E, NULL, err, sizeof(err));
    assert_null(m);
    m = pbjson_parse(NULL, NULL, err, sizeof(err));
    assert_null(m);
    m = pbjson_parse_str(E, NULL, err, sizeof(err));
    assert_null(m);
    /* no error buffer at all is fine */
    m = pbjson_parse_str(E, "{\"seq\": \"x\"}", NULL, 0);
    assert_null(m);
    m = pbjson_parse_str(E, "{\"seq\": \"x\"}", err, 0);
    assert_null(m);
    /* a key with a NUL in it (jansson's parser refuses them, json_object_setn does not) */
    {
        char longerr[128];

        num = json_object();
        assert_int_equal(json_object_setn_new(num, "seq\0x", 5, json_integer(1)), 0);
        m = pbjson_parse(E, num, longerr, sizeof(longerr));
        json_decref(num);
        assert_null(m);
        assert_string_equal(
            longerr, "unknown field \"seq\\x00x\" in floorwalker.Event (did you mean \"seq\"?)");
    }
    /* pbjson_parse from a json_t the caller keeps */
    num = json_pack("{s:s, s:i}", "store_id", "S7", "seq", 5);
    m = pbjson_parse(E, num, err, sizeof(err));
    assert_non_null(m);
    assert_string_equal(((Floorwalker__Event *)m)->store_id, "S7");
    assert_int_equal(json_object_size(num), 2);
    json_decref(num);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Every type and label: a hand-written proto2-style descriptor. It mirrors what protoc-c would
 * generate for:
 *
 *   message AllTypes {
 *     int32 f_int32 = 1; ... (one proto3-style field per scalar type, 1..17)
 *     optional int32 o_int32 = 18; optional bytes o_bytes = 19;
 *     optional string o_string = 20 [default = "dflt"]; required int32 q_int32 = 21;
 *     repeated sint64 r_sint64 = 22; ... (22..30)
 *     oneof pick { int32 pick_int = 31; string pick_str = 32; Tender pick_msg = 33; }
 *   }
 * ------------------------------------------------------------------------------------------- */

typedef struct {
    ProtobufCMessage base;
    int32_t f_int32;
    int32_t f_sint32;
    int32_t f_sfixed32;
    int64_t f_int64;
    int64_t f_sint64;
    int64_t f_sfixed64;
    uint32_t f_uint32;
    uint32_t f_fixed32;
    uint64_t f_uint64;
    uint64_t f_fixed64;
    float f_float;
    double f_double;
    protobuf_c_boolean f_bool;
    int f_enum;
    char *f_string;
    ProtobufCBinaryData f_bytes;
    Floorwalker__Tender *f_msg;
    protobuf_c_boolean has_o_int32;
    int32_t o_int32;
    protobuf_c_boolean has_o_bytes;
    ProtobufCBinaryData o_bytes;
    char *o_string;
    int32_t q_int32;
    size_t n_r_sint64;
    int64_t *r_sint64;
    size_t n_r_fixed32;
    uint32_t *r_fixed32;
    size_t n_r_float;
    float *r_float;
    size_t n_r_double;
    double *r_double;
    size_t n_r_bool;
    protobuf_c_boolean *r_bool;
    size_t n_r_enum;
    int *r_enum;
    size_t n_r_string;
    char **r_string;
    size_t n_r_bytes;
    ProtobufCBinaryData *r_bytes;
    size_t n_r_msg;
    Floorwalker__Tender **r_msg;
    uint32_t pick_case;
    union {
        int32_t pick_int;
        char *pick_str;
        Floorwalker__Tender *pick_msg;
    };
} AllTypes;

static const char all_types_dflt[] = "dflt";
static const ProtobufCMessageDescriptor all_types_descriptor;

static void all_types_init(ProtobufCMessage *m)
{
    AllTypes *a = (AllTypes *)m;

    memset(a, 0, sizeof(*a));
    a->base.descriptor = &all_types_descriptor;
    a->f_string = (char *)protobuf_c_empty_string;
    a->o_string = (char *)all_types_dflt;
}

#define FD(NAME, ID, LABEL, TYPE, QUANT, DESC, DEFAULT, FLAGS)                                     \
    {                                                                                              \
        .name = #NAME, .id = ID, .label = PROTOBUF_C_LABEL_##LABEL,                                \
        .type = PROTOBUF_C_TYPE_##TYPE, .quantifier_offset = QUANT,                                \
        .offset = offsetof(AllTypes, NAME), .descriptor = DESC, .default_value = DEFAULT,          \
        .flags = FLAGS                                                                             \
    }
#define NONE(NAME, ID, TYPE) FD(NAME, ID, NONE, TYPE, 0, NULL, NULL, 0)
#define REP(NAME, ID, TYPE, DESC, FLAGS)                                                           \
    FD(NAME, ID, REPEATED, TYPE, offsetof(AllTypes, n_##NAME), DESC, NULL, FLAGS)
#define ONEOF(NAME, ID, TYPE, DESC)                                                                \
    FD(NAME, ID, OPTIONAL, TYPE, offsetof(AllTypes, pick_case), DESC, NULL,                        \
       PROTOBUF_C_FIELD_FLAG_ONEOF)

static const ProtobufCFieldDescriptor all_types_fields[] = {
    NONE(f_int32, 1, INT32),
    NONE(f_sint32, 2, SINT32),
    NONE(f_sfixed32, 3, SFIXED32),
    NONE(f_int64, 4, INT64),
    NONE(f_sint64, 5, SINT64),
    NONE(f_sfixed64, 6, SFIXED64),
    NONE(f_uint32, 7, UINT32),
    NONE(f_fixed32, 8, FIXED32),
    NONE(f_uint64, 9, UINT64),
    NONE(f_fixed64, 10, FIXED64),
    NONE(f_float, 11, FLOAT),
    NONE(f_double, 12, DOUBLE),
    NONE(f_bool, 13, BOOL),
    FD(f_enum, 14, NONE, ENUM, 0, &floorwalker__tender__method__descriptor, NULL, 0),
    FD(f_string, 15, NONE, STRING, 0, NULL, &protobuf_c_empty_string, 0),
    NONE(f_bytes, 16, BYTES),
    FD(f_msg, 17, NONE, MESSAGE, 0, &floorwalker__tender__descriptor, NULL, 0),
    FD(o_int32, 18, OPTIONAL, INT32, offsetof(AllTypes, has_o_int32), NULL, NULL, 0),
    FD(o_bytes, 19, OPTIONAL, BYTES, offsetof(AllTypes, has_o_bytes), NULL, NULL, 0),
    FD(o_string, 20, OPTIONAL, STRING, 0, NULL, all_types_dflt, 0),
    FD(q_int32, 21, REQUIRED, INT32, 0, NULL, NULL, 0),
    REP(r_sint64, 22, SINT64, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    REP(r_fixed32, 23, FIXED32, NULL, 0),
    REP(r_float, 24, FLOAT, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    REP(r_double, 25, DOUBLE, NULL, 0),
    REP(r_bool, 26, BOOL, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    REP(r_enum, 27, ENUM, &floorwalker__tender__method__descriptor, PROTOBUF_C_FIELD_FLAG_PACKED),
    REP(r_string, 28, STRING, NULL, 0),
    REP(r_bytes, 29, BYTES, NULL, 0),
    REP(r_msg, 30, MESSAGE, &floorwalker__tender__descriptor, 0),
    ONEOF(pick_int, 31, INT32, NULL),
    ONEOF(pick_str, 32, STRING, NULL),
    ONEOF(pick_msg, 33, MESSAGE, &floorwalker__tender__descriptor),
};

#define N_ALL_TYPES_FIELDS (sizeof(all_types_fields) / sizeof(all_types_fields[0]))

static const ProtobufCIntRange all_types_ranges[] = {{1, 0}, {0, N_ALL_TYPES_FIELDS}};

static const ProtobufCMessageDescriptor all_types_descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.AllTypes",
    .short_name = "AllTypes",
    .c_name = "AllTypes",
    .package_name = "test",
    .sizeof_message = sizeof(AllTypes),
    .n_fields = N_ALL_TYPES_FIELDS,
    .fields = all_types_fields,
    .fields_sorted_by_name = NULL, /* neither pbjson nor pack/unpack use it */
    .n_field_ranges = 1,
    .field_ranges = all_types_ranges,
    .message_init = all_types_init,
};

static const char ALL_TYPES[] =
    "{\"f_int32\": -2147483648, \"f_sint32\": \"-5\", \"f_sfixed32\": 2147483647,"
    " \"f_int64\": \"-9000000000\", \"f_sint64\": -1, \"f_sfixed64\": 9223372036854775807,"
    " \"f_uint32\": 4294967295, \"f_fixed32\": \"-0\", \"f_uint64\": \"18446744073709551614\","
    " \"f_fixed64\": 12, \"f_float\": 1.5, \"f_double\": -0.125, \"f_bool\": true,"
    " \"f_enum\": \"MOBILE\", \"f_string\": \"s\", \"f_bytes\": \"AP8=\","
    " \"f_msg\": {\"method\": \"OTHER\", \"amount_cents\": 1},"
    " \"o_int32\": 0, \"o_bytes\": \"\", \"q_int32\": 9,"
    " \"r_sint64\": [-1, \"2\", 3.0], \"r_fixed32\": [0, 4294967295], \"r_float\": [0.5, \"NaN\"],"
    " \"r_double\": [1e300, \"Infinity\"], \"r_bool\": [true, false, true],"
    " \"r_enum\": [\"CASH\", 2, 99], \"r_string\": [\"\", \"x\"], \"r_bytes\": [\"\", \"AQID\"],"
    " \"r_msg\": [{}, {\"method\": \"CARD\"}], \"pick_str\": \"chosen\"}";

static void test_all_types(void **state)
{
    AllTypes *a;
    json_t *j, *j2;
    uint8_t *wire;
    size_t len;
    ProtobufCMessage *un;

    (void)state;
    a = (AllTypes *)parse_ok(&all_types_descriptor, ALL_TYPES);
    assert_int_equal(a->f_int32, INT32_MIN);
    assert_int_equal(a->f_sint32, -5);
    assert_int_equal(a->f_sfixed32, INT32_MAX);
    assert_true(a->f_int64 == -9000000000LL);
    assert_true(a->f_sint64 == -1);
    assert_true(a->f_sfixed64 == INT64_MAX);
    assert_true(a->f_uint32 == UINT32_MAX);
    assert_true(a->f_fixed32 == 0);
    assert_true(a->f_uint64 == UINT64_MAX - 1);
    assert_true(a->f_fixed64 == 12);
    assert_true(a->f_float == 1.5f);
    assert_true(a->f_double == -0.125);
    assert_true(a->f_bool);
    assert_int_equal(a->f_enum, FLOORWALKER__TENDER__METHOD__MOBILE);
    assert_string_equal(a->f_string, "s");
    assert_int_equal(a->f_bytes.len, 2);
    assert_int_equal(a->f_bytes.data[1], 0xff);
    assert_int_equal(a->f_msg->method, FLOORWALKER__TENDER__METHOD__OTHER);
    assert_true(a->has_o_int32);
    assert_int_equal(a->o_int32, 0);
    assert_true(a->has_o_bytes);
    assert_int_equal(a->o_bytes.len, 0);
    assert_ptr_equal(a->o_string, all_types_dflt);
    assert_int_equal(a->q_int32, 9);
    assert_int_equal(a->n_r_sint64, 3);
    assert_true(a->r_sint64[0] == -1 && a->r_sint64[1] == 2 && a->r_sint64[2] == 3);
    assert_true(a->r_fixed32[1] == UINT32_MAX);
    assert_true(a->r_float[0] == 0.5f && isnan(a->r_float[1]));
    assert_true(a->r_double[0] == 1e300 && isinf(a->r_double[1]));
    assert_int_equal(a->n_r_bool, 3);
    assert_true(a->r_bool[0] && !a->r_bool[1] && a->r_bool[2]);
    assert_int_equal(a->n_r_enum, 3);
    assert_int_equal(a->r_enum[2], 99);
    assert_string_equal(a->r_string[0], "");
    assert_int_equal(a->r_bytes[1].len, 3);
    assert_int_equal(a->r_bytes[1].data[2], 3);
    assert_int_equal(a->n_r_msg, 2);
    assert_int_equal(a->r_msg[1]->method, FLOORWALKER__TENDER__METHOD__CARD);
    assert_int_equal(a->pick_case, 32);
    assert_string_equal(a->pick_str, "chosen");

    j = pbjson_from_message(&a->base, 0);
    assert_non_null(j);
    assert_json_int(j, "f_int32", INT32_MIN);
    assert_json_int(j, "f_fixed64", 12);
    assert_json_absent(j, "f_fixed32"); /* 0 */
    assert_json_str(j, "f_uint64", "18446744073709551614");
    assert_true(json_real_value(get(j, "f_float")) == 1.5);
    assert_true(json_is_true(get(j, "f_bool")));
    assert_json_str(j, "f_enum", "MOBILE");
    assert_json_str(j, "f_bytes", "AP8=");
    assert_json_int(j, "o_int32", 0); /* present though 0: it has a has_ flag */
    assert_json_str(j, "o_bytes", "");
    assert_json_absent(j, "o_string"); /* still the default pointer */
    assert_json_int(j, "q_int32", 9);
    assert_string_equal(json_string_value(json_array_get(get(j, "r_float"), 1)), "NaN");
    json_decref(j);

    /* the same message through the wire: pack, unpack, convert again */
    len = protobuf_c_message_get_packed_size(&a->base);
    wire = malloc(len);
    assert_non_null(wire);
    protobuf_c_message_pack(&a->base, wire);
    un = protobuf_c_message_unpack(&all_types_descriptor, NULL, len, wire);
    free(wire);
    assert_non_null(un);
    j = pbjson_from_message(&a->base, 1);
    j2 = pbjson_from_message(un, 1);
    /* NaN != NaN for json_equal; compare the dumps instead */
    {
        char *t1 = json_dumps(j, JSON_SORT_KEYS);
        char *t2 = json_dumps(j2, JSON_SORT_KEYS);

        assert_non_null(t1);
        assert_string_equal(t1, t2);
        free(t1);
        free(t2);
    }
    assert_json_str(j, "o_string", "dflt");
    json_decref(j);
    json_decref(j2);
    protobuf_c_message_free_unpacked(un, NULL);
    protobuf_c_message_free_unpacked(&a->base, NULL);

    a = (AllTypes *)parse_ok(&all_types_descriptor, "{\"pick_int\": 0, \"o_string\": \"mine\"}");
    assert_int_equal(a->pick_case, 31);
    j = pbjson_from_message(&a->base, 0);
    assert_json_int(j, "pick_int", 0);
    assert_json_str(j, "o_string", "mine");
    assert_json_int(j, "q_int32", 0); /* required: always written */
    assert_json_absent(j, "o_int32");
    assert_json_absent(j, "f_msg");
    json_decref(j);
    protobuf_c_message_free_unpacked(&a->base, NULL);

    expect_error_exact(&all_types_descriptor, "{\"f_float\": 1e39}",
                       "f_float: number 1e+39 is out of range for float");
    expect_error_exact(&all_types_descriptor, "{\"f_sint32\": \"-2147483649\"}",
                       "f_sint32: string \"-2147483649\" is out of range for sint32");
    expect_error(&all_types_descriptor, "{\"f_fixed32\": -1}", "out of range for fixed32", NULL);
    expect_error(&all_types_descriptor, "{\"f_sfixed64\": 9.3e18}", "out of range for sfixed64",
                 NULL);
    expect_error(&all_types_descriptor, "{\"r_bool\": [true, 0]}",
                 "r_bool[1]: expected true or false, got integer 0", NULL);
    expect_error(&all_types_descriptor, "{\"r_bytes\": [\"AQID\", \"A\"]}",
                 "r_bytes[1]: invalid base64", NULL);
    expect_error(&all_types_descriptor,
                 "{\"r_string\": [\"a\"], \"r_msg\": [{\"method\": 1}, {\"x\": 1}]}",
                 "r_msg[1]: unknown field \"x\" in floorwalker.Tender", NULL);
    expect_error(&all_types_descriptor, "{\"pick_msg\": {}, \"pick_str\": \"s\"}",
                 "pick_str: \"pick_str\" and \"pick_msg\" are members of one oneof", NULL);
    expect_error(&all_types_descriptor, "{\"o_bytes\": \"AQID\", \"f_double\": []}",
                 "f_double: expected a number, got an array", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sale_roundtrip),      cmocka_unit_test(test_complaint_roundtrip),
        cmocka_unit_test(test_heartbeat_uint64),    cmocka_unit_test(test_enum_by_number),
        cmocka_unit_test(test_int64_as_string),     cmocka_unit_test(test_bytes_roundtrip),
        cmocka_unit_test(test_query_result_nested), cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_null_leaves_default), cmocka_unit_test(test_include_defaults),
        cmocka_unit_test(test_invalid_utf8_output), cmocka_unit_test(test_errors_scalars),
        cmocka_unit_test(test_errors_enums),        cmocka_unit_test(test_errors_structure),
        cmocka_unit_test(test_errors_toplevel),     cmocka_unit_test(test_all_types),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
