/*
 * The daemon's alert feed as its clients read it (docs/ALERTS.md): subscribe first, take the
 * snapshot of the active alerts over the query socket, then read live messages, dropping those
 * the snapshot covers (pub_seq not above the snapshot's for their region) and noticing jumps in
 * a region's pub_seq. Shared by `floorwalker alerts` (alerts.c), which prints, and
 * `floorwalker notify` (clients/notify/), which forwards to Alertmanager.
 */
#ifndef FW_ALERTFEED_H
#define FW_ALERTFEED_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floorwalker.pb-c.h"
#include "fwcommon.h"

struct tz;

/* Per region: the snapshot's pub_seq (live messages up to it are dropped) and the last pub_seq
 * seen (for gap detection). Regions are few: a linear array is enough. */
struct feed_region {
    char *region;
    uint64_t snap, last;
    bool has_snap, has_last;
};

struct feed_seqs {
    struct feed_region *v;
    size_t n, cap;
};

/* The entry of region, created if new; NULL only when out of memory. */
struct feed_region *feed_seqs_get(struct feed_seqs *s, const char *region);
void feed_seqs_set_snapshot(struct feed_seqs *s, const char *region, uint64_t seq);
void feed_seqs_free(struct feed_seqs *s);

enum feed_live { FEED_COVERED, FEED_NEXT, FEED_GAP };
/* Where a live alert stands against its region's sequence: covered by the snapshot (drop it),
 * next in line, or after a gap (*missed messages were lost; with track false, never a gap).
 * Records its pub_seq as the last seen. */
enum feed_live feed_seqs_live(struct feed_seqs *s, const Floorwalker__Alert *a, bool track,
                              uint64_t *missed);

/* Reads one message from sub (which zmq_poll said is readable) and returns its Alert (free with
 * floorwalker__alert__free_unpacked), or NULL when there was nothing after all or the message
 * was not two frames with an Alert (skipped with a warning prefixed by who). */
Floorwalker__Alert *feed_recv(void *sub, const char *who);

/* Takes in a snapshot answer (Query ALERTS): each region's pub_seq into s (region: the one
 * asked for, whose QueryResult.pub_seq counts when the table lacks it; NULL for all), then calls
 * fn for each active alert, in order, until it returns false. The Alert's strings point into r. */
typedef bool (*feed_alert_fn)(void *arg, const Floorwalker__Alert *a);
void feed_take_snapshot(struct feed_seqs *s, const Floorwalker__QueryResult *r, const char *region,
                        feed_alert_fn fn, void *arg);

/* Waits until deadline (fw_mono_ns) for the monitored event on mon (cli_monitor of sub), so that
 * our subscription is on its way before we ask for the snapshot ("subscribe first" then really
 * holds), and stops watching (mon is closed). Returns early when *stop is set. */
void feed_monitor_wait_stop(void *sub, void *mon, uint64_t deadline, const fw_stop_flag *stop);

/* A store as people know it: its name, region, and its zone for local times (NULL: UTC). */
struct store_view {
    char *id, *name, *region;
    struct tz *tz;
};

struct store_views {
    struct store_view *v;
    size_t n;
};

/* Store names, regions and zones from a STORES query to query_ep. false when the daemon did not
 * answer or refused (a message is printed for no answer, prefixed by who); sv is then empty. */
bool store_views_load(struct store_views *sv, const char *who, void *ctx, const char *query_ep,
                      int timeout_s, const fw_stop_flag *stop);
const struct store_view *store_views_find(const struct store_views *sv, const char *id);
void store_views_free(struct store_views *sv);

#endif
