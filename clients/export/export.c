/*
 * floorwalker export kafka: the daemon's committed event log into a Kafka topic, exactly once
 * (issue 18, README "Export to Kafka").
 *
 * The log is read with LOG_READ from the last exported position; each event is produced with
 * key = store id (a store's events stay in order in one partition), value = the Event bytes as
 * the terminal sent them, headers terminal, epoch, seq, position and fw-txn. The position goes
 * into a progress topic (key = the exporter's name, value = the position) in the SAME Kafka
 * transaction as the events, so a transaction either adds its events and moves the position,
 * or does neither; at start the position is read back with isolation.level=read_committed.
 * transactional.id = "floorwalker-export-" NAME fences an older instance still running.
 * Daemon and broker outages are waited out; nothing is skipped. After each commit the
 * position is reported to the daemon (EXPORT_POSITION), whose retention waits for it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "fwcommon.h"

#define WHO "floorwalker export"
#define MAX_PROPS 32
#define KAFKA_TIMEOUT_MS 30000
#define RETRY_MS 1000

struct xopts {
    const char *brokers, *topic, *name, *query_ep;
    char progress_topic[256];
    long batch, stats_seconds, timeout_s;
    const char *props[MAX_PROPS]; /* -X key=value, for librdkafka */
    int nprops;
};

struct xstats {
    uint64_t exported, txns, aborts, restarts, lost;
    uint64_t log_end;
    int64_t oldest_unexported_ms; /* received time of the next event to export; 0: caught up */
};

struct exporter {
    const struct xopts *o;
    void *ctx;
    rd_kafka_t *rk;
    char txn_prefix[96]; /* fw-txn header: NAME/pid.start_ms/counter */
    uint64_t txn_n;
    uint64_t pos; /* exported (committed in Kafka) through this log position */
    struct xstats st;
    bool delivery_failed;
    bool daemon_down, broker_down; /* said once until it comes back */
};

static fw_stop_flag stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker export kafka --brokers HOST:PORT[,...] --topic TOPIC [OPTIONS]\n"
            "\n"
            "Export floorwalkerd's committed event log into Kafka, exactly once, and keep\n"
            "exporting as events arrive. Each event is one message: key = store id, value =\n"
            "the Event bytes as the terminal sent them, headers terminal, epoch, seq,\n"
            "position, fw-txn. The exported position is committed in the same Kafka\n"
            "transaction as the events, in the progress topic (key = --name; one partition,\n"
            "cleanup.policy=compact), and read back from there at start with read_committed.\n"
            "\n"
            "  -b, --brokers LIST     Kafka bootstrap servers\n"
            "  -t, --topic TOPIC      the events' topic\n"
            "  -n, --name NAME        this exporter's name (an id; default \"kafka\"): the\n"
            "                         progress key, transactional.id floorwalker-export-NAME,\n"
            "                         and the name the daemon's retention waits for\n"
            "  -p, --progress-topic T default TOPIC.progress\n"
            "  -q, --query EP         the daemon's query endpoint (default %s, or\n"
            "                         $FLOORWALKER_QUERY); in curve mode an ops --key\n"
            "      --batch N          events per Kafka transaction (default 5000)\n"
            "      --stats N          a stats line on stderr every N seconds (default 60; 0: off)\n"
            "  -X KEY=VALUE           a librdkafka property (security.protocol, sasl.*, ...)\n"
            "  -w, --timeout S        seconds to wait for the daemon per request (default 5)\n"
            "\n"
            "Runs until SIGINT or SIGTERM (exit 0); a daemon or broker outage is waited out.\n"
            "Exit 2: bad command line; 3: Kafka refused the producer for good (for example\n"
            "another instance with the same --name took over).\n",
            DEFAULT_QUERY);
}

/* ---- Kafka ------------------------------------------------------------------------------- */

