/*
 * Unit tests for daemon/config.c: embedded defaults and the INI loader.
 *
 * Each test writes its config to a fresh mkstemp file, loads it over the defaults, checks the
 * result or the one-line error, and calls config_free on every path (run under valgrind too).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

struct loaded {
    char path[256];
    struct config cfg;
    char err[1024];
    fw_err rc;
};

/* Writes text to a new temporary file; path receives its name. */
static void write_temp(char *path, size_t pathlen, const char *text)
{
    const char *dir = getenv("TMPDIR");
    size_t len = strlen(text);

    snprintf(path, pathlen, "%s/fw-test-config-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        fail_msg("mkstemp %s failed", path);
    ssize_t w = write(fd, text, len);
    close(fd);
    assert_int_equal(w, (ssize_t)len);
}

/* Loads text over the defaults; the caller checks and then calls done(). */
static void load(struct loaded *l, const char *text)
{
    write_temp(l->path, sizeof l->path, text);
    config_defaults(&l->cfg);
    memset(l->err, 0, sizeof l->err);
    l->rc = config_load(&l->cfg, l->path, l->err, sizeof l->err);
}

static void done(struct loaded *l)
{
    config_free(&l->cfg);
    unlink(l->path);
}

/* The 1-based line of text on which needle first appears. */
static int line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    int line = 1;

    if (!at)
        fail_msg("\"%s\" is not in the test config", needle);
    for (const char *p = text; p < at; p++)
        if (*p == '\n')
            line++;
    return line;
}

/* text fails to load with FW_ECONFIG; the error is one line, names the file, and contains
 * each of the NULL-terminated needles. If line > 0 it also contains ":line:" right after the
 * file name. */
static void expect_error_at(int srcline, const char *text, int line, ...)
{
    struct loaded l;
    va_list ap;
    const char *needle;
    char where[300];

    load(&l, text);
    if (l.rc != FW_ECONFIG) {
        done(&l);
        fail_msg("line %d: config_load returned %d, not FW_ECONFIG (%d)", srcline, (int)l.rc,
                 (int)FW_ECONFIG);
    }
    if (!l.err[0] || strchr(l.err, '\n')) {
        done(&l);
        fail_msg("line %d: error \"%s\" is not one line", srcline, l.err);
    }
    if (!strstr(l.err, l.path)) {
        done(&l);
        fail_msg("line %d: error \"%s\" does not name the file", srcline, l.err);
    }
    if (line > 0) {
        snprintf(where, sizeof where, "%s:%d:", l.path, line);
        if (strncmp(l.err, where, strlen(where))) {
            done(&l);
            fail_msg("line %d: error \"%s\" does not start with \"%s\"", srcline, l.err, where);
        }
    }
    va_start(ap, line);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (!strstr(l.err, needle)) {
            va_end(ap);
            done(&l);
            fail_msg("line %d: error \"%s\" lacks \"%s\"", srcline, l.err, needle);
        }
    }
    va_end(ap);
    done(&l);
}

#define EXPECT_ERROR(text, line, ...) expect_error_at(__LINE__, text, line, __VA_ARGS__, NULL)

/* ---------------------------------------------------------------------------------------------
 * Defaults
 * ------------------------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct config cfg;
    (void)state;

    memset(&cfg, 0xA5, sizeof cfg);
    config_defaults(&cfg);
    assert_string_equal(cfg.ingest_endpoint, "tcp://127.0.0.1:7401");
    assert_string_equal(cfg.alerts_endpoint, "tcp://127.0.0.1:7402");
    assert_string_equal(cfg.query_endpoint, "tcp://127.0.0.1:7403");
    assert_string_equal(cfg.data_dir, "./floorwalker-data");
    assert_int_equal(cfg.log_level, LOG_LVL_INFO);
    assert_false(cfg.log_syslog);
    assert_int_equal(cfg.max_future_ms, 10 * 60 * 1000);
    assert_int_equal(cfg.max_lines, 1000);
    assert_true(cfg.max_qty_milli > 0);
    assert_true(cfg.max_amount_cents > 0);
    assert_true(cfg.retention_days > 0);
    assert_true(cfg.max_msg_bytes >= 1024);
    assert_true(cfg.max_events_per_batch >= 1);
    assert_true(cfg.map_size_mb >= 1);
    assert_true(cfg.map_grow_mb >= 1);
    /* The zero-config demo: no stores, no terminals. */
    assert_null(cfg.stores);
    assert_int_equal(cfg.nstores, 0);
    assert_null(cfg.terminals);
    assert_int_equal(cfg.nterminals, 0);
    assert_null(config_find_store(&cfg, "S1"));
    assert_null(config_find_terminal(&cfg, "T1"));
    config_free(&cfg);
}

