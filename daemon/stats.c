#include "stats.h"

const char *const stats_kind_names[STATS_KINDS] = {
    "none",  "sale",         "complaint", "stock_move", "attendance",
    "shift", "sales_target", "drawer",    "heartbeat",
};

unsigned stats_kind_index(int body_case)
{
    if (body_case >= 10 && body_case <= 17)
        return (unsigned)(body_case - 9);
    return 0;
}

/* The bucket of x: the first whose bound (times unit) is at least x, else the last. */
static unsigned hist_bucket(uint64_t x, uint64_t unit)
{
    unsigned b = 0;
    while (b < STATS_HIST - 1 && x > stats_hist_bound(b) * unit)
        b++;
    return b;
}

void stats_hist_add(struct stats_hist *h, uint64_t ns)
{
    h->n++;
    h->ns_total += ns;
    if (ns > h->ns_max)
        h->ns_max = ns;
    h->b[hist_bucket(ns, 1000)]++;
}

void stats_commit_time(struct stats_runtime *r, uint64_t ns, uint64_t events)
{
    r->commits++;
    r->commit_ns_total += ns;
    if (ns > r->commit_ns_max)
        r->commit_ns_max = ns;
    r->commit_hist[hist_bucket(ns, 1000)]++;
    r->commit_size_hist[hist_bucket(events, 1)]++;
    r->commit_events_total += events;
    if (events > r->commit_events_max)
        r->commit_events_max = events;
}
