#include "query.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "arena.h"
#include "floorwalker.pb-c.h"
#include "log.h"
#include "alerts.h"
#include "auth.h"
#include "export.h"
#include "metrics.h"
#include "qresult.h"
#include "rules_timer.h"
#include "reports.h"
#include "tz.h"
#include "zsock.h"

#define QUERY_MAX_BYTES 65536
#define QUERY_PER_PASS 64
#define QUARANTINE_DEFAULT_LIMIT 100
#define QUARANTINE_MAX_LIMIT 10000

struct query {
    struct ev_loop *loop;
    void *router;
    struct zsock_watcher w;
    const struct config *cfg;
    struct store *st;
    const struct stats_persist *sp;
    struct stats_runtime *sr;
    struct rollup *rollup;
    struct alerts *alerts;
    struct rules *rules;
    struct exports *exports;
    char alerts_endpoint[CONFIG_EP_MAX];
    bool test_clock;
    struct metrics *metrics;
    ev_timer metrics_timer;
    struct arena arena;
    char endpoint[CONFIG_EP_MAX];
};

static const char *reject_name(unsigned code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&floorwalker__reject_code__descriptor, (int)code);
    return v ? v->name : "UNKNOWN";
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* A stats histogram as a table of its non-empty buckets; the last bucket has no bound (null). */
static void hist_table(struct result *res, const char *name, const char *bound, const char *count,
                       const uint64_t hist[STATS_HIST])
{
    struct rtable t = res_table(res, name, 2, bound, count);
    for (unsigned i = 0; i < STATS_HIST - 1; i++)
        if (hist[i])
            res_row(res, &t, "ii", (int64_t)stats_hist_bound(i), (int64_t)hist[i]);
    if (hist[STATS_HIST - 1])
        res_row(res, &t, "ni", (int64_t)hist[STATS_HIST - 1]);
}

/* ---- kinds ---------------------------------------------------------------------------------- */

