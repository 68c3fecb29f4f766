#include "webfeed.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "alertfeed.h"
#include "cli.h"
#include "fwcommon.h"
#include "qjson.h"

#define WHO "floorwalker web"
/* Recent alert messages kept for readers that are behind; one further behind gets a snapshot. */
#define RING 4096

/* One daemon followed, by its own thread. */
struct source {
    struct webfeed *f;
    const char *query_ep;
    char pub_ep[256]; /* "" until the daemon stated it */
    pthread_t thread;
    bool started;
    struct feed_seqs seqs; /* the thread's own */
    /* Under f->lock: */
    json_t *active;  /* alert_id -> the alert's object (FIRING ones) */
    json_t *pub_seq; /* region -> the last pub_seq taken in */
    bool connected;
};

struct webfeed {
    void *ctx;
    int timeout_s;
    fw_stop_flag stop;
    struct source *src;
    size_t nsrc;
    bool tag; /* several daemons: alerts carry "daemon", pub_seq is keyed "DAEMON REGION" */

    pthread_mutex_t lock;
    pthread_cond_t changed;
    uint64_t gen;            /* snapshots taken (readers of an older one get the new one) */
    uint64_t next;           /* sequence number of the next message */
    char *ring[RING];        /* message n at ring[n % RING], as an SSE "alert" event */
    char *ring_region[RING]; /* its region */
    bool halted;             /* readers get nothing more */
};

/* ---- the feed threads ---------------------------------------------------------------------- */

