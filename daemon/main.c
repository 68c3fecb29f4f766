/*
 * floorwalkerd: parses the command line, loads the config, opens LMDB, binds the sockets,
 * runs the loop, and tears down in reverse. The loop thread owns every ZeroMQ socket.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <ev.h>
#ifdef FW_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "fwpass.h"
#include "config.h"
#include "ingest.h"
#include "log.h"
#include "query.h"
#include "alerts.h"
#include "export.h"
#include "auth.h"
#include "rollup.h"
#include "rules_timer.h"
#include "stats.h"
#include "store.h"
#include "zsock.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: floorwalkerd [-c FILE] [--data-dir DIR] [--check-config] [-f]\n"
               "\n"
               "The Floorwalker event daemon: terminals' events in, durable in LMDB, rollups,\n"
               "alerts and queries out. With no -c it runs on embedded defaults (the demo).\n"
               "\n"
               "  -c, --config FILE   configuration file (see floorwalker.conf)\n"
               "  -d, --data-dir DIR  LMDB data directory (overrides [daemon] data_dir)\n"
               "      --check-config  parse and validate the configuration, then exit\n"
               "      --rebuild       recompute every rollup from the raw event log, then exit\n"
               "      --hash-password read a password on stdin, print its hash for [metrics]\n"
               "                      password_hash, then exit\n"
               "      --test-clock    (tests only) let TEST_CLOCK queries set the daemon's clock\n"
               "  -f, --foreground    run in the foreground (the only mode; systemd style)\n"
               "  -v, --verbose       log at debug level\n"
               "  -h, --help          this help\n"
               "      --version       print the version\n"
               "\n"
               "Exit status: 0 clean shutdown or valid config, 1 bad configuration,\n"
               "2 bad usage, 3 cannot open storage or bind a socket.\n");
}

static void notify(const char *state)
{
#ifdef FW_WITH_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
    log_info("signal %d: shutting down", w->signum);
    notify("STOPPING=1");
    ev_break(loop, EVBREAK_ALL);
}

/* The snapshot is taken on the loop; the writer thread writes it (see ingest_checkpoint). */
static void on_checkpoint(struct ev_loop *loop, ev_timer *w, int revents)
{
    ingest_checkpoint(w->data);
}

static void on_rules(struct ev_loop *loop, ev_timer *w, int revents)
{
    rules_tick(w->data);
}

/* What SIGHUP needs: the live config (modules keep pointers to it) and where it came from. */
struct reload_ctx {
    struct config *cfg;
    const char *path, *data_dir_override;
    struct rollup *rollup;
    struct auth *auth; /* curve mode: cuts alert subscribers whose key the reload revokes */
    bool verbose;
};

/*
 * SIGHUP: parse the file into a scratch config and validate it; only a good one is swapped in
 * (stores, regions, thresholds, terminals, limits, log level). Endpoints and the data directory
 * need a restart: they are kept, with a warning. Terminal connections are untouched; in curve
 * mode a key removed (or narrowed) stops being served on its open ingest and query connections
 * at once, and when it holds a live alert subscription the alerts socket is rebound (auth.h).
 */
