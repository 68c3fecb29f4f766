/*
 * Time zones from TZif files (RFC 8536), for store-local business days and hours.
 *
 * Loading reads the version 2+ (64-bit) data block of the file (or the version 1 block of an
 * old file), then flattens it into one table: at[i] are the instants the UTC offset changes,
 * strictly ascending, and off[i] is the offset in force in [at[i - 1], at[i]) (off[0] before
 * at[0], off[n] from at[n - 1] on). Transitions that do not change the offset (only the
 * abbreviation or the isdst flag) are dropped: this module only answers offsets.
 *
 * From the file's last transition on, RFC 8536 says the POSIX TZ string in the footer governs
 * (glibc does the same). Its rule is expanded into the table up to the end of 2100, so that
 * tz_offset for any realistic instant is one binary search; past the table (and in the odd
 * file whose rule starts before 1900) the rule is evaluated directly, which is exact for every
 * year because the Gregorian calendar, weekdays included, repeats every 400 years.
 *
 * The rule arithmetic follows tzcode's tzparse (localtime.c): per year, the start and end
 * transitions in UTC; if end < start the DST period wraps over New Year (southern
 * hemisphere, or Dublin's negative DST); if it spans the whole year there is no transition
 * that year ("perpetual DST", e.g. "EST5EDT,0/0,J365/25").
 */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECS_PER_DAY 86400
#define CYCLE_DAYS 146097 /* 400 Gregorian years: a whole number of weeks too */
#define CYCLE_SECS ((int64_t)CYCLE_DAYS * SECS_PER_DAY)
#define OFF_MIN (-89999) /* RFC 8536 3.2: utoff in -24:59:59 .. +25:59:59 */
#define OFF_MAX 93599
#define RULE_HOURS_MAX 167 /* RFC 8536 3.3.1: transition times -167..167 hours */
#define TZIF_HDR 44
#define TZIF_MAX_BYTES (1u << 20) /* real ones are < 4 KiB */
#define TZ_NAME_MAX 255
#define TABLE_FROM_YEAR 1900 /* footer rules are expanded over [1900 or last transition, 2100] */
#define TABLE_TO_YEAR 2100
#define EXPANDED_MAX (2 * (TABLE_TO_YEAR - TABLE_FROM_YEAR + 8))
#define DEFAULT_ZONEINFO "/usr/share/zoneinfo"

#define LIKELY(x) __builtin_expect(!!(x), 1)

struct rule_date {
    char kind; /* 'J': Julian 1..365 without Feb 29; 'D': 0..365 with it; 'M': m.w.d */
    uint8_t m, w, d;
    int16_t n;
    int32_t secs; /* local time of day of the transition, -167 h .. +167 h */
};

/* A POSIX TZ string, offsets in seconds east (POSIX writes them west). */
struct rule {
    int32_t std_off, dst_off;
    bool has_dst;
    struct rule_date start, end; /* into DST (in standard time), out of it (in DST) */
};

struct seg {
    int64_t start, end; /* [start, end); INT64_MIN/INT64_MAX when unbounded */
    int32_t off;
};

struct tz {
    /* what tz_offset reads first, in one cache line */
    int64_t lo, hi; /* the table answers for instants in [lo, hi) */
    int64_t *at;
    int32_t *off; /* n + 1 entries */
    uint32_t n;   /* transitions in at[] */
    /* the rest */
    uint32_t nfile;    /* at[0..nfile) come from the file, all <= rule_from */
    int64_t rule_from; /* the periodic rule governs from here on */
    bool periodic;     /* a rule with DST: used outside [lo, hi) */
    struct rule rule;
    const char *name;
};

