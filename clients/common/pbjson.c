/*
 * pbjson: generic JSON <-> protobuf-c conversion, driven by descriptor reflection only.
 *
 * Memory layout facts this file relies on (protobuf-c 1.4, see protobuf_c_message_free_unpacked):
 *  - a repeated field is a `size_t` count at quantifier_offset and a malloc'd array at offset;
 *    free_unpacked frees the first `count` strings/bytes/sub-messages and then the array, so the
 *    array is hung on the message at once and the count grows only as elements are completed;
 *  - a oneof member (flag ONEOF) is freed only when the `uint32_t` case at quantifier_offset
 *    equals its id, so the case is set right after the member's value is stored;
 *  - a proto2 optional scalar or bytes field has a protobuf_c_boolean has_ at quantifier_offset;
 *  - a string is freed unless NULL or equal to the field's default_value (which is how the shared
 *    protobuf_c_empty_string is never freed), bytes unless data is NULL or the default's data.
 * So every value built here is malloc'd and stored only when complete, and on any error the
 * partly built message is released with protobuf_c_message_free_unpacked(msg, NULL).
 */
#include "pbjson.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 256    /* longest field path kept for messages */
#define QUOTE_MAX 40    /* bytes of a JSON string quoted in a message */
#define EDIT_MAX 64     /* names longer than this get no "did you mean" */
#define DESCRIBE_CAP 96 /* "string \"...\"" and friends */

struct pctx {
    char *err;
    size_t errlen;
    char path[PATH_CAP];
    size_t pathlen;
};

/* A parsed integer before it is checked against the field's width. */
struct bigint {
    int neg;
    uint64_t mag;
};

/* ---------------------------------------------------------------------------------------------
 * Error reporting
 * ------------------------------------------------------------------------------------------- */

static void set_error(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "path: message" into the caller's buffer, keeping it on one line. */
static void set_error(struct pctx *c, const char *fmt, ...)
{
    va_list ap;
    size_t off = 0;

    if (c->err == NULL || c->errlen == 0)
        return;
    c->err[0] = '\0';
    if (c->pathlen > 0) {
        snprintf(c->err, c->errlen, "%s: ", c->path);
        off = strlen(c->err);
    }
    if (off < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + off, c->errlen - off, fmt, ap);
        va_end(ap);
    }
    for (char *p = c->err; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
}

static size_t path_push_name(struct pctx *c, const char *name)
{
    size_t mark = c->pathlen;

    snprintf(c->path + mark, sizeof(c->path) - mark, "%s%s", mark > 0 ? "." : "", name);
    c->pathlen = strlen(c->path);
    return mark;
}

static size_t path_push_index(struct pctx *c, size_t i)
{
    size_t mark = c->pathlen;

    snprintf(c->path + mark, sizeof(c->path) - mark, "[%zu]", i);
    c->pathlen = strlen(c->path);
    return mark;
}

static void path_pop(struct pctx *c, size_t mark)
{
    c->path[mark] = '\0';
    c->pathlen = mark;
}

/*
 * Quotes s (n bytes) for a message: escapes quotes, backslashes and control bytes, and cuts it
 * after QUOTE_MAX bytes (at a UTF-8 character boundary) with "...".
 */
static void quote(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    size_t lim = n;
    int cut = 0;

    if (cap < 8) {
        if (cap > 0)
            buf[0] = '\0';
        return;
    }
    if (lim > QUOTE_MAX) {
        lim = QUOTE_MAX;
        while (lim > 0 && ((unsigned char)s[lim] & 0xC0) == 0x80)
            lim--;
        cut = 1;
    }
    buf[o++] = '"';
    for (size_t i = 0; i < lim; i++) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[8];
        size_t tl;

        if (ch == '"' || ch == '\\')
            tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
        else
            tl = (size_t)snprintf(tmp, sizeof(tmp), "%c", ch);
        if (o + tl + 5 > cap) { /* room for tmp, ...", NUL */
            cut = 1;
            break;
        }
        memcpy(buf + o, tmp, tl);
        o += tl;
    }
    if (cut) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

/* Formats a double briefly: the shortest of %.15g/%.17g that reads back as the same value. */
static void format_double(char *buf, size_t cap, double d)
{
    snprintf(buf, cap, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, cap, "%.17g", d);
}

/* What a JSON value is, for "got ..." in messages: `string "x"`, `integer 5`, `an array`. */
static void describe(const json_t *v, char *buf, size_t cap)
{
    char q[QUOTE_MAX * 4 + 8];
    char num[32];

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, cap, "an object");
        break;
    case JSON_ARRAY:
        snprintf(buf, cap, "an array");
        break;
    case JSON_STRING:
        quote(q, sizeof(q), json_string_value(v), json_string_length(v));
        snprintf(buf, cap, "string %s", q);
        break;
    case JSON_INTEGER:
        snprintf(buf, cap, "integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        format_double(num, sizeof(num), json_real_value(v));
        snprintf(buf, cap, "number %s", num);
        break;
    case JSON_TRUE:
        snprintf(buf, cap, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, cap, "false");
        break;
    case JSON_NULL:
    default:
        snprintf(buf, cap, "null");
        break;
    }
}

