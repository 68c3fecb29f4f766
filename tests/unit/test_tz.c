/*
 * Unit tests for clients/common/tz.c: store-local days and hours from TZif files.
 *
 * The reference is an independent implementation, glibc: for each zone, TZ is switched and
 * localtime_r() asked (here in the test only; tz.c itself never touches TZ), at instants
 * sampled with an odd step across 1850-2500 and at +-1 s around every transition either side
 * sees. Footer rules are also checked on their own: TZif files that hold nothing but a POSIX TZ
 * string are written to a temporary $TZDIR and compared with glibc parsing the same string.
 * Calendar helpers are checked against timegm()/gmtime_r(). Hand-worked cases (New York's DST
 * days, Apia's lost day) use constants computed outside the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fwcommon.h"
#include "tz.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define DAY 86400LL
#define T1850 (-3786825600LL) /* 1850-01-01T00:00:00Z */
#define T1990 631152000LL     /* 1990-01-01T00:00:00Z */
#define T2046 2398291200LL    /* 2046-01-01T00:00:00Z */
#define T2150 5680281600LL    /* 2150-01-01T00:00:00Z */
#define T2500 16725225600LL   /* 2500-01-01T00:00:00Z */

/* The sweeps end in 2500, or 2150 under valgrind: glibc re-parses the TZ string on every
 * call past a zone's last transition, and that is slow there. Past 2100 either way. */
#define T_FAR (RUNNING_ON_VALGRIND ? T2150 : T2500)
/* Sampling steps (under valgrind coarser; the +-1 s checks at every transition stay). */
#define STEP (RUNNING_ON_VALGRIND ? 6 * 3600 + 61 : 37 * 60 + 1) /* where stores likely are */
#define ODD_STEP (3 * STEP) /* zones picked for their odd footer rules */

static char tmpdir[64];

/* ---------------------------------------------------------------------------------------------
 * The reference: glibc
 * ------------------------------------------------------------------------------------------- */

static void glibc_zone(const char *tzval)
{
    unsetenv("TZDIR");
    setenv("TZ", tzval, 1);
    tzset();
}