static void q_stats(struct query *q, struct result *res)
{
    const struct stats_persist *sp = q->sp;
    const struct stats_runtime *sr = q->sr;
    struct rtable t = res_table(res, "daemon", 2, "name", "value");
    int64_t now = fw_now_ms();
    double avg_ms = sr->commits ? (double)sr->commit_ns_total / (double)sr->commits / 1e6 : 0;
    double per_commit = sr->commits ? (double)sr->commit_events_total / (double)sr->commits : 0;
    res_row(res, &t, "si", "uptime_s", (int64_t)((now - sr->started_ms) / 1000));
    res_row(res, &t, "si", "events_total", (int64_t)sp->events_total);
    res_row(res, &t, "si", "duplicates", (int64_t)sp->duplicates);
    res_row(res, &t, "si", "quarantined", (int64_t)sp->quarantined);
    res_row(res, &t, "si", "batches", (int64_t)sp->batches);
    res_row(res, &t, "si", "commits", (int64_t)sr->commits);
    res_row(res, &t, "si", "commit_failures", (int64_t)sr->commit_failures);
    res_row(res, &t, "sd", "commit_ms_avg", avg_ms);
    res_row(res, &t, "sd", "commit_ms_total", (double)sr->commit_ns_total / 1e6);
    res_row(res, &t, "sd", "commit_ms_max", (double)sr->commit_ns_max / 1e6);
    /* The loop measuring itself (the *_latency tables hold the distributions). */
    const struct {
        const char *name;
        const struct stats_hist *h;
    } loop_hists[] = {{"pass", &sr->pass}, {"apply", &sr->apply}, {"query", &sr->query}};
    for (size_t i = 0; i < sizeof loop_hists / sizeof *loop_hists; i++) {
        char k[32];
        const struct stats_hist *h = loop_hists[i].h;
        snprintf(k, sizeof k, "%s_count", loop_hists[i].name);
        res_row(res, &t, "si", k, (int64_t)h->n);
        snprintf(k, sizeof k, "%s_ms_total", loop_hists[i].name);
        res_row(res, &t, "sd", k, (double)h->ns_total / 1e6);
        snprintf(k, sizeof k, "%s_ms_max", loop_hists[i].name);
        res_row(res, &t, "sd", k, (double)h->ns_max / 1e6);
    }
    res_row(res, &t, "sd", "commit_events_avg", per_commit);
    res_row(res, &t, "si", "commit_events_max", (int64_t)sr->commit_events_max);
    res_row(res, &t, "si", "commit_events_total", (int64_t)sr->commit_events_total);
    res_row(res, &t, "si", "frames_garbage", (int64_t)sr->frames_garbage);
    res_row(res, &t, "si", "frames_empty", (int64_t)sr->frames_empty);
    res_row(res, &t, "si", "frames_multipart", (int64_t)sr->frames_multipart);
    res_row(res, &t, "si", "frames_oversize", (int64_t)sr->frames_oversize);
    res_row(res, &t, "si", "bad_batches", (int64_t)sr->bad_batches);
    res_row(res, &t, "si", "gaps", (int64_t)sr->gaps);
    res_row(res, &t, "si", "acks_sent", (int64_t)sr->acks_sent);
    res_row(res, &t, "si", "acks_dropped", (int64_t)sr->acks_dropped);
    res_row(res, &t, "si", "map_grows", (int64_t)sr->map_grows);
    res_row(res, &t, "si", "map_size_mb", (int64_t)(store_map_bytes(q->st) >> 20));
    res_row(res, &t, "si", "log_position", (int64_t)store_log_end(q->st));
    res_row(res, &t, "si", "queries", (int64_t)sr->queries);
    res_row(res, &t, "sd", "events_per_s", sr->events_per_s);
    res_row(res, &t, "si", "ingest_last_pass_msgs", (int64_t)sr->last_pass_msgs);
    res_row(res, &t, "si", "ingest_last_slice_events", (int64_t)sr->last_slice_events);
    res_row(res, &t, "si", "subscribers", (int64_t)sr->subscribers);
    res_row(res, &t, "si", "curve", (int64_t)q->cfg->curve);
    res_row(res, &t, "si", "auth_allowed", (int64_t)sr->auth_allowed);
    res_row(res, &t, "si", "auth_denied", (int64_t)sr->auth_denied);
    res_row(res, &t, "si", "queries_refused", (int64_t)sr->queries_refused);
    res_row(res, &t, "si", "key_revoked", (int64_t)sr->key_revoked);
    res_row(res, &t, "si", "subscriptions_refused", (int64_t)sr->subscriptions_refused);
    res_row(res, &t, "si", "alerts_rebinds", (int64_t)sr->alerts_rebinds);
    res_row(res, &t, "si", "alerts_held", (int64_t)sr->alerts_held);
    res_row(res, &t, "si", "alerts_hold_dropped", (int64_t)sr->alerts_hold_dropped);
    res_row(res, &t, "si", "rss_kb", (int64_t)rss_kb());
    if (q->metrics)
        res_row(res, &t, "si", "metrics_port", (int64_t)metrics_port(q->metrics));
    if (q->alerts) {
        res_row(res, &t, "si", "alerts_active", (int64_t)alerts_count(q->alerts));
        res_row(res, &t, "si", "alerts_published", (int64_t)alerts_published(q->alerts));
    }
    if (q->rollup) {
        struct rollup_stats rs;
        rollup_get_stats(q->rollup, &rs);
        res_row(res, &t, "si", "rollup_position", (int64_t)rollup_position(q->rollup));
        res_row(res, &t, "si", "rollup_dirty_cells", (int64_t)rollup_dirty(q->rollup));
        res_row(res, &t, "si", "rollup_cached_cells", (int64_t)rs.cached_cells);
        res_row(res, &t, "si", "rollup_evictions", (int64_t)rs.evictions);
        res_row(res, &t, "si", "rollup_evicted_cells", (int64_t)rs.evicted_cells);
        res_row(res, &t, "si", "rollup_read_errors", (int64_t)rs.read_errors);
        res_row(res, &t, "si", "checkpoints", (int64_t)rs.checkpoints);
        res_row(res, &t, "si", "checkpoint_cells_last", (int64_t)rs.last_cells);
        res_row(res, &t, "si", "checkpoint_cells_max", (int64_t)rs.max_cells);
        res_row(res, &t, "sd", "checkpoint_ms_last", (double)rs.last_ns / 1e6);
        res_row(res, &t, "sd", "checkpoint_ms_max", (double)rs.max_ns / 1e6);
        res_row(res, &t, "sd", "checkpoint_ms_total", (double)rs.checkpoint.ns_total / 1e6);
        res_row(res, &t, "sd", "checkpoint_snapshot_ms_max", (double)rs.snapshot.ns_max / 1e6);
        res_row(res, &t, "sd", "checkpoint_snapshot_ms_total", (double)rs.snapshot.ns_total / 1e6);
        res_row(res, &t, "si", "checkpoint_snapshots", (int64_t)rs.snapshot.n);
        res_row(res, &t, "si", "replayed_at_start", (int64_t)rs.replayed);
        res_row(res, &t, "sd", "replay_ms", (double)rs.replay_ns / 1e6);
        res_row(res, &t, "si", "pruned_events", (int64_t)rs.pruned_events);
        res_row(res, &t, "si", "pruned_hourly_cells", (int64_t)rs.pruned_cells);
        res_row(res, &t, "si", "log_start", (int64_t)rollup_log_start(q->rollup));
    }

    t = res_table(res, "events_by_kind", 2, "kind", "events");
    for (unsigned i = 1; i < STATS_KINDS; i++)
        res_row(res, &t, "si", stats_kind_names[i], (int64_t)sp->events_by_kind[i]);

    t = res_table(res, "rejects_by_code", 2, "code", "count");
    for (unsigned i = 1; i < STATS_CODES; i++)
        if (sp->rejects_by_code[i])
            res_row(res, &t, "si", reject_name(i), (int64_t)sp->rejects_by_code[i]);

    hist_table(res, "commit_latency", "below_us", "commits", sr->commit_hist);
    hist_table(res, "commit_sizes", "up_to_events", "commits", sr->commit_size_hist);
    hist_table(res, "pass_latency", "below_us", "count", sr->pass.b);
    hist_table(res, "apply_latency", "below_us", "count", sr->apply.b);
    hist_table(res, "query_latency", "below_us", "count", sr->query.b);
    if (q->rollup) {
        struct rollup_stats rs;
        rollup_get_stats(q->rollup, &rs);
        hist_table(res, "checkpoint_latency", "below_us", "count", rs.checkpoint.b);
        hist_table(res, "checkpoint_snapshot_latency", "below_us", "count", rs.snapshot.b);
    }
    if (q->exports)
        exports_table(q->exports, res, store_log_end(q->st), (int64_t)(ev_now(q->loop) * 1000));

    /* Terminals seen, with the seq acked in each epoch. */
    t = res_table(res, "terminals", 5, "terminal", "store", "epoch", "acked_seq", "updated_ms");
    struct store_txn tx;
    store_txn_begin(q->st, &tx, true);
    struct store_cursor cur;
    if (store_cursor_open(&tx, store_db(q->st, STORE_MARKS), &cur)) {
        MDB_val k, v;
        size_t shown = 0;
        for (bool ok = store_cursor_get(&cur, STORE_FIRST, &k, &v); ok && shown < 100000;
             ok = store_cursor_get(&cur, STORE_NEXT, &k, &v), shown++) {
            if (k.mv_size != 1 + FW_ID_MAX + 8 || v.mv_size < 16)
                continue;
            char term[FW_ID_MAX + 1] = {0}, store[FW_ID_MAX + 1] = {0};
            memcpy(term, (char *)k.mv_data + 1, FW_ID_MAX);
            struct key bk;
            MDB_val bv;
            key_init(&bk, KEY_TERMINAL);
            key_id(&bk, term);
            if (store_txn_get(&tx, store_db(q->st, STORE_TERMINALS), &bk, &bv) == FW_OK &&
                bv.mv_size <= FW_ID_MAX)
                memcpy(store, bv.mv_data, bv.mv_size);
            const struct config_terminal *ct = config_find_terminal(q->cfg, term);
            if (ct)
                snprintf(store, sizeof store, "%s", ct->store);
            res_row(res, &t, "ssiii", term, store,
                    (int64_t)be64_get((uint8_t *)k.mv_data + 1 + FW_ID_MAX),
                    (int64_t)be64_get(v.mv_data), (int64_t)be64_get((uint8_t *)v.mv_data + 8));
        }
        store_cursor_close(&cur);
    }
    store_txn_abort(&tx);
    if (q->alerts)
        alerts_stats(q->alerts, res);
    rules_stats(q->rules, res);
}