static int type_error(struct pctx *c, const char *expected, const json_t *v)
{
    char got[DESCRIBE_CAP + QUOTE_MAX * 4];

    describe(v, got, sizeof(got));
    set_error(c, "expected %s, got %s", expected, got);
    return -1;
}

static const char *type_name(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
        return "int32";
    case PROTOBUF_C_TYPE_SINT32:
        return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32:
        return "sfixed32";
    case PROTOBUF_C_TYPE_INT64:
        return "int64";
    case PROTOBUF_C_TYPE_SINT64:
        return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64:
        return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32:
        return "uint32";
    case PROTOBUF_C_TYPE_FIXED32:
        return "fixed32";
    case PROTOBUF_C_TYPE_UINT64:
        return "uint64";
    case PROTOBUF_C_TYPE_FIXED64:
        return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT:
        return "float";
    case PROTOBUF_C_TYPE_DOUBLE:
        return "double";
    case PROTOBUF_C_TYPE_BOOL:
        return "bool";
    case PROTOBUF_C_TYPE_ENUM:
        return "enum";
    case PROTOBUF_C_TYPE_STRING:
        return "string";
    case PROTOBUF_C_TYPE_BYTES:
        return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE:
        return "message";
    }
    return "?";
}

/* ---------------------------------------------------------------------------------------------
 * "Did you mean": optimal string alignment distance, ASCII case-insensitive
 * ------------------------------------------------------------------------------------------- */

static int lower(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch;
}

/* Levenshtein distance plus adjacent transpositions; SIZE_MAX when a name is too long. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t rows[3][EDIT_MAX + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];

    if (la > EDIT_MAX || lb > EDIT_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            size_t best = prev[j] + 1;

            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

struct suggestion {
    const char *name;
    size_t dist;
};

static void suggest_consider(struct suggestion *s, const char *key, size_t klen, const char *name)
{
    size_t d = edit_distance(key, klen, name, strlen(name));

    if (s->name == NULL || d < s->dist) {
        s->name = name;
        s->dist = d;
    }
}

/* A suggestion is worth showing when it is a typo away, not a different word. */
static const char *suggest_result(const struct suggestion *s, size_t klen)
{
    if (s->name == NULL || s->dist == SIZE_MAX)
        return NULL;
    if (s->dist <= 1 + klen / 4 && s->dist < klen)
        return s->name;
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Scalars
 * ------------------------------------------------------------------------------------------- */

/* Strict decimal: -?[0-9]+ with nothing around it. 0 ok, -1 not one, -2 beyond 64 bits. */
static int parse_decimal(const char *s, size_t n, struct bigint *out)
{
    size_t i = 0;

    out->neg = 0;
    out->mag = 0;
    if (n > 0 && s[0] == '-') {
        out->neg = 1;
        i = 1;
    }
    if (i == n)
        return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned digit = (unsigned)(s[i] - '0');
        if (out->mag > (UINT64_MAX - digit) / 10)
            return -2;
        out->mag = out->mag * 10 + digit;
    }
    return 0;
}

/*
 * Reads an integer from a JSON integer, an integral real or (if allow_string) a decimal string.
 * 0 ok, -1 not an integer, -2 an integer beyond 64 bits.
 */