static long glibc_off(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return tm.tm_gmtoff;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

struct cmp {
    const char *zone;
    long samples, transitions;
};

/* Checks tz against glibc (already switched to the same zone) at the instant t; returns
 * glibc's offset. */
static long check_at(struct cmp *c, const struct tz *tz, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm, norm;
    assert_non_null(localtime_r(&tt, &tm));
    norm = tm;
    int64_t want_day = floor_div((int64_t)timegm(&norm), DAY);
    int32_t off = tz_offset(tz, t);
    struct tz_local l;
    tz_local(tz, t * 1000 + 999, &l);
    if (off != tm.tm_gmtoff || l.day != want_day || l.hour != tm.tm_hour || l.minute != tm.tm_min ||
        l.wday != tm.tm_wday)
        fail_msg("%s at %lld: glibc %04d-%02d-%02d %02d:%02d wday %d off %ld (day %lld); tz off "
                 "%d day %d %02d:%02d wday %d",
                 c->zone, (long long)t, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_wday, (long)tm.tm_gmtoff, (long long)want_day, (int)off,
                 (int)l.day, l.hour, l.minute, l.wday);
    c->samples++;
    return tm.tm_gmtoff;
}

/* The first second in (a, b] whose offset (glibc's, or tz's) differs from the one at a. */
static int64_t bisect(const struct tz *tz, bool use_glibc, int64_t a, int64_t b)
{
    long at_a = use_glibc ? glibc_off(a) : tz_offset(tz, a);
    while (b - a > 1) {
        int64_t m = a + (b - a) / 2;
        long om = use_glibc ? glibc_off(m) : tz_offset(tz, m);
        if (om == at_a)
            a = m;
        else
            b = m;
    }
    return b;
}

static void check_around(struct cmp *c, const struct tz *tz, int64_t t)
{
    for (int64_t d = -2; d <= 1; d++)
        check_at(c, tz, t + d);
    c->transitions++;
}

/* Samples [from, to) every step seconds; where either side's offset changes between two
 * samples, finds the exact second (glibc's, and tz's if it is another) and checks around it. */
static void sweep(struct cmp *c, const struct tz *tz, int64_t from, int64_t to, int64_t step)
{
    long g_prev = glibc_off(from);
    int32_t z_prev = tz_offset(tz, from);
    for (int64_t t = from; t < to; t += step) {
        long g = check_at(c, tz, t);
        int32_t z = tz_offset(tz, t);
        int64_t tg = INT64_MIN;
        if (t > from && g != g_prev)
            check_around(c, tz, tg = bisect(tz, true, t - step, t));
        if (t > from && z != z_prev) {
            int64_t tzz = bisect(tz, false, t - step, t);
            if (tzz != tg)
                check_around(c, tz, tzz);
        }
        g_prev = g;
        z_prev = z;
    }
}

/* step: the sampling step across 1990-2045 (plus 1850-1990 and 2046-2500, coarser). */
static void compare_zone(const char *zone, int64_t step, long min_transitions)
{
    struct tz *tz = NULL;
    assert_int_equal(tz_load(&tz, zone), FW_OK);
    assert_string_equal(tz_name(tz), zone);
    glibc_zone(zone);
    struct cmp c = {.zone = zone};
    sweep(&c, tz, T1850, T1990, 3 * DAY + 3607);
    sweep(&c, tz, T1990, T2046, step);
    sweep(&c, tz, T2046, T_FAR, 5 * DAY + 3607);
    assert_true(c.transitions >= min_transitions);
    tz_destroy(&tz);
    assert_null(tz);
}

static void test_glibc_new_york(void **state)
{
    (void)state;
    compare_zone("America/New_York", STEP, 100);
}

static void test_glibc_shanghai(void **state)
{
    (void)state;
    compare_zone("Asia/Shanghai", STEP, 6);
}

static void test_glibc_london(void **state)
{
    (void)state;
    compare_zone("Europe/London", STEP, 100);
}

static void test_glibc_lord_howe(void **state)
{
    (void)state;
    compare_zone("Australia/Lord_Howe", STEP, 100);
}

static void test_glibc_kathmandu(void **state)
{
    (void)state;
    compare_zone("Asia/Kathmandu", STEP, 2);
}

static void test_glibc_sao_paulo(void **state)
{
    (void)state;
    compare_zone("America/Sao_Paulo", STEP, 50);
}

static void test_glibc_apia(void **state)
{
    (void)state;
    compare_zone("Pacific/Apia", STEP, 20);
}

static void test_glibc_casablanca(void **state)
{
    (void)state;
    compare_zone("Africa/Casablanca", STEP, 100);
}

static void test_glibc_utc(void **state)
{
    (void)state;
    compare_zone("UTC", STEP, 0);
    compare_zone("Etc/UTC", STEP, 0);
}

/* Footers with negative DST, negative and >24 h transition times, :45 offsets, 2 h DST. */
static void test_glibc_odd_rules(void **state)
{
    (void)state;
    compare_zone("Europe/Dublin", ODD_STEP, 100);  /* IST-1GMT0,M10.5.0,M3.5.0/1 */
    compare_zone("America/Nuuk", ODD_STEP, 40);    /* ...,M3.5.0/-1,M10.5.0/0 */
    compare_zone("Asia/Jerusalem", ODD_STEP, 100); /* ...,M3.4.4/26,M10.5.0 */
    compare_zone("Australia/Sydney", ODD_STEP, 100);
    compare_zone("Pacific/Chatham", ODD_STEP, 100);
    compare_zone("Antarctica/Troll", ODD_STEP, 70);
    compare_zone("America/St_Johns", ODD_STEP, 100);
    compare_zone("Asia/Gaza", ODD_STEP, 100); /* EET-2EEST,M3.4.4/50,M10.4.4/50 */
    compare_zone("Asia/Tehran", ODD_STEP, 40);
}

/* ---------------------------------------------------------------------------------------------
 * Hand-worked cases
 * ------------------------------------------------------------------------------------------- */

#define NY_SPRING_DAY 20520    /* 2026-03-08, a Sunday */
#define NY_SPRING 1772953200LL /* 2026-03-08T07:00:00Z = 02:00 EST = 03:00 EDT */
#define NY_FALL_DAY 20758      /* 2026-11-01 */
#define NY_FALL 1793512800LL   /* 2026-11-01T06:00:00Z = 02:00 EDT = 01:00 EST */

static void expect_local(const struct tz *tz, int64_t utc_s, int32_t day, int hour, int minute,
                         int wday)
{
    struct tz_local l;
    tz_local(tz, utc_s * 1000, &l);
    assert_int_equal(l.day, day);
    assert_int_equal(l.hour, hour);
    assert_int_equal(l.minute, minute);
    assert_int_equal(l.wday, wday);
}

static void test_new_york_dst_days(void **state)
{
    (void)state;
    struct tz *ny = NULL;
    assert_int_equal(tz_load(&ny, "America/New_York"), FW_OK);

    assert_int_equal(tz_offset(ny, NY_SPRING - 1), -5 * 3600);
    assert_int_equal(tz_offset(ny, NY_SPRING), -4 * 3600);
    expect_local(ny, NY_SPRING - 1, NY_SPRING_DAY, 1, 59, 0);
    expect_local(ny, NY_SPRING, NY_SPRING_DAY, 3, 0, 0);
    /* The spring day has 23 hours, the autumn day 25, the day after 24. */
    assert_int_equal(tz_utc_of_local(ny, NY_SPRING_DAY, 0), NY_SPRING - 2 * 3600);
    assert_int_equal(tz_utc_of_local(ny, NY_SPRING_DAY + 1, 0) -
                         tz_utc_of_local(ny, NY_SPRING_DAY, 0),
                     23 * 3600);
    assert_int_equal(tz_utc_of_local(ny, NY_FALL_DAY + 1, 0) - tz_utc_of_local(ny, NY_FALL_DAY, 0),
                     25 * 3600);
    assert_int_equal(tz_utc_of_local(ny, NY_FALL_DAY + 2, 0) -
                         tz_utc_of_local(ny, NY_FALL_DAY + 1, 0),
                     24 * 3600);

    /* Gap: 02:30 does not exist on the spring day; it ends at 07:00Z (03:00 EDT). 01:59 and
     * 03:00 are ordinary. */
    assert_int_equal(tz_utc_of_local(ny, NY_SPRING_DAY, 2 * 60 + 30), NY_SPRING);
    assert_int_equal(tz_utc_of_local(ny, NY_SPRING_DAY, 2 * 60), NY_SPRING);
    assert_int_equal(tz_utc_of_local(ny, NY_SPRING_DAY, 1 * 60 + 59), NY_SPRING - 60);
    assert_int_equal(tz_utc_of_local(ny, NY_SPRING_DAY, 3 * 60), NY_SPRING);
    assert_int_equal(tz_utc_of_local(ny, NY_SPRING_DAY, 3 * 60 + 1), NY_SPRING + 60);

    /* Overlap: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST): the first. */
    assert_int_equal(tz_offset(ny, NY_FALL - 1), -4 * 3600);
    assert_int_equal(tz_offset(ny, NY_FALL), -5 * 3600);
    expect_local(ny, NY_FALL - 1, NY_FALL_DAY, 1, 59, 0);
    expect_local(ny, NY_FALL, NY_FALL_DAY, 1, 0, 0);
    assert_int_equal(tz_utc_of_local(ny, NY_FALL_DAY, 90), NY_FALL - 1800);
    assert_int_equal(tz_utc_of_local(ny, NY_FALL_DAY, 60), NY_FALL - 3600);
    assert_int_equal(tz_utc_of_local(ny, NY_FALL_DAY, 120), NY_FALL + 3600);
    assert_int_equal(tz_utc_of_local(ny, NY_FALL_DAY, 59), NY_FALL - 3600 - 60);

    /* Far past the expanded table (2100): the rule still applies, 400 years on too. */
    assert_int_equal(tz_offset(ny, 32503680000LL), -5 * 3600); /* 3000-01-01T00:00:00Z */
    assert_int_equal(tz_offset(ny, 32503680000LL + 200 * DAY), -4 * 3600);
    assert_int_equal(tz_offset(ny, INT64_MAX), -5 * 3600);
    assert_true(tz_offset(ny, INT64_MIN) > -6 * 3600);
    struct tz_local l;
    tz_local(ny, INT64_MAX, &l); /* must not overflow (UBSan) */
    tz_local(ny, INT64_MIN, &l);
    tz_destroy(&ny);
    tz_destroy(&ny); /* NULL again: fine */
}

/*
 * Round trip: for each local minute of each day of 2024-2027, tz_utc_of_local gives an instant
 * that tz_local maps back to the same minute, unless the minute is in a gap, where it gives the
 * transition itself.
 */
static void round_trip(const char *zone, int32_t from_day, int32_t to_day)
{
    struct tz *tz = NULL;
    assert_int_equal(tz_load(&tz, zone), FW_OK);
    for (int32_t d = from_day; d < to_day; d++)
        for (int32_t m = 0; m < 1440; m += RUNNING_ON_VALGRIND ? 31 : 7) {
            int64_t t = tz_utc_of_local(tz, d, m);
            struct tz_local l;
            tz_local(tz, t * 1000, &l);
            if (l.day == d && l.hour * 60 + l.minute == m) {
                /* in an overlap (30 min at Lord Howe, 2 h at Troll), the earlier instant */
                for (int64_t back = 1800; back <= 7200; back += 1800) {
                    tz_local(tz, (t - back) * 1000, &l);
                    if (l.day == d && l.hour * 60 + l.minute == m)
                        fail_msg("%s day %d minute %d: %lld is not the earlier", zone, d, m,
                                 (long long)t);
                }
                continue;
            }
            /* a gap: t must be a transition, after which local time is past m */
            if (tz_offset(tz, t - 1) == tz_offset(tz, t) ||
                (int64_t)l.day * 1440 + l.hour * 60 + l.minute < (int64_t)d * 1440 + m)
                fail_msg("%s day %d minute %d: got %lld", zone, d, m, (long long)t);
        }
    tz_destroy(&tz);
}

static void test_utc_of_local_round_trip(void **state)
{
    (void)state;
    const char *zones[] = {"America/New_York", "Australia/Lord_Howe", "Europe/Dublin",
                           "America/Nuuk",     "Asia/Jerusalem",      "Asia/Kathmandu",
                           "Pacific/Chatham",  "Antarctica/Troll",    "UTC"};
    for (size_t i = 0; i < sizeof zones / sizeof *zones; i++)
        round_trip(zones[i], 19723, 19723 + 4 * 365); /* 2024-01-01 .. 2027 */
}

static void test_lord_howe_half_hour(void **state)
{
    (void)state;
    struct tz *tz = NULL;
    assert_int_equal(tz_load(&tz, "Australia/Lord_Howe"), FW_OK);
    /* 2026-10-04 02:00 +10:30 -> 02:30 +11, i.e. 2026-10-03T15:30:00Z (day 20730). */
    int64_t t = 1791041400LL;
    assert_int_equal(tz_offset(tz, t - 1), 37800);
    assert_int_equal(tz_offset(tz, t), 39600);
    assert_int_equal(tz_utc_of_local(tz, 20730, 2 * 60 + 15), t); /* in the 30-min gap */
    assert_int_equal(tz_utc_of_local(tz, 20731, 0) - tz_utc_of_local(tz, 20730, 0), DAY - 1800);
    tz_destroy(&tz);
}

static void test_apia_lost_day(void **state)
{
    (void)state;
    struct tz *tz = NULL;
    assert_int_equal(tz_load(&tz, "Pacific/Apia"), FW_OK);
    /* 2011-12-29 23:59:59 -10 was followed by 2011-12-31 00:00:00 +14: at 2011-12-30T10:00Z. */
    int64_t t = 1325239200LL;
    int32_t dec29 = 15337, dec30 = 15338, dec31 = 15339;
    assert_int_equal(tz_offset(tz, t - 1), -10 * 3600);
    assert_int_equal(tz_offset(tz, t), 14 * 3600);
    expect_local(tz, t - 1, dec29, 23, 59, 4);
    expect_local(tz, t, dec31, 0, 0, 6);
    /* The whole of Dec 30 is a gap: every minute of it maps to the end of the gap, and the day
     * has length 0. */
    assert_int_equal(tz_utc_of_local(tz, dec30, 0), t);
    assert_int_equal(tz_utc_of_local(tz, dec30, 12 * 60), t);
    assert_int_equal(tz_utc_of_local(tz, dec31, 0), t);
    assert_int_equal(tz_utc_of_local(tz, dec30, 0) - tz_utc_of_local(tz, dec29, 0), DAY);
    tz_destroy(&tz);
}

static void test_fixed_zones(void **state)
{
    (void)state;
    struct tz *sh = NULL, *kt = NULL;
    assert_int_equal(tz_load(&sh, "Asia/Shanghai"), FW_OK);
    assert_int_equal(tz_load(&kt, "Asia/Kathmandu"), FW_OK);
    for (int64_t t = 694224000LL; t < T2500; t += 7 * 3600 + 11) { /* from 1992 */
        if (tz_offset(sh, t) != 8 * 3600 || tz_offset(kt, t) != 5 * 3600 + 45 * 60)
            fail_msg("at %lld: Shanghai %d, Kathmandu %d", (long long)t, tz_offset(sh, t),
                     tz_offset(kt, t));
    }
    /* 2026-03-08T18:15:00Z is 2026-03-09 02:15 in Shanghai (a Monday), 2026-03-09 00:00 in
     * Kathmandu. */
    expect_local(sh, NY_SPRING + 11 * 3600 + 900, NY_SPRING_DAY + 1, 2, 15, 1);
    expect_local(kt, NY_SPRING + 11 * 3600 + 900, NY_SPRING_DAY + 1, 0, 0, 1);
    assert_int_equal(tz_utc_of_local(kt, NY_SPRING_DAY + 1, 0), NY_SPRING + 11 * 3600 + 900);
    tz_destroy(&sh);
    tz_destroy(&kt);
}

/* ---------------------------------------------------------------------------------------------
 * Calendar
 * ------------------------------------------------------------------------------------------- */

static void test_calendar_vs_glibc(void **state)
{
    (void)state;
    /* Every day from 1600 to 2400 against gmtime_r/timegm/strftime. */
    for (int64_t d = -135140; d < 157054; d++) {
        time_t t = (time_t)(d * DAY);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        int y;
        unsigned m, dd;
        tz_civil_from_days((int32_t)d, &y, &m, &dd);
        if (y != tm.tm_year + 1900 || m != (unsigned)tm.tm_mon + 1 || dd != (unsigned)tm.tm_mday)
            fail_msg("day %lld: %d-%u-%u", (long long)d, y, m, dd);
        assert_int_equal(tz_days_from_civil(y, m, dd), d);
        char want[16], got[11];
        strftime(want, sizeof want, "%Y-%m-%d", &tm);
        tz_format_day((int32_t)d, got);
        assert_string_equal(got, want);
        int32_t back = -1;
        assert_int_equal(tz_parse_day(want, &back), 0);
        assert_int_equal(back, d);
        /* week start: a Monday, at most 6 days back; month start: day 1 of the same month */
        int32_t ws = tz_week_start((int32_t)d);
        assert_int_equal((tm.tm_wday + 6) % 7, d - ws);
        assert_int_equal(tz_month_start((int32_t)d), d - (tm.tm_mday - 1));
    }
}

static void test_calendar_cases(void **state)
{
    (void)state;
    int32_t d = 0;
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_days_from_civil(2026, 3, 8), NY_SPRING_DAY);
    assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);

    assert_int_equal(tz_parse_day("2024-02-29", &d), 0);
    assert_int_equal(d, 19782);
    assert_int_equal(tz_parse_day("2000-02-29", &d), 0);
    assert_int_equal(d, 11016);
    const char *bad[] = {"2023-02-29",  "1900-02-29", "2100-02-29",  "2024-13-01", "2024-00-10",
                         "2024-04-31",  "2024-01-00", "2024-1-01",   "2024-01-1",  "2024-01-010",
                         "2024-01-01x", "",           " 2024-01-01", "2024/01/01", "abcd-ef-gh",
                         "+024-01-01",  "2024-+1-01", "20240101",    "2024-01-0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d = 12345;
        if (tz_parse_day(bad[i], &d) != -1 || d != 12345)
            fail_msg("\"%s\" parsed", bad[i]);
    }
    assert_int_equal(tz_parse_day(NULL, &d), -1);
    assert_int_equal(tz_parse_day("0000-01-01", &d), 0);
    assert_int_equal(tz_parse_day("9999-12-31", &d), 0);
    char out[11];
    tz_format_day(d + 1, out);
    assert_string_equal(out, "0000-00-00"); /* year 10000 */
    tz_format_day(INT32_MIN, out);
    assert_string_equal(out, "0000-00-00");

    /* 2026-03-08 is a Sunday: its ISO week began Monday 2026-03-02 */
    assert_int_equal(tz_week_start(NY_SPRING_DAY), NY_SPRING_DAY - 6);
    assert_int_equal(tz_week_start(NY_SPRING_DAY + 1), NY_SPRING_DAY + 1);
    assert_int_equal(tz_week_start(0), -3); /* Thu 1970-01-01 -> Mon 1969-12-29 */
    assert_int_equal(tz_week_start(-4), -10);
    assert_int_equal(tz_month_start(19782), 19754); /* 2024-02-29 -> 2024-02-01 */
    assert_int_equal(tz_month_start(19783), 19783); /* 2024-03-01 */
    assert_int_equal(tz_month_start(-1), -31);      /* 1969-12-31 -> 1969-12-01 */
}