static void q_quarantine(struct query *q, struct result *res, const Floorwalker__Query *qq)
{
    uint32_t limit = qq->limit ? qq->limit : QUARANTINE_DEFAULT_LIMIT;
    if (limit > QUARANTINE_MAX_LIMIT)
        limit = QUARANTINE_MAX_LIMIT;
    struct rtable t = res_table(res, "quarantine", 8, "pos", "received_ms", "terminal", "epoch",
                                "seq", "code", "reason", "bytes");
    struct store_txn tx;
    store_txn_begin(q->st, &tx, true);
    struct store_cursor cur;
    if (!store_cursor_open(&tx, store_db(q->st, STORE_QUARANTINE), &cur)) {
        store_txn_abort(&tx);
        res_error(res, "cannot read the quarantine table");
        return;
    }
    MDB_val k, v;
    /* Newest first. */
    uint32_t n = 0;
    for (bool ok = store_cursor_get(&cur, STORE_LAST, &k, &v); ok && n < limit;
         ok = store_cursor_get(&cur, STORE_PREV, &k, &v), n++) {
        Floorwalker__QuarantineRecord *r =
            floorwalker__quarantine_record__unpack(&q->arena.pb, v.mv_size, v.mv_data);
        if (!r)
            continue;
        /* Stored strings are quoted again (records from before reasons were quoted at the
         * source): a QueryResult must stay valid UTF-8 for protobuf clients. */
        char term[FW_ID_MAX * 4 + 8], reason[1024];
        res_row(res, &t, "iisiissi", (int64_t)be64_get((uint8_t *)k.mv_data + 1), r->received_ms,
                fw_quote(term, sizeof term, r->terminal_id, FW_ID_MAX), (int64_t)r->epoch,
                (int64_t)r->seq, reject_name((unsigned)r->code),
                fw_quote(reason, sizeof reason, r->reason, sizeof reason), (int64_t)r->raw.len);
    }
    store_cursor_close(&cur);
    store_txn_abort(&tx);
}

