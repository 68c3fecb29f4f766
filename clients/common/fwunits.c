#include "fwunits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tz.h"

/* ISO 4217 minor units of the currencies a chain is likely to keep its books in. Codes not
 * listed need currency_digits in the config. Sorted by code. */
static const struct {
    char code[4];
    int8_t digits;
} iso4217[] = {
    {"AED", 2}, {"ARS", 2}, {"AUD", 2}, {"BHD", 3}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2}, {"CLP", 0},
    {"CNY", 2}, {"COP", 2}, {"CZK", 2}, {"DKK", 2}, {"EGP", 2}, {"EUR", 2}, {"GBP", 2}, {"HKD", 2},
    {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KRW", 0},
    {"KWD", 3}, {"MAD", 2}, {"MXN", 2}, {"MYR", 2}, {"NGN", 2}, {"NOK", 2}, {"NZD", 2}, {"OMR", 3},
    {"PEN", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"QAR", 2}, {"RON", 2}, {"RUB", 2}, {"SAR", 2},
    {"SEK", 2}, {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2}, {"UAH", 2}, {"USD", 2},
    {"VND", 0}, {"XAF", 0}, {"XOF", 0}, {"ZAR", 2},
};

bool fw_currency_code_valid(const char *code)
{
    if (!code || strlen(code) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return false;
    return true;
}

int fw_currency_digits(const char *code)
{
    if (!fw_currency_code_valid(code))
        return -1;
    for (size_t i = 0; i < sizeof iso4217 / sizeof iso4217[0]; i++)
        if (!strcmp(iso4217[i].code, code))
            return iso4217[i].digits;
    return -1;
}

/* Writes u with "," every three digits into out (at least 27 bytes); returns its length. */
static size_t group(char *out, uint64_t u)
{
    char d[24];
    int nd = snprintf(d, sizeof d, "%llu", (unsigned long long)u);
    size_t j = 0;
    for (int i = 0; i < nd; i++) {
        if (i && (nd - i) % 3 == 0)
            out[j++] = ',';
        out[j++] = d[i];
    }
    out[j] = 0;
    return j;
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static size_t put(char *buf, size_t n, const char *s)
{
    return (size_t)snprintf(buf, n, "%s", s);
}

size_t fw_fmt_money(char *buf, size_t n, int64_t minor, int digits, const char *code)
{
    static const uint64_t pow10[] = {1, 10, 100, 1000, 10000};
    if (digits < 0)
        digits = 0;
    if (digits > 4)
        digits = 4;
    uint64_t u = magnitude(minor);
    char whole[32];
    group(whole, u / pow10[digits]);
    char frac[24] = "";
    if (digits)
        snprintf(frac, sizeof frac, ".%0*u", digits, (unsigned)(u % pow10[digits]));
    bool c = code && *code;
    return (size_t)snprintf(buf, n, "%s%s%s%s%s", minor < 0 ? "-" : "", whole, frac, c ? " " : "",
                            c ? code : "");
}

size_t fw_fmt_money_d(char *buf, size_t n, double minor, int digits, const char *code)
{
    if (!isfinite(minor) || fabs(minor) > 9.2e18)
        return put(buf, n, "-");
    return fw_fmt_money(buf, n, llround(minor), digits, code);
}

size_t fw_fmt_qty_milli(char *buf, size_t n, int64_t milli)
{
    uint64_t u = magnitude(milli);
    char whole[32], frac[16] = "";
    group(whole, u / 1000);
    if (u % 1000) {
        snprintf(frac, sizeof frac, ".%03u", (unsigned)(u % 1000));
        for (size_t k = strlen(frac); frac[k - 1] == '0'; k--)
            frac[k - 1] = 0;
    }
    return (size_t)snprintf(buf, n, "%s%s%s", milli < 0 ? "-" : "", whole, frac);
}

size_t fw_fmt_number(char *buf, size_t n, double v)
{
    if (!isfinite(v) || fabs(v) > 9.2e15)
        return put(buf, n, "-");
    return fw_fmt_qty_milli(buf, n, llround(v * 1000.0));
}

size_t fw_fmt_ratio(char *buf, size_t n, double ratio)
{
    if (!isfinite(ratio))
        return put(buf, n, "-");
    double pct = ratio * 100.0;
    if (ratio != 0 && fabs(pct) < 0.05)
        return put(buf, n, pct > 0 ? "<0.1%" : ">-0.1%");
    return (size_t)snprintf(buf, n, "%.1f%%", pct == 0 ? 0.0 : pct);
}

size_t fw_fmt_duration_ms(char *buf, size_t n, int64_t ms)
{
    const char *sign = ms < 0 ? "-" : "";
    uint64_t u = magnitude(ms);
    if (u == 0)
        return put(buf, n, "0 min");
    if (u < 59500) /* below a minute, once rounded to seconds */
        return (size_t)snprintf(buf, n, "%s%llu s", sign, (unsigned long long)((u + 500) / 1000));
    uint64_t min = (u + 30000) / 60000;
    if (min < 60)
        return (size_t)snprintf(buf, n, "%s%llu min", sign, (unsigned long long)min);
    return (size_t)snprintf(buf, n, "%s%llu h %02llu min", sign, (unsigned long long)(min / 60),
                            (unsigned long long)(min % 60));
}

/* Local civil fields of utc_ms in tz: the offset in seconds, and the local instant split. */
struct civil {
    int y;
    unsigned mo, d;
    int h, mi, s, ms;
    int32_t off;
};

static void civil_of(int64_t utc_ms, const struct tz *tz, struct civil *c)
{
    int64_t s = utc_ms >= 0 ? utc_ms / 1000 : -((-utc_ms + 999) / 1000); /* floor */
    c->ms = (int)(utc_ms - s * 1000);
    c->off = tz ? tz_offset(tz, s) : 0;
    int64_t l = s + c->off;
    int64_t day = l >= 0 ? l / 86400 : -((-l + 86399) / 86400);
    int64_t sod = l - day * 86400;
    tz_civil_from_days((int32_t)day, &c->y, &c->mo, &c->d);
    c->h = (int)(sod / 3600);
    c->mi = (int)(sod / 60 % 60);
    c->s = (int)(sod % 60);
}

static void offset_str(int32_t off, char out[8])
{
    int32_t a = off < 0 ? -off : off;
    snprintf(out, 8, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600 % 100), (int)(a / 60 % 60));
}

size_t fw_fmt_local(char *buf, size_t n, int64_t utc_ms, const struct tz *tz)
{
    struct civil c;
    char off[8];
    civil_of(utc_ms, tz, &c);
    offset_str(c.off, off);
    return (size_t)snprintf(buf, n, "%04d-%02u-%02u %02d:%02d %s", c.y, c.mo, c.d, c.h, c.mi, off);
}

size_t fw_fmt_iso8601(char *buf, size_t n, int64_t utc_ms, const struct tz *tz)
{
    struct civil c;
    char off[8];
    civil_of(utc_ms, tz, &c);
    offset_str(c.off, off);
    return (size_t)snprintf(buf, n, "%04d-%02u-%02uT%02d:%02d:%02d.%03d%s", c.y, c.mo, c.d, c.h,
                            c.mi, c.s, c.ms, off);
}
