/* The one hash of the daemon's in-memory tables (htab, the rollup's cell map): XXH3 from
 * xxHash, inlined, which hashes a 20-60 byte key several times faster than a byte-at-a-time
 * hash; the tables' lookups on the per-event path are most of its cost. */
#ifndef FW_HASH_H
#define FW_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t fw_hash(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

#endif