static int json_to_bigint(const json_t *v, int allow_string, struct bigint *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);

        out->neg = i < 0;
        out->mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);

        /* every double from 2^52 up is integral; below, the cast is exact (no libm needed) */
        if (!isfinite(d))
            return -1;
        if (fabs(d) < 4503599627370496.0 && d != (double)(int64_t)d)
            return -1;
        if (fabs(d) >= 18446744073709551616.0) /* 2^64 */
            return -2;
        out->neg = d < 0;
        out->mag = (uint64_t)fabs(d);
        return 0;
    }
    if (allow_string && json_is_string(v))
        return parse_decimal(json_string_value(v), json_string_length(v), out);
    return -1;
}

static int bigint_fits(const struct bigint *b, ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return b->neg ? b->mag <= (uint64_t)INT32_MAX + 1 : b->mag <= INT32_MAX;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return b->neg ? b->mag <= (uint64_t)INT64_MAX + 1 : b->mag <= INT64_MAX;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return (!b->neg || b->mag == 0) && b->mag <= UINT32_MAX;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return !b->neg || b->mag == 0;
    default:
        return 0;
    }
}

/* The value of a bigint that bigint_fits() accepted for a signed type. */
static int64_t bigint_signed(const struct bigint *b)
{
    if (!b->neg)
        return (int64_t)b->mag;
    if (b->mag == (uint64_t)INT64_MAX + 1)
        return INT64_MIN;
    return -(int64_t)b->mag;
}

/* Reads an integer for a field of type t, reporting wrong types and out-of-range values. */
static int get_integer(struct pctx *c, const json_t *v, ProtobufCType t, int allow_string,
                       struct bigint *b)
{
    char got[DESCRIBE_CAP + QUOTE_MAX * 4];
    int rc = json_to_bigint(v, allow_string, b);

    if (rc == -1)
        return type_error(c, "an integer", v);
    if (rc == -2 || !bigint_fits(b, t)) {
        describe(v, got, sizeof(got));
        set_error(c, "%s is out of range for %s", got, type_name(t));
        return -1;
    }
    return 0;
}

/* Strings protobuf's JSON mapping uses for non-finite values, and numeric strings. */
static int string_to_double(const char *s, size_t n, double *out)
{
    char *end;

    if (strlen(s) != n)
        return -1;
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
        return 0;
    }
    if (n == 0 || strspn(s, "0123456789+-.eE") != n)
        return -1;
    errno = 0;
    *out = strtod(s, &end);
    if (end != s + n)
        return -1;
    if (errno == ERANGE && fabs(*out) > 1.0)
        return -2;
    return 0;
}

static int get_double(struct pctx *c, const json_t *v, ProtobufCType t, double *out)
{
    char got[DESCRIBE_CAP + QUOTE_MAX * 4];
    int rc = -1;

    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        rc = 0;
    } else if (json_is_real(v)) {
        *out = json_real_value(v);
        rc = 0;
    } else if (json_is_string(v)) {
        rc = string_to_double(json_string_value(v), json_string_length(v), out);
    }
    if (rc == -1)
        return type_error(c, "a number", v);
    if (rc == 0 && t == PROTOBUF_C_TYPE_FLOAT && isfinite(*out) && fabs(*out) > FLT_MAX)
        rc = -2;
    if (rc == -2) {
        describe(v, got, sizeof(got));
        set_error(c, "%s is out of range for %s", got, type_name(t));
        return -1;
    }
    return 0;
}

/* Lists an enum's names in number order, e.g. "A, B, C", cut with "..." if it does not fit. */
static void enum_names(const ProtobufCEnumDescriptor *ed, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < ed->n_values; i++) {
        const char *name = ed->values[i].name;
        size_t need = strlen(name) + (i > 0 ? 2 : 0);

        if (o + need + 4 > cap) {
            snprintf(buf + o, cap - o, "...");
            return;
        }
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i > 0 ? ", " : "", name);
    }
}

