/*
 * Unit test for daemon/rule_catalogue.c against docs/ALERTS.md: the table under "The rules as
 * implemented" must list every rule of the catalogue once, no other, and for each the same
 * trigger, severity, threshold keys and resolution. Also the message helpers' formats.
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
#include "rule_catalogue.h"

#ifndef DOCS_ALERTS
#error "DOCS_ALERTS: the path of docs/ALERTS.md"
#endif

#define NCOL                                                                                       \
    7 /* rule | trigger | subject | fires when | value / threshold | severity | resolves           \
       */

struct row {
    char cell[NCOL][1024];
};

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\n'))
        s[--l] = 0;
    return s;
}

/* The rows of the rules table; returns their number. */
static int read_table(struct row *rows, int max)
{
    FILE *f = fopen(DOCS_ALERTS, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "## The rules as implemented", 27)) {
            in = true;
            continue;
        }
        if (in && !strncmp(line, "## ", 3))
            break;
        if (!in || strncmp(line, "| ", 2) || !strncmp(line, "| rule |", 8))
            continue;
        assert_true(n < max);
        char *p = line + 1;
        int c = 0;
        for (char *bar; c < NCOL && (bar = strchr(p, '|')); c++, p = bar + 1) {
            *bar = 0;
            snprintf(rows[n].cell[c], sizeof rows[n].cell[c], "%s", trim(p));
        }
        assert_int_equal(c, NCOL);
        n++;
    }
    fclose(f);
    return n;
}

static void test_docs_table_matches_catalogue(void **state)
{
    (void)state;
    static struct row rows[64];
    int n = read_table(rows, 64);
    assert_int_equal(n, RULE_N);
    bool seen[RULE_N] = {0};
    for (int i = 0; i < n; i++) {
        enum rule_id id = rule_by_name(rows[i].cell[0]);
        if (id == RULE_N)
            fail_msg("docs/ALERTS.md lists rule \"%s\", not in the catalogue", rows[i].cell[0]);
        assert_false(seen[id]);
        seen[id] = true;
        const struct rule_def *d = &rule_catalogue[id];
        assert_string_equal(rows[i].cell[1], rule_trigger_name(d->trigger));
        const char *sev = rule_severity_name(d->severity);
        if (strncmp(rows[i].cell[5], sev, strlen(sev)))
            fail_msg("%s: severity \"%s\" in the docs, %s in the catalogue", d->name,
                     rows[i].cell[5], sev);
        assert_string_equal(rows[i].cell[6], d->resolves);
        /* Each threshold key appears as `key` in "fires when", and no other key does. */
        char keys[256];
        snprintf(keys, sizeof keys, "%s", d->keys);
        int nkeys = 0;
        for (char *save, *k = strtok_r(keys, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
            char q[128];
            snprintf(q, sizeof q, "`%s`", k);
            if (!strstr(rows[i].cell[3], q))
                fail_msg("%s: key %s not in the docs' \"fires when\"", d->name, k);
            nkeys++;
        }
        int ticks = 0;
        for (const char *p = rows[i].cell[3]; (p = strchr(p, '`')); p++)
            ticks++;
        assert_int_equal(ticks, 2 * nkeys);
        /* Rules resolved by ack or by the end of the day say so. */
        assert_int_equal(strncmp(d->resolves, "ack", 3) == 0, d->by_ack);
        if (d->per_day && !strstr(d->resolves, "day ends"))
            fail_msg("%s: judged per day, but resolves \"%s\"", d->name, d->resolves);
    }
}

/* A config from text, through a temporary file as floorwalkerd reads one. */
static void load_config(struct config *cfg, const char *text)
{
    char path[] = "/tmp/fw-catalogue-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[512] = "";
    config_defaults(cfg);
    fw_err rc = config_load(cfg, path, err, sizeof err);
    unlink(path);
    if (rc != FW_OK)
        fail_msg("config: %s", err);
}

static void test_message_figures(void **state)
{
    (void)state;
    char b[48];
    struct config cfg;
    load_config(&cfg, "[chain]\ncurrency = CNY\n"
                      "[store:BE1]\ncurrency = EUR\n"
                      "[store:TK1]\ncurrency = JPY\n"
                      "[store:XX1]\ncurrency = ZZZ\ncurrency_digits = 3\n");
    /* Money in the store's own currency, grouped, as the CLI shows it. */
    assert_string_equal(msg_money(b, sizeof b, 3444, &cfg, "S1"), "34.44 CNY");
    assert_string_equal(msg_money(b, sizeof b, 500001, &cfg, "S1"), "5,000.01 CNY");
    assert_string_equal(msg_money(b, sizeof b, -5, &cfg, "BE1"), "-0.05 EUR");
    assert_string_equal(msg_money(b, sizeof b, 123456, &cfg, "TK1"), "123,456 JPY");
    assert_string_equal(msg_money(b, sizeof b, 12345, &cfg, "XX1"), "12.345 ZZZ");
    config_free(&cfg);
    /* The zero-config demo's chain currency is the embedded default, USD. */
    load_config(&cfg, "");
    assert_string_equal(msg_money(b, sizeof b, 3444, &cfg, "S1"), "34.44 USD");
    config_free(&cfg);
    assert_string_equal(msg_qty(b, sizeof b, 1500), "1.5");
    assert_string_equal(msg_qty(b, sizeof b, -2), "-0.002");
    assert_string_equal(msg_qty(b, sizeof b, 13244125), "13,244.125");
    assert_string_equal(msg_rate(b, sizeof b, 1234), "12.34%");
    assert_string_equal(msg_duration(b, sizeof b, 301), "5m01s");
    assert_string_equal(msg_duration(b, sizeof b, 48 * 3600 + 5), "48h00m05s");
    assert_string_equal(msg_duration(b, sizeof b, -42), "-42s");
    assert_int_equal(msg_seconds_up(300001), 301);
    assert_int_equal(msg_seconds_up(300000), 300);
    assert_int_equal(msg_seconds_up(-120001), -121);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_table_matches_catalogue),
        cmocka_unit_test(test_message_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