static rd_kafka_conf_t *base_conf(const struct xopts *o)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", o->brokers, err, sizeof err) != RD_KAFKA_CONF_OK)
        goto bad;
    for (int i = 0; i < o->nprops; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s", o->props[i]);
        char *eq = strchr(kv, '=');
        if (!eq) {
            snprintf(err, sizeof err, "-X %s: give KEY=VALUE", o->props[i]);
            goto bad;
        }
        *eq = 0;
        if (rd_kafka_conf_set(c, kv, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK)
            goto bad;
    }
    return c;
bad:
    fprintf(stderr, WHO ": %s\n", err);
    rd_kafka_conf_destroy(c);
    return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct exporter *x = opaque;
    (void)rk;
    if (m->err && !x->delivery_failed) {
        x->delivery_failed = true;
        fprintf(stderr, WHO ": a message was not delivered: %s; the transaction is aborted\n",
                rd_kafka_err2str(m->err));
    }
}

static void say_broker(struct exporter *x, bool down, const char *what)
{
    if (down && !x->broker_down)
        fprintf(stderr, WHO ": Kafka: %s; retrying (nothing is skipped)\n", what);
    else if (!down && x->broker_down)
        fprintf(stderr, WHO ": Kafka answers again\n");
    x->broker_down = down;
}

/* Handles err (which it destroys): 0 retriable (after a pause), -1 fatal. */
static int kafka_error(struct exporter *x, rd_kafka_error_t *err, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s", what, rd_kafka_error_string(err));
    bool fatal = rd_kafka_error_is_fatal(err);
    rd_kafka_error_destroy(err);
    if (fatal) {
        fprintf(stderr, WHO ": Kafka: %s (fatal)\n", msg);
        return -1;
    }
    say_broker(x, true, msg);
    for (int i = 0; i < RETRY_MS / 100 && !stop_flag; i++)
        usleep(100000);
    return 0;
}

static void producer_close(struct exporter *x)
{
    if (x->rk) {
        rd_kafka_destroy(x->rk);
        x->rk = NULL;
    }
}

/* A transactional producer, initialised: the coordinator has fenced and aborted whatever an
 * older instance with our transactional.id left open. 0, or -1 (fatal, or stopped). */
static int producer_open(struct exporter *x)
{
    const struct xopts *o = x->o;
    char err[512], tid[128];
    rd_kafka_conf_t *c = base_conf(o);
    if (!c)
        return -1;
    snprintf(tid, sizeof tid, "floorwalker-export-%s", o->name);
    if (rd_kafka_conf_set(c, "transactional.id", tid, err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "linger.ms", "5", err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, WHO ": %s\n", err);
        rd_kafka_conf_destroy(c);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_opaque(c, x);
    if (!(x->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err))) {
        fprintf(stderr, WHO ": %s\n", err);
        return -1;
    }
    while (!stop_flag) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(x->rk, KAFKA_TIMEOUT_MS);
        if (!e)
            break;
        if (kafka_error(x, e, "init_transactions") != 0)
            return -1;
    }
    /* Both topics' leaders now, not at the first message (a metadata round trip each). */
    const char *topics[] = {o->topic, o->progress_topic};
    for (size_t i = 0; i < 2 && !stop_flag; i++) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(x->rk, topics[i], NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (t &&
            rd_kafka_metadata(x->rk, 0, t, &md, KAFKA_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        if (t)
            rd_kafka_topic_destroy(t);
    }
    return stop_flag ? -1 : 0;
}

/* The exported position, from the progress topic with read_committed: the last record under
 * our name. 0 (with *pos = 0 when there is none yet), or -1 when Kafka did not answer. */
static int progress_read(struct exporter *x, uint64_t *pos)
{
    const struct xopts *o = x->o;
    char err[512];
    rd_kafka_conf_t *c = base_conf(o);
    if (!c)
        return -1;
    if (rd_kafka_conf_set(c, "isolation.level", "read_committed", err, sizeof err) ||
        rd_kafka_conf_set(c, "enable.partition.eof", "true", err, sizeof err) ||
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err)) {
        fprintf(stderr, WHO ": %s\n", err);
        rd_kafka_conf_destroy(c);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, WHO ": %s\n", err);
        return -1;
    }
    /* The simple consumer: one partition from its start, no consumer group. */
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, o->progress_topic, NULL);
    int rc = -1;
    size_t nlen = strlen(o->name);
    uint64_t found = 0;
    if (t && rd_kafka_consume_start(t, 0, RD_KAFKA_OFFSET_BEGINNING) == 0) {
        uint64_t deadline = fw_mono_ns() + (uint64_t)KAFKA_TIMEOUT_MS * 1000000u;
        while (!stop_flag && fw_mono_ns() < deadline) {
            rd_kafka_message_t *m = rd_kafka_consume(t, 0, 200);
            if (!m)
                continue;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                rd_kafka_message_destroy(m);
                rc = 0;
                break;
            }
            if (m->err) {
                say_broker(x, true, rd_kafka_message_errstr(m));
            } else if (m->key_len == nlen && !memcmp(m->key, o->name, nlen) && m->len < 32) {
                char v[32];
                memcpy(v, m->payload, m->len);
                v[m->len] = 0;
                found = strtoull(v, NULL, 10);
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_consume_stop(t, 0);
    }
    if (t)
        rd_kafka_topic_destroy(t);
    rd_kafka_destroy(rk);
    if (rc == 0)
        *pos = found;
    return rc;
}