static int get_enum(struct pctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, int *out)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    char q[QUOTE_MAX * 4 + 8];
    char names[512];
    char hint[EDIT_MAX + 32] = "";
    struct suggestion s = {NULL, 0};
    struct bigint b;

    if (json_is_string(v)) {
        const char *name = json_string_value(v);
        size_t n = json_string_length(v);
        const ProtobufCEnumValue *ev = NULL;

        if (strlen(name) == n)
            ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
        if (ev != NULL) {
            *out = ev->value;
            return 0;
        }
        for (unsigned i = 0; i < ed->n_values; i++)
            suggest_consider(&s, name, n, ed->values[i].name);
        if (suggest_result(&s, n) != NULL)
            snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", suggest_result(&s, n));
        quote(q, sizeof(q), name, n);
        enum_names(ed, names, sizeof(names));
        set_error(c, "unknown value %s for %s%s; valid: %s", q, ed->name, hint, names);
        return -1;
    }
    if (!json_is_integer(v) && !json_is_real(v))
        return type_error(c, "an enum name or number", v);
    if (get_integer(c, v, PROTOBUF_C_TYPE_ENUM, 0, &b) != 0)
        return -1;
    *out = (int)bigint_signed(&b);
    return 0;
}

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/*
 * Decodes base64 (standard or URL-safe alphabet; padding optional, but if present the length is
 * a multiple of 4). Returns 0, -1 with *bad at the offending offset, or -2 when out of memory.
 * Empty input gives data NULL, len 0.
 */
static int b64_decode(const char *s, size_t n, ProtobufCBinaryData *out, size_t *bad)
{
    size_t end = n;
    size_t olen, j = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    uint8_t *buf;

    out->data = NULL;
    out->len = 0;
    if (end > 0 && s[end - 1] == '=') {
        end--;
        if (end > 0 && s[end - 1] == '=')
            end--;
        if (n % 4 != 0) {
            *bad = end;
            return -1;
        }
    }
    if (end % 4 == 1) {
        *bad = end - 1;
        return -1;
    }
    olen = end / 4 * 3 + (end % 4 ? end % 4 - 1 : 0);
    if (olen == 0)
        return 0;
    buf = malloc(olen);
    if (buf == NULL)
        return -2;
    for (size_t i = 0; i < end; i++) {
        int val = b64_value((unsigned char)s[i]);

        if (val < 0) {
            free(buf);
            *bad = i;
            return -1;
        }
        acc = (acc << 6) | (uint32_t)val;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[j++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    out->data = buf;
    out->len = olen;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------------- */

static ProtobufCMessage *parse_message(struct pctx *c, const ProtobufCMessageDescriptor *d,
                                       const json_t *v);

/* Bytes one element of a repeated field of type t takes in its array. */
static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/*
 * Converts one JSON value (never an array for the field itself: elements come one by one) to the
 * field's type and stores it at slot, which is the field's member or an element of its array.
 * Pointers (strings, bytes, sub-messages) are stored only once complete, so that on failure slot
 * is unchanged and nothing is left to free.
 */
static int parse_value(struct pctx *c, const ProtobufCFieldDescriptor *f, const json_t *v,
                       void *slot)
{
    struct bigint b;
    double d;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (get_integer(c, v, f->type, 1, &b) != 0)
            return -1;
        *(int32_t *)slot = (int32_t)bigint_signed(&b);
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (get_integer(c, v, f->type, 1, &b) != 0)
            return -1;
        *(int64_t *)slot = bigint_signed(&b);
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (get_integer(c, v, f->type, 1, &b) != 0)
            return -1;
        *(uint32_t *)slot = (uint32_t)b.mag;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (get_integer(c, v, f->type, 1, &b) != 0)
            return -1;
        *(uint64_t *)slot = b.mag;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (get_double(c, v, f->type, &d) != 0)
            return -1;
        *(float *)slot = (float)d;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (get_double(c, v, f->type, &d) != 0)
            return -1;
        *(double *)slot = d;
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return type_error(c, "true or false", v);
        *(protobuf_c_boolean *)slot = json_is_true(v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return get_enum(c, f, v, (int *)slot);
    case PROTOBUF_C_TYPE_STRING: {
        size_t n;
        char *s;

        if (!json_is_string(v))
            return type_error(c, "a string", v);
        n = json_string_length(v);
        if (memchr(json_string_value(v), '\0', n) != NULL) {
            set_error(c, "string contains a NUL character (\\u0000)");
            return -1;
        }
        s = malloc(n + 1);
        if (s == NULL) {
            set_error(c, "out of memory");
            return -1;
        }
        memcpy(s, json_string_value(v), n + 1);
        *(char **)slot = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData bd;
        size_t bad = 0;
        int rc;

        if (!json_is_string(v))
            return type_error(c, "a base64 string", v);
        rc = b64_decode(json_string_value(v), json_string_length(v), &bd, &bad);
        if (rc == -2) {
            set_error(c, "out of memory");
            return -1;
        }
        if (rc != 0) {
            set_error(c, "invalid base64 at offset %zu", bad);
            return -1;
        }
        *(ProtobufCBinaryData *)slot = bd;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = parse_message(c, f->descriptor, v);

        if (sub == NULL)
            return -1;
        *(ProtobufCMessage **)slot = sub;
        return 0;
    }
    }
    set_error(c, "unsupported field type %d", (int)f->type);
    return -1;
}

/* Fills a repeated field from a JSON array; see the layout notes at the top of the file. */
static int parse_repeated(struct pctx *c, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                          const json_t *v)
{
    char *base = (char *)msg;
    size_t n, esz = elem_size(f->type);
    size_t *count = (size_t *)(void *)(base + f->quantifier_offset);
    char *arr;

    if (!json_is_array(v))
        return type_error(c, "an array", v);
    n = json_array_size(v);
    if (n == 0)
        return 0;
    arr = calloc(n, esz);
    if (arr == NULL) {
        set_error(c, "out of memory");
        return -1;
    }
    *(void **)(void *)(base + f->offset) = arr;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_push_index(c, i);
        int rc = parse_value(c, f, json_array_get(v, i), arr + i * esz);

        path_pop(c, mark);
        if (rc != 0)
            return -1;
        (*count)++;
    }
    return 0;
}

static const ProtobufCFieldDescriptor *find_field_by_id(const ProtobufCMessageDescriptor *d,
                                                        uint32_t id)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (d->fields[i].id == id)
            return &d->fields[i];
    }
    return NULL;
}

