/*
 * fwb_ceiling: the raw ZeroMQ ceiling for Floorwalker's ingest.
 *
 * Feeds the batches of a stream file (fwb.h) from one DEALER per terminal, with the terminal
 * library's window (8 batches in flight per terminal), to a ROUTER in another thread that does
 * nothing but answer each batch with one frame the size of a real Ack. No decoding, no
 * storage: what libzmq alone costs for the same messages on the same machine. A warm-up pass
 * over the stream decides how many passes make at least MIN_S seconds (default 1), then those
 * are timed. Prints one JSON line.
 *
 * Usage: fwb_ceiling [-e ENDPOINT] [-w WINDOW] [-t CLIENT_THREADS] [-m MIN_S] FILE
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "floorwalker.pb-c.h"
#include "fwb.h"

struct run {
    struct fwb_stream s;
    void *ctx;
    const char *ep;
    unsigned window, nthreads, passes;
    uint8_t ack[256];
    size_t ack_len;
    uint64_t t_start, t_end;
};

struct client {
    struct run *r;
    unsigned first_term, nterm; /* terminals first_term + k * nthreads */
    pthread_t th;
};

static void *router_main(void *arg)
{
    struct run *r = arg;
    void *s = zmq_socket(r->ctx, ZMQ_ROUTER);
    if (zmq_bind(s, r->ep) < 0)
        fwb_die("bind %s: %s", r->ep, zmq_strerror(zmq_errno()));
    for (size_t i = 0; i < r->s.nb * r->passes; i++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, s, 0) < 0 || zmq_msg_recv(&body, s, 0) < 0)
            fwb_die("router recv: %s", zmq_strerror(zmq_errno()));
        zmq_msg_send(&id, s, ZMQ_SNDMORE);
        zmq_send(s, r->ack, r->ack_len, 0);
        zmq_msg_close(&body);
    }
    int linger = 1000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(s);
    return NULL;
}