/* ---- the daemon -------------------------------------------------------------------------- */

static Floorwalker__QueryResult *ask(struct exporter *x, Floorwalker__Query *q, bool quiet)
{
    Floorwalker__QueryResult *r = NULL;
    int t = (int)x->o->timeout_s;
    uint64_t deadline = fw_mono_ns() + (uint64_t)t * 1000000000u;
    /* The ask prints why it failed; during an outage, only the first time. */
    enum ask_status s = cli_ask(quiet || x->daemon_down ? NULL : WHO, x->ctx, x->o->query_ep, q, t,
                                deadline, &stop_flag, &r);
    if (s != ASK_OK) {
        if (!quiet && !x->daemon_down && !stop_flag)
            fprintf(stderr, WHO ": waiting for the daemon (nothing is skipped)\n");
        if (!quiet)
            x->daemon_down = true;
        return NULL;
    }
    if (x->daemon_down && !quiet)
        fprintf(stderr, WHO ": the daemon answers again\n");
    if (!quiet)
        x->daemon_down = false;
    return r;
}

static void report_position(struct exporter *x)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = FLOORWALKER__QUERY__KIND__EXPORT_POSITION;
    q.exporter = (char *)x->o->name;
    q.after_position = x->pos;
    Floorwalker__QueryResult *r = ask(x, &q, true);
    if (r && r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK)
        fprintf(stderr, WHO ": the daemon refused our position: %s\n", r->error);
    if (r)
        floorwalker__query_result__free_unpacked(r, NULL);
}

static void print_stats(struct exporter *x, double rate)
{
    const struct xstats *s = &x->st;
    uint64_t lag = s->log_end > x->pos ? s->log_end - x->pos : 0;
    double lag_s = lag && s->oldest_unexported_ms
                       ? (double)(fw_now_ms() - s->oldest_unexported_ms) / 1000.0
                       : 0.0;
    fprintf(stderr,
            WHO ": position=%" PRIu64 " exported=%" PRIu64 " events_per_s=%.0f lag_events=%" PRIu64
                " lag_s=%.1f txns=%" PRIu64 " aborted=%" PRIu64 " producer_restarts=%" PRIu64
                " lost_to_retention=%" PRIu64 "\n",
            x->pos, s->exported, rate, lag, lag_s < 0 ? 0.0 : lag_s, s->txns, s->aborts,
            s->restarts, s->lost);
}

