#include "sales_due.h"

#include <string.h>

void sales_profile_read(struct rollup *r, struct store_txn *txn, const char *store, int32_t today,
                        struct sales_profile *p)
{
    static const int weekdays[] = {7, 14, 21, 28}, days[] = {1, 2, 3, 4, 5, 6, 7};
    const int *back[] = {weekdays, days};
    int nback[] = {4, 7};
    p->day = today;
    for (int w = 0; w < 2; w++) {
        p->total = 0;
        memset(p->hour, 0, sizeof p->hour);
        p->weekdays = w == 0;
        uint8_t k[160];
        int64_t sh[SH_N];
        for (int i = 0; i < nback[w]; i++)
            for (int h = 0; h < 24; h++) {
                size_t kl = rollup_key(k, CELL_SALES_HOUR, store, "dh", today - back[w][i], h);
                if (rollup_get(r, txn, k, kl, sh, SH_N, NULL, 0) && sh[SH_NET] > 0) {
                    p->hour[h] += sh[SH_NET];
                    p->total += sh[SH_NET];
                }
            }
        if (p->total > 0)
            return;
    }
}

int64_t sales_due(const struct sales_profile *p, int64_t target, int64_t pct, int open_min,
                  int close_min, int hour, int minute)
{
    int64_t due, all = target * pct / 100, m = hour * 60 + minute;
    if (p && p->total > 0) {
        /* The share of a day's sales that the profile puts before now. In double: target *
         * pct * profile sums can pass 2^63. */
        int64_t before = 0;
        for (int h = 0; h < hour; h++)
            before += p->hour[h];
        double share =
            ((double)before * 60 + (double)p->hour[hour] * minute) / ((double)p->total * 60);
        due = (int64_t)((double)target * share * (double)pct / 100.0);
    } else if (close_min <= open_min || m >= close_min) {
        due = all;
    } else if (m <= open_min) {
        due = 0;
    } else {
        due = target * (m - open_min) / (close_min - open_min) * pct / 100;
    }
    return due < 0 ? 0 : due > all ? all : due;
}