/* STORES: every store the daemon knows (configured or with data), with what a client needs to
 * show its figures: name, region, zone and currency. */
static void q_stores(struct query *q, struct result *res)
{
    struct rtable t =
        res_table(res, "stores", 5, "store", "region", "timezone", "currency", "currency_digits");
    size_t n = 0;
    const struct store_info *const *v = q->rollup ? rollup_stores(q->rollup, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *code;
        int digits;
        config_store_currency(q->cfg, v[i]->id, &code, &digits);
        res_row(res, &t, "ssssi", v[i]->id, v[i]->region, v[i]->tz ? tz_name(v[i]->tz) : "UTC",
                code, (int64_t)digits);
    }
}

/*
 * The currency money in the query's tables is in when they have no store column: the one of
 * the stores in its scope (store, region or chain), or "" when those keep different ones
 * (figures summed over currencies are shown as raw minor units, not passed off as one).
 */
static void scope_currency(struct query *q, const Floorwalker__Query *qq, struct res_env *env)
{
    const char *scope = reports_serves(qq->kind) ? reports_scope(qq) : "chain";
    config_store_currency(q->cfg, NULL, &env->currency, &env->currency_digits);
    if (!strcmp(scope, "store")) {
        config_store_currency(q->cfg, qq->store_id, &env->currency, &env->currency_digits);
        return;
    }
    size_t n = 0;
    const struct store_info *const *v = q->rollup ? rollup_stores(q->rollup, &n) : NULL;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(scope, "region") && strcmp(v[i]->region, qq->region))
            continue;
        const char *code;
        int digits;
        config_store_currency(q->cfg, v[i]->id, &code, &digits);
        if (first) {
            env->currency = code;
            env->currency_digits = digits;
            first = false;
        } else if (strcmp(code, env->currency) || digits != env->currency_digits) {
            env->currency = "";
            env->currency_digits = 0;
            return;
        }
    }
}

