/*
 * Figures as people read them: money in a currency with its own decimals and thousands
 * grouping, quantities in units, ratios as percentages, durations in h/min, and instants as a
 * store's local time with its UTC offset. The one home for these words: the CLI's human tables,
 * `floorwalker alerts` and the daemon's alert messages all call these functions, so a figure
 * reads the same everywhere.
 *
 * Every fw_fmt_* writes at most n bytes including the NUL (n may be 0, buf then untouched) and
 * returns the length the whole text has, like snprintf: a return >= n means it was cut.
 * Grouping is with "," and the decimal mark is "." whatever the locale (output is stable for
 * scripts and tests; the locale-free form matches the examples).
 */
#ifndef FW_UNITS_H
#define FW_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz;

/* Longest text any fw_fmt_* writes (money of INT64_MIN with a code, a local time): a buffer
 * of this size never cuts. */
#define FW_FMT_MAX 48

/* milli x cents / 1000 rounded to the cent, half away from zero: a sale line's value
 * (qty_milli x unit_price_cents) or a stock move's (qty_milli x unit_cost_cents). The one
 * home for it: validation checks a sale's total with it and the rollups add it up, so the two
 * must agree to the cent. 64-bit when the product fits (it does within the default limits),
 * 128-bit otherwise; validated events' values fit in int64. */
static inline __int128 fw_milli_value(int64_t milli, int64_t cents)
{
    int64_t p;
    if (!__builtin_mul_overflow(milli, cents, &p) && p > INT64_MIN + 500 && p < INT64_MAX - 500)
        return p >= 0 ? (p + 500) / 1000 : -((-p + 500) / 1000);
    __int128 x = (__int128)milli * cents;
    return x >= 0 ? (x + 500) / 1000 : -((-x + 500) / 1000);
}

/* True if code is three upper-case letters (the form of an ISO 4217 code). */
bool fw_currency_code_valid(const char *code);
/* The ISO 4217 minor-unit digits of code from a built-in table of the currencies in common
 * use (e.g. USD 2, JPY 0, KWD 3); -1 if code is not in the table (set currency_digits). */
int fw_currency_digits(const char *code);

/*
 * minor units (cents, fen, ...) as "110,047.28", with digits decimals (0..4; JPY: "1,234"),
 * then " CODE" if code is neither NULL nor "". Negative: "-34.44". This is the entry point for
 * alert messages: fw_fmt_money(buf, sizeof buf, 3444, 2, "CNY") -> "34.44 CNY".
 */
size_t fw_fmt_money(char *buf, size_t n, int64_t minor, int digits, const char *code);
/* A money figure that is not whole minor units (an average ticket, net sales per labour hour),
 * rounded half away from zero to the currency's decimals. */
size_t fw_fmt_money_d(char *buf, size_t n, double minor, int digits, const char *code);
/* Thousandths of a unit as units with up to 3 decimals, trailing zeros dropped:
 * 13244125 -> "13,244.125", 1500 -> "1.5", 2000 -> "2", -250 -> "-0.25". */
size_t fw_fmt_qty_milli(char *buf, size_t n, int64_t milli);
/* A plain number with grouping and up to 3 decimals (trailing zeros dropped): items per
 * transaction, days of cover. */
size_t fw_fmt_number(char *buf, size_t n, double v);
/* A ratio (1.0 = 100%) as a percentage with one decimal: 0.009 -> "0.9%", 2.685 -> "268.5%".
 * A ratio that is not zero but rounds to 0.0 reads "<0.1%" (or ">-0.1%"): a small shrink rate
 * is not nothing. Not finite (a ratio over zero): "-". */
size_t fw_fmt_ratio(char *buf, size_t n, double ratio);
/* A duration: "2 h 05 min" from an hour on, "45 min" from a minute on (rounded to the
 * nearest minute), "40 s" below, "0 min" for zero; negative with a leading "-". */
size_t fw_fmt_duration_ms(char *buf, size_t n, int64_t ms);
/* The instant utc_ms (Unix milliseconds) as local time in tz with its offset:
 * "2026-12-05 09:14 +08:00". tz NULL means UTC. */
size_t fw_fmt_local(char *buf, size_t n, int64_t utc_ms, const struct tz *tz);
/* The same instant as ISO 8601 with seconds and milliseconds, for machines:
 * "2026-12-05T09:14:03.250+08:00". tz NULL means UTC ("...+00:00"). */
size_t fw_fmt_iso8601(char *buf, size_t n, int64_t utc_ms, const struct tz *tz);

#endif