static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct reload_ctx *rc = w->data;
    char err[1024];
    struct config next;
    notify("RELOADING=1");
    config_defaults(&next);
    if (rc->path && config_load(&next, rc->path, err, sizeof err) != FW_OK) {
        log_err("reload refused, the running configuration stays: %s", err);
        config_free(&next);
        notify("READY=1");
        return;
    }
    struct config *cur = rc->cfg;
    if (rc->data_dir_override)
        snprintf(next.data_dir, sizeof next.data_dir, "%s", rc->data_dir_override);
    const char *restart[][3] = {
        {"[daemon] data_dir", cur->data_dir, next.data_dir},
        {"[ingest] endpoint", cur->ingest_endpoint, next.ingest_endpoint},
        {"[alerts] endpoint", cur->alerts_endpoint, next.alerts_endpoint},
        {"[query] endpoint", cur->query_endpoint, next.query_endpoint},
        /* /metrics copied its listener, credentials and TLS files at start (metrics.h). */
        {"[metrics] listen", cur->metrics_listen, next.metrics_listen},
        {"[metrics] user", cur->metrics_user, next.metrics_user},
        {"[metrics] password_hash", cur->metrics_password_hash, next.metrics_password_hash},
        {"[metrics] bearer_token_file", cur->metrics_bearer_token_file,
         next.metrics_bearer_token_file},
        {"[metrics] tls_cert", cur->metrics_tls_cert, next.metrics_tls_cert},
        {"[metrics] tls_key", cur->metrics_tls_key, next.metrics_tls_key},
    };
    for (size_t i = 0; i < sizeof restart / sizeof restart[0]; i++)
        if (strcmp(restart[i][1], restart[i][2]))
            log_warn("reload: %s changed to %s; it takes effect at the next restart", restart[i][0],
                     restart[i][2]);
    memcpy(next.data_dir, cur->data_dir, sizeof next.data_dir);
    memcpy(next.ingest_endpoint, cur->ingest_endpoint, sizeof next.ingest_endpoint);
    memcpy(next.alerts_endpoint, cur->alerts_endpoint, sizeof next.alerts_endpoint);
    memcpy(next.query_endpoint, cur->query_endpoint, sizeof next.query_endpoint);
    next.map_size_mb = cur->map_size_mb;
    /* The sockets were made CURVE servers (or not) with this key at start: the mode and the
     * server key stay; client keys ([key:NAME], key_dir) take effect now. */
    if (next.curve != cur->curve || strcmp(next.server_public, cur->server_public))
        log_warn("reload: [security] mode or server_key changed; that takes effect at the next "
                 "restart (client keys are reloaded now)");
    if (next.curve != cur->curve && cur->curve)
        log_warn("reload: the new file is not in curve mode, so it lists no usable client keys: "
                 "every new connection is refused until a restart or a reload with mode = curve");
    next.curve = cur->curve;
    memcpy(next.security_mode, cur->security_mode, sizeof next.security_mode);
    memcpy(next.server_key_file, cur->server_key_file, sizeof next.server_key_file);
    memcpy(next.server_public, cur->server_public, sizeof next.server_public);
    memcpy(next.server_secret, cur->server_secret, sizeof next.server_secret);
    bool rebind = auth_reload_revokes(rc->auth, &next);
    config_free(cur);
    *cur = next;
    if (rebind)
        auth_rebind_alerts(rc->auth, loop);
    log_setup(rc->verbose ? LOG_LVL_DEBUG : (enum log_level)cur->log_level, cur->log_syslog);
    rollup_config_changed(rc->rollup);
    log_info("configuration reloaded from %s: %zu store(s), %zu terminal(s), %zu region(s)%s",
             rc->path ? rc->path : "(embedded defaults)", cur->nstores, cur->nterminals,
             cur->nregions, "");
    if (cur->curve)
        log_info("reload: %zu client key(s) allowed", cur->nkeys);
    notify("READY=1");
}

/* Retention: small steps, one per checkpoint interval, each a short transaction. */
struct retention_ctx {
    const struct config *cfg;
    struct rollup *rollup;
    struct alerts *alerts;
    struct exports *exports;
    bool held_logged; /* "retention waits for exporter" said, until it no longer waits */
};

static void on_retention(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct retention_ctx *rc = w->data;
    const struct config *cfg = rc->cfg;
    if (!cfg->raw_retention_days && !cfg->hourly_retention_days)
        return;
    int64_t now = alerts_now(rc->alerts);
    /* Raw events wait for the slowest registered exporter, for export_hold_max_days more. */
    const char *slowest = NULL;
    struct retention_cut cut = {
        .raw_before_ms = cfg->raw_retention_days ? now - cfg->raw_retention_days * 86400000LL : 0,
        .hour_before_day = cfg->hourly_retention_days
                               ? (int32_t)(now / 86400000LL - cfg->hourly_retention_days)
                               : 0,
        .keep_after_pos = exports_hold(rc->exports, &slowest),
    };
    cut.force_before_ms = cut.raw_before_ms - cfg->export_hold_max_days * 86400000LL;
    if (rollup_checkpoint_busy(rc->rollup))
        return; /* it checkpoints first: the next interval, once the one in flight is written */
    struct retention_step done;
    if (rollup_retention(rc->rollup, &cut, 20000, &done) != FW_OK) {
        log_warn("retention step failed; the next one retries");
        return;
    }
    if (done.events || done.cells)
        log_debug("retention: pruned %" PRIu64 " events, %" PRIu64 " hourly cells", done.events,
                  done.cells);
    if (done.forced)
        log_err("retention pruned %" PRIu64 " events that exporter %s has not exported (it is at "
                "position %" PRIu64 ", over [storage] export_hold_max_days = %" PRId64
                " days behind): they are gone from the log and will be missing downstream; "
                "restart or repair the exporter, or raise export_hold_max_days",
                done.forced, slowest ? slowest : "?", cut.keep_after_pos,
                cfg->export_hold_max_days);
    else if (done.held && !rc->held_logged)
        log_warn("retention waits for exporter %s (at position %" PRIu64
                 "): older events stay until it exports them, for up to %" PRId64 " more days",
                 slowest ? slowest : "?", cut.keep_after_pos, cfg->export_hold_max_days);
    rc->held_logged = done.held;
}