/*
 * What a client key may ask (security = curve). ops: everything. supervisor: figures, alerts,
 * acknowledgements and spot checks of stores in their regions only; a region-scoped query must
 * name one of their regions; chain-wide figures, daemon stats and the quarantine are ops'.
 * Returns true if allowed, else false with why.
 */
static bool authorize(struct query *q, const struct config_key *k, const Floorwalker__Query *qq,
                      char *why, size_t len)
{
    if (!k || k->role == KEY_ROLE_OPS || qq->kind == FLOORWALKER__QUERY__KIND__STORES)
        return true; /* store master data is what every view needs to name stores */
    const char *region = NULL;
    bool report = reports_serves(qq->kind);
    if (report || qq->kind == FLOORWALKER__QUERY__KIND__ALERTS ||
        qq->kind == FLOORWALKER__QUERY__KIND__SPOTCHECK) {
        /* The reports' scope rule; alerts and spot checks have no explicit scope. */
        Floorwalker__Query unscoped = *qq;
        if (!report)
            unscoped.scope = (char *)"";
        const char *scope = reports_scope(&unscoped);
        if (!strcmp(scope, "store")) {
            const struct store_info *si = rollup_store(q->rollup, qq->store_id);
            region = si ? si->region : config_store_region(q->cfg, qq->store_id);
            /* An alerts query naming both must keep to the store's region. */
            if (qq->region[0] && strcmp(qq->region, region))
                region = qq->region;
        } else if (!strcmp(scope, "region")) {
            region = qq->region;
        } else {
            snprintf(why, len,
                     "key %s (supervisor of %s%s) may not query the whole chain: name one of "
                     "your regions (--region) or a store in them",
                     k->name, k->regions[0], k->nregions > 1 ? ", ..." : "");
            return false;
        }
    } else if (qq->kind == FLOORWALKER__QUERY__KIND__ACK_ALERT) {
        region = q->alerts ? alerts_region_of(q->alerts, qq->alert_id) : NULL;
        if (!region)
            return true; /* answered "no active alert" without telling more */
    } else {
        snprintf(why, len, "key %s is a supervisor key; this query is for ops keys", k->name);
        return false;
    }
    if (config_key_has_region(k, region))
        return true;
    snprintf(why, len, "key %s may query regions %s%s%s only, not region \"%.64s\"", k->name,
             k->regions[0], k->nregions > 1 ? ", " : "", k->nregions > 1 ? k->regions[1] : "",
             region);
    if (k->nregions > 2)
        snprintf(why + strlen(why), len - strlen(why), " (and %d more)", k->nregions - 2);
    return false;
}

