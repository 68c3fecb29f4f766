/*
 * Unit tests for daemon/cprec.c, a rollup checkpoint's snapshot as bytes: records written and
 * walked back, a damaged copy refused wherever it is cut, and the sort the staging job uses:
 * every record kept once, in the order of the keys' first 16 bytes (LMDB's order, bytes then
 * length), records equal there in their order before. Expected orders come from memcmp, not
 * from the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cprec.h"

/* Keys from few bytes (0, 1, 'a', 0xff) so that many share prefixes and some share all of
 * their first 16 bytes; lengths 1..40, across the 8- and 16-byte edges. */
static size_t random_key(uint8_t *k)
{
    static const uint8_t alphabet[] = {0, 1, 'a', 0xff};
    size_t len = 1 + (size_t)rand() % 40;
    for (size_t i = 0; i < len; i++)
        k[i] = alphabet[i < 6 ? (size_t)rand() % 2 : (size_t)rand() % 4];
    return len;
}

/* LMDB's default order of two keys. */
static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* The first 16 bytes of a key, zero-padded: what the sort orders by. */
static void prefix16(const uint8_t *k, size_t kl, uint8_t out[16])
{
    memset(out, 0, 16);
    memcpy(out, k, kl < 16 ? kl : 16);
}

#define N 5000

static void test_sort(void **state)
{
    srand(7);
    size_t cap = CPREC_HDR + N * (2 + 255 + 255);
    uint8_t *in = malloc(cap), *out = malloc(cap);
    struct cprec_ent *ents = malloc(2 * N * sizeof *ents);
    assert_true(in && out && ents);
    memcpy(in, "POSITION", CPREC_HDR);
    size_t len = CPREC_HDR;
    for (uint32_t i = 0; i < N; i++) {
        uint8_t k[64], v[8];
        size_t kl = random_key(k);
        memcpy(v, &i, sizeof i); /* the value says the record's place in the input */
        len += cprec_put(in + len, k, (uint8_t)kl, v, (uint8_t)(4 + i % 5));
    }
    cprec_sort(in, len, N, out, ents);
    assert_memory_equal(out, "POSITION", CPREC_HDR);

    bool seen[N] = {false};
    size_t at = CPREC_HDR, n = 0;
    struct cprec c, prev = {0};
    uint32_t prev_i = 0;
    int got;
    while ((got = cprec_next(out, len, &at, &c)) == 1) {
        uint32_t i;
        assert_true(c.vlen >= 4);
        memcpy(&i, c.val, sizeof i);
        assert_true(i < N);
        assert_false(seen[i]);
        seen[i] = true;
        assert_int_equal(c.vlen, 4 + i % 5);
        if (n) {
            uint8_t p1[16], p2[16];
            prefix16(prev.key, prev.klen, p1);
            prefix16(c.key, c.klen, p2);
            int o = memcmp(p1, p2, 16);
            assert_true(o <= 0);
            if (o == 0)
                assert_true(prev_i < i); /* stable */
            else /* differing in their first 16 bytes, zero-padded: LMDB's order too */
                assert_true(key_cmp(prev.key, prev.klen, c.key, c.klen) < 0);
        }
        prev = c;
        prev_i = i;
        n++;
    }
    assert_int_equal(got, 0);
    assert_int_equal(n, N);
    assert_int_equal(at, len);
    free(in);
    free(out);
    free(ents);
}

/* Keys that differ only after their first 16 bytes keep their order; keys that differ in
 * them come in LMDB's order, whatever their lengths. */
static void test_sort_small(void **state)
{
    const char *keys[] = {"b", "a\xff", "a", "0123456789abcdefZ", "0123456789abcdefA", "a\0"};
    const size_t lens[] = {1, 2, 1, 17, 17, 2};
    const char *want[] = {"0123456789abcdefZ", "0123456789abcdefA", "a", "a\0", "a\xff", "b"};
    const size_t wlens[] = {17, 17, 1, 2, 2, 1};
    uint8_t in[256], out[256];
    struct cprec_ent ents[12];
    memset(in, 0, CPREC_HDR);
    size_t len = CPREC_HDR;
    for (size_t i = 0; i < 6; i++)
        len += cprec_put(in + len, (const uint8_t *)keys[i], (uint8_t)lens[i], (const uint8_t *)"v",
                         1);
    cprec_sort(in, len, 6, out, ents);
    size_t at = CPREC_HDR;
    struct cprec c;
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(cprec_next(out, len, &at, &c), 1);
        assert_int_equal(c.klen, wlens[i]);
        assert_memory_equal(c.key, want[i], wlens[i]);
    }
    assert_int_equal(cprec_next(out, len, &at, &c), 0);
}

/* A copy cut anywhere inside a record, or with an empty key, is refused there. */
static void test_damaged(void **state)
{
    uint8_t buf[64];
    memset(buf, 0, CPREC_HDR);
    size_t len = CPREC_HDR;
    len += cprec_put(buf + len, (const uint8_t *)"key", 3, (const uint8_t *)"value", 5);
    size_t whole = len;
    len += cprec_put(buf + len, (const uint8_t *)"k2", 2, (const uint8_t *)"v2", 2);
    struct cprec c;
    for (size_t cut = whole + 1; cut < len; cut++) {
        size_t at = CPREC_HDR;
        assert_int_equal(cprec_next(buf, cut, &at, &c), 1);
        assert_memory_equal(c.key, "key", 3);
        assert_memory_equal(c.val, "value", 5);
        assert_int_equal(cprec_next(buf, cut, &at, &c), -1);
    }
    size_t at = whole;
    buf[whole] = 0; /* an empty key */
    assert_int_equal(cprec_next(buf, len, &at, &c), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_sort_small),
        cmocka_unit_test(test_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