/* ---------------------------------------------------------------------------------------------
 * A good file
 * ------------------------------------------------------------------------------------------- */

static const char good_conf[] = "; Floorwalker test config\n"
                                "# both comment styles\n"
                                "\n"
                                "[daemon]\n"
                                "data_dir = /var/lib/fw-test\n"
                                "log_level = debug\n"
                                "log_syslog = yes\n"
                                "\n"
                                "[ingest]\n"
                                "endpoint = ipc:///tmp/fw-ingest.sock\n"
                                "max_msg_bytes = 65536\n"
                                "max_events_per_batch = 500\n"
                                "commit_max_events = 1000\n"
                                "commit_max_msgs = 64\n"
                                "max_future_ms = 30000\n"
                                "retention_days = 30\n"
                                "\n"
                                "[limits]\n"
                                "max_qty_milli = 5000000\n"
                                "max_amount_cents = 12345678\n"
                                "max_lines = 50\n"
                                "\n"
                                "[storage]\n"
                                "map_size_mb = 64\n"
                                "map_grow_mb = 32\n"
                                "\n"
                                "[store:S1]\n"
                                "name = Main Street\n"
                                "region = north\n"
                                "timezone = Europe/Berlin\n"
                                "hours = 09:00-20:30\n"
                                "\n"
                                "[store:S2]\n"
                                "region = south\n"
                                "\n"
                                "[terminal:T1]\n"
                                "store = S1\n"
                                "\n"
                                "[terminal:T2]\n"
                                "store = S2\n";

static void test_load_good(void **state)
{
    struct loaded l;
    (void)state;

    load(&l, good_conf);
    if (l.rc != FW_OK) {
        done(&l);
        fail_msg("good config failed: %d \"%s\"", (int)l.rc, l.err);
    }
    assert_string_equal(l.cfg.data_dir, "/var/lib/fw-test");
    assert_int_equal(l.cfg.log_level, LOG_LVL_DEBUG);
    assert_true(l.cfg.log_syslog);
    assert_string_equal(l.cfg.ingest_endpoint, "ipc:///tmp/fw-ingest.sock");
    assert_int_equal(l.cfg.max_msg_bytes, 65536);
    assert_int_equal(l.cfg.max_events_per_batch, 500);
    assert_int_equal(l.cfg.commit_max_events, 1000);
    assert_int_equal(l.cfg.commit_max_msgs, 64);
    assert_int_equal(l.cfg.max_future_ms, 30000);
    assert_int_equal(l.cfg.retention_days, 30);
    assert_int_equal(l.cfg.max_qty_milli, 5000000);
    assert_int_equal(l.cfg.max_amount_cents, 12345678);
    assert_int_equal(l.cfg.max_lines, 50);
    assert_int_equal(l.cfg.map_size_mb, 64);
    assert_int_equal(l.cfg.map_grow_mb, 32);
    /* Sections not in the file keep their defaults. */
    assert_string_equal(l.cfg.alerts_endpoint, "tcp://127.0.0.1:7402");
    assert_string_equal(l.cfg.query_endpoint, "tcp://127.0.0.1:7403");

    assert_int_equal(l.cfg.nstores, 2);
    const struct config_store *s1 = config_find_store(&l.cfg, "S1");
    assert_non_null(s1);
    assert_string_equal(s1->id, "S1");
    assert_string_equal(s1->name, "Main Street");
    assert_string_equal(s1->region, "north");
    assert_string_equal(s1->timezone, "Europe/Berlin");
    assert_string_equal(s1->hours, "09:00-20:30");
    /* A store that sets only its region gets the documented defaults for the rest. */
    const struct config_store *s2 = config_find_store(&l.cfg, "S2");
    assert_non_null(s2);
    assert_string_equal(s2->region, "south");
    assert_string_equal(s2->timezone, "UTC");
    assert_string_equal(s2->hours, "08:00-22:00");
    assert_null(config_find_store(&l.cfg, "S3"));

    assert_int_equal(l.cfg.nterminals, 2);
    const struct config_terminal *t1 = config_find_terminal(&l.cfg, "T1");
    assert_non_null(t1);
    assert_string_equal(t1->store, "S1");
    const struct config_terminal *t2 = config_find_terminal(&l.cfg, "T2");
    assert_non_null(t2);
    assert_string_equal(t2->store, "S2");
    assert_null(config_find_terminal(&l.cfg, "T3"));
    done(&l);
}