/* ---- one transaction --------------------------------------------------------------------- */

static rd_kafka_resp_err_t produce_one(struct exporter *x, const Floorwalker__LogEntry *e,
                                       const char *txn)
{
    char epoch[24], seq[24], pos[24];
    snprintf(epoch, sizeof epoch, "%" PRIu64, e->epoch);
    snprintf(seq, sizeof seq, "%" PRIu64, e->seq);
    snprintf(pos, sizeof pos, "%" PRIu64, e->position);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            x->rk, RD_KAFKA_V_TOPIC(x->o->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(e->store_id, strlen(e->store_id)),
            RD_KAFKA_V_VALUE(e->event.data, e->event.len),
            RD_KAFKA_V_HEADER("terminal", e->terminal_id, -1),
            RD_KAFKA_V_HEADER("epoch", epoch, -1), RD_KAFKA_V_HEADER("seq", seq, -1),
            RD_KAFKA_V_HEADER("position", pos, -1), RD_KAFKA_V_HEADER("fw-txn", txn, -1),
            RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || stop_flag)
            return err;
        rd_kafka_poll(x->rk, 100); /* the queue drains as the brokers take it */
    }
}

enum txn_outcome { TXN_COMMITTED, TXN_ABORTED, TXN_FATAL };

/* Ends the transaction in flight by aborting it (retried until Kafka answers). */
static enum txn_outcome txn_abort(struct exporter *x)
{
    x->st.aborts++;
    while (!stop_flag) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(x->rk, KAFKA_TIMEOUT_MS);
        if (!e)
            return TXN_ABORTED;
        if (kafka_error(x, e, "abort_transaction") != 0)
            return TXN_FATAL;
    }
    return TXN_FATAL;
}

/*
 * The entries and the new position in one transaction. The progress record is produced only
 * once every event of the transaction is acknowledged by its partition leader (flush), so a
 * progress record never goes ahead of its events anywhere, even in a cluster (or mock) that
 * shows what a transaction wrote before its commit marker.
 */
static enum txn_outcome txn_run(struct exporter *x, Floorwalker__LogEntry **log, size_t n)
{
    char txn[128];
    snprintf(txn, sizeof txn, "%s/%" PRIu64, x->txn_prefix, ++x->txn_n);
    rd_kafka_error_t *e;
    while ((e = rd_kafka_begin_transaction(x->rk)))
        if (kafka_error(x, e, "begin_transaction") != 0 || stop_flag)
            return TXN_FATAL;
    x->delivery_failed = false;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = produce_one(x, log[i], txn);
        if (err) {
            if (!stop_flag)
                fprintf(stderr, WHO ": produce: %s\n", rd_kafka_err2str(err));
            return txn_abort(x);
        }
    }
    while (rd_kafka_flush(x->rk, KAFKA_TIMEOUT_MS) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        say_broker(x, true, "the brokers have not taken the transaction's events yet");
        if (stop_flag)
            return txn_abort(x);
    }
    if (x->delivery_failed)
        return txn_abort(x);
    char pos[24];
    uint64_t last = log[n - 1]->position;
    snprintf(pos, sizeof pos, "%" PRIu64, last);
    if (rd_kafka_producev(x->rk, RD_KAFKA_V_TOPIC(x->o->progress_topic), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(x->o->name, strlen(x->o->name)),
                          RD_KAFKA_V_VALUE(pos, strlen(pos)), RD_KAFKA_V_HEADER("fw-txn", txn, -1),
                          RD_KAFKA_V_END))
        return txn_abort(x);
    for (;;) {
        e = rd_kafka_commit_transaction(x->rk, KAFKA_TIMEOUT_MS);
        if (!e)
            break;
        if (rd_kafka_error_txn_requires_abort(e)) {
            fprintf(stderr, WHO ": commit_transaction: %s; aborting it\n",
                    rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return txn_abort(x);
        }
        /* Retriable: committing again is what librdkafka documents. */
        if (kafka_error(x, e, "commit_transaction") != 0 || stop_flag)
            return TXN_FATAL;
    }
    say_broker(x, false, NULL);
    x->pos = last;
    x->st.exported += n;
    x->st.txns++;
    return TXN_COMMITTED;
}

