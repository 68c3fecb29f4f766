/*
 * Unit tests for clients/common/fwunits.c: every formatter, against strings worked out by hand
 * (the instants were converted with Python's datetime, independently of tz.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fwunits.h"
#include "tz.h"

static char buf[FW_FMT_MAX];

#define EXPECT(call, want)                                                                         \
    do {                                                                                           \
        size_t len_ = (call);                                                                      \
        assert_string_equal(buf, want);                                                            \
        assert_int_equal(len_, strlen(want));                                                      \
    } while (0)

static void test_money(void **state)
{
    (void)state;
    EXPECT(fw_fmt_money(buf, sizeof buf, 11004728, 2, NULL), "110,047.28");
    EXPECT(fw_fmt_money(buf, sizeof buf, 3444, 2, "CNY"), "34.44 CNY");
    EXPECT(fw_fmt_money(buf, sizeof buf, -3444, 2, "EUR"), "-34.44 EUR");
    EXPECT(fw_fmt_money(buf, sizeof buf, -5, 2, ""), "-0.05");
    EXPECT(fw_fmt_money(buf, sizeof buf, 0, 2, NULL), "0.00");
    EXPECT(fw_fmt_money(buf, sizeof buf, 100, 2, NULL), "1.00");
    EXPECT(fw_fmt_money(buf, sizeof buf, 999999, 2, NULL), "9,999.99");
    EXPECT(fw_fmt_money(buf, sizeof buf, 1000000, 2, NULL), "10,000.00");
    /* Zero-digit currencies: the minor unit is the unit. */
    EXPECT(fw_fmt_money(buf, sizeof buf, 1234567, 0, "JPY"), "1,234,567 JPY");
    EXPECT(fw_fmt_money(buf, sizeof buf, -999, 0, "JPY"), "-999 JPY");
    EXPECT(fw_fmt_money(buf, sizeof buf, 1234567, 3, "KWD"), "1,234.567 KWD");
    EXPECT(fw_fmt_money(buf, sizeof buf, INT64_MIN, 2, "USD"), "-92,233,720,368,547,758.08 USD");
    EXPECT(fw_fmt_money(buf, sizeof buf, INT64_MAX, 0, NULL), "9,223,372,036,854,775,807");
    /* Cut like snprintf: the return is the whole length. */
    char small[6];
    assert_int_equal(fw_fmt_money(small, sizeof small, 11004728, 2, NULL), 10);
    assert_string_equal(small, "110,0");
    assert_int_equal(fw_fmt_money(NULL, 0, 100, 2, "USD"), 8);
}

static void test_money_d(void **state)
{
    (void)state;
    EXPECT(fw_fmt_money_d(buf, sizeof buf, 347018.2, 2, NULL), "3,470.18");
    EXPECT(fw_fmt_money_d(buf, sizeof buf, 0.5, 2, NULL), "0.01");
    EXPECT(fw_fmt_money_d(buf, sizeof buf, -0.5, 2, NULL), "-0.01");
    EXPECT(fw_fmt_money_d(buf, sizeof buf, 1499.6, 0, "JPY"), "1,500 JPY");
    EXPECT(fw_fmt_money_d(buf, sizeof buf, INFINITY, 2, NULL), "-");
    EXPECT(fw_fmt_money_d(buf, sizeof buf, NAN, 2, NULL), "-");
}

static void test_currency_table(void **state)
{
    (void)state;
    assert_int_equal(fw_currency_digits("USD"), 2);
    assert_int_equal(fw_currency_digits("CNY"), 2);
    assert_int_equal(fw_currency_digits("EUR"), 2);
    assert_int_equal(fw_currency_digits("JPY"), 0);
    assert_int_equal(fw_currency_digits("KWD"), 3);
    assert_int_equal(fw_currency_digits("XYZ"), -1);
    assert_int_equal(fw_currency_digits("usd"), -1);
    assert_true(fw_currency_code_valid("XYZ"));
    assert_false(fw_currency_code_valid("usd"));
    assert_false(fw_currency_code_valid("USDX"));
    assert_false(fw_currency_code_valid(""));
    assert_false(fw_currency_code_valid(NULL));
}

static void test_qty(void **state)
{
    (void)state;
    EXPECT(fw_fmt_qty_milli(buf, sizeof buf, 13244125), "13,244.125");
    EXPECT(fw_fmt_qty_milli(buf, sizeof buf, 1500), "1.5");
    EXPECT(fw_fmt_qty_milli(buf, sizeof buf, 2000), "2");
    EXPECT(fw_fmt_qty_milli(buf, sizeof buf, 10), "0.01");
    EXPECT(fw_fmt_qty_milli(buf, sizeof buf, 0), "0");
    EXPECT(fw_fmt_qty_milli(buf, sizeof buf, -250), "-0.25");
    EXPECT(fw_fmt_qty_milli(buf, sizeof buf, -1000000), "-1,000");
}

static void test_number(void **state)
{
    (void)state;
    EXPECT(fw_fmt_number(buf, sizeof buf, 3.8166666), "3.817");
    EXPECT(fw_fmt_number(buf, sizeof buf, 12345.5), "12,345.5");
    EXPECT(fw_fmt_number(buf, sizeof buf, 0), "0");
    EXPECT(fw_fmt_number(buf, sizeof buf, NAN), "-");
}

static void test_ratio(void **state)
{
    (void)state;
    EXPECT(fw_fmt_ratio(buf, sizeof buf, 0.009), "0.9%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, 2.685), "268.5%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, 1.0), "100.0%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, 0.0), "0.0%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, -0.0), "0.0%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, 0.0002), "<0.1%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, -0.0002), ">-0.1%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, -0.25), "-25.0%");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, INFINITY), "-");
    EXPECT(fw_fmt_ratio(buf, sizeof buf, NAN), "-");
}

