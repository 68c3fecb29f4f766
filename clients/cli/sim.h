/*
 * floorwalker sim: the pieces shared by its files (docs/SIM.md describes the model).
 *
 *   sim.c        command line, the run (threads, pacing clock, report), --print-config
 *   sim_chain.c  the chain's master data: regions and zones, stores, staff, catalogue
 *   sim_store.c  one store's day, simulated event by event (one thread per store)
 *   sim_write.c  --write: the batches the terminals would send, into a file
 *
 * Everything the model draws comes from generators seeded by --seed and the store, in an order
 * that never depends on thread timing or on the clock, so a seed and options give the same
 * events (only the times differ when the mode stamps events with the wall clock).
 */
#ifndef FW_SIM_H
#define FW_SIM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "floorwalker.h"
#include "sim_write.h"

#define SIM_NKINDS 8
enum { K_SALE, K_COMPLAINT, K_STOCK, K_ATTENDANCE, K_SHIFT, K_TARGET, K_DRAWER, K_HEARTBEAT };

enum sim_mode {
    SIM_FAST,       /* as fast as possible, events stamped with the wall clock */
    SIM_PACED,      /* --rate events/s over the chain, stamped with the wall clock */
    SIM_COMPRESSED, /* the simulated calendar, --day-seconds real seconds per day, up to now */
    SIM_LIVE        /* --mode paced without --rate: the simulated calendar in real time */
};

struct sim_opts {
    const char *endpoint, *spool_base, *write_path, *clock_ep;
    const char *key_dir; /* CurveZMQ: DIR/<terminal>.key, else DIR/<store>.key, per terminal */
    unsigned stores, terminals, regions, skus;
    unsigned chunk, batch_max, heartbeat_s;
    uint64_t events, seed;
    bool events_given, no_fsync, json, print_config;
    double rate; /* paced: events/s over the whole chain */
    enum sim_mode mode;
    int day_seconds, days, timeout_s;
};

/* ---- the chain (sim_chain.c) ---------------------------------------------------------------- */

#define SIM_MAX_LINES 40 /* lines in one basket, at most */

struct sim_zday {
    int64_t mid_ms;   /* UTC instant of local midnight */
    int32_t off0_s;   /* UTC offset at midnight ... */
    int32_t off1_s;   /* ... and after the day's transition, if any */
    int32_t trans_ms; /* local time of the transition (the old clock); INT32_MAX if none */
};

struct sim_zone {
    const char *name;
    struct sim_zday *d; /* days day0 .. day0 + ndays - 1 */
};

struct sim_sku {
    char id[12];
    uint8_t cat;
    bool weighed;        /* sold by weight: price per kg, qty in grams */
    int64_t price_cents; /* per unit, or per kg */
    int64_t cost_cents;
    int64_t case_milli;     /* deliveries come in multiples of this */
    double mean_qty_milli;  /* per line */
    double demand_per_line; /* popularity * mean qty: milli per basket line */
};

struct sim_emp {
    char id[16];
    uint8_t role; /* ROLE_* in sim_chain.c order: cashier, floor, supervisor */
};

enum { ROLE_CASHIER, ROLE_FLOOR, ROLE_SUPERVISOR };
extern const char *const sim_role_names[3];
/* Sales intensity by local hour, 1.0 = an average open hour. */
extern const double sim_hour_profile[24];
const char *sim_category_name(unsigned cat);

struct sim_store {
    char id[8];
    char name[48];
    unsigned region, zone;
    int open_min, close_min; /* local minutes; 0 and 1440 round the clock */
    double size;             /* sales volume relative to an average store */
    int64_t float_cents;     /* cash put in a drawer when it opens */
    int64_t pickup_cents;    /* a drawer holding more than this is picked up */
    int suspicious;          /* cashier index (in the pool) with many returns, or -1 */
    int skewed_terminal;     /* a terminal whose clock runs 2-4 minutes fast, or -1 */
    unsigned first_term;     /* index of its first terminal in the chain */
    /* staff: cashiers, then floor, then supervisors */
    struct sim_emp *emp;
    unsigned n_emp, n_cashier, n_floor, n_super;
    unsigned floor_early, floor_late; /* per day */
    double txn_per_till_day;          /* expected sales transactions */
    double events_per_day;            /* expected events of all kinds */
    int64_t net_per_day;              /* expected net sales, cents */
};