/* ---------------------------------------------------------------------------------------------
 * Loading: errors, crafted files
 * ------------------------------------------------------------------------------------------- */

static void write_file(const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static fw_err load_tmp(const char *name, struct tz **out)
{
    setenv("TZDIR", tmpdir, 1);
    fw_err e = tz_load(out, name);
    unsetenv("TZDIR");
    return e;
}

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static size_t put64(uint8_t *p, int64_t v)
{
    put32(p, (uint32_t)((uint64_t)v >> 32));
    return 4 + put32(p + 4, (uint32_t)v);
}

struct ttype {
    int32_t off;
    uint8_t isdst;
};

/* A TZif image: version 0 (times as 32 bits, no footer) or '2' (a minimal version 1 block,
 * then the data with 64-bit times and the footer). */
static size_t tzif_make(uint8_t *buf, char version, const int64_t *at, const uint8_t *idx,
                        uint32_t n, const struct ttype *types, uint32_t ntypes, const char *footer)
{
    size_t p = 0;
    for (int pass = version ? 0 : 1; pass < 2; pass++) {
        bool minimal = pass == 0;
        unsigned tsize = version ? 8 : 4;
        memcpy(buf + p, "TZif", 4);
        buf[p + 4] = (uint8_t)version;
        memset(buf + p + 5, 0, 15);
        p += 20;
        uint32_t counts[6] = {0, 0, 0, minimal ? 0 : n, minimal ? 1 : ntypes, minimal ? 1 : 4};
        for (int i = 0; i < 6; i++)
            p += put32(buf + p, counts[i]);
        if (minimal) {
            memset(buf + p, 0, 7); /* one ttinfo, one NUL */
            p += 7;
            continue;
        }
        for (uint32_t i = 0; i < n; i++)
            p += tsize == 8 ? put64(buf + p, at[i]) : put32(buf + p, (uint32_t)at[i]);
        for (uint32_t i = 0; i < n; i++)
            buf[p++] = idx[i];
        for (uint32_t i = 0; i < ntypes; i++) {
            p += put32(buf + p, (uint32_t)types[i].off);
            buf[p++] = types[i].isdst;
            buf[p++] = 0;
        }
        memcpy(buf + p, "ABC", 4);
        p += 4;
    }
    if (version) {
        p += (size_t)sprintf((char *)buf + p, "\n%s\n", footer);
    }
    return p;
}

static void test_not_found(void **state)
{
    (void)state;
    struct tz *tz = NULL;
    const char *names[] = {"Nowhere/Atlantis",
                           "America",
                           "../zoneinfo/UTC",
                           "/etc/passwd",
                           "America/../UTC",
                           "",
                           "America//New_York",
                           "America/New_York/",
                           "./UTC",
                           "Europe/London\n",
                           "a b"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        fw_err e = tz_load(&tz, names[i]);
        if (e != FW_ENOTFOUND)
            fail_msg("\"%s\": %d", names[i], e);
        assert_null(tz);
    }
    assert_int_equal(tz_load(&tz, NULL), FW_ENOTFOUND);
    /* Built-in UTC, even from an empty zone directory. */
    assert_int_equal(load_tmp("UTC", &tz), FW_OK);
    assert_int_equal(tz_offset(tz, 1234567890), 0);
    expect_local(tz, 1234567890, 14288, 23, 31, 5); /* 2009-02-13T23:31:30Z, a Friday */
    assert_int_equal(tz_utc_of_local(tz, 14288, 23 * 60 + 31), 1234567860);
    tz_destroy(&tz);
    assert_int_equal(load_tmp("Etc/UTC", &tz), FW_OK);
    assert_string_equal(tz_name(tz), "Etc/UTC");
    tz_destroy(&tz);
    assert_int_equal(load_tmp("America/New_York", &tz), FW_ENOTFOUND);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[65536];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void test_corrupt(void **state)
{
    (void)state;
    struct tz *tz = NULL;
    write_file("garbage", "hello, world\n", 13);
    assert_int_equal(load_tmp("garbage", &tz), FW_ECORRUPT);
    write_file("empty", "", 0);
    assert_int_equal(load_tmp("empty", &tz), FW_ECORRUPT);

    /* Every strict prefix of a real file is corrupt; the whole file loads. */
    size_t len;
    uint8_t *ny = slurp("/usr/share/zoneinfo/America/New_York", &len);
    assert_true(len > 1000);
    for (size_t n = 0; n < len; n++) {
        write_file("prefix", ny, n);
        fw_err e = load_tmp("prefix", &tz);
        if (e != FW_ECORRUPT)
            fail_msg("prefix of %zu bytes: %d", n, e);
    }
    write_file("whole", ny, len);
    assert_int_equal(load_tmp("whole", &tz), FW_OK);
    assert_int_equal(tz_offset(tz, NY_SPRING), -4 * 3600);
    tz_destroy(&tz);

    /* Random byte flips: anything but a crash (the sanitizer runs judge that). */
    uint8_t copy[65536];
    unsigned seed = 12345;
    int ok = 0, corrupt = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, ny, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % len] ^= (uint8_t)(1u << ((seed >> 4) % 8));
        }
        write_file("flipped", copy, len);
        fw_err e = load_tmp("flipped", &tz);
        if (e == FW_OK) {
            ok++;
            (void)tz_offset(tz, NY_SPRING);
            (void)tz_utc_of_local(tz, NY_SPRING_DAY, 150);
            tz_destroy(&tz);
        } else {
            corrupt++;
            assert_int_equal(e, FW_ECORRUPT);
        }
    }
    print_message("byte flips: %d loaded, %d corrupt\n", ok, corrupt);
    assert_true(corrupt > 0);

    /* Footers that do not parse, a leap-second file, unsorted transitions, bad type index. */
    uint8_t buf[4096];
    struct ttype std = {-5 * 3600, 0}, types2[2] = {{-5 * 3600, 0}, {-4 * 3600, 1}};
    const char *bad_footers[] = {"EST",
                                 "EST5EDT,M3.2.0",
                                 "EST5EDT,M13.2.0,M11.1.0",
                                 "EST5EDT,M3.6.0,M11.1.0",
                                 "EST5EDT,M3.2.7,M11.1.0",
                                 "5",
                                 "EST25",
                                 "<EST5",
                                 "EST5EDT,J0,J365",
                                 "EST5EDT,366,0",
                                 "EST5EDT,M3.2.0/168,M11.1.0",
                                 "EST5 ",
                                 "EST5EDT4,M3.2.0,M11.1.0x",
                                 "EST5:60"};
    for (size_t i = 0; i < sizeof bad_footers / sizeof *bad_footers; i++) {
        write_file("badfooter", buf, tzif_make(buf, '2', NULL, NULL, 0, &std, 1, bad_footers[i]));
        fw_err e = load_tmp("badfooter", &tz);
        if (e != FW_ECORRUPT)
            fail_msg("footer \"%s\": %d", bad_footers[i], e);
    }
    int64_t at[2] = {1000, 500};
    uint8_t idx[2] = {1, 0}, idx_bad[2] = {0, 2};
    write_file("unsorted", buf, tzif_make(buf, '2', at, idx, 2, types2, 2, ""));
    assert_int_equal(load_tmp("unsorted", &tz), FW_ECORRUPT);
    at[1] = 2000;
    write_file("badidx", buf, tzif_make(buf, '2', at, idx_bad, 2, types2, 2, ""));
    assert_int_equal(load_tmp("badidx", &tz), FW_ECORRUPT);
    struct ttype huge = {26 * 3600, 0};
    write_file("badoff", buf, tzif_make(buf, '2', NULL, NULL, 0, &huge, 1, ""));
    assert_int_equal(load_tmp("badoff", &tz), FW_ECORRUPT);
    size_t n = tzif_make(buf, '2', NULL, NULL, 0, &std, 1, "EST5");
    buf[4] = '1'; /* no such version */
    write_file("badver", buf, n);
    assert_int_equal(load_tmp("badver", &tz), FW_ECORRUPT);

    if (access("/usr/share/zoneinfo/right/UTC", R_OK) == 0) {
        assert_int_equal(tz_load(&tz, "right/UTC"), FW_EINVAL);
        assert_null(tz);
    }
}