/* ---------------------------------------------------------------------------------------------
 * Calendar
 * ------------------------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned char md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return md[m - 1] + (m == 2 && is_leap(y));
}

static int64_t days_from_civil64(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * CYCLE_DAYS + doe - 719468;
}

static void civil_from_days64(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - (CYCLE_DAYS - 1)) / CYCLE_DAYS;
    int64_t doe = z - era * CYCLE_DAYS;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int32_t tz_days_from_civil(int y, unsigned m, unsigned d)
{
    return (int32_t)days_from_civil64(y, m, d);
}

void tz_civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d)
{
    int64_t yy;
    civil_from_days64(days, &yy, m, d);
    *y = (int)yy;
}

int tz_parse_day(const char *s, int32_t *day)
{
    if (!s)
        return -1;
    for (int i = 0; i < 10; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    if (s[10] != '\0')
        return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return -1;
    *day = tz_days_from_civil(y, m, d);
    return 0;
}

void tz_format_day(int32_t day, char out[11])
{
    int64_t y;
    unsigned m, d;
    civil_from_days64(day, &y, &m, &d);
    if (y < 0 || y > 9999) {
        memcpy(out, "0000-00-00", 11); /* not a date: tz_parse_day rejects it */
        return;
    }
    unsigned uy = (unsigned)y;
    out[0] = (char)('0' + uy / 1000);
    out[1] = (char)('0' + uy / 100 % 10);
    out[2] = (char)('0' + uy / 10 % 10);
    out[3] = (char)('0' + uy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int32_t tz_week_start(int32_t day)
{
    /* 1970-01-01 was a Thursday: (day + 3) mod 7 counts days since Monday. */
    return (int32_t)(day - floor_mod((int64_t)day + 3, 7));
}

int32_t tz_month_start(int32_t day)
{
    int64_t y;
    unsigned m, d;
    civil_from_days64(day, &y, &m, &d);
    return (int32_t)(day - (int32_t)(d - 1));
}

/* ---------------------------------------------------------------------------------------------
 * POSIX TZ strings (RFC 8536 3.3, with its extensions: hours up to 167, negative times)
 * ------------------------------------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* std or dst designation: three or more letters, or <...> of letters, digits, '+' and '-'. */
static const char *parse_desig(const char *p)
{
    const char *s;
    if (*p == '<') {
        for (s = ++p; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-'; p++)
            ;
        return (*p == '>' && p - s >= 1) ? p + 1 : NULL;
    }
    for (s = p; is_alpha(*p); p++)
        ;
    return p - s >= 3 ? p : NULL;
}

static const char *parse_num(const char *p, int min, int max, int *out)
{
    int v = 0, digits = 0;
    for (; is_digit(*p); p++) {
        if (++digits > 3)
            return NULL;
        v = v * 10 + (*p - '0');
    }
    if (!digits || v < min || v > max)
        return NULL;
    *out = v;
    return p;
}

/* [+-]hh[:mm[:ss]] with hh <= max_hours; seconds. */
static const char *parse_hms(const char *p, int max_hours, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!(p = parse_num(p, 0, max_hours, &h)))
        return NULL;
    if (*p == ':') {
        if (!(p = parse_num(p + 1, 0, 59, &m)))
            return NULL;
        if (*p == ':' && !(p = parse_num(p + 1, 0, 59, &s)))
            return NULL;
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_date(const char *p, struct rule_date *r)
{
    int a, b, c;
    if (*p == 'J') {
        if (!(p = parse_num(p + 1, 1, 365, &a)))
            return NULL;
        *r = (struct rule_date){.kind = 'J', .n = (int16_t)a};
    } else if (*p == 'M') {
        if (!(p = parse_num(p + 1, 1, 12, &a)) || *p != '.' || !(p = parse_num(p + 1, 1, 5, &b)) ||
            *p != '.' || !(p = parse_num(p + 1, 0, 6, &c)))
            return NULL;
        *r = (struct rule_date){.kind = 'M', .m = (uint8_t)a, .w = (uint8_t)b, .d = (uint8_t)c};
    } else {
        if (!(p = parse_num(p, 0, 365, &a)))
            return NULL;
        *r = (struct rule_date){.kind = 'D', .n = (int16_t)a};
    }
    r->secs = 7200; /* POSIX: 02:00 unless given */
    if (*p == '/' && !(p = parse_hms(p + 1, RULE_HOURS_MAX, &r->secs)))
        return NULL;
    return p;
}

static bool parse_rule(const char *s, struct rule *r)
{
    int32_t west;
    const char *p = parse_desig(s);
    if (!p || !(p = parse_hms(p, 24, &west)))
        return false;
    *r = (struct rule){.std_off = -west};
    if (*p == '\0')
        return r->std_off >= OFF_MIN && r->std_off <= OFF_MAX;
    if (!(p = parse_desig(p)))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (!(p = parse_hms(p, 24, &west)))
            return false;
        r->dst_off = -west;
    }
    if (*p == '\0')
        p = ",M3.2.0,M11.1.0"; /* tzcode's default rule (US since 2007) */
    if (*p != ',' || !(p = parse_date(p + 1, &r->start)) || *p != ',' ||
        !(p = parse_date(p + 1, &r->end)) || *p != '\0')
        return false;
    return r->std_off >= OFF_MIN && r->std_off <= OFF_MAX && r->dst_off >= OFF_MIN &&
           r->dst_off <= OFF_MAX;
}

/* The day (since the epoch) a rule date falls on in year y. */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
    int64_t jan1 = days_from_civil64(y, 1, 1);
    if (r->kind == 'J')
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
    if (r->kind == 'D')
        return jan1 + r->n;
    int64_t first = days_from_civil64(y, r->m, 1);
    int64_t wday_first = floor_mod(first + 4, 7);
    int64_t day = first + (r->d - wday_first + 7) % 7 + 7 * (r->w - 1);
    while (day >= first + month_days(y, r->m)) /* w == 5: the last such weekday */
        day -= 7;
    return day;
}

struct event {
    int64_t t;
    int32_t off;
};

/* The transitions of year y in UTC, ascending: 2 or 0 (perpetual DST that year). */
static int rule_year(const struct rule *r, int64_t y, struct event ev[2])
{
    int64_t start = rule_day(&r->start, y) * SECS_PER_DAY + r->start.secs - r->std_off;
    int64_t end = rule_day(&r->end, y) * SECS_PER_DAY + r->end.secs - r->dst_off;
    int64_t year_secs = (is_leap(y) ? 366 : 365) * (int64_t)SECS_PER_DAY;
    if (end < start) {
        ev[0] = (struct event){end, r->std_off};
        ev[1] = (struct event){start, r->dst_off};
        return 2;
    }
    if (start < end && end - start < year_secs) {
        ev[0] = (struct event){start, r->dst_off};
        ev[1] = (struct event){end, r->std_off};
        return 2;
    }
    return 0;
}

static int64_t add_cycles_sat(int64_t v, int64_t cycles)
{
    int64_t d;
    if (v == INT64_MIN || v == INT64_MAX)
        return v;
    if (__builtin_mul_overflow(cycles, CYCLE_SECS, &d) || __builtin_add_overflow(v, d, &v))
        return cycles < 0 ? INT64_MIN : INT64_MAX;
    return v;
}

/*
 * The segment of the rule's time line containing t, for any t: t is first moved by whole
 * 400-year cycles into a reference window (years ~2770..3170), where the transitions of the
 * surrounding years are computed and sorted, and the result moved back.
 */
static void rule_seg(const struct rule *r, int64_t t, struct seg *s)
{
    int64_t q = t / CYCLE_SECS, rem = t % CYCLE_SECS;
    if (rem < 0) {
        rem += CYCLE_SECS;
        q--;
    }
    int64_t tr = rem + 2 * CYCLE_SECS, y;
    unsigned m, d;
    civil_from_days64(floor_div(tr + r->std_off, SECS_PER_DAY), &y, &m, &d);

    struct event ev[10];
    int ne = 0;
    for (int64_t yy = y - 2; yy <= y + 2; yy++)
        ne += rule_year(r, yy, ev + ne);
    for (int i = 1; i < ne; i++) /* already sorted for any sane rule; be sure */
        for (int j = i; j > 0 && ev[j - 1].t > ev[j].t; j--) {
            struct event tmp = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = tmp;
        }

    *s = (struct seg){INT64_MIN, INT64_MAX, r->dst_off}; /* no transition at all: perpetual DST */
    int i = 0;
    for (; i < ne && ev[i].t <= tr; i++) {
        s->start = ev[i].t;
        s->off = ev[i].off;
    }
    if (i < ne) {
        s->end = ev[i].t;
        if (i == 0)
            s->off = ev[0].off == r->std_off ? r->dst_off : r->std_off;
    }
    s->start = add_cycles_sat(s->start, q - 2);
    s->end = add_cycles_sat(s->end, q - 2);
}

/* ---------------------------------------------------------------------------------------------
 * Lookups
 * ------------------------------------------------------------------------------------------- */

/* The number of at[i] <= t (branch-free binary search). */
static inline uint32_t upper_index(const int64_t *at, uint32_t n, int64_t t)
{
    if (n == 0)
        return 0;
    const int64_t *b = at;
    while (n > 1) {
        uint32_t half = n / 2;
        b = (b[half] <= t) ? b + half : b;
        n -= half;
    }
    return (uint32_t)(b - at) + (*b <= t);
}

static inline bool in_table(const struct tz *tz, int64_t t)
{
    return (uint64_t)t - (uint64_t)tz->lo < (uint64_t)tz->hi - (uint64_t)tz->lo;
}

static void table_seg(const struct tz *tz, uint32_t n, int64_t end, int64_t t, struct seg *s)
{
    uint32_t i = upper_index(tz->at, n, t);
    s->start = i ? tz->at[i - 1] : INT64_MIN;
    s->end = i < n ? tz->at[i] : end;
    s->off = tz->off[i];
}

/* The segment containing t, wherever t is. */
static void tz_seg(const struct tz *tz, int64_t t, struct seg *s)
{
    if (in_table(tz, t) || !tz->periodic) {
        table_seg(tz, tz->n, tz->hi, t, s);
    } else if (t >= tz->hi) {
        rule_seg(&tz->rule, t, s);
    } else if (t >= tz->rule_from) { /* the rule started before the table does */
        rule_seg(&tz->rule, t, s);
        if (s->start < tz->rule_from)
            s->start = tz->rule_from;
    } else { /* before the rule: the file's own transitions */
        table_seg(tz, tz->nfile, tz->rule_from, t, s);
    }
}

int32_t tz_offset(const struct tz *tz, int64_t utc_s)
{
    if (LIKELY(in_table(tz, utc_s)))
        return tz->off[upper_index(tz->at, tz->n, utc_s)];
    struct seg s;
    tz_seg(tz, utc_s, &s);
    return s.off;
}

void tz_local(const struct tz *tz, int64_t utc_ms, struct tz_local *out)
{
    int64_t s = floor_div(utc_ms, 1000);
    int64_t l = s + tz_offset(tz, s);
    int64_t day = l / SECS_PER_DAY;
    int32_t sod = (int32_t)(l % SECS_PER_DAY); /* the rest in 32 bits: cheaper */
    if (sod < 0) {
        sod += SECS_PER_DAY;
        day--;
    }
    out->day = day > INT32_MAX ? INT32_MAX : day < INT32_MIN ? INT32_MIN : (int32_t)day;
    out->hour = (int8_t)(sod / 3600);
    out->minute = (int8_t)(sod / 60 % 60);
    /* 1970-01-01 was a Thursday. Unsigned and without branches (a random weekday would
     * mispredict): |day| < 2^37 always, so the bias keeps it positive. */
    out->wday = (int8_t)((uint64_t)(day + 4 + 7 * ((int64_t)1 << 40)) % 7);
}

/*
 * Walks the segments that can hold a solution of t + off(t) = local, in UTC order, starting
 * from one that begins at least 26 hours earlier (no offset exceeds that): the first segment
 * that contains its candidate is the answer (the earlier one in an overlap); a segment that
 * begins after local in local time means local fell in the gap before it.
 */
int64_t tz_utc_of_local(const struct tz *tz, int32_t day, int32_t minute_of_day)
{
    int64_t local = (int64_t)day * SECS_PER_DAY + (int64_t)minute_of_day * 60;
    int64_t t = local - (OFF_MAX + 1);
    struct seg s;
    for (int i = 0; i < 32; i++) {
        tz_seg(tz, t, &s);
        int64_t cand = local - s.off;
        if (cand >= s.start && cand < s.end)
            return cand;
        if (s.start != INT64_MIN && s.start + s.off > local)
            return s.start;
        if (s.end == INT64_MAX)
            break;
        t = s.end;
    }
    return local - tz_offset(tz, local); /* not reached for any valid table */
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

const char *tz_name(const struct tz *tz)
{
    return tz->name;
}

void tz_destroy(struct tz **tz)
{
    if (tz && *tz) {
        free(*tz);
        *tz = NULL;
    }
}

/* One allocation: the struct, at[cap], off[cap + 1], the name. */
static struct tz *tz_alloc(uint32_t cap, const char *name)
{
    size_t head = (sizeof(struct tz) + 7) & ~(size_t)7, nlen = strlen(name) + 1;
    char *mem = malloc(head + (size_t)cap * 8 + ((size_t)cap + 1) * 4 + nlen);
    if (!mem)
        return NULL;
    struct tz *tz = (struct tz *)(void *)mem;
    memset(tz, 0, sizeof *tz);
    int64_t *at = (int64_t *)(void *)(mem + head);
    int32_t *off = (int32_t *)(at + cap);
    char *nm = (char *)(off + cap + 1);
    memcpy(nm, name, nlen);
    off[0] = 0;
    *tz = (struct tz){
        .lo = INT64_MIN, .hi = INT64_MAX, .rule_from = INT64_MAX, .at = at, .off = off, .name = nm};
    return tz;
}

/* Appends a transition to a table under construction, dropping ones that change nothing. */
static void push(struct tz *tz, int64_t t, int32_t off, bool force)
{
    if (off == tz->off[tz->n] && !force)
        return;
    tz->at[tz->n] = t;
    tz->off[++tz->n] = off;
}

struct tzif {
    uint32_t isut, isstd, leap, time, type, chars; /* RFC 8536 header counts, in file order */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads a header at p (len bytes left) and the length of the data block after it. */
static bool tzif_header(const uint8_t *p, size_t len, unsigned tsize, struct tzif *h,
                        uint64_t *block)
{
    if (len < TZIF_HDR || memcmp(p, "TZif", 4) != 0)
        return false;
    uint32_t *c = &h->isut;
    for (int i = 0; i < 6; i++)
        c[i] = be32(p + 20 + 4 * i);
    *block = (uint64_t)h->time * tsize + h->time + (uint64_t)h->type * 6 + h->chars +
             (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
    return h->type >= 1 && h->chars >= 1 && (h->isstd == 0 || h->isstd == h->type) &&
           (h->isut == 0 || h->isut == h->type) && *block <= len - TZIF_HDR;
}

/*
 * Parses a TZif image and builds the zone. FW_ECORRUPT for anything RFC 8536 does not allow,
 * FW_EINVAL for leap-second zones.
 */
static fw_err tz_build(const uint8_t *buf, size_t len, const char *name, struct tz **out)
{
    struct tzif h;
    uint64_t block;
    if (!tzif_header(buf, len, 4, &h, &block))
        return FW_ECORRUPT;
    uint8_t version = buf[4];
    const uint8_t *data = buf + TZIF_HDR;
    unsigned tsize = 4;
    char footer[256] = "";
    if (version >= '2') {
        size_t pos = TZIF_HDR + (size_t)block;
        if (!tzif_header(buf + pos, len - pos, 8, &h, &block))
            return FW_ECORRUPT;
        data = buf + pos + TZIF_HDR;
        tsize = 8;
        const uint8_t *f = data + block, *end = buf + len;
        if (f >= end || *f != '\n')
            return FW_ECORRUPT;
        const uint8_t *nl = memchr(f + 1, '\n', (size_t)(end - f - 1));
        if (!nl || (size_t)(nl - f - 1) >= sizeof footer)
            return FW_ECORRUPT;
        for (const uint8_t *c = f + 1; c < nl; c++)
            if (*c < 0x20 || *c > 0x7e)
                return FW_ECORRUPT;
        memcpy(footer, f + 1, (size_t)(nl - f - 1));
        footer[nl - f - 1] = '\0';
    } else if (version != 0) {
        return FW_ECORRUPT;
    }
    if (h.leap)
        return FW_EINVAL;

    const uint8_t *times = data, *idx = data + (size_t)h.time * tsize;
    const uint8_t *types = idx + h.time;
    int32_t type_off[256];
    if (h.type > 256)
        return FW_ECORRUPT;
    for (uint32_t i = 0; i < h.type; i++) {
        const uint8_t *tt = types + 6 * i;
        int32_t o = (int32_t)be32(tt);
        if (o < OFF_MIN || o > OFF_MAX || tt[4] > 1 || tt[5] >= h.chars)
            return FW_ECORRUPT;
        type_off[i] = o;
    }
    int64_t prev = INT64_MIN;
    for (uint32_t i = 0; i < h.time; i++) {
        int64_t t = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if ((i > 0 && t <= prev) || idx[i] >= h.type)
            return FW_ECORRUPT;
        prev = t;
    }

    struct rule rule = {0};
    bool has_rule = footer[0] != '\0';
    if (has_rule && !parse_rule(footer, &rule))
        return FW_ECORRUPT;
    /* A rule is periodic if it has DST that changes the offset in some year of a cycle. */
    bool periodic = false;
    if (has_rule && rule.has_dst && rule.std_off != rule.dst_off) {
        struct event ev[2];
        for (int64_t y = 2000; y < 2400 && !periodic; y++)
            periodic = rule_year(&rule, y, ev) > 0;
        if (!periodic)
            rule.std_off = rule.dst_off; /* perpetual DST */
    }

    if (h.time > UINT32_MAX - EXPANDED_MAX - 2)
        return FW_ECORRUPT;
    struct tz *tz = tz_alloc(h.time + EXPANDED_MAX + 2, name);
    if (!tz)
        return FW_ENOMEM;
    int64_t rule_from = h.time ? prev : INT64_MIN;
    int64_t table_from = days_from_civil64(TABLE_FROM_YEAR, 1, 1) * SECS_PER_DAY;
    int64_t table_to = days_from_civil64(TABLE_TO_YEAR + 1, 1, 1) * SECS_PER_DAY;
    bool early = periodic && rule_from < table_from; /* the rule alone before the table */
    struct seg s;
    if (periodic)
        rule_seg(&rule, early ? table_from : rule_from, &s);

    tz->off[0] = type_off[0];
    for (uint32_t i = 0; i < h.time; i++) {
        int64_t t = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        int32_t o = type_off[idx[i]];
        if (i == h.time - 1 && has_rule && !early) /* RFC 8536: the footer takes over here */
            o = periodic ? s.off : rule.std_off;
        push(tz, t, o, false);
    }
    if (has_rule && !periodic && h.time == 0)
        tz->off[0] = rule.std_off;
    tz->nfile = tz->n;
    if (periodic) {
        tz->periodic = true;
        tz->rule = rule;
        tz->rule_from = rule_from;
        uint32_t cap = h.time + EXPANDED_MAX + 2;
        for (bool first = true; s.end < table_to && tz->n < cap; first = false) {
            int64_t t = s.end;
            rule_seg(&rule, t, &s);
            push(tz, t, s.off, early && first);
            if (early && first)
                tz->lo = t;
        }
        tz->hi = s.end;
    }
    *out = tz;
    return FW_OK;
}

/* Area/Location[/...]: no absolute paths, no "." or ".." components, a safe alphabet. */
static bool name_ok(const char *s)
{
    size_t len = strlen(s), comp = 0;
    if (len == 0 || len > TZ_NAME_MAX)
        return false;
    for (const char *p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            if (comp == 0 || (comp == 1 && p[-1] == '.') ||
                (comp == 2 && p[-1] == '.' && p[-2] == '.'))
                return false;
            if (*p == '\0')
                return true;
            comp = 0;
        } else if (is_alpha(*p) || is_digit(*p) || *p == '_' || *p == '-' || *p == '+' ||
                   *p == '.') {
            comp++;
        } else {
            return false;
        }
    }
}

static fw_err read_file(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG || errno == ELOOP)
                   ? FW_ENOTFOUND
                   : fw_err_from_errno(errno);
    fw_err err = FW_OK;
    uint8_t *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = fw_err_from_errno(errno);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        err = FW_ENOTFOUND; /* e.g. "America": a directory of zones, not a zone */
        goto fail;
    }
    if (st.st_size > (off_t)TZIF_MAX_BYTES) {
        err = FW_ECORRUPT;
        goto fail;
    }
    size_t size = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(size ? size : 1))) {
        err = FW_ENOMEM;
        goto fail;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = fw_err_from_errno(errno);
            goto fail;
        }
        if (r == 0)
            break; /* shrank under us: parse what there is */
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = got;
    return FW_OK;
fail:
    free(buf);
    close(fd);
    return err;
}

fw_err tz_load(struct tz **out, const char *name)
{
    if (!name || !name_ok(name))
        return FW_ENOTFOUND;
    if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
        struct tz *tz = tz_alloc(0, name);
        if (!tz)
            return FW_ENOMEM;
        *out = tz;
        return FW_OK;
    }
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = DEFAULT_ZONEINFO;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return FW_ENOTFOUND;
    uint8_t *buf = NULL;
    size_t len = 0;
    fw_err err = read_file(path, &buf, &len);
    if (err)
        return err;
    err = tz_build(buf, len, name, out);
    free(buf);
    return err;
}