/* Other accepted spellings: booleans, log levels, range bounds, an empty file. */
static void test_load_edges(void **state)
{
    struct loaded l;
    (void)state;

    load(&l, "");
    assert_int_equal(l.rc, FW_OK);
    assert_string_equal(l.cfg.ingest_endpoint, "tcp://127.0.0.1:7401");
    assert_int_equal(l.cfg.nstores, 0);
    done(&l);

    load(&l, "[daemon]\nlog_syslog = false\nlog_level = error\n"
             "[limits]\nmax_lines = 1\n"
             "[ingest]\nretention_days = 36500\nmax_future_ms = 0\n");
    assert_int_equal(l.rc, FW_OK);
    assert_false(l.cfg.log_syslog);
    assert_int_equal(l.cfg.log_level, LOG_LVL_ERR);
    assert_int_equal(l.cfg.max_lines, 1);
    assert_int_equal(l.cfg.retention_days, 36500);
    assert_int_equal(l.cfg.max_future_ms, 0);
    done(&l);

    /* A terminal may name any store while no store is listed (the zero-config demo). */
    load(&l, "[terminal:T1]\nstore = ANY\n");
    assert_int_equal(l.rc, FW_OK);
    assert_int_equal(l.cfg.nterminals, 1);
    assert_string_equal(l.cfg.terminals[0].store, "ANY");
    done(&l);

    /* The same store in two sections is one store. */
    load(&l, "[store:S1]\nregion = a\n[store:S1]\ntimezone = Asia/Tokyo\n");
    assert_int_equal(l.rc, FW_OK);
    assert_int_equal(l.cfg.nstores, 1);
    assert_string_equal(l.cfg.stores[0].region, "a");
    assert_string_equal(l.cfg.stores[0].timezone, "Asia/Tokyo");
    done(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

static void test_unknown_key_near_miss(void **state)
{
    const char *text = "; comment\n"
                       "\n"
                       "[ingest]\n"
                       "max_lines_x = 3\n";
    const char *text2 = "[daemon]\n"
                        "log_level = info\n"
                        "[ingest]\n"
                        "max_msg_bytes = 65536\n"
                        "endpont = tcp://127.0.0.1:9000\n"
                        "retention_days = 30\n";
    (void)state;

    EXPECT_ERROR(text2, line_of(text2, "endpont"), "endpont", "did you mean", "\"endpoint\"");
    /* Far from every key: no suggestion, but the key is named. */
    {
        struct loaded l;
        load(&l, text);
        assert_int_equal(l.rc, FW_ECONFIG);
        char where[300];
        snprintf(where, sizeof where, "%s:%d:", l.path, line_of(text, "max_lines_x"));
        assert_non_null(strstr(l.err, where));
        assert_non_null(strstr(l.err, "max_lines_x"));
        assert_null(strstr(l.err, "did you mean"));
        done(&l);
    }
    /* In a store section, too. */
    const char *text3 = "[store:S1]\nregion = north\ntimezon = UTC\n";
    EXPECT_ERROR(text3, line_of(text3, "timezon"), "timezon", "did you mean", "\"timezone\"");
    /* The last line without a newline still gets its number. */
    const char *text4 = "[limits]\nmax_line = 3";
    EXPECT_ERROR(text4, 2, "max_line", "did you mean", "\"max_lines\"");
}

static void test_unknown_section(void **state)
{
    const char *text = "[daemon]\nlog_level = info\n\n[ingset]\nendpoint = tcp://127.0.0.1:1\n";
    const char *text2 = "[bogus]\nfoo = 1\n";
    const char *text3 = "[shop:S1]\nregion = north\n";
    (void)state;

    EXPECT_ERROR(text, line_of(text, "endpoint"), "[ingset]", "did you mean", "[ingest]");
    EXPECT_ERROR(text2, 2, "unknown section", "[bogus]");
    EXPECT_ERROR(text3, 2, "[shop:S1]");
}

static void test_number_out_of_range(void **state)
{
    const char *t1 = "[limits]\nmax_lines = 0\n";
    const char *t2 = "[limits]\nmax_lines = 100001\n";
    const char *t3 = "[ingest]\nretention_days = 36501\n";
    const char *t4 = "[ingest]\nmax_msg_bytes = 1023\n";
    const char *t5 = "[storage]\nmap_size_mb = -5\n";
    (void)state;

    EXPECT_ERROR(t1, 2, "max_lines", "\"0\"", "1 to 100000");
    EXPECT_ERROR(t2, 2, "max_lines", "100001", "1 to 100000");
    EXPECT_ERROR(t3, 2, "retention_days", "36501", "1 to 36500");
    EXPECT_ERROR(t4, 2, "max_msg_bytes", "1023", "1024 to 268435456");
    EXPECT_ERROR(t5, 2, "map_size_mb", "-5", "1 to 16777216");
    /* Beyond int64 is out of range too, not wrapped. */
    const char *t6 = "[limits]\nmax_amount_cents = 99999999999999999999\n";
    EXPECT_ERROR(t6, 2, "max_amount_cents");
}

static void test_not_a_number(void **state)
{
    const char *t1 = "[limits]\nmax_lines = ten\n";
    const char *t2 = "[limits]\nmax_lines = 12abc\n";
    const char *t3 = "[limits]\nmax_lines =\n";
    const char *t4 = "[limits]\nmax_lines = 1.5\n";
    const char *t5 = "[daemon]\nlog_syslog = maybe\n";
    const char *t6 = "[daemon]\nlog_level = loud\n";
    (void)state;

    EXPECT_ERROR(t1, 2, "max_lines", "ten", "whole number");
    EXPECT_ERROR(t2, 2, "max_lines", "12abc", "whole number");
    EXPECT_ERROR(t3, 2, "max_lines", "whole number");
    EXPECT_ERROR(t4, 2, "max_lines", "1.5", "whole number");
    EXPECT_ERROR(t5, 2, "log_syslog", "maybe", "true or false");
    EXPECT_ERROR(t6, 2, "log_level", "loud", "debug");
}

static void test_bad_hours(void **state)
{
    static const char *const bad[] = {
        "9-17",        "08:00",        "08:00-22",    "25:00-26:00",    "08:00-22:60",
        "08:60-22:00", "08:00-22:00x", "-1:00-22:00", "08:00 to 22:00", "",
        "25:00-22:00", "08:00-25:00",
    };
    char text[256];
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[store:S1]\nregion = north\nhours = %s\n", bad[i]);
        EXPECT_ERROR(text, 3, "hours", "HH:MM-HH:MM");
    }
}

/* [chain] currency and per-store overrides, resolved with the ISO 4217 table. */
static void test_currency(void **state)
{
    struct loaded l;
    const char *code;
    int digits;
    (void)state;

    load(&l, "[store:S1]\nname = Nanjing Road\n");
    assert_int_equal(l.rc, FW_OK);
    config_store_currency(&l.cfg, "S1", &code, &digits);
    assert_string_equal(code, "USD");
    assert_int_equal(digits, 2);
    assert_string_equal(config_store_name(&l.cfg, "S1"), "Nanjing Road");
    assert_string_equal(config_store_name(&l.cfg, "nope"), "");
    done(&l);

    load(&l, "[chain]\ncurrency = EUR\n[store:S1]\ncurrency = JPY\n[store:S2]\n"
             "[store:S3]\ncurrency = XAU\ncurrency_digits = 3\n");
    assert_int_equal(l.rc, FW_OK);
    config_store_currency(&l.cfg, "S1", &code, &digits);
    assert_string_equal(code, "JPY");
    assert_int_equal(digits, 0);
    config_store_currency(&l.cfg, "S2", &code, &digits);
    assert_string_equal(code, "EUR");
    assert_int_equal(digits, 2);
    config_store_currency(&l.cfg, "S3", &code, &digits);
    assert_string_equal(code, "XAU");
    assert_int_equal(digits, 3);
    config_store_currency(&l.cfg, NULL, &code, &digits);
    assert_string_equal(code, "EUR");
    done(&l);

    /* Digits given before the code stay. */
    load(&l, "[chain]\ncurrency_digits = 3\ncurrency = CNY\n");
    assert_int_equal(l.rc, FW_OK);
    config_store_currency(&l.cfg, "x", &code, &digits);
    assert_string_equal(code, "CNY");
    assert_int_equal(digits, 3);
    done(&l);

    EXPECT_ERROR("[chain]\ncurrency = usd\n", 2, "[chain] currency = \"usd\"", "ISO 4217");
    EXPECT_ERROR("[store:S1]\ncurrency = EURO\n", 2, "[store:S1] currency", "ISO 4217");
    EXPECT_ERROR("[chain]\ncurrency_digits = 5\n", 2, "currency_digits", "0 to 4");
    EXPECT_ERROR("[store:S1]\nregion = a\ncurrency = XAU\n", 3, "[store:S1] currency = XAU",
                 "add currency_digits");
    EXPECT_ERROR("[chain]\ncurrenc = EUR\n", 2, "did you mean \"currency\"");
}

/* An opening time past 24:00 is not a time of day. */
static void test_hours_past_midnight(void **state)
{
    const char *text = "[store:S1]\nhours = 08:00-24:30\n";
    struct loaded l;
    (void)state;

    load(&l, text);
    int rc = l.rc;
    done(&l);
    /* Was a bug: config.c store_key() checks hours and minutes separately (h <= 24, m <= 59), so
     * "24:30" (and "24:59") is accepted as a closing time; only "24:00" is a valid end. */
    assert_int_equal(rc, FW_ECONFIG);
}

static void test_terminal_store_not_listed(void **state)
{
    const char *text = "[store:S1]\nregion = north\n\n[terminal:T1]\nstore = S9\n";
    (void)state;

    EXPECT_ERROR(text, 0, "T1", "S9", "no [store:S9]");
}

static void test_terminal_without_store(void **state)
{
    const char *empty_value = "[store:S1]\nregion = north\n[terminal:T1]\nstore =\n";
    const char *bad_value = "[store:S1]\nregion = north\n[terminal:T1]\nstore = S 1\n";
    const char *no_key = "[store:S1]\nregion = north\n\n[terminal:T1]\n";
    struct loaded l;
    (void)state;

    EXPECT_ERROR(empty_value, 4, "store");
    EXPECT_ERROR(bad_value, 4, "store", "S 1");

    /* A [terminal:ID] section with no store key at all. */
    load(&l, no_key);
    int rc = l.rc;
    char err[sizeof l.err];
    memcpy(err, l.err, sizeof err);
    done(&l);
    /* Was a bug: config.c relies on inih calling the handler for a section header, but Debian's
     * inih is built with INI_CALL_HANDLER_ON_NEW_SECTION 0: a section with no keys never
     * reaches handler(), so an empty [terminal:T1] is silently dropped (config_load returns
     * FW_OK with nterminals 0) and the "has no store" check in validate() is unreachable. An
     * empty [store:ID] is dropped the same way (with no other store listed, the daemon then
     * accepts every store). */
    assert_int_equal(rc, FW_ECONFIG);
    assert_non_null(strstr(err, "T1"));
    assert_non_null(strstr(err, "store"));
}

static void test_bad_ids(void **state)
{
    const char *t1 = "[store:S 1]\nregion = north\n";
    const char *t2 = "[store:S1]\nregion = north east\n";
    const char *t3 = "[store:]\nregion = north\n";
    (void)state;

    EXPECT_ERROR(t1, 2, "S 1", "not an id");
    EXPECT_ERROR(t2, 2, "region", "north east");
    EXPECT_ERROR(t3, 2, "not an id");
}

static void test_syntax_error(void **state)
{
    const char *text = "[daemon]\nlog_level = info\nthis line has no equals sign\n";
    (void)state;

    EXPECT_ERROR(text, 3, "key = value");
}

/* A long endpoint (under both CONFIG_EP_MAX and inih's line limit) is stored whole. */
static void test_long_endpoint(void **state)
{
    char text[512];
    char host[171]; /* "endpoint = ipc://" + 170: a 187-character line */
    char want[256];
    struct loaded l;
    (void)state;

    memset(host, 'e', sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(want, sizeof want, "ipc://%s", host);
    snprintf(text, sizeof text, "[ingest]\nendpoint = %s\n", want);
    load(&l, text);
    int rc = l.rc;
    int same = !strcmp(l.cfg.ingest_endpoint, want);
    done(&l);
    assert_int_equal(rc, FW_OK);
    assert_true(same);
}

/* data_dir may be up to CONFIG_PATH_MAX - 1 characters; a 300-character path must load. */
static void test_long_data_dir(void **state)
{
    char dir[301];
    char text[512];
    struct loaded l;
    (void)state;

    dir[0] = '/';
    memset(dir + 1, 'd', sizeof dir - 2);
    dir[sizeof dir - 1] = 0;
    snprintf(text, sizeof text, "[daemon]\ndata_dir = %s\n", dir);
    load(&l, text);
    int rc = l.rc;
    char err[sizeof l.err];
    memcpy(err, l.err, sizeof err);
    int same = !strcmp(l.cfg.data_dir, dir);
    done(&l);
    /* Debian's inih reads lines into a fixed 200-byte buffer and would split a longer one
     * silently (a truncated data_dir, then a confusing error on a line that does not exist).
     * config_load refuses it instead, naming the line and the limit. */
    assert_int_equal(rc, FW_ECONFIG);
    assert_false(same);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "longer than"));
}

