/* A growing array, the one way the daemon's modules make room in theirs. */
#ifndef FW_GROW_H
#define FW_GROW_H

#include <stddef.h>
#include <stdlib.h>

/* Room for `need` elements of `elem` bytes in array p of capacity *cap, doubling from 64.
 * Returns the array (moved or not), *cap updated; NULL when out of memory (p and *cap are
 * left as they were). */
static inline void *grow_array(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

/* grow_array for an array whose contents are not kept (a realloc would copy them for nothing):
 * when it must grow, p is freed and a new one taken. NULL when out of memory (p freed, *cap 0). */
static inline void *grow_array_fresh(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    free(p);
    *cap = 0;
    return grow_array(NULL, cap, need, elem);
}

#endif