/* Every second: events/s over the last 10 seconds. */
struct rate_ctx {
    const struct stats_persist *sp;
    struct stats_runtime *sr;
    unsigned samples;
};

static void on_rate(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct rate_ctx *rc = w->data;
    struct stats_runtime *sr = rc->sr;
    unsigned n = sizeof sr->rate_events / sizeof sr->rate_events[0];
    uint64_t oldest = sr->rate_events[sr->rate_i % n]; /* 10 samples ago (or the first) */
    sr->rate_events[sr->rate_i % n] = rc->sp->events_total;
    sr->rate_i++;
    if (rc->samples < n)
        rc->samples++;
    if (rc->samples > 1) {
        unsigned span = rc->samples < n ? rc->samples - 1 : n;
        if (rc->samples < n)
            oldest = sr->rate_events[0];
        sr->events_per_s = (double)(rc->sp->events_total - oldest) / (double)span;
    }
}

/* PUB subscribers, counted from the socket monitor's connect/disconnect events. */
struct pubmon {
    void *zctx;
    struct ev_loop *loop;
    struct stats_runtime *sr;
    void *sock; /* our end of the monitor, or NULL */
    struct zsock_watcher w;
    unsigned gen; /* each socket monitored gets its own inproc endpoint */
};

static void on_pub_monitor(struct ev_loop *loop, struct zsock_watcher *w, int revents)
{
    struct stats_runtime *sr = w->data;
    for (int i = 0; i < 64; i++) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, w->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        zmq_msg_init(&addr);
        if (zmq_msg_more(&ev))
            zmq_msg_recv(&addr, w->socket, 0);
        if (zmq_msg_size(&ev) >= 2) {
            uint16_t id;
            memcpy(&id, zmq_msg_data(&ev), sizeof id);
            if (id == ZMQ_EVENT_ACCEPTED)
                sr->subscribers++;
            else if (id == ZMQ_EVENT_DISCONNECTED && sr->subscribers)
                sr->subscribers--;
        }
        zmq_msg_close(&addr);
        zmq_msg_close(&ev);
    }
}

static void pubmon_stop(struct pubmon *pm)
{
    if (!pm->sock)
        return;
    zsock_stop(pm->loop, &pm->w);
    zmq_close(pm->sock);
    pm->sock = NULL;
}