static void test_missing_file(void **state)
{
    struct config cfg;
    char err[512] = "";
    const char *path = "/nonexistent-fw-dir/floorwalker.conf";
    (void)state;

    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, path, err, sizeof err), FW_ECONFIG);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "cannot open"));
    /* The defaults are untouched. */
    assert_string_equal(cfg.ingest_endpoint, "tcp://127.0.0.1:7401");
    config_free(&cfg);
}

/* A failed load leaves allocated stores/terminals for config_free (valgrind checks it). */
static void test_error_after_sections_frees(void **state)
{
    const char *text = "[store:S1]\nregion = north\n[store:S2]\nregion = south\n"
                       "[terminal:T1]\nstore = S1\n[terminal:T2]\nstore = S2\n"
                       "[limits]\nmax_lines = zero\n";
    (void)state;

    EXPECT_ERROR(text, line_of(text, "max_lines"), "max_lines", "zero");
}

/* A misspelt zone is refused at its line, with the closest real names (issue 12): it used to
 * pass and run the store on UTC. */
static void test_unknown_zone(void **state)
{
    (void)state;
    const char *text = "[store:S001]\nregion = east\ntimezone = Europe/Londn\n";
    EXPECT_ERROR(text, line_of(text, "timezone"), "[store:S001]", "timezone", "Europe/Londn",
                 "no such zone", "did you mean", "Europe/London");
    const char *text2 = "[store:S001]\ntimezone = Nowhere/Atlantis_Deep_Sea\n";
    EXPECT_ERROR(text2, 2, "timezone", "no such zone", "IANA name");
}

