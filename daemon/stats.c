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

void stats_commit_time(struct stats_runtime *r, uint64_t ns, uint64_t events)
{
    r->commits++;
    r->commit_ns_total += ns;
    if (ns > r->commit_ns_max)
        r->commit_ns_max = ns;
    uint64_t us = ns / 1000;
    unsigned b = 0;
    while (b < STATS_HIST - 1 && us >= (1ull << b))
        b++;
    r->commit_hist[b]++;
    r->commit_events_total += events;
    if (events > r->commit_events_max)
        r->commit_events_max = events;
}