struct tstate {
    void *sock;
    size_t *batches; /* indexes into the stream, in order */
    size_t n, next_send, acked;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct run *r = c->r;
    struct tstate *ts = calloc(c->nterm, sizeof *ts);
    zmq_pollitem_t *items = calloc(c->nterm, sizeof *items);
    for (unsigned k = 0; k < c->nterm; k++) {
        unsigned term = c->first_term + k * r->nthreads;
        ts[k].batches = malloc(r->s.nb * r->passes * sizeof(size_t));
        for (unsigned p = 0; p < r->passes; p++)
            for (size_t i = 0; i < r->s.nb; i++)
                if (r->s.b[i].term == term)
                    ts[k].batches[ts[k].n++] = i;
        ts[k].sock = zmq_socket(r->ctx, ZMQ_DEALER);
        if (zmq_connect(ts[k].sock, r->ep) < 0)
            fwb_die("connect %s: %s", r->ep, zmq_strerror(zmq_errno()));
        items[k].socket = ts[k].sock;
        items[k].events = ZMQ_POLLIN;
    }
    size_t done = 0;
    for (unsigned k = 0; k < c->nterm; k++)
        if (!ts[k].n)
            done++;
    while (done < c->nterm) {
        for (unsigned k = 0; k < c->nterm; k++) {
            struct tstate *t = &ts[k];
            while (t->next_send < t->n && t->next_send - t->acked < r->window) {
                const struct fwb_batch *b = &r->s.b[t->batches[t->next_send]];
                if (zmq_send(t->sock, b->data, b->len, ZMQ_DONTWAIT) < 0)
                    break;
                t->next_send++;
            }
        }
        if (zmq_poll(items, (int)c->nterm, 1000) < 0)
            fwb_die("poll: %s", zmq_strerror(zmq_errno()));
        for (unsigned k = 0; k < c->nterm; k++) {
            struct tstate *t = &ts[k];
            char buf[512];
            while (t->acked < t->next_send && zmq_recv(t->sock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
                if (++t->acked == t->n)
                    done++;
        }
    }
    for (unsigned k = 0; k < c->nterm; k++) {
        zmq_close(ts[k].sock);
        free(ts[k].batches);
    }
    free(ts);
    free(items);
    return NULL;
}

/* One timed run: the whole stream `passes` times over. Returns seconds. */
static double run_once(struct run *r)
{
    r->ctx = zmq_ctx_new();
    pthread_t rt;
    pthread_create(&rt, NULL, router_main, r);
    fwb_sleep_ns(100000000); /* let the ROUTER bind before the DEALERs connect */
    struct client *cl = calloc(r->nthreads, sizeof *cl);
    r->t_start = fwb_now_ns();
    for (unsigned i = 0; i < r->nthreads; i++) {
        cl[i].r = r;
        cl[i].first_term = i;
        cl[i].nterm = (r->s.nterms - i + r->nthreads - 1) / r->nthreads;
        pthread_create(&cl[i].th, NULL, client_main, &cl[i]);
    }
    for (unsigned i = 0; i < r->nthreads; i++)
        pthread_join(cl[i].th, NULL);
    r->t_end = fwb_now_ns();
    pthread_join(rt, NULL);
    free(cl);
    zmq_ctx_term(r->ctx);
    return (double)(r->t_end - r->t_start) / 1e9;
}

int main(int argc, char **argv)
{
    fwb_prog = "fwb_ceiling";
    struct run r = {.ep = "inproc://fwb-ceiling", .window = 8, .nthreads = 1};
    double min_s = 1.0;
    int c;
    while ((c = getopt(argc, argv, "e:w:t:m:")) != -1) {
        switch (c) {
        case 'm':
            min_s = atof(optarg);
            break;
        case 'e':
            r.ep = optarg;
            break;
        case 'w':
            r.window = (unsigned)atoi(optarg);
            break;
        case 't':
            r.nthreads = (unsigned)atoi(optarg);
            break;
        default:
            fwb_die("usage: fwb_ceiling [-e ENDPOINT] [-w WINDOW] [-t THREADS] [-m MIN_S] FILE");
        }
    }
    if (optind + 1 != argc || !r.window || !r.nthreads)
        fwb_die("usage: fwb_ceiling [-e ENDPOINT] [-w WINDOW] [-t THREADS] [-m MIN_S] FILE");
    fwb_stream_open(&r.s, argv[optind]);
    if (r.nthreads > r.s.nterms)
        r.nthreads = r.s.nterms;
    /* An Ack as the daemon sends it for a full batch: same fields, same size. */
    const struct fwb_batch *b0 = &r.s.b[0];
    Floorwalker__Ack a = FLOORWALKER__ACK__INIT;
    a.terminal_id = r.s.terms[b0->term];
    a.epoch = b0->epoch;
    a.acked_seq = r.s.events / r.s.nterms;
    a.expected_seq = a.acked_seq + 1;
    a.stored = b0->nev;
    r.ack_len = floorwalker__ack__pack(&a, r.ack);

    r.passes = 1;
    double secs = run_once(&r); /* warm-up, and how many passes make min_s seconds */
    r.passes = (unsigned)(min_s / secs) + 1;
    secs = run_once(&r);
    uint64_t events = r.s.events * r.passes;
    printf("{\"events\": %llu, \"batches\": %zu, \"terminals\": %u, \"bytes_per_event\": %.1f, "
           "\"ack_bytes\": %zu, \"window\": %u, \"client_threads\": %u, \"endpoint\": \"%s\", "
           "\"passes\": %u, \"seconds\": %.4f, \"events_per_s\": %.0f, "
           "\"batches_per_s\": %.0f}\n",
           (unsigned long long)events, r.s.nb * r.passes, r.s.nterms,
           (double)r.s.bytes / (double)r.s.events, r.ack_len, r.window, r.nthreads, r.ep, r.passes,
           secs, (double)events / secs, (double)(r.s.nb * r.passes) / secs);
    fwb_stream_close(&r.s);
    return 0;
}
