/*
 * Shared pieces of the benchmark tools (tests/bench): the event stream file and small helpers.
 *
 * The stream file is what `floorwalker sim --write FILE` produces: records of a 4-byte
 * little-endian length followed by one encoded floorwalker.EventBatch, exactly the batches the
 * terminals would send (terminal_id, epoch and seq filled in, seq 1..n per terminal). The
 * ceiling tool, the PostgreSQL loader and the latency client all read it, so all three see the
 * same bytes.
 */
#ifndef FWB_H
#define FWB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fwb_batch {
    const uint8_t *data; /* the encoded EventBatch, inside the mapped file */
    size_t len;
    unsigned term; /* index into fwb_stream.terms */
    unsigned nev;
    uint64_t epoch, first_seq, last_seq;
};

struct fwb_stream {
    uint8_t *map;
    size_t size;
    struct fwb_batch *b; /* in file order */
    size_t nb;
    char **terms; /* terminal ids in order of first appearance */
    unsigned nterms;
    uint64_t events;
    size_t bytes; /* sum of batch lengths */
};

/* Maps and indexes the file; exits with a message naming the file if it is not a stream. */
void fwb_stream_open(struct fwb_stream *s, const char *path);
void fwb_stream_close(struct fwb_stream *s);

uint64_t fwb_now_ns(void);
void fwb_sleep_ns(uint64_t ns);
/* Prints "PROG: message" to stderr and exits 1. */
__attribute__((noreturn, format(printf, 1, 2))) void fwb_die(const char *fmt, ...);
/* Sorts v and returns the nearest-rank percentile p (0 < p <= 100). */
double fwb_pct_sorted(const double *v, size_t n, double p);
void fwb_sort(double *v, size_t n);
/* A terminal's DEALER on ctx connected to ep, LINGER 0; exits with a message on failure. */
void *fwb_dealer(void *ctx, const char *ep);

extern const char *fwb_prog;

#endif