/* Version 1 files (32-bit, no footer) and footerless version 2 files use their table alone. */
static void test_crafted_tables(void **state)
{
    (void)state;
    uint8_t buf[4096];
    struct tz *tz = NULL;
    struct ttype types[2] = {{3600, 0}, {7200, 1}};
    int64_t at[3] = {-100000, 0, 100000};
    uint8_t idx[3] = {1, 0, 1};
    for (int v = 0; v < 2; v++) {
        write_file("crafted", buf, tzif_make(buf, v ? '2' : 0, at, idx, 3, types, 2, ""));
        assert_int_equal(load_tmp("crafted", &tz), FW_OK);
        assert_int_equal(tz_offset(tz, INT64_MIN), 3600); /* type 0 before the first */
        assert_int_equal(tz_offset(tz, -100001), 3600);
        assert_int_equal(tz_offset(tz, -100000), 7200);
        assert_int_equal(tz_offset(tz, -1), 7200);
        assert_int_equal(tz_offset(tz, 0), 3600);
        assert_int_equal(tz_offset(tz, 99999), 3600);
        assert_int_equal(tz_offset(tz, 100000), 7200);
        assert_int_equal(tz_offset(tz, INT64_MAX), 7200); /* the last type forever */
        /* At 0 the offset falls from +2 to +1: local 01:00 of day 0 happens at -3600 (+2)
         * and at 0 (+1), the earlier wins. At 100000 it rises again: local 05:10 of day 1
         * (105000 s, between 100000 + 1 h and 100000 + 2 h) is skipped, and maps to 100000. */
        assert_int_equal(tz_utc_of_local(tz, 0, 60), -3600);
        assert_int_equal(tz_utc_of_local(tz, 0, 61), -3540);
        assert_int_equal(tz_utc_of_local(tz, 0, 121), 3660); /* only at +1 */
        assert_int_equal(tz_utc_of_local(tz, 1, 240), 86400 + 4 * 3600 - 3600);
        assert_int_equal(tz_utc_of_local(tz, 1, 310), 100000);
        tz_destroy(&tz);
    }
    /* A version 2 file whose footer disagrees with its last type: the footer wins from the last
     * transition on (RFC 8536 3.3). */
    write_file("footer", buf, tzif_make(buf, '2', at, idx, 3, types, 2, "<+03>-3"));
    assert_int_equal(load_tmp("footer", &tz), FW_OK);
    assert_int_equal(tz_offset(tz, 99999), 3600);
    assert_int_equal(tz_offset(tz, 100000), 3 * 3600);
    tz_destroy(&tz);

    /* tzfile(5)'s perpetual DST: the DST period spans each whole year, so it is always -4 h.
     * (Not compared with glibc, which says -3 h for three hours after each UTC New Year: it
     * takes the transitions of the UTC year, where tzcode and tz.c take the local year.) */
    struct ttype zero = {0, 0};
    write_file("footer", buf, tzif_make(buf, '2', NULL, NULL, 0, &zero, 1, "XXX3EDT4,0/0,J365/25"));
    assert_int_equal(load_tmp("footer", &tz), FW_OK);
    for (int y = 1850; y <= 2500; y += 3) {
        int64_t ny = (int64_t)tz_days_from_civil(y, 1, 1) * DAY;
        for (int64_t d = -4 * 3600; d <= 4 * 3600; d += 1800)
            if (tz_offset(tz, ny + d) != -4 * 3600)
                fail_msg("perpetual DST at %lld: %d", (long long)(ny + d), tz_offset(tz, ny + d));
    }
    assert_int_equal(tz_offset(tz, INT64_MIN), -4 * 3600);
    assert_int_equal(tz_offset(tz, INT64_MAX), -4 * 3600);
    tz_destroy(&tz);

    /* A rule that starts before 1900 (where the expanded table starts): a transition from LMT
     * in 1800, then US DST. Summer 1850 is EDT, the years in between follow the rule too. */
    struct ttype lmt[2] = {{-17762, 0}, {-18000, 0}};
    int64_t t1800 = -5364662400LL;
    uint8_t one = 1;
    write_file("footer", buf,
               tzif_make(buf, '2', &t1800, &one, 1, lmt, 2, "EST5EDT,M3.2.0,M11.1.0"));
    assert_int_equal(load_tmp("footer", &tz), FW_OK);
    assert_int_equal(tz_offset(tz, t1800 - 1), -17762);
    assert_int_equal(tz_offset(tz, t1800), -18000);
    assert_int_equal(tz_offset(tz, -3785616000LL), -18000); /* 1850-01-15 */
    assert_int_equal(tz_offset(tz, -3771187200LL), -14400); /* 1850-07-01 */
    assert_int_equal(tz_offset(tz, -2224886400LL), -14400); /* 1899-07-01 */
    assert_int_equal(tz_offset(tz, NY_SPRING - 1), -18000);
    assert_int_equal(tz_offset(tz, NY_SPRING), -14400);
    assert_int_equal(tz_utc_of_local(tz, -43648, 0), -3771187200LL + 14400);
    /* 1800-01-01T00:00Z is 1799-12-31 19:03:58 LMT, and then 19:00:00 EST: 19:02 happens twice,
     * 238 s apart. Midnight after it is EST. */
    assert_int_equal(tz_utc_of_local(tz, -62092, 19 * 60 + 2), t1800 - 118);
    assert_int_equal(tz_utc_of_local(tz, -62091, 0), t1800 + 18000);
    expect_local(tz, -3771187200LL, -43649, 20, 0, 0); /* 1850-06-30 20:00 EDT, a Sunday */
    tz_destroy(&tz);

    /* A DST name without a rule gets tzcode's default, the US rule since 2007. (glibc instead
     * reads the rule from $TZDIR/posixrules, New York's whole history.) */
    struct tz *us = NULL;
    write_file("footer", buf, tzif_make(buf, '2', NULL, NULL, 0, &zero, 1, "EST5EDT"));
    assert_int_equal(load_tmp("footer", &tz), FW_OK);
    write_file("rule", buf, tzif_make(buf, '2', NULL, NULL, 0, &zero, 1, "EST5EDT,M3.2.0,M11.1.0"));
    assert_int_equal(load_tmp("rule", &us), FW_OK);
    for (int64_t t = T1850; t < T2500; t += 3 * 3600 + 7)
        if (tz_offset(tz, t) != tz_offset(us, t))
            fail_msg("EST5EDT at %lld: %d", (long long)t, tz_offset(tz, t));
    assert_int_equal(tz_offset(tz, NY_SPRING), -4 * 3600);
    assert_int_equal(tz_offset(tz, NY_SPRING - 1), -5 * 3600);
    tz_destroy(&tz);
    tz_destroy(&us);
}