/* Monitors pub (the first alerts socket, or the one a rebind made: its subscribers start at 0). */
static void pubmon_attach(void *arg, void *pub)
{
    struct pubmon *pm = arg;
    char ep[64];
    int zero = 0;
    pubmon_stop(pm);
    pm->sr->subscribers = 0;
    snprintf(ep, sizeof ep, "inproc://floorwalkerd-pub-monitor-%u", pm->gen++);
    if (zmq_socket_monitor(pub, ep, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(pm->sock = zmq_socket(pm->zctx, ZMQ_PAIR)))
        return;
    zmq_setsockopt(pm->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(pm->sock, ep) == 0 &&
        zsock_init(&pm->w, pm->sock, ZMQ_POLLIN, on_pub_monitor, pm->sr) == 0) {
        zsock_start(pm->loop, &pm->w);
        return;
    }
    zmq_close(pm->sock);
    pm->sock = NULL;
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    notify("WATCHDOG=1");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"check-config", no_argument, NULL, 'C'},
        {"foreground", no_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"rebuild", no_argument, NULL, 'R'},
        {"test-clock", no_argument, NULL, 'T'},
        {"hash-password", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *cfg_path = NULL, *data_dir = NULL;
    bool check_only = false, verbose = false, rebuild = false, test_clock = false, hash_pw = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:d:fvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cfg_path = optarg;
            break;
        case 'd':
            data_dir = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'f':
            break;
        case 'R':
            rebuild = true;
            break;
        case 'T':
            test_clock = true;
            break;
        case 'H':
            hash_pw = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("floorwalkerd %s\n", FW_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "floorwalkerd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (hash_pw)
        return fw_hash_password_stdin("floorwalkerd");

    struct config cfg;
    char err[1024];
    config_defaults(&cfg);
    if (cfg_path && config_load(&cfg, cfg_path, err, sizeof err) != FW_OK) {
        fprintf(stderr, "floorwalkerd: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    if (data_dir)
        snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data_dir);
    if (check_only) {
        printf("%s: configuration OK (%zu store(s), %zu terminal(s))\n",
               cfg_path ? cfg_path : "(embedded defaults)", cfg.nstores, cfg.nterminals);
        config_free(&cfg);
        return 0;
    }
    log_setup(verbose ? LOG_LVL_DEBUG : (enum log_level)cfg.log_level, cfg.log_syslog);
    signal(SIGPIPE, SIG_IGN);

    int rc = 3;
    struct store *st = NULL;
    struct ingest *in = NULL;
    struct query *q = NULL;
    struct rollup *rollup = NULL;
    struct alerts *alerts = NULL;
    struct exports *exports = NULL;
    struct rules *rules = NULL;
    struct auth *auth = NULL;
    void *pub = NULL;
    struct stats_persist sp;
    struct stats_runtime sr = {.started_ms = fw_now_ms()};
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    void *zctx = zmq_ctx_new();
    struct pubmon pubmon = {.zctx = zctx, .loop = loop, .sr = &sr};
    if (!loop || !zctx) {
        log_err("cannot create the event loop or the ZeroMQ context");
        goto out;
    }
    if (store_open(&st, cfg.data_dir, (size_t)cfg.map_size_mb << 20,
                   (size_t)cfg.map_grow_mb << 20) != FW_OK)
        goto out;
    if (ingest_load_stats(st, &sp) != FW_OK) {
        log_err("cannot read the stored counters in %s", cfg.data_dir);
        goto out;
    }
    /* Positions are 1..events_total; the log may be empty after retention pruned it all, and
     * a position must never be handed out twice. */
    store_event_pos_at_least(st, sp.events_total + 1);
    /* CURVE fails open without a ZAP handler: bind it before any CURVE socket. */
    if (!rebuild && cfg.curve) {
        if (auth_create(&auth, loop, zctx, &cfg, &sr) != FW_OK)
            goto out;
        zsock_set_curve_server(cfg.server_secret);
    }
    char pub_ep[CONFIG_EP_MAX] = "";
    /* In curve mode an XPUB, whose subscriptions auth.c checks against the key's regions. */
    if (!rebuild && !(pub = zsock_bind(zctx, auth ? ZMQ_XPUB : ZMQ_PUB, cfg.alerts_endpoint, 0, 0,
                                       pub_ep, sizeof pub_ep, "alerts")))
        goto out;
    /* From here auth owns the XPUB (it may replace it on a reload); pub only marks "not
     * rebuild mode" for alerts_create. */
    if (auth && auth_watch_alerts(auth, loop, zctx, pub, pub_ep) != FW_OK)
        goto out;

    if (rollup_create(&rollup, &cfg, st) != FW_OK) {
        log_err("cannot open the rollups in %s", cfg.data_dir);
        goto out;
    }
    uint64_t replayed = 0, t0 = fw_mono_ns();
    if (rebuild) {
        if (rollup_rebuild(rollup, &replayed) != FW_OK) {
            log_err("rebuild failed");
            goto out;
        }
        log_info("rebuilt every rollup from %" PRIu64 " logged events in %.1f s", replayed,
                 (double)(fw_mono_ns() - t0) / 1e9);
        rc = 0;
        goto out;
    }
    if (exports_create(&exports, st) != FW_OK) {
        log_err("cannot read the exporters' positions in %s", cfg.data_dir);
        goto out;
    }
    if (alerts_create(&alerts, st, pub) != FW_OK ||
        rules_create(&rules, &cfg, st, rollup, alerts) != FW_OK) {
        log_err("cannot open the alerts in %s", cfg.data_dir);
        goto out;
    }
    alerts_set_update_min(alerts, cfg.alert_update_min_s);
    if (auth) {
        alerts_set_sender(alerts, auth_publish, auth);
        auth_set_rebind_hook(auth, pubmon_attach, &pubmon);
    }
    if (rollup_replay(rollup, &replayed) != FW_OK) {
        log_err("replaying the event log into the rollups failed");
        goto out;
    }
    if (replayed)
        log_info("replayed %" PRIu64 " events logged after the last checkpoint in %.1f ms",
                 replayed, (double)(fw_mono_ns() - t0) / 1e6);
    if (ingest_create(&in, loop, zctx, &cfg, st, &sp, &sr, rollup) != FW_OK)
        goto out;
    if (query_create(&q, loop, zctx, &cfg, st, &sp, &sr, rollup) != FW_OK)
        goto out;
    ingest_set_rules(in, rules, alerts);
    ingest_set_yield(in, query_waiting, q);
    void *farg = NULL;
    ingest_flush_fn *flush =
        ingest_add_flusher(in, exports_flush_begin, NULL, exports_flush_end, exports, &farg);
    exports_set_flusher(exports, flush, farg);
    query_set_exports(q, exports);
    query_set_alerts_endpoint(q, pub_ep);
    query_set_alerts(q, alerts, rules, test_clock);
    if (cfg.metrics_listen[0] && query_enable_metrics(q, cfg.metrics_listen) != FW_OK)
        goto out;
    /* Conditions that cleared (or arose) while the daemon was down are judged now. */
    rules_tick(rules);
    struct rate_ctx rate = {&sp, &sr, 0};
    ev_timer rate_timer;
    ev_timer_init(&rate_timer, on_rate, 0, 1.0);
    rate_timer.data = &rate;
    on_rate(loop, &rate_timer, 0); /* the first sample: what was stored before this start */
    ev_timer_again(loop, &rate_timer);
    ev_unref(loop);
    pubmon_attach(&pubmon, pub);
    struct retention_ctx retention = {&cfg, rollup, alerts, exports, false};
    ev_timer retention_timer;
    ev_timer_init(&retention_timer, on_retention, (double)cfg.checkpoint_ms / 1000.0,
                  (double)cfg.checkpoint_ms / 1000.0);
    retention_timer.data = &retention;
    ev_timer_start(loop, &retention_timer);
    ev_unref(loop);
    ev_timer rules_timer;
    ev_timer_init(&rules_timer, on_rules, 15.0, 15.0);
    rules_timer.data = rules;
    ev_timer_start(loop, &rules_timer);
    ev_unref(loop);
    ev_timer checkpoint;
    ev_timer_init(&checkpoint, on_checkpoint, (double)cfg.checkpoint_ms / 1000.0,
                  (double)cfg.checkpoint_ms / 1000.0);
    checkpoint.data = in;
    ev_timer_start(loop, &checkpoint);
    ev_unref(loop);
    ev_signal sigterm, sigint, sighup;
    ev_signal_init(&sigterm, on_stop, SIGTERM);
    ev_signal_init(&sigint, on_stop, SIGINT);
    ev_signal_init(&sighup, on_hup, SIGHUP);
    struct reload_ctx reload = {&cfg, cfg_path, data_dir, rollup, auth, verbose};
    sighup.data = &reload;
    ev_signal_start(loop, &sigterm);
    ev_signal_start(loop, &sigint);
    ev_signal_start(loop, &sighup);
    ev_unref(loop); /* signal watchers alone do not keep the loop alive */
    ev_unref(loop);
    ev_unref(loop);

    log_info("floorwalkerd %s ready: data %s, %" PRIu64 " events stored; ingest %s, alerts %s, "
             "query %s%s",
             FW_VERSION, cfg.data_dir, sp.events_total, ingest_endpoint(in), pub_ep,
             query_endpoint(q), cfg.nstores ? "" : " (zero-config: every store accepted)");
    if (cfg.curve)
        log_info("security: CurveZMQ, server key %s, %zu client key(s) allowed", cfg.server_public,
                 cfg.nkeys);
    notify("READY=1");
    /* The watchdog is fed from a loop timer: a stuck loop stops feeding it. */
    ev_timer watchdog;
    uint64_t wd_usec = 0;
#ifdef FW_WITH_SYSTEMD
    if (sd_watchdog_enabled(0, &wd_usec) <= 0)
        wd_usec = 0;
#endif
    if (wd_usec) {
        ev_timer_init(&watchdog, on_watchdog, 0, (double)wd_usec / 2e6);
        ev_timer_again(loop, &watchdog);
        ev_unref(loop);
    }
    ev_run(loop, 0);
    rc = 0;
out:
    pubmon_stop(&pubmon);
    query_destroy(&q, loop);
    ingest_destroy(&in, loop);
    alerts_flush(alerts); /* what waited for the next job: stored and published at once */
    if (rollup && rollup_checkpoint(rollup) != FW_OK)
        rc = rc ? rc : 3;
    rollup_destroy(&rollup);
    rules_destroy(&rules);
    alerts_destroy(&alerts);
    exports_destroy(&exports);
    if (pub && !auth)
        zmq_close(pub);
    auth_destroy(&auth, loop); /* closes the XPUB it watched */
    zsock_set_curve_server(NULL);
    store_destroy(&st);
    if (zctx)
        zmq_ctx_term(zctx);
    config_free(&cfg);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