/* ---- the loop ---------------------------------------------------------------------------- */

/* (Re)starts the producer and reads the position back from Kafka. 0, or -1 to give up. */
static int restart(struct exporter *x)
{
    for (;;) {
        producer_close(x);
        if (stop_flag || producer_open(x) != 0)
            return -1;
        uint64_t pos;
        if (progress_read(x, &pos) == 0) {
            x->pos = pos;
            return 0;
        }
        if (stop_flag)
            return -1;
        say_broker(x, true, "cannot read the progress topic");
        usleep(RETRY_MS * 1000);
    }
}

static int run(const struct xopts *o)
{
    struct exporter x = {.o = o};
    int rc = EXIT_OK;
    cli_catch_stop(on_signal);
    snprintf(x.txn_prefix, sizeof x.txn_prefix, "%s/%ld.%" PRId64, o->name, (long)getpid(),
             fw_now_ms());
    if (!(x.ctx = zmq_ctx_new()))
        return EXIT_NODAEMON;
    if (restart(&x) != 0) {
        rc = stop_flag ? EXIT_OK : EXIT_NODAEMON;
        goto out;
    }
    fprintf(stderr, WHO ": %s into %s (progress in %s), from log position %" PRIu64 "\n", o->name,
            o->topic, o->progress_topic, x.pos);
    uint64_t stats_ns = (uint64_t)o->stats_seconds * 1000000000u;
    uint64_t next_stats = fw_mono_ns() + stats_ns, next_report = 0, last_stats = fw_mono_ns();
    uint64_t exported_at_stats = 0;
    bool gap_said = false;
    while (!stop_flag) {
        uint64_t now = fw_mono_ns();
        if (stats_ns && now >= next_stats) {
            double secs = (double)(now - last_stats) / 1e9;
            print_stats(&x, secs > 0 ? (double)(x.st.exported - exported_at_stats) / secs : 0);
            exported_at_stats = x.st.exported;
            last_stats = now;
            next_stats = now + stats_ns;
        }
        if (now >= next_report) { /* also while idle: the daemon sees the exporter alive */
            report_position(&x);
            next_report = now + 10000000000ull;
        }
        Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
        q.kind = FLOORWALKER__QUERY__KIND__LOG_READ;
        q.after_position = x.pos;
        q.limit = (uint32_t)o->batch;
        Floorwalker__QueryResult *r = ask(&x, &q, false);
        if (!r) {
            usleep(RETRY_MS * 1000);
            continue;
        }
        if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
            fprintf(stderr, WHO ": the daemon refused to serve its log: %s\n", r->error);
            floorwalker__query_result__free_unpacked(r, NULL);
            rc = EXIT_USAGE;
            break;
        }
        x.st.log_end = r->log_end;
        x.st.oldest_unexported_ms = r->n_log ? r->log[0]->received_ms : 0;
        if (r->n_log && r->log[0]->position != x.pos + 1 && !gap_said) {
            /* Retention pruned events before we exported them (see export_hold_max_days). */
            uint64_t lost = r->log[0]->position - x.pos - 1;
            x.st.lost += lost;
            fprintf(stderr,
                    WHO ": %s positions %" PRIu64 "-%" PRIu64
                        " are no longer in the daemon's log (%" PRIu64 " events)%s\n",
                    x.pos ? "ERROR:" : "", x.pos + 1, r->log[0]->position - 1, lost,
                    x.pos ? ": pruned by retention before they were exported; they are missing "
                            "from the topic"
                          : " (pruned before this exporter started); starting after them");
            gap_said = true;
        }
        if (!r->n_log) {
            floorwalker__query_result__free_unpacked(r, NULL);
            rd_kafka_poll(x.rk, 0);
            usleep(100000);
            continue;
        }
        enum txn_outcome t = txn_run(&x, r->log, r->n_log);
        floorwalker__query_result__free_unpacked(r, NULL);
        if (t == TXN_COMMITTED) {
            gap_said = false;
            report_position(&x);
            next_report = fw_mono_ns() + 10000000000ull;
        } else if (t == TXN_FATAL && !stop_flag) {
            /* Fenced by a newer instance, or the producer is broken: start again from what
             * Kafka holds. A fence means another exporter took over: then we stop. */
            x.st.restarts++;
            rd_kafka_resp_err_t fe = RD_KAFKA_RESP_ERR_NO_ERROR;
            char why[256] = "";
            if (x.rk)
                fe = rd_kafka_fatal_error(x.rk, why, sizeof why);
            if (fe == RD_KAFKA_RESP_ERR__FENCED || fe == RD_KAFKA_RESP_ERR_PRODUCER_FENCED) {
                fprintf(stderr, WHO ": fenced: another exporter named %s took over (%s)\n", o->name,
                        why);
                rc = EXIT_NODAEMON;
                break;
            }
            if (restart(&x) != 0)
                break;
        }
    }
    if (stats_ns)
        print_stats(&x, 0);
