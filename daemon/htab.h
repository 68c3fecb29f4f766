/* A string-keyed open-addressing hash table (fw_hash, linear probing, no deletion). Values are
 * owned by the caller; keys are copied. */
#ifndef FW_HTAB_H
#define FW_HTAB_H

#include <stddef.h>

struct htab;

struct htab *htab_new(void);
/* Not const: it remembers the slot it found, for the next lookup of the same key. */
void *htab_get(struct htab *h, const char *key);
/* Inserts or replaces; returns 0, or -1 when out of memory. */
int htab_put(struct htab *h, const char *key, void *val) __attribute__((warn_unused_result));
size_t htab_count(const struct htab *h);
void htab_foreach(struct htab *h, void (*fn)(const char *key, void *val, void *arg), void *arg);
/* Frees the table and calls freeval (if not NULL) on each value. */
void htab_destroy(struct htab **h, void (*freeval)(void *));

#endif