static char *sse_event(const char *event, uint64_t id, json_t *data)
{
    char *s = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *out = NULL;
    if (s && asprintf(&out, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", id, event, s) < 0)
        out = NULL;
    free(s);
    return out;
}

/* An alert as the browsers get it: with its daemon when there are several. */
static json_t *alert_json(const struct source *src, const Floorwalker__Alert *a)
{
    json_t *o = qjson_alert(a);
    if (o && src->f->tag)
        json_object_set_new(o, "daemon", json_string(src->query_ep));
    return o;
}

struct take {
    const struct source *src;
    json_t *active;
};

static bool take_alert(void *arg, const Floorwalker__Alert *a)
{
    struct take *t = arg;
    if (a->state == FLOORWALKER__ALERT__STATE__FIRING)
        json_object_set_new(t->active, a->alert_id, alert_json(t->src, a));
    return true;
}

/* A new snapshot of every region of one daemon; false if it did not answer. */
static bool snapshot(struct source *src)
{
    struct webfeed *f = src->f;
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    Floorwalker__QueryResult *r = NULL;
    q.kind = FLOORWALKER__QUERY__KIND__ALERTS;
    uint64_t deadline = fw_mono_ns() + (uint64_t)f->timeout_s * 1000000000u;
    if (cli_ask(WHO, f->ctx, src->query_ep, &q, f->timeout_s, deadline, &f->stop, &r) != ASK_OK)
        return false;
    if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
        fprintf(stderr, WHO ": the alerts snapshot was refused by %s: %s\n", src->query_ep,
                r->error);
        floorwalker__query_result__free_unpacked(r, NULL);
        return false;
    }
    struct take t = {src, json_object()};
    feed_seqs_free(&src->seqs);
    memset(&src->seqs, 0, sizeof src->seqs);
    feed_take_snapshot(&src->seqs, r, NULL, take_alert, &t);
    floorwalker__query_result__free_unpacked(r, NULL);
    json_t *seq = json_object();
    for (size_t i = 0; i < src->seqs.n; i++)
        json_object_set_new(seq, src->seqs.v[i].region,
                            json_integer((json_int_t)src->seqs.v[i].snap));
    pthread_mutex_lock(&f->lock);
    json_decref(src->active);
    json_decref(src->pub_seq);
    src->active = t.active;
    src->pub_seq = seq;
    f->gen++;
    src->connected = true;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    return true;
}

static void take_live(struct source *src, const Floorwalker__Alert *a)
{
    struct webfeed *f = src->f;
    json_t *o = alert_json(src, a);
    pthread_mutex_lock(&f->lock);
    uint64_t n = f->next++;
    free(f->ring[n % RING]);
    free(f->ring_region[n % RING]);
    f->ring[n % RING] = sse_event("alert", n + 1, o);
    f->ring_region[n % RING] = strdup(a->region);
    if (a->state == FLOORWALKER__ALERT__STATE__FIRING)
        json_object_set(src->active, a->alert_id, o);
    else
        json_object_del(src->active, a->alert_id);
    json_object_set_new(src->pub_seq, a->region, json_integer((json_int_t)a->pub_seq));
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    json_decref(o);
}

/* Sleeps ms unless the feed stops first. */
static void nap(struct webfeed *f, int ms)
{
    for (int i = 0; i < ms / 100 && !f->stop; i++)
        nanosleep(&(struct timespec){0, 100000000}, NULL);
}

/* The daemon's alerts endpoint, asked of it until it answers; false if it cannot be had. */
static bool discover(struct source *src)
{
    struct webfeed *f = src->f;
    for (int tries = 0; !f->stop; tries++) {
        /* Said once: the console keeps asking through a daemon's outage. */
        switch (cli_alerts_endpoint(tries ? NULL : WHO, f->ctx, src->query_ep, f->timeout_s,
                                    &f->stop, src->pub_ep, sizeof src->pub_ep)) {
        case ASK_OK:
            if (src->pub_ep[0])
                return true;
            fprintf(stderr,
                    WHO ": floorwalkerd at %s does not state its alerts endpoint (an older "
                        "version): its alerts are not shown; follow it with -e and -q\n",
                    src->query_ep);
            return false;
        case ASK_BADEP:
            return false;
        default:
            if (!tries)
                fprintf(stderr, WHO ": asking %s again every 2 s\n", src->query_ep);
            nap(f, 2000);
        }
    }
    return false;
}

static void *run(void *arg)
{
    struct source *src = arg;
    struct webfeed *f = src->f;
    if (!src->pub_ep[0] && !discover(src))
        return NULL;
    int zero = 0;
    void *sub = zmq_socket(f->ctx, ZMQ_SUB);
    if (!sub) {
        fprintf(stderr, WHO ": zmq_socket: %s\n", zmq_strerror(zmq_errno()));
        return NULL;
    }
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "alert/", 6);
    void *mon = NULL;
    if (cli_secure(sub, WHO) != 0)
        goto out;
    mon = cli_monitor(f->ctx, sub, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (zmq_connect(sub, src->pub_ep) != 0) {
        fprintf(stderr, WHO ": cannot connect to %s: %s\n", src->pub_ep, zmq_strerror(zmq_errno()));
        if (mon)
            feed_monitor_wait_stop(sub, mon, 0, &f->stop);
        goto out;
    }
    /* Subscribe first, then take the snapshot (docs/ALERTS.md). */
    if (mon)
        feed_monitor_wait_stop(sub, mon, fw_mono_ns() + 1000000000ull, &f->stop);
    bool due = true;
    uint64_t retry = 0;
    while (!f->stop) {
        if (due && fw_mono_ns() >= retry) {
            due = !snapshot(src);
            retry = fw_mono_ns() + 2000000000ull;
        }
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        int k = zmq_poll(&it, 1, 200);
        if (k < 0 && zmq_errno() != EINTR)
            break;
        for (int m = 0; k > 0 && m < 1000 && !f->stop; m++) {
            int ev = 0;
            size_t len = sizeof ev;
            if (zmq_getsockopt(sub, ZMQ_EVENTS, &ev, &len) != 0 || !(ev & ZMQ_POLLIN))
                break;
            Floorwalker__Alert *a = feed_recv(sub, WHO);
            if (!a)
                continue;
            uint64_t missed = 0;
            if (!due) {
                switch (feed_seqs_live(&src->seqs, a, true, &missed)) {
                case FEED_COVERED:
                    break;
                case FEED_GAP:
                    fprintf(stderr,
                            WHO ": %s, region %s: %" PRIu64 " alert messages missed; taking a "
                                "new snapshot\n",
                            src->query_ep, a->region, missed);
                    due = true;
                    retry = 0;
                    break;
                case FEED_NEXT:
                    take_live(src, a);
                    break;
                }
            }
            floorwalker__alert__free_unpacked(a, NULL);
        }
    }
out:
    zmq_close(sub);
    return NULL;
}

struct webfeed *webfeed_start(void *ctx, const char *const *query_eps, const char *const *pub_eps,
                              size_t n, int timeout_s)
{
    struct webfeed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->ctx = ctx;
    f->timeout_s = timeout_s;
    f->tag = n > 1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->changed, &ca);
    pthread_condattr_destroy(&ca);
    if (!(f->src = calloc(n, sizeof *f->src))) {
        webfeed_stop(f);
        return NULL;
    }
    f->nsrc = n;
    for (size_t i = 0; i < n; i++) {
        struct source *src = &f->src[i];
        src->f = f;
        src->query_ep = query_eps[i];
        if (pub_eps && pub_eps[i])
            snprintf(src->pub_ep, sizeof src->pub_ep, "%s", pub_eps[i]);
        src->active = json_object();
        src->pub_seq = json_object();
    }
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&f->src[i].thread, NULL, run, &f->src[i]) != 0) {
            webfeed_stop(f);
            return NULL;
        }
        f->src[i].started = true;
    }
    return f;
}

