/*
 * What the daemon serves its exporters (`floorwalker export kafka`, README "Export"): the
 * committed event log read from a position (LOG_READ), and each exporter's position as it
 * reports it (EXPORT_POSITION), kept in the store so retention waits for the slowest exporter
 * across restarts, up to [storage] export_hold_max_days.
 */
#ifndef FW_EXPORT_H
#define FW_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "floorwalker.pb-c.h"
#include "qresult.h"
#include "store.h"

struct exports;

/* Loads the registered exporters' positions from st. */
fw_err exports_create(struct exports **out, struct store *st) FW_WUR;
void exports_destroy(struct exports **x);
/* fn(arg) asks for a write job that carries exports_flush_begin/_end (ingest_add_flusher). */
void exports_set_flusher(struct exports *x, void (*fn)(void *arg), void *arg);
fw_err exports_flush_begin(void *arg, struct store_wset *w, bool *started);
void exports_flush_end(void *arg, fw_err err);

/* EXPORT_POSITION: exporter name has exported (committed downstream) through pos. */
void exports_report(struct exports *x, const char *name, uint64_t pos, uint64_t log_end,
                    int64_t now_ms, struct result *res);
/* The lowest position every registered exporter has exported through (UINT64_MAX with none),
 * and which exporter that is. */
uint64_t exports_hold(const struct exports *x, const char **slowest);
/* The stats table "exporters": position, lag in events and in time (the age of the oldest
 * event not yet exported), last report. */
void exports_table(const struct exports *x, struct result *res, uint64_t log_end, int64_t now_ms);

/* LOG_READ: up to Query.limit events (and about max_bytes) after Query.after_position, with
 * the log's end and start, into res (entries allocated in a). */
void exports_log_read(struct store *st, struct arena *a, const Floorwalker__Query *qq,
                      int64_t max_result_bytes, uint64_t log_start, struct result *res);

#endif