/*
 * Footer rules on their own: a TZif file with no transitions and the rule as footer, against
 * glibc given the same string as TZ (glibc's own POSIX TZ parser). From 1970 only: glibc
 * computes a TZ string's transitions for every year before 1970 as if it were 1970
 * (compute_change in tzset.c), where RFC 8536 (and tz.c) apply the rule to every year.
 */
static void test_footer_rules_vs_glibc(void **state)
{
    (void)state;
    const char *rules[] = {
        "EST5EDT,M3.2.0,M11.1.0",
        "<+0545>-5:45",
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
        "IST-2IDT,M3.4.4/26,M10.5.0",
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        "IST-1GMT0,M10.5.0,M3.5.0/1",
        "EET-2EEST,M3.4.4/50,M10.4.4/50",
        "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
        "<+00>0<+02>-2,M3.5.0/1,M10.5.0/3",
        "NST3:30NDT,M3.2.0,M11.1.0",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "EST5EDT,J60/2,J300/2",
        "EST5EDT,59/2,299/2",
        "EST5EDT,J1/12,J365/12", /* (glibc misjudges J1/0,J365/23: it uses the UTC year) */
        "AAA3BBB,M3.5.0/-167,M10.5.0/167",
        "AAA-12BBB-13:30:15,M10.5.0/0:00:01,M3.5.0/23:59:59",
        "UTC0",
        "<-03>3",
        "<+14>-14",
    };
    uint8_t buf[1024];
    struct ttype std = {0, 0};
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        write_file("rule", buf, tzif_make(buf, '2', NULL, NULL, 0, &std, 1, rules[i]));
        struct tz *tz = NULL;
        fw_err e = load_tmp("rule", &tz);
        if (e != FW_OK)
            fail_msg("\"%s\": %d", rules[i], e);
        glibc_zone(rules[i]);
        struct cmp c = {.zone = rules[i]};
        sweep(&c, tz, 0, T2046, RUNNING_ON_VALGRIND ? 2 * DAY + 61 : 3 * 3600 + 61);
        sweep(&c, tz, T2046, T_FAR, 5 * DAY + 3607);
        tz_destroy(&tz);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Throughput (a figure, not an assertion)
 * ------------------------------------------------------------------------------------------- */

static void test_throughput(void **state)
{
    (void)state;
    struct tz *tz = NULL;
    assert_int_equal(tz_load(&tz, "America/New_York"), FW_OK);
    const long n = RUNNING_ON_VALGRIND ? 200 * 1000 : 20 * 1000 * 1000;
    int64_t t0 = 1767225600000LL; /* 2026-01-01 */
    uint64_t x = 88172645463325252ull, sink = 0;
    uint64_t start = fw_mono_ns();
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        struct tz_local l;
        tz_local(tz, t0 + (int64_t)(x % (400 * 86400000ull)), &l); /* anywhere in ~13 months */
        sink += (uint64_t)l.day + (uint64_t)l.hour;
    }
    double secs = (double)(fw_mono_ns() - start) / 1e9;
    print_message("tz_local: %.1f M calls/s (random instants over 13 months, sink %llu)\n",
                  (double)n / secs / 1e6, (unsigned long long)(sink & 1));
    start = fw_mono_ns();
    for (long i = 0; i < n; i++) {
        struct tz_local l;
        tz_local(tz, t0 + i * 7, &l); /* a live stream: nearby instants */
        sink += (uint64_t)l.minute;
    }
    secs = (double)(fw_mono_ns() - start) / 1e9;
    print_message("tz_local: %.1f M calls/s (consecutive instants, sink %llu)\n",
                  (double)n / secs / 1e6, (unsigned long long)(sink & 1));
    tz_destroy(&tz);
}

