/*
 * floorwalker sim: one store's run, simulated event by event on its own thread (sim_store.c).
 * Uses the chain (sim_chain.h) and, for --write, the batch writer (sim_write.h); sim.c starts
 * one run per store.
 */
#ifndef FW_SIM_STORE_H
#define FW_SIM_STORE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim_chain.h"
#include "sim_write.h"

/* The clock that paces compressed and live runs: model instant t is due at wall time
 * max(w0 + (t - t0) * k, t), so the calendar runs 1/k times faster than real time until it
 * catches up with the wall clock, and in real time from then on. */
struct sim_clock {
    int64_t t0, w0;
    double k; /* wall ms per model ms before catching up; 0 = at once */
};

struct sim_store_run {
    const struct sim_chain *c;
    unsigned idx;
    pthread_t th;
    bool started;
    int done;              /* set (atomically) when the thread has finished */
    int64_t progress_ms;   /* compressed: all events before this are spooled (atomic) */
    uint64_t budget;       /* events to send; UINT64_MAX = until the clock reaches now / stop */
    double rate;           /* paced: this store's share of --rate */
    double wall_per_model; /* paced/fast: to place shift times on the wall clock */
    const struct sim_clock *clock;
    int64_t first_ms; /* model time of its first action */
    struct simw *w;
    const fw_stop_flag *stop;
    /* results */
    uint64_t by_kind[SIM_NKINDS];
    uint64_t sent, rejected, spool_left, resends;
    int64_t net_cents;
    int64_t last_model_ms; /* model time reached (for the report) */
    int err;
    bool hit_now; /* a --write of the calendar stopped at the present */
};

void *sim_store_main(void *arg);
/* The model instant a store starts at: its last 04:00 local at or before the chain's start. */
int64_t sim_store_first_ms(const struct sim_chain *c, unsigned idx, int64_t start_ms);
/* Fast and paced runs simulate a fixed calendar from this day (Monday 2024-01-01), so that
 * what they send does not depend on the date they run; the events carry the wall clock. */
#define SIM_SYNTHETIC_DAY0 19723

#endif
