#include "fwcommon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <time.h>

static const char *const fw_err_names[FW_ERR_COUNT] = {
    [FW_OK] = "ok",
    [FW_ENOMEM] = "out of memory",
    [FW_EINVAL] = "invalid argument",
    [FW_ENOTFOUND] = "not found",
    [FW_EIO] = "I/O error",
    [FW_EMAPFULL] = "database map full",
    [FW_ENOSPC] = "no space left on device",
    [FW_EAGAIN] = "try again",
    [FW_ETIMEDOUT] = "timed out",
    [FW_EPROTO] = "protocol error",
    [FW_ECORRUPT] = "stored data is corrupt",
    [FW_ECONFIG] = "configuration error",
    [FW_ESTATE] = "wrong state",
};

const char *fw_strerror(fw_err e)
{
    if ((unsigned)e >= FW_ERR_COUNT || !fw_err_names[e])
        return "unknown error";
    return fw_err_names[e];
}

fw_err fw_err_from_errno(int e)
{
    switch (e) {
    case 0:
        return FW_OK;
    case ENOMEM:
        return FW_ENOMEM;
    case ENOSPC:
    case EDQUOT:
        return FW_ENOSPC;
    case EAGAIN:
        return FW_EAGAIN;
    case ETIMEDOUT:
        return FW_ETIMEDOUT;
    case ENOENT:
        return FW_ENOTFOUND;
    case EINVAL:
        return FW_EINVAL;
    default:
        return FW_EIO;
    }
}

char *fw_quote(char *out, size_t outlen, const char *s, size_t max)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    if (!s)
        s = "";
    for (; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
        size_t need = plain ? 1 : 4;
        if (o + need + 3 >= outlen) /* keep room for "..." and the NUL */
            break;
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hx[c >> 4];
            out[o++] = hx[c & 15];
        }
    }
    if (outlen < 4) { /* no room for anything */
        if (outlen)
            out[0] = 0;
        return out;
    }
    if (s[i]) { /* the loop left room for it */
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
    return out;
}

/* The bytes an id may hold: letters, digits, '_', '.', '-'. A table, since every event's ids
 * are checked on the daemon's loop (a chain of range tests was 2% of it). */
static const bool id_byte[256] = {
    ['-'] = true, ['.'] = true, ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true,
    ['4'] = true, ['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
    ['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true,
    ['G'] = true, ['H'] = true, ['I'] = true, ['J'] = true, ['K'] = true, ['L'] = true,
    ['M'] = true, ['N'] = true, ['O'] = true, ['P'] = true, ['Q'] = true, ['R'] = true,
    ['S'] = true, ['T'] = true, ['U'] = true, ['V'] = true, ['W'] = true, ['X'] = true,
    ['Y'] = true, ['Z'] = true, ['_'] = true, ['a'] = true, ['b'] = true, ['c'] = true,
    ['d'] = true, ['e'] = true, ['f'] = true, ['g'] = true, ['h'] = true, ['i'] = true,
    ['j'] = true, ['k'] = true, ['l'] = true, ['m'] = true, ['n'] = true, ['o'] = true,
    ['p'] = true, ['q'] = true, ['r'] = true, ['s'] = true, ['t'] = true, ['u'] = true,
    ['v'] = true, ['w'] = true, ['x'] = true, ['y'] = true, ['z'] = true,
};

bool fw_id_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= FW_ID_MAX || !id_byte[(unsigned char)s[n]])
            return false;
    return n > 0;
}

int64_t fw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t fw_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t fw_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t fw_batch_elem_size(size_t len)
{
    return 1 + varint_len(len) + len;
}

size_t fw_batch_elem_put(uint8_t *out, const uint8_t *ev, size_t len)
{
    size_t n = 0;
    out[n++] = (1 << 3) | 2; /* field 1, wire type LEN */
    n += fw_varint_put(out + n, len);
    memcpy(out + n, ev, len);
    return n + len;
}

/* Reads a varint at *pos; false if it runs past end or is longer than 10 bytes. */
static bool varint_get(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*pos >= len)
            return false;
        uint8_t b = buf[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

long fw_batch_split(const uint8_t *buf, size_t len, struct fw_slice *out, size_t max)
{
    size_t pos = 0;
    long n = 0;
    while (pos < len) {
        uint64_t tag, v;
        if (!varint_get(buf, len, &pos, &tag))
            return -1;
        uint64_t field = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        if (field == 0 || field > 536870911u) /* protobuf field numbers are 1..2^29-1 */
            return -1;
        switch (wt) {
        case 0:
            if (!varint_get(buf, len, &pos, &v))
                return -1;
            break;
        case 1:
            if (len - pos < 8)
                return -1;
            pos += 8;
            break;
        case 5:
            if (len - pos < 4)
                return -1;
            pos += 4;
            break;
        case 2:
            if (!varint_get(buf, len, &pos, &v) || v > len - pos)
                return -1;
            if (field == 1) {
                if ((size_t)n < max) {
                    out[n].p = buf + pos;
                    out[n].len = (size_t)v;
                }
                n++;
            }
            pos += (size_t)v;
            break;
        default:
            return -1;
        }
    }
    return n;
}

size_t fw_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

int fw_mkdir_p(const char *dir, unsigned mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}
