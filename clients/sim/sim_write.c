#include "sim_write.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwcommon.h"

#define QSLOTS 4 /* records a producer may have queued */

struct rec {
    uint8_t *p;
    size_t len, cap;
};

struct producer {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a slot was filled, freed, or the producer is done */
    struct rec q[QSLOTS];
    unsigned head, count; /* next slot to fill is (head + count) % QSLOTS */
    bool done;
};

struct simw {
    FILE *f;
    char *path;
    unsigned np;
    struct producer *p;
    pthread_t th;
    int err;
    uint64_t records, bytes;
};

uint64_t simw_epoch(uint64_t seed)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    z >>= 1;
    return z ? z : 1;
}

static void *writer_main(void *arg)
{
    struct simw *w = arg;
    unsigned active = w->np;
    bool *gone = calloc(w->np ? w->np : 1, sizeof *gone);
    if (!gone) {
        w->err = FW_ENOMEM;
        active = 0; /* producers are still drained below */
    }
    while (active) {
        for (unsigned i = 0; i < w->np; i++) {
            if (gone[i])
                continue;
            struct producer *p = &w->p[i];
            pthread_mutex_lock(&p->lock);
            while (!p->count && !p->done)
                pthread_cond_wait(&p->cond, &p->lock);
            if (!p->count) {
                pthread_mutex_unlock(&p->lock);
                gone[i] = true;
                active--;
                continue;
            }
            struct rec *r = &p->q[p->head];
            pthread_mutex_unlock(&p->lock);
            /* The slot is the writer's until count drops: write without the lock. */
            if (!w->err && fwrite(r->p, 1, r->len, w->f) != r->len)
                w->err = fw_err_from_errno(errno ? errno : EIO);
            w->records++;
            w->bytes += r->len;
            pthread_mutex_lock(&p->lock);
            p->head = (p->head + 1) % QSLOTS;
            p->count--;
            pthread_cond_broadcast(&p->cond);
            pthread_mutex_unlock(&p->lock);
        }
    }
    if (!gone) {
        /* Out of memory at the start: keep producers from blocking forever. */
        for (unsigned i = 0; i < w->np; i++) {
            struct producer *p = &w->p[i];
            pthread_mutex_lock(&p->lock);
            while (p->count || !p->done) {
                if (p->count) {
                    p->head = (p->head + 1) % QSLOTS;
                    p->count--;
                    pthread_cond_broadcast(&p->cond);
                } else {
                    pthread_cond_wait(&p->cond, &p->lock);
                }
            }
            pthread_mutex_unlock(&p->lock);
        }
    }
    free(gone);
    return NULL;
}

int simw_open(struct simw **out, const char *path, unsigned nproducers)
{
    struct simw *w = calloc(1, sizeof *w);
    if (!w)
        return FW_ENOMEM;
    w->np = nproducers;
    w->p = calloc(nproducers ? nproducers : 1, sizeof *w->p);
    w->path = strdup(path);
    if (!w->p || !w->path)
        goto nomem;
    w->f = fopen(path, "wb");
    if (!w->f) {
        int e = fw_err_from_errno(errno);
        free(w->p);
        free(w->path);
        free(w);
        return e;
    }
    setvbuf(w->f, NULL, _IOFBF, 1 << 22);
    for (unsigned i = 0; i < nproducers; i++) {
        pthread_mutex_init(&w->p[i].lock, NULL);
        pthread_cond_init(&w->p[i].cond, NULL);
    }
    if (pthread_create(&w->th, NULL, writer_main, w)) {
        fclose(w->f);
        goto nomem;
    }
    *out = w;
    return FW_OK;
nomem:
    free(w->p);
    free(w->path);
    free(w);
    return FW_ENOMEM;
}

/* Queues the record in b (length prefix filled in here) and empties b. */
static int put(struct simw *w, unsigned pi, struct simw_batch *b)
{
    struct producer *p = &w->p[pi];
    uint32_t n = (uint32_t)(b->len - 4);
    b->buf[0] = (uint8_t)n;
    b->buf[1] = (uint8_t)(n >> 8);
    b->buf[2] = (uint8_t)(n >> 16);
    b->buf[3] = (uint8_t)(n >> 24);
    pthread_mutex_lock(&p->lock);
    while (p->count == QSLOTS)
        pthread_cond_wait(&p->cond, &p->lock);
    struct rec *r = &p->q[(p->head + p->count) % QSLOTS];
    pthread_mutex_unlock(&p->lock);
    /* Swap buffers instead of copying: the slot's old buffer becomes the batch's. */
    uint8_t *tp = r->p;
    size_t tc = r->cap;
    r->p = b->buf;
    r->cap = b->cap;
    r->len = b->len;
    b->buf = tp;
    b->cap = tc;
    b->len = 0;
    b->n = 0;
    pthread_mutex_lock(&p->lock);
    p->count++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return FW_OK;
}

static int reserve(struct simw_batch *b, size_t need)
{
    if (need <= b->cap)
        return FW_OK;
    size_t n = b->cap ? b->cap : 65536;
    while (n < need)
        n *= 2;
    uint8_t *nb = realloc(b->buf, n);
    if (!nb)
        return FW_ENOMEM;
    b->buf = nb;
    b->cap = n;
    return FW_OK;
}

int simw_add(struct simw *w, unsigned p, struct simw_batch *b, const Floorwalker__Event *e,
             unsigned batch_max)
{
    size_t len = floorwalker__event__get_packed_size(e);
    size_t need = fw_batch_elem_size(len);
    if (b->n && b->len - 4 + need > SIMW_BATCH_BYTES_MAX) {
        int rc = put(w, p, b);
        if (rc)
            return rc;
    }
    if (b->len == 0)
        b->len = 4;
    if (reserve(b, b->len + need))
        return FW_ENOMEM;
    uint8_t *o = b->buf + b->len;
    size_t h = 0;
    o[h++] = (1 << 3) | 2; /* EventBatch.events: field 1, length-delimited */
    h += fw_varint_put(o + h, len);
    floorwalker__event__pack(e, o + h);
    b->len += h + len;
    if (++b->n >= batch_max)
        return put(w, p, b);
    return FW_OK;
}

int simw_flush(struct simw *w, unsigned p, struct simw_batch *b)
{
    return b->n ? put(w, p, b) : FW_OK;
}

void simw_batch_free(struct simw_batch *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}

void simw_done(struct simw *w, unsigned pi)
{
    struct producer *p = &w->p[pi];
    pthread_mutex_lock(&p->lock);
    p->done = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int simw_close(struct simw **pw, uint64_t *records, uint64_t *bytes)
{
    struct simw *w = *pw;
    if (!w)
        return FW_OK;
    pthread_join(w->th, NULL);
    int err = w->err;
    if (fflush(w->f) != 0 && !err)
        err = fw_err_from_errno(errno);
    if (fclose(w->f) != 0 && !err)
        err = fw_err_from_errno(errno);
    for (unsigned i = 0; i < w->np; i++) {
        for (unsigned j = 0; j < QSLOTS; j++)
            free(w->p[i].q[j].p);
        pthread_mutex_destroy(&w->p[i].lock);
        pthread_cond_destroy(&w->p[i].cond);
    }
    if (records)
        *records = w->records;
    if (bytes)
        *bytes = w->bytes;
    free(w->p);
    free(w->path);
    free(w);
    *pw = NULL;
    return err;
}