struct sim_region {
    const char *name, *zone;
};

struct sim_chain {
    const struct sim_opts *o;
    unsigned nstores, nterms, nregions, nskus;
    bool synthetic; /* fast and paced: days are plain UTC days starting today */
    struct sim_store *stores;
    const struct sim_region *regions;
    struct sim_zone zones[16];
    unsigned nzones;
    int32_t day0, ndays; /* range of the zone tables (days since 1970, local dates) */
    int32_t today;       /* UTC date at the start */
    char (*term_ids)[24];
    struct sim_sku *skus; /* by popularity rank, 0 = best seller */
    double *pop;          /* p(rank) */
    uint32_t *alias_prob, *alias_idx;
    double mean_lines, mean_basket_cents;
};

int sim_chain_build(struct sim_chain *c, const struct sim_opts *o, int64_t now_ms);
void sim_chain_free(struct sim_chain *c);
void sim_chain_print_config(const struct sim_chain *c, FILE *f);

/* The UTC instant of local time local_ms (naive clock, 0 = midnight) on local date day in a
 * store's zone; in a synthetic chain, day * 86400000 + local_ms. */
int64_t sim_local_to_utc(const struct sim_chain *c, const struct sim_store *s, int32_t day,
                         int64_t local_ms);
/* The store-local date and time of day of a UTC instant. */
int32_t sim_utc_to_local(const struct sim_chain *c, const struct sim_store *s, int64_t utc_ms,
                         int64_t *local_ms);
/* The same, always by the zone (even in a synthetic chain): for dates stamped on real time. */
int32_t sim_zone_local_day(const struct sim_chain *c, const struct sim_store *s, int64_t utc_ms);
/* YYYY-MM-DD of a day number (out needs 11 bytes). */
void sim_format_day(int32_t day, char *out);
/* 0 = Monday. */
int sim_weekday(int32_t day);

/* ---- one store's run (sim_store.c) ------------------------------------------------------------
 */

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
    const volatile sig_atomic_t *stop;
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

/* ---- small maths without libm ------------------------------------------------------------------
 */

static inline uint64_t sim_rnd(uint64_t s[4])
{
    /* xoshiro256** */
    uint64_t r = s[1] * 5;
    r = ((r << 7) | (r >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return r;
}

static inline uint64_t sim_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void sim_seed(uint64_t s[4], uint64_t a, uint64_t b)
{
    uint64_t x = a * 0xD1B54A32D192ED03ull ^ (b + 0x8CB92BA72F3D8DD7ull);
    for (int i = 0; i < 4; i++)
        s[i] = sim_splitmix(&x);
}

/* Uniform in [0, 1). */
static inline double sim_u01(uint64_t s[4])
{
    return (double)(sim_rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n). */
static inline uint32_t sim_below(uint64_t s[4], uint32_t n)
{
    return (uint32_t)(((sim_rnd(s) >> 32) * n) >> 32);
}

/* Uniform integer in [lo, hi]. */
static inline int64_t sim_range(uint64_t s[4], int64_t lo, int64_t hi)
{
    return lo + (int64_t)sim_below(s, (uint32_t)(hi - lo + 1));
}

double sim_ln(double x);
double sim_exp(double x);
/* Exponential with the given mean; normal N(0,1) (Irwin-Hall, 12 uniforms). */
double sim_expo(uint64_t s[4], double mean);
double sim_normal(uint64_t s[4]);
/* Lognormal whose median is med, with log-sd sigma. */
double sim_lognormal(uint64_t s[4], double med, double sigma);

#endif
