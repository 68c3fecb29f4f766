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

struct webfeed {
    void *ctx;
    const char *pub_ep, *query_ep;
    int timeout_s;
    pthread_t thread;
    fw_stop_flag stop;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    json_t *active;          /* alert_id -> the alert's object (FIRING ones) */
    json_t *pub_seq;         /* region -> the last pub_seq taken in */
    uint64_t gen;            /* snapshots taken (readers of an older one get the new one) */
    uint64_t next;           /* sequence number of the next message */
    char *ring[RING];        /* message n at ring[n % RING], as an SSE "alert" event */
    char *ring_region[RING]; /* its region */
    bool connected;
    bool halted; /* readers get nothing more */

    struct feed_seqs seqs; /* the feed thread's own */
};

/* ---- the feed thread ----------------------------------------------------------------------- */

static char *sse_event(const char *event, uint64_t id, json_t *data)
{
    char *s = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *out = NULL;
    if (s && asprintf(&out, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", id, event, s) < 0)
        out = NULL;
    free(s);
    return out;
}

static bool take_alert(void *arg, const Floorwalker__Alert *a)
{
    json_t *active = arg;
    if (a->state == FLOORWALKER__ALERT__STATE__FIRING)
        json_object_set_new(active, a->alert_id, qjson_alert(a));
    return true;
}

/* A new snapshot of every region; false if the daemon did not answer. */
static bool snapshot(struct webfeed *f)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    Floorwalker__QueryResult *r = NULL;
    q.kind = FLOORWALKER__QUERY__KIND__ALERTS;
    uint64_t deadline = fw_mono_ns() + (uint64_t)f->timeout_s * 1000000000u;
    if (cli_ask(WHO, f->ctx, f->query_ep, &q, f->timeout_s, deadline, &f->stop, &r) != ASK_OK)
        return false;
    if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
        fprintf(stderr, WHO ": the alerts snapshot was refused: %s\n", r->error);
        floorwalker__query_result__free_unpacked(r, NULL);
        return false;
    }
    json_t *active = json_object();
    feed_seqs_free(&f->seqs);
    memset(&f->seqs, 0, sizeof f->seqs);
    feed_take_snapshot(&f->seqs, r, NULL, take_alert, active);
    floorwalker__query_result__free_unpacked(r, NULL);
    json_t *seq = json_object();
    for (size_t i = 0; i < f->seqs.n; i++)
        json_object_set_new(seq, f->seqs.v[i].region, json_integer((json_int_t)f->seqs.v[i].snap));
    pthread_mutex_lock(&f->lock);
    json_decref(f->active);
    json_decref(f->pub_seq);
    f->active = active;
    f->pub_seq = seq;
    f->gen++;
    f->connected = true;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    return true;
}

static void take_live(struct webfeed *f, const Floorwalker__Alert *a)
{
    json_t *o = qjson_alert(a);
    pthread_mutex_lock(&f->lock);
    uint64_t n = f->next++;
    free(f->ring[n % RING]);
    free(f->ring_region[n % RING]);
    f->ring[n % RING] = sse_event("alert", n + 1, o);
    f->ring_region[n % RING] = strdup(a->region);
    if (a->state == FLOORWALKER__ALERT__STATE__FIRING)
        json_object_set(f->active, a->alert_id, o);
    else
        json_object_del(f->active, a->alert_id);
    json_object_set_new(f->pub_seq, a->region, json_integer((json_int_t)a->pub_seq));
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    json_decref(o);
}

static void *run(void *arg)
{
    struct webfeed *f = arg;
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
    if (zmq_connect(sub, f->pub_ep) != 0) {
        fprintf(stderr, WHO ": cannot connect to %s: %s\n", f->pub_ep, zmq_strerror(zmq_errno()));
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
            due = !snapshot(f);
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
                switch (feed_seqs_live(&f->seqs, a, true, &missed)) {
                case FEED_COVERED:
                    break;
                case FEED_GAP:
                    fprintf(stderr,
                            WHO ": region %s: %" PRIu64 " alert messages missed; taking a new "
                                "snapshot\n",
                            a->region, missed);
                    due = true;
                    retry = 0;
                    break;
                case FEED_NEXT:
                    take_live(f, a);
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

struct webfeed *webfeed_start(void *ctx, const char *pub_ep, const char *query_ep, int timeout_s)
{
    struct webfeed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->ctx = ctx;
    f->pub_ep = pub_ep;
    f->query_ep = query_ep;
    f->timeout_s = timeout_s;
    f->active = json_object();
    f->pub_seq = json_object();
    pthread_mutex_init(&f->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->changed, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&f->thread, NULL, run, f) != 0) {
        webfeed_stop(f);
        return NULL;
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
    if (f->thread) {
        f->stop = 1;
        pthread_join(f->thread, NULL);
    }
    for (int i = 0; i < RING; i++) {
        free(f->ring[i]);
        free(f->ring_region[i]);
    }
    json_decref(f->active);
    json_decref(f->pub_seq);
    feed_seqs_free(&f->seqs);
    pthread_cond_destroy(&f->changed);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int webfeed_connected(struct webfeed *f)
{
    pthread_mutex_lock(&f->lock);
    int c = f->connected;
    pthread_mutex_unlock(&f->lock);
    return c;
}

/* ---- readers ------------------------------------------------------------------------------- */

/* With the lock held: the snapshot event; the reader then follows it. */
static char *snapshot_event(struct webfeed *f, struct webfeed_reader *r)
{
    json_t *alerts = json_array(), *seq = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(f->active, k, v)
    {
        if (!r->region_ok || r->region_ok(r->arg, json_string_value(json_object_get(v, "region"))))
            json_array_append(alerts, v);
    }
    json_object_foreach(f->pub_seq, k, v)
    {
        if (!r->region_ok || r->region_ok(r->arg, k))
            json_object_set(seq, k, v);
    }
    json_t *o =
        json_pack("{s:o, s:o, s:b}", "alerts", alerts, "pub_seq", seq, "connected", f->connected);
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