/*
 * Whether f is a proto2-style optional field with a has_ flag: scalars and bytes, not strings or
 * messages (whose presence is the pointer). quantifier_offset 0 is how protobuf-c itself tells
 * that there is no flag.
 */
static int has_flag(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE &&
           f->quantifier_offset != 0;
}

/* Sets one field (v not null), including the oneof case or proto2 has_ flag. */
static int parse_field(struct pctx *c, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                       const json_t *v)
{
    char *base = (char *)msg;

    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return parse_repeated(c, msg, f, v);

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *oneof_case = (uint32_t *)(void *)(base + f->quantifier_offset);

        if (*oneof_case != 0 && *oneof_case != f->id) {
            const ProtobufCFieldDescriptor *other = find_field_by_id(msg->descriptor, *oneof_case);

            set_error(c, "\"%s\" and \"%s\" are members of one oneof: set only one", f->name,
                      other != NULL ? other->name : "?");
            return -1;
        }
        if (parse_value(c, f, v, base + f->offset) != 0)
            return -1;
        *oneof_case = f->id;
        return 0;
    }
    if (parse_value(c, f, v, base + f->offset) != 0)
        return -1;
    if (has_flag(f))
        *(protobuf_c_boolean *)(void *)(base + f->quantifier_offset) = 1;
    return 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
                                                  const char *key, size_t klen)
{
    if (strlen(key) != klen) /* a key with a NUL in it names no field */
        return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (strcmp(d->fields[i].name, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

static void unknown_field_error(struct pctx *c, const ProtobufCMessageDescriptor *d,
                                const char *key, size_t klen)
{
    char q[QUOTE_MAX * 4 + 8];
    char hint[EDIT_MAX + 32] = "";
    struct suggestion s = {NULL, 0};
    const char *best;

    for (unsigned i = 0; i < d->n_fields; i++)
        suggest_consider(&s, key, klen, d->fields[i].name);
    best = suggest_result(&s, klen);
    if (best != NULL)
        snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", best);
    quote(q, sizeof(q), key, klen);
    set_error(c, "unknown field %s in %s%s", q, d->name, hint);
}

/*
 * Builds a message of type d from the JSON object v. Returns NULL after reporting the error; the
 * partial message is freed with protobuf_c_message_free_unpacked, which the layout rules at the
 * top of the file make safe at any point.
 */
static ProtobufCMessage *parse_message(struct pctx *c, const ProtobufCMessageDescriptor *d,
                                       const json_t *v)
{
    ProtobufCMessage *msg;
    const char *key;
    size_t klen;
    json_t *val;
    char expected[160];

    if (!json_is_object(v)) {
        snprintf(expected, sizeof(expected), "an object (%s)", d->name);
        type_error(c, expected, v);
        return NULL;
    }
    msg = malloc(d->sizeof_message);
    if (msg == NULL) {
        set_error(c, "out of memory");
        return NULL;
    }
    d->message_init(msg);

    /* jansson's iterator API takes a non-const object but does not modify it. */
    json_object_keylen_foreach((json_t *)v, key, klen, val)
    {
        const ProtobufCFieldDescriptor *f = find_field(d, key, klen);
        size_t mark;
        int rc;

        if (f == NULL) {
            unknown_field_error(c, d, key, klen);
            goto fail;
        }
        if (json_is_null(val))
            continue;
        mark = path_push_name(c, f->name);
        rc = parse_field(c, msg, f, val);
        path_pop(c, mark);
        if (rc != 0)
            goto fail;
    }
    return msg;

fail:
    protobuf_c_message_free_unpacked(msg, NULL);
    return NULL;
}

ProtobufCMessage *pbjson_parse(const ProtobufCMessageDescriptor *d, const json_t *obj, char *err,
                               size_t errlen)
{
    struct pctx c;

    memset(&c, 0, sizeof(c));
    c.err = err;
    c.errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (d == NULL || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) {
        set_error(&c, "not a protobuf-c message descriptor");
        return NULL;
    }
    if (obj == NULL) {
        set_error(&c, "no JSON value");
        return NULL;
    }
    return parse_message(&c, d, obj);
}

ProtobufCMessage *pbjson_parse_str(const ProtobufCMessageDescriptor *d, const char *text, char *err,
                                   size_t errlen)
{
    struct pctx c;
    json_error_t je;
    json_t *root;
    ProtobufCMessage *msg;

    memset(&c, 0, sizeof(c));
    c.err = err;
    c.errlen = errlen;
    if (text == NULL) {
        set_error(&c, "no JSON text");
        return NULL;
    }
    /* NUL is let through so that the field it is in can be named in the error. */
    root = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (root == NULL) {
        set_error(&c, "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    msg = pbjson_parse(d, root, err, errlen);
    json_decref(root);
    return msg;
}

/* ---------------------------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (jansson's rules: no overlongs or surrogates), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    uint32_t cp;
    size_t need;

    if (s[0] < 0x80)
        return 1;
    if (s[0] < 0xC2)
        return 0;
    if (s[0] < 0xE0) {
        need = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] < 0xF0) {
        need = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] < 0xF5) {
        need = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (avail < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

/* A JSON string for s; bytes that are not UTF-8 (a decoded message may hold any) become U+FFFD. */
static json_t *string_to_json(const char *s)
{
    json_t *j = json_string(s);
    size_t n, o = 0;
    char *clean;

    if (j != NULL)
        return j;
    n = strlen(s);
    clean = malloc(n * 3 + 1);
    if (clean == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq((const unsigned char *)s + i, n - i);

        if (len == 0) {
            memcpy(clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, s + i, len);
            o += len;
            i += len;
        }
    }
    clean[o] = '\0';
    j = json_string(clean);
    free(clean);
    return j;
}

static json_t *bytes_to_json(const ProtobufCBinaryData *bd)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen, o = 0, i = 0;
    char *out;
    json_t *j;

    if (bd->len > (SIZE_MAX / 4 - 1) * 3)
        return NULL;
    olen = (bd->len + 2) / 3 * 4;
    out = malloc(olen + 1);
    if (out == NULL)
        return NULL;
    for (; i + 2 < bd->len; i += 3) {
        uint32_t w =
            ((uint32_t)bd->data[i] << 16) | ((uint32_t)bd->data[i + 1] << 8) | bd->data[i + 2];

        out[o++] = tab[(w >> 18) & 63];
        out[o++] = tab[(w >> 12) & 63];
        out[o++] = tab[(w >> 6) & 63];
        out[o++] = tab[w & 63];
    }
    if (i < bd->len) {
        uint32_t w = (uint32_t)bd->data[i] << 16;

        if (i + 1 < bd->len)
            w |= (uint32_t)bd->data[i + 1] << 8;
        out[o++] = tab[(w >> 18) & 63];
        out[o++] = tab[(w >> 12) & 63];
        out[o++] = i + 1 < bd->len ? tab[(w >> 6) & 63] : '=';
        out[o++] = '=';
    }
    j = json_stringn(out, o);
    free(out);
    return j;
}

static json_t *double_to_json(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

static json_t *enum_to_json(const ProtobufCEnumDescriptor *ed, int v)
{
    for (unsigned i = 0; i < ed->n_values; i++) {
        if (ed->values[i].value == v)
            return json_string(ed->values[i].name);
    }
    return json_integer(v);
}

static json_t *message_to_json(const ProtobufCMessage *m, int defaults);

/* One value of field f read from slot (the member, or an element of a repeated field's array). */
static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *slot, int defaults)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)slot);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)slot);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t u = *(const uint64_t *)slot;
        char buf[24];

        if (u <= INT64_MAX)
            return json_integer((json_int_t)u);
        snprintf(buf, sizeof(buf), "%" PRIu64, u);
        return json_string(buf);
    }
    case PROTOBUF_C_TYPE_FLOAT:
        return double_to_json(*(const float *)slot);
    case PROTOBUF_C_TYPE_DOUBLE:
        return double_to_json(*(const double *)slot);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_ENUM:
        return enum_to_json(f->descriptor, *(const int *)slot);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)slot;

        return string_to_json(s != NULL ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_to_json(slot);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;

        return sub != NULL ? message_to_json(sub, defaults) : json_object();
    }
    }
    return NULL;
}

