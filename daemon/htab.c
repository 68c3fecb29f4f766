#include "htab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct slot {
    char *key;
    void *val;
    uint64_t hash;
};

struct htab {
    struct slot *slots;
    size_t cap, count;
    struct slot *last; /* the last slot htab_get found: lookups often repeat the one before
                        * (a batch's events share a store and a terminal), and a string
                        * comparison is cheaper than hashing the key */
};

static uint64_t hash_of(const char *s)
{
    return fw_hash(s, strlen(s));
}

struct htab *htab_new(void)
{
    struct htab *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->cap = 64;
    h->slots = calloc(h->cap, sizeof *h->slots);
    if (!h->slots) {
        free(h);
        return NULL;
    }
    return h;
}

static struct slot *find(const struct htab *h, const char *key, uint64_t hash)
{
    size_t mask = h->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct slot *s = &h->slots[i];
        if (!s->key || (s->hash == hash && !strcmp(s->key, key)))
            return s;
    }
}

void *htab_get(struct htab *h, const char *key)
{
    if (h->last && !strcmp(h->last->key, key))
        return h->last->val;
    struct slot *s = find(h, key, hash_of(key));
    if (!s->key)
        return NULL;
    h->last = s;
    return s->val;
}

static int grow(struct htab *h)
{
    struct htab n = {.cap = h->cap * 2};
    n.slots = calloc(n.cap, sizeof *n.slots);
    if (!n.slots)
        return -1;
    for (size_t i = 0; i < h->cap; i++)
        if (h->slots[i].key)
            *find(&n, h->slots[i].key, h->slots[i].hash) = h->slots[i];
    free(h->slots);
    h->slots = n.slots;
    h->cap = n.cap;
    h->last = NULL;
    return 0;
}

int htab_put(struct htab *h, const char *key, void *val)
{
    if ((h->count + 1) * 4 > h->cap * 3 && grow(h) != 0)
        return -1;
    uint64_t hash = hash_of(key);
    struct slot *s = find(h, key, hash);
    if (!s->key) {
        s->key = strdup(key);
        if (!s->key)
            return -1;
        s->hash = hash;
        h->count++;
    }
    s->val = val;
    return 0;
}

size_t htab_count(const struct htab *h)
{
    return h->count;
}

void htab_foreach(struct htab *h, void (*fn)(const char *key, void *val, void *arg), void *arg)
{
    for (size_t i = 0; i < h->cap; i++)
        if (h->slots[i].key)
            fn(h->slots[i].key, h->slots[i].val, arg);
}

void htab_destroy(struct htab **ph, void (*freeval)(void *))
{
    struct htab *h = *ph;
    if (!h)
        return;
    for (size_t i = 0; i < h->cap; i++) {
        if (h->slots[i].key) {
            free(h->slots[i].key);
            if (freeval)
                freeval(h->slots[i].val);
        }
    }
    free(h->slots);
    free(h);
    *ph = NULL;
}
