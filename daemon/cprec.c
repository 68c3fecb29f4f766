#include "cprec.h"

#include <string.h>

size_t cprec_put(uint8_t *out, const uint8_t *key, uint8_t klen, const uint8_t *val, uint8_t vlen)
{
    out[0] = klen;
    out[1] = vlen;
    memcpy(out + 2, key, klen);
    memcpy(out + 2 + klen, val, vlen);
    return 2u + klen + vlen;
}

int cprec_next(const uint8_t *rec, size_t len, size_t *at, struct cprec *out)
{
    size_t i = *at;
    if (i >= len)
        return 0;
    if (len - i < 2 || !rec[i] || len - i - 2 < (size_t)rec[i] + rec[i + 1])
        return -1;
    out->klen = rec[i];
    out->vlen = rec[i + 1];
    out->key = rec + i + 2;
    out->val = out->key + out->klen;
    *at = i + 2 + out->klen + out->vlen;
    return 1;
}

static uint64_t key_be64(const uint8_t *k, size_t klen, size_t at)
{
    uint64_t v = 0;
    for (size_t i = at; i < at + 8; i++)
        v = v << 8 | (i < klen ? k[i] : 0);
    return v;
}

/* The entries by (a, b), a byte at a time from the last (LSD radix, stable; a byte all of them
 * share is skipped: a cell's type, store and day often are). Returns where they ended up, e or
 * tmp. */
static struct cprec_ent *radix_sort(struct cprec_ent *e, struct cprec_ent *tmp, size_t n)
{
    for (unsigned pass = 0; n && pass < 16; pass++) {
        unsigned shift = (pass % 8) * 8;
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[((pass < 8 ? e[i].b : e[i].a) >> shift) & 0xff]++;
        if (count[((pass < 8 ? e[0].b : e[0].a) >> shift) & 0xff] == n)
            continue;
        size_t at = 0;
        for (unsigned d = 0; d < 256; d++) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[((pass < 8 ? e[i].b : e[i].a) >> shift) & 0xff]++] = e[i];
        struct cprec_ent *x = e;
        e = tmp;
        tmp = x;
    }
    return e;
}

void cprec_sort(const uint8_t *in, size_t len, size_t n, uint8_t *out, struct cprec_ent *ents)
{
    size_t k = 0;
    for (size_t at = CPREC_HDR; at < len && k < n; k++) {
        const uint8_t *p = in + at;
        ents[k] = (struct cprec_ent){key_be64(p + 2, p[0], 0), key_be64(p + 2, p[0], 8), p};
        at += 2u + p[0] + p[1];
    }
    const struct cprec_ent *sorted = radix_sort(ents, ents + n, k);
    memcpy(out, in, CPREC_HDR);
    size_t at = CPREC_HDR;
    for (size_t i = 0; i < k; i++) {
        const uint8_t *p = sorted[i].rec;
        size_t l = 2u + p[0] + p[1];
        memcpy(out + at, p, l);
        at += l;
    }
}