static void dispatch(struct query *q, struct result *res, const uint8_t *data, size_t len,
                     const struct config_key *key)
{
    if (len > QUERY_MAX_BYTES) {
        res_error(res, "query of %zu bytes is over the limit of %d", len, QUERY_MAX_BYTES);
        return;
    }
    Floorwalker__Query *qq = floorwalker__query__unpack(&q->arena.pb, len, data);
    if (!qq) {
        res_error(res, "the frame is not a Query message");
        return;
    }
    res->r.request_id = qq->request_id;
    struct res_env env = {.cfg = q->cfg, .rollup = q->rollup};
    scope_currency(q, qq, &env);
    res->env = &env;
    char why[512];
    if (!authorize(q, key, qq, why, sizeof why)) {
        q->sr->queries_refused++;
        res_error(res, "%s", why);
        return;
    }
    if (reports_serves(qq->kind)) {
        reports_run(q->rollup, q->st, qq, res, alerts_now(q->alerts));
        goto out;
    }
    switch (qq->kind) {
    case FLOORWALKER__QUERY__KIND__STORES:
        q_stores(q, res);
        res->r.alerts_endpoint = q->alerts_endpoint;
        break;
    case FLOORWALKER__QUERY__KIND__STATS:
        q_stats(q, res);
        break;
    case FLOORWALKER__QUERY__KIND__QUARANTINE:
        q_quarantine(q, res, qq);
        break;
    case FLOORWALKER__QUERY__KIND__ALERTS:
    case FLOORWALKER__QUERY__KIND__ACK_ALERT:
    case FLOORWALKER__QUERY__KIND__SPOTCHECK:
        if (!q->alerts) {
            res_error(res, "alerts are off");
        } else if (qq->kind == FLOORWALKER__QUERY__KIND__ALERTS) {
            alerts_snapshot(q->alerts, qq, res);
        } else if (qq->kind == FLOORWALKER__QUERY__KIND__ACK_ALERT) {
            /* The resolution names who acknowledged: the curve key's name (plain mode: every
             * client is an ops client) and the reason given. */
            alerts_ack(q->alerts, qq->alert_id, key ? key->name : NULL, qq->reason, res);
        } else {
            rules_spotcheck(q->rules, qq, res);
        }
        break;
    case FLOORWALKER__QUERY__KIND__LOG_READ:
        exports_log_read(q->st, &q->arena, qq, q->cfg->max_result_bytes,
                         q->rollup ? rollup_log_start(q->rollup) : 1, res);
        break;
    case FLOORWALKER__QUERY__KIND__EXPORT_POSITION:
        if (!q->exports)
            res_error(res, "exports are not served by this daemon");
        else
            exports_report(q->exports, qq->exporter, qq->after_position, store_log_end(q->st),
                           (int64_t)(ev_now(q->loop) * 1000), res);
        break;
    case FLOORWALKER__QUERY__KIND__TEST_CLOCK:
        if (!q->test_clock || !q->alerts) {
            res_error(res, "TEST_CLOCK needs floorwalkerd --test-clock");
        } else {
            alerts_set_clock(q->alerts, qq->clock_ms);
            /* The pass judges the instant set: a "31 minutes late" is 1860 s, not 1861 (the
             * clock runs on, and durations round up to the second). */
            alerts_hold_clock_at(q->alerts, qq->clock_ms);
            rules_tick(q->rules);
            alerts_release_clock(q->alerts);
        }
        break;
    case FLOORWALKER__QUERY__KIND__KIND_UNSPECIFIED:
        res_error(res, "query kind is not set");
        break;
    default: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &floorwalker__query__kind__descriptor, (int)qq->kind);
        if (v)
            res_error(res, "query kind %s is not served by this daemon version", v->name);
        else
            res_error(res, "unknown query kind %d", (int)qq->kind);
    }
    }
out:
    res_finish(res);
    res->env = NULL; /* env lives on this stack frame */
}

