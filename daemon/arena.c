#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (256 * 1024)
#define ARENA_SPARE_MAX 64 /* chunks kept across resets: 16 MiB, a pass of ~25,000 events */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    max_align_t data[];
};

static void *pb_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
}

void arena_init(struct arena *a, size_t limit)
{
    memset(a, 0, sizeof *a);
    a->limit = limit;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
}

void *arena_alloc(struct arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (a->limit && a->used_total + n > a->limit)
        return NULL;
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        if (size == ARENA_CHUNK && a->spare) {
            c = a->spare;
            a->spare = c->next;
            a->nspare--;
        } else if (!(c = malloc(sizeof *c + size))) {
            return NULL;
        }
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    a->used_total += n;
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        if (c->size == ARENA_CHUNK && a->nspare < ARENA_SPARE_MAX) {
            c->next = a->spare;
            a->spare = c;
            a->nspare++;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

bool arena_reserve(struct arena *a, size_t bytes)
{
    while (a->nspare < ARENA_SPARE_MAX && a->nspare * ARENA_CHUNK < bytes) {
        struct arena_chunk *c = malloc(sizeof *c + ARENA_CHUNK);
        if (!c)
            return false;
        memset(c, 0, sizeof *c + ARENA_CHUNK);
        c->size = ARENA_CHUNK;
        c->next = a->spare;
        a->spare = c;
        a->nspare++;
    }
    return true;
}

void arena_destroy(struct arena *a)
{
    arena_reset(a);
    for (struct arena_chunk *c = a->spare, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->spare = NULL;
    a->nspare = 0;
}