out:
    producer_close(&x);
    zmq_ctx_term(x.ctx);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
        {"name", required_argument, NULL, 'n'},    {"progress-topic", required_argument, NULL, 'p'},
        {"query", required_argument, NULL, 'q'},   {"batch", required_argument, NULL, 'B'},
        {"stats", required_argument, NULL, 'S'},   {"timeout", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct xopts o = {.name = "kafka",
                      .query_ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY),
                      .batch = 5000,
                      .stats_seconds = 60,
                      .timeout_s = 5};
    const char *progress = NULL;
    int c;
    if (argc < 2 || strcmp(argv[1], "kafka")) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            usage(stdout);
            return EXIT_OK;
        }
        fprintf(stderr, WHO ": say where to: floorwalker export kafka ...\n\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:t:n:p:q:w:X:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o.brokers = optarg;
            break;
        case 't':
            o.topic = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'p':
            progress = optarg;
            break;
        case 'q':
            o.query_ep = optarg;
            break;
        case 'B':
            if (!cli_parse_long(WHO, "--batch", optarg, 1, 10000, &o.batch))
                return EXIT_USAGE;
            break;
        case 'S':
            if (!cli_parse_long(WHO, "--stats", optarg, 0, 86400, &o.stats_seconds))
                return EXIT_USAGE;
            break;
        case 'w':
            if (!cli_parse_long(WHO, "--timeout", optarg, 1, 3600, &o.timeout_s))
                return EXIT_USAGE;
            break;
        case 'X':
            if (o.nprops == MAX_PROPS) {
                fprintf(stderr, WHO ": at most %d -X properties\n", MAX_PROPS);
                return EXIT_USAGE;
            }
            o.props[o.nprops++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, WHO ": unexpected argument \"%s\"\n\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!o.brokers || !o.topic) {
        fprintf(stderr, WHO ": give --brokers and --topic\n");
        return EXIT_USAGE;
    }
    if (!fw_id_valid(o.name)) {
        fprintf(stderr, WHO ": --name \"%s\": give an id (1-64 of A-Z a-z 0-9 _ . -)\n", o.name);
        return EXIT_USAGE;
    }
    snprintf(o.progress_topic, sizeof o.progress_topic, "%s", progress ? progress : o.topic);
    if (!progress)
        snprintf(o.progress_topic + strlen(o.progress_topic),
                 sizeof o.progress_topic - strlen(o.progress_topic), ".progress");
    return run(&o);
}
