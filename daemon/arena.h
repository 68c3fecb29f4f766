/*
 * A bump allocator for per-pass data (decoded events, acks, reasons): allocation is a pointer
 * bump, free is a no-op, and arena_reset releases the lot at the end of a loop pass. It also
 * serves as protobuf-c's allocator, which bounds and speeds up unpacking.
 */
#ifndef FW_ARENA_H
#define FW_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
    struct arena_chunk *spare; /* chunks kept by arena_reset for the next passes */
    size_t nspare;
    size_t used_total;
    size_t limit;          /* arena_alloc fails past this many bytes; 0 = no limit */
    ProtobufCAllocator pb; /* pass &a->pb to protobuf-c unpack */
};

void arena_init(struct arena *a, size_t limit);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Releases everything for the next pass. The chunks are kept (up to ARENA_SPARE_MAX of them):
 * memory given back to the kernel and taken again costs a page fault per page on the next
 * pass, which on a VM was a tenth of the loop's time. */
void arena_reset(struct arena *a);
/* Takes `bytes` (up to the kept chunks' limit) into the kept chunks now, with their pages
 * touched: the first passes after a start would otherwise fault them in on the loop. False when
 * out of memory (the arena works all the same). */
bool arena_reserve(struct arena *a, size_t bytes);
void arena_destroy(struct arena *a);

#endif
