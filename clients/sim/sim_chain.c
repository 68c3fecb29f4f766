/*
 * The simulated chain's master data, drawn once from the seed before any store runs: regions
 * and their zones (with each local day's UTC midnight and DST change, read from the system's
 * tzdata while still single-threaded), stores with opening hours, size and staff, and the
 * catalogue with its Zipf popularity. All of it is read-only once the stores run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fwcommon.h"
#include "sim_chain.h"

const char *const sim_role_names[3] = {"cashier", "floor", "supervisor"};

/* ---- calendar ---------------------------------------------------------------------------------
 */

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    int32_t doe = z - era * 146097;
    int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int32_t yy = yoe + era * 400;
    int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int32_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

void sim_format_day(int32_t day, char *out)
{
    int y, m, d;
    civil(day, &y, &m, &d);
    y = ((y % 10000) + 10000) % 10000;
    const int v[3] = {y, m, d}, w[3] = {4, 2, 2};
    char *p = out;
    for (int i = 0; i < 3; i++) {
        if (i)
            *p++ = '-';
        for (int j = w[i] - 1, x = v[i]; j >= 0; j--, x /= 10)
            p[j] = (char)('0' + x % 10);
        p += w[i];
    }
    *p = 0;
}

int sim_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday. */
    int w = (int)((day % 7 + 7 + 3) % 7);
    return w;
}