/* Whether a proto3 (LABEL_NONE) value is its type's default. */
static int is_default(const ProtobufCFieldDescriptor *f, const void *slot)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)slot == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)slot == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)slot == 0 && !signbit(*(const float *)slot);
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)slot == 0 && !signbit(*(const double *)slot);
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)slot == 0;
    case PROTOBUF_C_TYPE_ENUM:
        return *(const int *)slot == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)slot;

        return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)slot)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)slot == NULL;
    }
    return 1;
}

/* Whether a singular, non-oneof field is written (see pbjson_from_message in the header). */
static int is_emitted(const ProtobufCFieldDescriptor *f, const char *base, int defaults)
{
    const void *slot = base + f->offset;
    const void *ptr = NULL;

    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ptr = *(const void *const *)slot;
        if (ptr == NULL)
            return f->type == PROTOBUF_C_TYPE_STRING && f->label == PROTOBUF_C_LABEL_NONE &&
                   defaults;
    }
    switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
        return 1;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (defaults)
            return 1;
        if (f->type == PROTOBUF_C_TYPE_STRING)
            return ptr != f->default_value;
        if (!has_flag(f))
            return f->type == PROTOBUF_C_TYPE_MESSAGE || !is_default(f, slot);
        return *(const protobuf_c_boolean *)(const void *)(base + f->quantifier_offset);
    case PROTOBUF_C_LABEL_NONE:
    default:
        return defaults || !is_default(f, slot);
    }
}

static json_t *repeated_to_json(const ProtobufCFieldDescriptor *f, const char *base, int defaults)
{
    size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
    const char *arr = *(char *const *)(const void *)(base + f->offset);
    size_t esz = elem_size(f->type);
    json_t *a = json_array();

    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(a, value_to_json(f, arr + i * esz, defaults)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *message_to_json(const ProtobufCMessage *m, int defaults)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_t *val;

        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
                continue;
            val = value_to_json(f, base + f->offset, defaults);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (*(const size_t *)(const void *)(base + f->quantifier_offset) == 0 && !defaults)
                continue;
            val = repeated_to_json(f, base, defaults);
        } else {
            if (!is_emitted(f, base, defaults))
                continue;
            val = value_to_json(f, base + f->offset, defaults);
        }
        /* json_object_set_new takes val even when it fails, and fails on NULL. */
        if (json_object_set_new(obj, f->name, val) != 0)
            goto fail;
    }
    return obj;

fail:
    json_decref(obj);
    return NULL;
}

json_t *pbjson_from_message(const ProtobufCMessage *m, int include_defaults)
{
    if (m == NULL || m->descriptor == NULL ||
        m->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return NULL;
    return message_to_json(m, include_defaults != 0);
}