void webfeed_halt(struct webfeed *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->halted = true;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
}

void webfeed_stop(struct webfeed *f)
{
    if (!f)
        return;
    f->stop = 1;
    for (size_t i = 0; i < f->nsrc; i++) {
        struct source *src = &f->src[i];
        if (src->started)
            pthread_join(src->thread, NULL);
        json_decref(src->active);
        json_decref(src->pub_seq);
        feed_seqs_free(&src->seqs);
    }
    free(f->src);
    for (int i = 0; i < RING; i++) {
        free(f->ring[i]);
        free(f->ring_region[i]);
    }
    pthread_cond_destroy(&f->changed);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void webfeed_seq_key(char *out, size_t len, const char *daemon, const char *region)
{
    if (daemon)
        snprintf(out, len, "%s %s", daemon, region);
    else
        snprintf(out, len, "%s", region);
}

long webfeed_owner(struct webfeed *f, const char *alert_id)
{
    long owner = -1;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nsrc && owner < 0; i++)
        if (json_object_get(f->src[i].active, alert_id))
            owner = (long)i;
    pthread_mutex_unlock(&f->lock);
    return owner;
}

/* With the lock held. */
static bool all_connected(const struct webfeed *f)
{
    for (size_t i = 0; i < f->nsrc; i++)
        if (!f->src[i].connected)
            return false;
    return true;
}

int webfeed_connected(struct webfeed *f)
{
    pthread_mutex_lock(&f->lock);
    int c = all_connected(f);
    pthread_mutex_unlock(&f->lock);
    return c;
}

json_t *webfeed_daemons(struct webfeed *f)
{
    if (!f->tag)
        return NULL;
    json_t *a = json_array();
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nsrc; i++)
        json_array_append_new(a, json_pack("{s:s, s:b}", "daemon", f->src[i].query_ep, "connected",
                                           f->src[i].connected));
    pthread_mutex_unlock(&f->lock);
    return a;
}

/* ---- readers ------------------------------------------------------------------------------- */

/* With the lock held: the snapshot event; the reader then follows it. */
static char *snapshot_event(struct webfeed *f, struct webfeed_reader *r)
{
    json_t *alerts = json_array(), *seq = json_object();
    for (size_t i = 0; i < f->nsrc; i++) {
        const struct source *src = &f->src[i];
        const char *k;
        json_t *v;
        json_object_foreach(src->active, k, v)
        {
            if (!r->region_ok ||
                r->region_ok(r->arg, json_string_value(json_object_get(v, "region"))))
                json_array_append(alerts, v);
        }
        json_object_foreach(src->pub_seq, k, v)
        {
            if (r->region_ok && !r->region_ok(r->arg, k))
                continue;
            char key[512];
            webfeed_seq_key(key, sizeof key, f->tag ? src->query_ep : NULL, k);
            json_object_set(seq, key, v);
        }
    }
    json_t *o = json_pack("{s:o, s:o, s:b}", "alerts", alerts, "pub_seq", seq, "connected",
                          all_connected(f));
    char *s = sse_event("snapshot", f->next, o);
    json_decref(o);
    r->have = f->next;
    r->gen = f->gen;
    r->started = 1;
    return s;
}

char *webfeed_next(struct webfeed *f, struct webfeed_reader *r, int wait_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    char *out = NULL;
    pthread_mutex_lock(&f->lock);
    for (; !f->halted;) {
        if (!r->started || r->gen != f->gen || f->next - r->have > RING) {
            out = snapshot_event(f, r);
            break;
        }
        if (r->have < f->next) {
            /* The messages since, those of the reader's regions. */
            size_t len = 0, cap = 0;
            for (; r->have < f->next && len < 65536; r->have++) {
                const char *e = f->ring[r->have % RING];
                if (!e || (r->region_ok && !r->region_ok(r->arg, f->ring_region[r->have % RING])))
                    continue;
                size_t el = strlen(e);
                if (len + el + 1 > cap) {
                    cap = (len + el + 1) * 2;
                    char *nb = realloc(out, cap);
                    if (!nb)
                        break;
                    out = nb;
                }
                memcpy(out + len, e, el);
                len += el;
                out[len] = 0;
            }
            if (out)
                break;
            continue;
        }
        if (pthread_cond_timedwait(&f->changed, &f->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&f->lock);
    return out;
}