static long gmtoff_at(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

/* Fills z->d for the days day0 .. day0 + n - 1 of the zone named z->name. Uses TZ: call only
 * while no other thread runs. */
static int zone_fill(struct sim_zone *z, int32_t day0, int32_t n)
{
    z->d = calloc((size_t)n, sizeof *z->d);
    if (!z->d)
        return FW_ENOMEM;
    if (strcmp(z->name, "UTC") != 0) {
        char path[256];
        snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", z->name);
        if (access(path, R_OK) != 0) {
            fprintf(stderr,
                    "floorwalker sim: time zone %s is not in /usr/share/zoneinfo "
                    "(install tzdata)\n",
                    z->name);
            return FW_ENOTFOUND;
        }
    }
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", z->name, 1);
    tzset();
    for (int32_t i = 0; i < n; i++) {
        int64_t day = day0 + i;
        time_t noon = (time_t)(day * 86400 + 43200);
        time_t mid = (time_t)(day * 86400 - gmtoff_at(noon));
        for (int it = 0; it < 3; it++) {
            time_t cand = (time_t)(day * 86400 - gmtoff_at(mid));
            if (cand == mid)
                break;
            mid = cand;
        }
        struct sim_zday *zd = &z->d[i];
        zd->mid_ms = (int64_t)mid * 1000;
        zd->off0_s = (int32_t)gmtoff_at(mid);
        zd->off1_s = zd->off0_s;
        zd->trans_ms = INT32_MAX;
        for (int q = 1; q <= 96; q++) {
            long off = gmtoff_at(mid + (time_t)q * 900);
            if (off != zd->off0_s) {
                zd->off1_s = (int32_t)off;
                zd->trans_ms = q * 900 * 1000;
                break;
            }
        }
    }
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
    return FW_OK;
}

static const struct sim_zday *zday(const struct sim_chain *c, const struct sim_store *s,
                                   int32_t day, int64_t *shift_ms)
{
    const struct sim_zone *z = &c->zones[s->zone];
    int32_t i = day - c->day0;
    *shift_ms = 0;
    if (i < 0) {
        *shift_ms = (int64_t)i * 86400000;
        i = 0;
    } else if (i >= c->ndays) {
        *shift_ms = (int64_t)(i - c->ndays + 1) * 86400000;
        i = c->ndays - 1;
    }
    return &z->d[i];
}

int64_t sim_local_to_utc(const struct sim_chain *c, const struct sim_store *s, int32_t day,
                         int64_t local_ms)
{
    while (local_ms >= 86400000) {
        local_ms -= 86400000;
        day++;
    }
    while (local_ms < 0) {
        local_ms += 86400000;
        day--;
    }
    if (c->synthetic)
        return (int64_t)day * 86400000 + local_ms;
    int64_t sh;
    const struct sim_zday *zd = zday(c, s, day, &sh);
    int64_t u = zd->mid_ms + sh + local_ms;
    if (local_ms >= zd->trans_ms)
        u -= (int64_t)(zd->off1_s - zd->off0_s) * 1000;
    return u;
}

static int64_t mid_of(const struct sim_chain *c, const struct sim_store *s, int32_t d)
{
    int64_t sh;
    const struct sim_zday *zd = zday(c, s, d, &sh);
    return zd->mid_ms + sh;
}

static int32_t zone_to_local(const struct sim_chain *c, const struct sim_store *s, int64_t u,
                             int64_t *local_ms)
{
    int64_t sh;
    const struct sim_zday *t = zday(c, s, c->today, &sh);
    int64_t x = u + (int64_t)t->off0_s * 1000;
    int32_t d = (int32_t)(x >= 0 ? x / 86400000 : (x - 86399999) / 86400000);
    while (u < mid_of(c, s, d))
        d--;
    while (u >= mid_of(c, s, d + 1))
        d++;
    const struct sim_zday *zd = zday(c, s, d, &sh);
    int64_t l = u - (zd->mid_ms + sh);
    if (l >= zd->trans_ms)
        l += (int64_t)(zd->off1_s - zd->off0_s) * 1000;
    if (local_ms)
        *local_ms = l;
    return d;
}

int32_t sim_utc_to_local(const struct sim_chain *c, const struct sim_store *s, int64_t utc_ms,
                         int64_t *local_ms)
{
    if (c->synthetic) {
        int32_t d = (int32_t)(utc_ms / 86400000);
        if (utc_ms < 0 && utc_ms % 86400000)
            d--;
        if (local_ms)
            *local_ms = utc_ms - (int64_t)d * 86400000;
        return d;
    }
    return zone_to_local(c, s, utc_ms, local_ms);
}

int32_t sim_zone_local_day(const struct sim_chain *c, const struct sim_store *s, int64_t utc_ms)
{
    return zone_to_local(c, s, utc_ms, NULL);
}

/* ---- master data ------------------------------------------------------------------------------
 */

static const struct sim_region region_table[] = {
    {"uk", "Europe/London"},         {"us-east", "America/New_York"},
    {"china", "Asia/Shanghai"},      {"au-east", "Australia/Sydney"},
    {"germany", "Europe/Berlin"},    {"us-west", "America/Los_Angeles"},
    {"japan", "Asia/Tokyo"},         {"india", "Asia/Kolkata"},
    {"brazil", "America/Sao_Paulo"}, {"south-africa", "Africa/Johannesburg"},
    {"uae", "Asia/Dubai"},           {"nz", "Pacific/Auckland"},
};
#define SIM_MAX_REGIONS (sizeof region_table / sizeof region_table[0])
static const struct sim_region default_region = {"default", "UTC"};

static const char *const cities[SIM_MAX_REGIONS + 1][4] = {
    {"London", "Manchester", "Leeds", "Bristol"},
    {"New York", "Boston", "Philadelphia", "Baltimore"},
    {"Shanghai", "Hangzhou", "Suzhou", "Nanjing"},
    {"Sydney", "Newcastle", "Wollongong", "Canberra"},
    {"Berlin", "Hamburg", "Munich", "Cologne"},
    {"Los Angeles", "San Diego", "San Jose", "Seattle"},
    {"Tokyo", "Yokohama", "Osaka", "Nagoya"},
    {"Mumbai", "Delhi", "Bengaluru", "Pune"},
    {"Sao Paulo", "Rio", "Curitiba", "Campinas"},
    {"Johannesburg", "Pretoria", "Durban", "Cape Town"},
    {"Dubai", "Abu Dhabi", "Sharjah", "Al Ain"},
    {"Auckland", "Wellington", "Christchurch", "Hamilton"},
    {"Springfield", "Riverton", "Lakeside", "Fairview"}, /* region "default" */
};
static const char *const streets[] = {
    "High Street",   "Market Square", "Station Road", "Riverside", "Park Lane", "Mill Road",
    "Church Street", "Harbour",       "North Gate",   "Old Town",  "West End",  "Bridge Street"};

/* Opening hours and how common they are (percent). */
static const struct {
    int open, close, pct;
} hours_table[] = {
    {7 * 60, 22 * 60, 30}, {8 * 60, 21 * 60, 24}, {8 * 60, 22 * 60, 15}, {9 * 60, 20 * 60, 15},
    {7 * 60, 23 * 60, 8},  {6 * 60, 24 * 60, 5},  {0, 24 * 60, 3},
};

/* Categories: share of SKUs, price band (cents; per kg for weighed items), share of SKUs sold
 * by weight, units per case, cost as a share of price. */
static const struct {
    const char *name;
    int weight, lo, hi, weighed_pct, case_units, cost_pct;
} cats[] = {
    {"produce", 14, 80, 450, 65, 10, 60},   {"bakery", 8, 90, 450, 0, 6, 45},
    {"dairy", 11, 60, 500, 0, 12, 70},      {"meat_fish", 7, 250, 1800, 45, 6, 65},
    {"frozen", 7, 150, 900, 0, 12, 60},     {"beverages", 10, 60, 600, 0, 24, 55},
    {"snacks", 9, 80, 450, 0, 24, 50},      {"grocery", 13, 70, 650, 0, 12, 65},
    {"household", 6, 150, 1200, 0, 12, 55}, {"personal_care", 6, 150, 1500, 0, 12, 50},
    {"alcohol", 4, 350, 4500, 0, 12, 60},   {"baby", 2, 250, 2500, 0, 6, 65},
    {"pet", 2, 150, 2000, 0, 6, 60},        {"health", 1, 300, 1800, 0, 12, 55},
};
#define NCATS (sizeof cats / sizeof cats[0])

const char *sim_category_name(unsigned cat)
{
    return cat < NCATS ? cats[cat].name : "other";
}

/* Hourly sales intensity by local hour, 1.0 = an average open hour. */
const double sim_hour_profile[24] = {0.15, 0.1, 0.1,  0.1,  0.1, 0.15, 0.45, 0.65,
                                     0.8,  0.9, 0.95, 1.1,  1.4, 1.3,  0.95, 0.95,
                                     1.1,  1.4, 1.35, 1.05, 0.8, 0.6,  0.4,  0.3};
/* Mean unit quantity of a line of a unit item (see sim_store.c qty_units). */
#define UNIT_QTY_MEAN 1.33
#define WEIGHED_QTY_MEAN 650.0 /* grams */

static int build_catalogue(struct sim_chain *c, uint64_t r[4])
{
    unsigned n = c->nskus;
    c->skus = calloc(n, sizeof *c->skus);
    c->pop = calloc(n, sizeof *c->pop);
    c->alias_prob = calloc(n, sizeof *c->alias_prob);
    c->alias_idx = calloc(n, sizeof *c->alias_idx);
    unsigned *perm = calloc(n, sizeof *perm);
    double *scaled = calloc(n, sizeof *scaled);
    unsigned *small = calloc(n, sizeof *small), *large = calloc(n, sizeof *large);
    int err = FW_ENOMEM;
    if (!c->skus || !c->pop || !c->alias_prob || !c->alias_idx || !perm || !scaled || !small ||
        !large)
        goto out;
    /* Ids: a shuffled numbering, so that SKU-00001 is not the best seller. */
    for (unsigned i = 0; i < n; i++)
        perm[i] = i + 1;
    for (unsigned i = n - 1; i > 0; i--) {
        unsigned j = sim_below(r, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int wsum = 0;
    for (unsigned k = 0; k < NCATS; k++)
        wsum += cats[k].weight;
    /* Zipf popularity, s = 1.1: p(rank) proportional to (rank + 1)^-1.1. */
    double h = 0;
    for (unsigned i = 0; i < n; i++) {
        c->pop[i] = sim_exp(-1.1 * sim_ln((double)(i + 1)));
        h += c->pop[i];
    }
    double line_value = 0;
    for (unsigned i = 0; i < n; i++) {
        struct sim_sku *k = &c->skus[i];
        c->pop[i] /= h;
        snprintf(k->id, sizeof k->id, "SKU-%05u", perm[i] % 100000);
        int x = (int)sim_below(r, (uint32_t)wsum);
        unsigned cat = 0;
        while (x >= cats[cat].weight)
            x -= cats[cat++].weight;
        k->cat = (uint8_t)cat;
        k->weighed = (int)sim_below(r, 100) < cats[cat].weighed_pct;
        double lo = cats[cat].lo * (k->weighed ? 2.0 : 1.0),
               hi = cats[cat].hi * (k->weighed ? 2.0 : 1.0);
        double p = lo * sim_exp(sim_u01(r) * sim_ln(hi / lo)); /* log-uniform */
        int64_t price = (int64_t)(p / 10) * 10 + 9;            /* ends in 9 */
        k->price_cents = price < 9 ? 9 : price;
        k->cost_cents = k->price_cents * (cats[cat].cost_pct + (int)sim_below(r, 11) - 5) / 100;
        k->case_milli = k->weighed ? 5000 : (int64_t)cats[cat].case_units * 1000;
        k->mean_qty_milli = k->weighed ? WEIGHED_QTY_MEAN : UNIT_QTY_MEAN * 1000;
        k->demand_per_line = c->pop[i] * k->mean_qty_milli;
        line_value += c->pop[i] * k->mean_qty_milli * (double)k->price_cents / 1000.0;
    }
    /* Promotions take 4% of SKUs at 10-33% off; manual markdowns are negligible here. */
    c->mean_basket_cents = c->mean_lines * line_value * (1 - 0.04 * 0.2);
    /* Vose's alias method: one uniform draw picks a rank in O(1). */
    unsigned ns = 0, nl = 0;
    for (unsigned i = 0; i < n; i++) {
        scaled[i] = c->pop[i] * n;
        if (scaled[i] < 1)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns && nl) {
        unsigned s = small[--ns], l = large[--nl];
        c->alias_prob[s] = (uint32_t)(scaled[s] * 4294967295.0);
        c->alias_idx[s] = l;
        scaled[l] = scaled[l] + scaled[s] - 1;
        if (scaled[l] < 1)
            small[ns++] = l;
        else
            large[nl++] = l;
    }
    while (nl) {
        unsigned l = large[--nl];
        c->alias_prob[l] = UINT32_MAX;
        c->alias_idx[l] = l;
    }
    while (ns) {
        unsigned s = small[--ns];
        c->alias_prob[s] = UINT32_MAX;
        c->alias_idx[s] = s;
    }
    err = FW_OK;
out:
    free(perm);
    free(scaled);
    free(small);
    free(large);
    return err;
}

/* Expected volumes of a store, for the targets, the stock levels and the split of -n. */
static void expectations(struct sim_chain *c, struct sim_store *s)
{
    const struct sim_opts *o = c->o;
    double hours = 0, busy = 0;
    for (int m = s->open_min; m < s->close_min; m += 15) {
        hours += 0.25;
        busy += 0.25 * sim_hour_profile[(m / 60) % 24];
    }
    /* 30 customers an hour at a till in an average hour; breaks and handovers take ~6%. */
    s->txn_per_till_day = 30.0 * busy * s->size * 0.94;
    double txn = s->txn_per_till_day * o->terminals;
    s->net_per_day = (int64_t)(txn * c->mean_basket_cents * 0.99);
    double lines = txn * c->mean_lines, reorders = 0;
    for (unsigned i = 0; i < c->nskus; i++) {
        double d = lines * c->skus[i].demand_per_line;
        double q = 4 * d > (double)c->skus[i].case_milli ? 4 * d : (double)c->skus[i].case_milli;
        reorders += d / q;
    }
    unsigned slots = s->close_min - s->open_min >= 24 * 60 ? 3 : 2;
    double shifts = (double)(o->terminals * slots + s->floor_early + s->floor_late + slots);
    double hb = (double)o->heartbeat_s;
    /* Heartbeats are keepalives: tills mostly sell instead while the store is open. */
    double awake = hours + 2 < 24 ? hours + 2 : 24;
    double night = hb > 600 ? hb : 600;
    double hb_per_term = 3 * 3600 / hb + (24 - awake) * 3600 / night;
    s->events_per_day = txn * 1.01 + reorders + 15 + 2 + 6 + shifts * 4.5 +
                        (double)o->terminals * slots * 2.6 + hb_per_term * o->terminals + 1;
}

int sim_chain_build(struct sim_chain *c, const struct sim_opts *o, int64_t now_ms)
{
    memset(c, 0, sizeof *c);
    c->o = o;
    c->nstores = o->stores;
    c->nterms = o->stores * o->terminals;
    c->nregions = o->regions;
    c->nskus = o->skus;
    c->synthetic = o->mode == SIM_FAST || o->mode == SIM_PACED;
    c->today = (int32_t)(now_ms / 86400000);
    c->regions = o->regions > 1 ? region_table : &default_region;
    if (o->regions > SIM_MAX_REGIONS)
        return FW_EINVAL;
    /* Baskets: 95% with a mean of 3 lines, 5% big shops with a mean of 14 (geometric). */
    c->mean_lines = 0.95 * 3.0 + 0.05 * 14.0;
    uint64_t r[4];
    sim_seed(r, o->seed, 0xC4A1);
    int err = build_catalogue(c, r);
    if (err)
        return err;
    /* Zones: one per region. */
    c->nzones = o->regions;
    c->day0 = c->today - o->days - 3;
    c->ndays = o->days + 3 + 3 + (o->events_given ? 60 : 0);
    for (unsigned i = 0; i < c->nzones; i++) {
        c->zones[i].name = c->regions[i].zone;
        if ((err = zone_fill(&c->zones[i], c->day0, c->ndays)))
            return err;
    }
    c->stores = calloc(c->nstores, sizeof *c->stores);
    c->term_ids = calloc(c->nterms, sizeof *c->term_ids);
    if (!c->stores || !c->term_ids)
        return FW_ENOMEM;
    int hsum = 0;
    for (size_t i = 0; i < sizeof hours_table / sizeof hours_table[0]; i++)
        hsum += hours_table[i].pct;
    for (unsigned i = 0; i < c->nstores; i++) {
        struct sim_store *s = &c->stores[i];
        uint64_t sr[4];
        sim_seed(sr, o->seed, 0x570E0000ull + i);
        snprintf(s->id, sizeof s->id, "S%03u", (i + 1) % 1000);
        /* Regions take consecutive stores, as a chain grows region by region. */
        s->region = (unsigned)((uint64_t)i * o->regions / o->stores);
        s->zone = s->region;
        unsigned ci = o->regions > 1 ? s->region : SIM_MAX_REGIONS;
        snprintf(s->name, sizeof s->name, "%s %s", cities[ci][sim_below(sr, 4)],
                 streets[sim_below(sr, sizeof streets / sizeof streets[0])]);
        int x = (int)sim_below(sr, (uint32_t)hsum);
        size_t hi = 0;
        while (x >= hours_table[hi].pct)
            x -= hours_table[hi++].pct;
        s->open_min = hours_table[hi].open;
        s->close_min = hours_table[hi].close;
        double size = sim_lognormal(sr, 1.0, 0.35);
        s->size = size < 0.4 ? 0.4 : size > 2.5 ? 2.5 : size;
        static const int64_t floats[] = {10000, 15000, 20000, 25000};
        s->float_cents = floats[sim_below(sr, 4)];
        s->pickup_cents = 50000 + 5000 * (int64_t)sim_below(sr, 11);
        s->first_term = i * o->terminals;
        unsigned slots = s->close_min - s->open_min >= 24 * 60 ? 3 : 2;
        s->floor_early = 1 + (unsigned)(s->size * 1.2 + o->terminals * 0.3);
        s->floor_late = 1 + (unsigned)(s->size * 0.8 + o->terminals * 0.25);
        s->n_cashier = o->terminals * slots * 7 / 5 + 1;
        s->n_floor = (s->floor_early + s->floor_late + (slots == 3)) * 7 / 5 + 1;
        s->n_super = slots * 7 / 5 + 1;
        s->n_emp = s->n_cashier + s->n_floor + s->n_super;
        s->emp = calloc(s->n_emp, sizeof *s->emp);
        if (!s->emp)
            return FW_ENOMEM;
        for (unsigned e = 0; e < s->n_emp; e++) {
            snprintf(s->emp[e].id, sizeof s->emp[e].id, "%s-E%04u", s->id, (e + 1) % 10000);
            s->emp[e].role = e < s->n_cashier                ? ROLE_CASHIER
                             : e < s->n_cashier + s->n_floor ? ROLE_FLOOR
                                                             : ROLE_SUPERVISOR;
        }
        /* About one store in ten has a cashier with many returns and voids (the one that
         * cashier_returns_high is for); one in 25 a till whose clock runs fast. */
        s->suspicious = sim_below(sr, 100) < 10 ? (int)sim_below(sr, s->n_cashier) : -1;
        s->skewed_terminal = sim_below(sr, 100) < 4 ? (int)sim_below(sr, o->terminals) : -1;
        for (unsigned t = 0; t < o->terminals; t++) {
            if (o->terminals > 99)
                snprintf(c->term_ids[s->first_term + t], sizeof c->term_ids[0], "%s-T%03u", s->id,
                         (t + 1) % 10000);
            else
                snprintf(c->term_ids[s->first_term + t], sizeof c->term_ids[0], "%s-T%02u", s->id,
                         (t + 1) % 100);
        }
        expectations(c, s);
    }
    return FW_OK;
}

void sim_chain_free(struct sim_chain *c)
{
    for (unsigned i = 0; i < c->nzones; i++)
        free(c->zones[i].d);
    if (c->stores)
        for (unsigned i = 0; i < c->nstores; i++)
            free(c->stores[i].emp);
    free(c->stores);
    free(c->term_ids);
    free(c->skus);
    free(c->pop);
    free(c->alias_prob);
    free(c->alias_idx);
    memset(c, 0, sizeof *c);
}

void sim_chain_print_config(const struct sim_chain *c, FILE *f)
{
    const struct sim_opts *o = c->o;
    fprintf(
        f,
        "# The chain that `floorwalker sim --stores %u --terminals %u --regions %u --seed %" PRIu64
        "`\n"
        "# simulates: its stores (name, region, zone, opening hours) and terminals. Add your\n"
        "# [daemon], [ingest], [alerts] and [query] sections. Once stores and terminals are\n"
        "# listed, floorwalkerd rejects events from any other.\n",
        o->stores, o->terminals, o->regions, o->seed);
    for (unsigned i = 0; i < c->nstores; i++) {
        const struct sim_store *s = &c->stores[i];
        fprintf(
            f, "\n[store:%s]\nname = %s\nregion = %s\ntimezone = %s\nhours = %02d:%02d-%02d:%02d\n",
            s->id, s->name, c->regions[s->region].name, c->zones[s->zone].name, s->open_min / 60,
            s->open_min % 60, s->close_min / 60, s->close_min % 60);
    }
    for (unsigned t = 0; t < c->nterms; t++)
        fprintf(f, "\n[terminal:%s]\nstore = %s\n", c->term_ids[t], c->stores[t / o->terminals].id);
}