static void test_duration(void **state)
{
    (void)state;
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 0), "0 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 40000), "40 s");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 59499), "59 s");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 59500), "1 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 45 * 60000), "45 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 45 * 60000 + 29999), "45 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 45 * 60000 + 30000), "46 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 60 * 60000), "1 h 00 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 125 * 60000), "2 h 05 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, 50LL * 3600000), "50 h 00 min");
    EXPECT(fw_fmt_duration_ms(buf, sizeof buf, -90 * 60000), "-1 h 30 min");
}

static struct tz *zone(const char *name)
{
    struct tz *tz = NULL;
    assert_int_equal(tz_load(&tz, name), FW_OK);
    return tz;
}

static void test_local(void **state)
{
    (void)state;
    struct tz *sh = zone("Asia/Shanghai"), *be = zone("Europe/Berlin");
    struct tz *ny = zone("America/New_York"), *kt = zone("Asia/Kathmandu");
    EXPECT(fw_fmt_local(buf, sizeof buf, 1796433243250, sh), "2026-12-05 09:14 +08:00");
    EXPECT(fw_fmt_iso8601(buf, sizeof buf, 1796433243250, sh), "2026-12-05T09:14:03.250+08:00");
    EXPECT(fw_fmt_local(buf, sizeof buf, 1796433243250, NULL), "2026-12-05 01:14 +00:00");
    EXPECT(fw_fmt_local(buf, sizeof buf, 1796433243250, kt), "2026-12-05 06:59 +05:45");
    /* Berlin springs forward at 01:00Z on 2026-03-29: 01:59:59 CET, then 03:00 CEST. */
    EXPECT(fw_fmt_iso8601(buf, sizeof buf, 1774745999000, be), "2026-03-29T01:59:59.000+01:00");
    EXPECT(fw_fmt_local(buf, sizeof buf, 1774746000000, be), "2026-03-29 03:00 +02:00");
    /* ... and falls back at 01:00Z on 2026-10-25: 02:59 CEST, then 02:00 CET again. */
    EXPECT(fw_fmt_local(buf, sizeof buf, 1792889940000, be), "2026-10-25 02:59 +02:00");
    EXPECT(fw_fmt_local(buf, sizeof buf, 1792890000000, be), "2026-10-25 02:00 +01:00");
    /* New York at its spring-forward instant: 03:00 EDT. */
    EXPECT(fw_fmt_local(buf, sizeof buf, 1772953200000, ny), "2026-03-08 03:00 -04:00");
    EXPECT(fw_fmt_local(buf, sizeof buf, 1772953199000, ny), "2026-03-08 01:59 -05:00");
    /* Before 1970: floor, not truncation. */
    EXPECT(fw_fmt_iso8601(buf, sizeof buf, -500, NULL), "1969-12-31T23:59:59.500+00:00");
    tz_destroy(&sh);
    tz_destroy(&be);
    tz_destroy(&ny);
    tz_destroy(&kt);
}

/* fw_milli_value against the rule written out in 128 bits, on both of its paths. */
static __int128 milli_value_ref(int64_t milli, int64_t cents)
{
    __int128 x = (__int128)milli * cents, q = (x < 0 ? -x : x) / 1000, r = (x < 0 ? -x : x) % 1000;
    if (r >= 500)
        q++;
    return x < 0 ? -q : q;
}

static void test_milli_value(void **state)
{
    (void)state;
    assert_true(fw_milli_value(1000, 250) == 250);   /* 1 unit at 2.50 */
    assert_true(fw_milli_value(1500, 199) == 299);   /* 298.5: half up */
    assert_true(fw_milli_value(1499, 199) == 298);   /* 298.301 */
    assert_true(fw_milli_value(-1500, 199) == -299); /* half away from zero */
    assert_true(fw_milli_value(-1, 499) == 0);
    assert_true(fw_milli_value(-1, 500) == -1);
    assert_true(fw_milli_value(0, INT64_MAX) == 0);
    /* Products beyond int64: the 128-bit path. */
    assert_true(fw_milli_value(1000000000000LL, 1000000000000000LL) ==
                (__int128)1000000000000LL * 1000000000000LL);
    assert_true(fw_milli_value(INT64_MAX, INT64_MAX) == milli_value_ref(INT64_MAX, INT64_MAX));
    assert_true(fw_milli_value(INT64_MIN, INT64_MAX) == milli_value_ref(INT64_MIN, INT64_MAX));
    /* Around the edge between the two paths, and a spread of ordinary figures. */
    const int64_t edge[] = {INT64_MAX / 7, INT64_MAX / 7 + 1, INT64_MAX - 500, INT64_MAX - 499,
                            INT64_MAX,     INT64_MIN + 500,   INT64_MIN + 501, INT64_MIN};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        assert_true(fw_milli_value(edge[i], 1) == milli_value_ref(edge[i], 1));
        assert_true(fw_milli_value(edge[i], -1) == milli_value_ref(edge[i], -1));
        assert_true(fw_milli_value(7, edge[i] / 7) == milli_value_ref(7, edge[i] / 7));
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int64_t m = (int64_t)(x % 2000000001ULL) - 1000000000, c = (int64_t)(x >> 34) - (1 << 29);
        assert_true(fw_milli_value(m, c) == milli_value_ref(m, c));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milli_value), cmocka_unit_test(test_money),
        cmocka_unit_test(test_money_d),     cmocka_unit_test(test_currency_table),
        cmocka_unit_test(test_qty),         cmocka_unit_test(test_number),
        cmocka_unit_test(test_ratio),       cmocka_unit_test(test_duration),
        cmocka_unit_test(test_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