/* ---------------------------------------------------------------------------------------------
 * Fixture
 * ------------------------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_tz.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *files[] = {"garbage",   "empty",    "prefix", "whole",  "flipped",
                           "badfooter", "unsorted", "badidx", "badoff", "badver",
                           "crafted",   "footer",   "rule"};
    char path[256];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_york_dst_days),
        cmocka_unit_test(test_lord_howe_half_hour),
        cmocka_unit_test(test_apia_lost_day),
        cmocka_unit_test(test_fixed_zones),
        cmocka_unit_test(test_calendar_cases),
        cmocka_unit_test(test_calendar_vs_glibc),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_crafted_tables),
        cmocka_unit_test(test_utc_of_local_round_trip),
        cmocka_unit_test(test_glibc_new_york),
        cmocka_unit_test(test_glibc_shanghai),
        cmocka_unit_test(test_glibc_london),
        cmocka_unit_test(test_glibc_lord_howe),
        cmocka_unit_test(test_glibc_kathmandu),
        cmocka_unit_test(test_glibc_sao_paulo),
        cmocka_unit_test(test_glibc_apia),
        cmocka_unit_test(test_glibc_casablanca),
        cmocka_unit_test(test_glibc_utc),
        cmocka_unit_test(test_glibc_odd_rules),
        cmocka_unit_test(test_footer_rules_vs_glibc),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