/* An ipc endpoint whose directory is missing, and a tcp port out of range, are refused with
 * the file, line and key; good ones load. */
static void test_bad_endpoints(void **state)
{
    (void)state;
    const char *text = "[daemon]\nlog_level = info\n[query]\n"
                       "endpoint = ipc:///nonexistent-fw-dir/q.sock\n";
    EXPECT_ERROR(text, 4, "[query] endpoint", "/nonexistent-fw-dir", "does not exist", "create it");
    const char *text2 = "[ingest]\nendpoint = tcp://127.0.0.1:99999\n";
    EXPECT_ERROR(text2, 2, "[ingest] endpoint", "99999", "1 to 65535");
    const char *text3 = "[alerts]\nendpoint = tcp://127.0.0.1:\n";
    EXPECT_ERROR(text3, 2, "[alerts] endpoint", "1 to 65535");
    const char *text4 = "[metrics]\nlisten = 127.0.0.1:70000\n";
    EXPECT_ERROR(text4, 2, "[metrics] listen", "70000", "1 to 65535");

    struct loaded l;
    load(&l, "[ingest]\nendpoint = tcp://127.0.0.1:*\n[alerts]\nendpoint = ipc:///tmp/fw-a\n"
             "[query]\nendpoint = tcp://0.0.0.0:65535\n[metrics]\nlisten = 127.0.0.1:9100\n");
    int rc = l.rc;
    done(&l);
    assert_int_equal(rc, FW_OK);
}

/* A section header without its ']' is named as such, at its line: it used to be reported as
 * "unknown section []" at the next key. */
static void test_unclosed_section(void **state)
{
    (void)state;
    const char *text = "[daemon]\nlog_level = info\n[store:S001\nregion = east\n";
    EXPECT_ERROR(text, 3, "[store:S001", "no closing ']'", "[store:S001]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_load_edges),
        cmocka_unit_test(test_unknown_key_near_miss),
        cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_number_out_of_range),
        cmocka_unit_test(test_not_a_number),
        cmocka_unit_test(test_bad_hours),
        cmocka_unit_test(test_hours_past_midnight),
        cmocka_unit_test(test_terminal_store_not_listed),
        cmocka_unit_test(test_terminal_without_store),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_long_endpoint),
        cmocka_unit_test(test_long_data_dir),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_error_after_sections_frees),
        cmocka_unit_test(test_currency),
        cmocka_unit_test(test_unknown_zone),
        cmocka_unit_test(test_bad_endpoints),
        cmocka_unit_test(test_unclosed_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