/* Handles one request: [identity][empty delimiter, if REQ][Query]. */
static void handle_one(struct query *q)
{
    zmq_msg_t frames[4];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t *m = &frames[n < 4 ? n : 3];
        if (n >= 4)
            zmq_msg_close(m);
        zmq_msg_init(m);
        if (zmq_msg_recv(m, q->router, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(m);
            break;
        }
        more = zmq_msg_more(m);
        n++;
    }
    if (n == 0)
        return;
    uint64_t t0 = fw_mono_ns();
    q->sr->queries++;
    struct result res = {.a = &q->arena, .r = FLOORWALKER__QUERY_RESULT__INIT};
    int nf = n < 4 ? n : 4;
    bool req = nf == 3 && zmq_msg_size(&frames[1]) == 0;
    const struct config_key *key = NULL;
    if (n > 3 || n < 2 || (n == 3 && !req)) {
        res_error(&res, "expected one Query frame");
    } else if (q->cfg->curve && !(key = auth_msg_key(q->cfg, &frames[nf - 1]))) {
        q->sr->key_revoked++;
        res_error(&res, "this connection's key is no longer allowed (revoked by a reload)");
    } else {
        dispatch(q, &res, zmq_msg_data(&frames[nf - 1]), zmq_msg_size(&frames[nf - 1]), key);
    }
    if (res.oom) {
        res.r = (Floorwalker__QueryResult)FLOORWALKER__QUERY_RESULT__INIT;
        res_error(&res, "result too large for memory");
    }
    size_t plen = floorwalker__query_result__get_packed_size(&res.r);
    if ((int64_t)plen > q->cfg->max_result_bytes) {
        uint64_t rid = res.r.request_id;
        res.r = (Floorwalker__QueryResult)FLOORWALKER__QUERY_RESULT__INIT;
        res.r.request_id = rid;
        res_error(&res,
                  "the answer would be %zu bytes, over [query] max_result_bytes = %" PRId64
                  "; narrow the range or the scope, or lower the limit",
                  plen, q->cfg->max_result_bytes);
        plen = floorwalker__query_result__get_packed_size(&res.r);
    }
    if (res.r.status != FLOORWALKER__QUERY_RESULT__STATUS__OK)
        q->sr->query_errors++;
    uint8_t *buf = malloc(plen ? plen : 1);
    if (buf) {
        floorwalker__query_result__pack(&res.r, buf);
        if (zmq_msg_send(&frames[0], q->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            (req && zmq_send(q->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
            zmq_send(q->router, buf, plen, ZMQ_DONTWAIT) < 0)
            log_debug("query reply dropped: %s", zmq_strerror(zmq_errno()));
        free(buf);
    }
    for (int i = 0; i < nf; i++)
        zmq_msg_close(&frames[i]);
    arena_reset(&q->arena);
    stats_hist_add(&q->sr->query, fw_mono_ns() - t0);
}

bool query_waiting(void *arg)
{
    struct query *q = arg;
    return zsock_events(q->router) & ZMQ_POLLIN;
}

static void on_query(struct ev_loop *loop, struct zsock_watcher *w, int revents)
{
    struct query *q = w->data;
    for (int i = 0; i < QUERY_PER_PASS && query_waiting(q); i++)
        handle_one(q);
}

fw_err query_create(struct query **out, struct ev_loop *loop, void *zctx, const struct config *cfg,
                    struct store *st, const struct stats_persist *sp, struct stats_runtime *sr,
                    struct rollup *rollup)
{
    struct query *q = calloc(1, sizeof *q);
    if (!q)
        return FW_ENOMEM;
    q->loop = loop;
    q->cfg = cfg;
    q->st = st;
    q->sp = sp;
    q->sr = sr;
    q->rollup = rollup;
    arena_init(&q->arena, 256 << 20);
    q->router = zsock_bind(zctx, ZMQ_ROUTER, cfg->query_endpoint, QUERY_MAX_BYTES * 2, 0,
                           q->endpoint, sizeof q->endpoint, "query");
    if (!q->router)
        goto fail;
    if (zsock_init(&q->w, q->router, ZMQ_POLLIN, on_query, q) != 0)
        goto fail;
    zsock_start(loop, &q->w);
    *out = q;
    return FW_OK;
fail:
    query_destroy(&q, loop);
    return FW_EIO;
}

void query_set_alerts(struct query *q, struct alerts *a, struct rules *ru, bool test_clock)
{
    q->alerts = a;
    q->rules = ru;
    q->test_clock = test_clock;
}

void query_set_exports(struct query *q, struct exports *x)
{
    q->exports = x;
}

void query_set_alerts_endpoint(struct query *q, const char *ep)
{
    snprintf(q->alerts_endpoint, sizeof q->alerts_endpoint, "%s", ep);
}

static void on_metrics(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct query *q = (struct query *)((char *)w - offsetof(struct query, metrics_timer));
    struct result res = {.a = &q->arena, .r = FLOORWALKER__QUERY_RESULT__INIT};
    q_stats(q, &res);
    if (!res.oom)
        metrics_update(q->metrics, &res.r);
    arena_reset(&q->arena);
}

fw_err query_enable_metrics(struct query *q, const char *listen)
{
    (void)listen; /* q->cfg's, with the rest of [metrics] */
    fw_err err = metrics_create(&q->metrics, q->cfg);
    if (err != FW_OK)
        return err;
    ev_timer_init(&q->metrics_timer, on_metrics, 0, 1.0);
    ev_timer_again(q->loop, &q->metrics_timer);
    ev_unref(q->loop);
    on_metrics(q->loop, &q->metrics_timer, 0);
    return FW_OK;
}

const char *query_endpoint(const struct query *q)
{
    return q->endpoint;
}

void query_destroy(struct query **pq, struct ev_loop *loop)
{
    struct query *q = *pq;
    if (!q)
        return;
    if (q->router) {
        zsock_stop(loop, &q->w);
        zmq_close(q->router);
    }
    if (q->metrics) {
        ev_ref(loop);
        ev_timer_stop(loop, &q->metrics_timer);
        metrics_destroy(&q->metrics);
    }
    arena_destroy(&q->arena);
    free(q);
    *pq = NULL;
}
