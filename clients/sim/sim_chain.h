/*
 * floorwalker sim (docs/SIM.md describes the model). Its files, each depending only on those
 * below it:
 *
 *   sim.c        command line, the run (threads, pacing clock, report), --print-config
 *   sim_store.c  one store's day, simulated event by event (one thread per store)
 *   sim_chain.c  the chain's master data: regions and zones, stores, staff, catalogue
 *   sim_write.c  --write: the batches the terminals would send, into a file
 *   sim_math.c   seeded generators and the bits of libm the model needs
 *
 * This header: the options a run is made of and the chain built from them.
 *
 * Everything the model draws comes from generators seeded by --seed and the store, in an order
 * that never depends on thread timing or on the clock, so a seed and options give the same
 * events (only the times differ when the mode stamps events with the wall clock).
 */
#ifndef FW_SIM_CHAIN_H
#define FW_SIM_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_math.h"

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

#endif
