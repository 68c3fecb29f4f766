/*
 * fwb_latency: ack latency of floorwalkerd at a fixed load.
 *
 * Sends the batches of a stream file (fwb.h) from one DEALER per terminal, paced to RATE
 * events/s over all terminals (terminals take turns, batch by batch), and times each batch from
 * the moment it was due to be sent until the Ack that covers its last seq. Pacing is open loop:
 * a batch is due at its slot whether or not earlier ones were acked, and latency counts from
 * the slot, so a stall shows up in the figures (no coordinated omission). Prints one JSON line;
 * with -o, writes every latency (ms) to FILE, one per line, for the chart. The batches of the
 * warm-up are reported apart (cold_*): against a daemon just started, they are its first acks.
 *
 * Usage: fwb_latency -e ENDPOINT -r RATE [-s SKIP_S] [-o FILE] STREAM
 *   -s SKIP_S  leave out batches due in the first SKIP_S seconds (warm-up; default 0.5)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "floorwalker.pb-c.h"
#include "fwb.h"

struct term {
    void *sock;
    size_t *q; /* batches of this terminal in order */
    size_t n, next, acked;
};

int main(int argc, char **argv)
{
    fwb_prog = "fwb_latency";
    const char *ep = NULL, *out = NULL;
    double rate = 0, skip_s = 0.5;
    int c;
    while ((c = getopt(argc, argv, "e:r:s:o:")) != -1) {
        switch (c) {
        case 'e':
            ep = optarg;
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 's':
            skip_s = atof(optarg);
            break;
        case 'o':
            out = optarg;
            break;
        default:
            fwb_die("usage: fwb_latency -e ENDPOINT -r RATE [-s SKIP_S] [-o FILE] STREAM");
        }
    }
    if (!ep || rate <= 0 || optind + 1 != argc)
        fwb_die("usage: fwb_latency -e ENDPOINT -r RATE [-s SKIP_S] [-o FILE] STREAM");
    struct fwb_stream s;
    fwb_stream_open(&s, argv[optind]);
    void *ctx = zmq_ctx_new();
    struct term *t = calloc(s.nterms, sizeof *t);
    zmq_pollitem_t *items = calloc(s.nterms, sizeof *items);
    for (unsigned k = 0; k < s.nterms; k++) {
        t[k].q = malloc(s.nb * sizeof(size_t));
        t[k].sock = fwb_dealer(ctx, ep);
        items[k].socket = t[k].sock;
        items[k].events = ZMQ_POLLIN;
    }
    for (size_t i = 0; i < s.nb; i++) {
        struct term *x = &t[s.b[i].term];
        x->q[x->n++] = i;
    }
    /* The send schedule: terminals take turns; slot times follow the events sent before. */
    size_t *order = malloc(s.nb * sizeof *order);
    double *due = malloc(s.nb * sizeof *due); /* seconds after start, by batch index */
    double *lat = malloc(s.nb * sizeof *lat);
    double *cold = malloc(s.nb * sizeof *cold); /* the warm-up's */
    bool *counted = calloc(s.nb, 1);
    size_t no = 0;
    uint64_t cum = 0;
    for (size_t round = 0; no < s.nb; round++)
        for (unsigned k = 0; k < s.nterms; k++)
            if (round < t[k].n) {
                size_t i = t[k].q[round];
                order[no++] = i;
                due[i] = (double)cum / rate;
                cum += s.b[i].nev;
            }
    fwb_sleep_ns(300000000); /* connect before the clock starts */
    uint64_t t0 = fwb_now_ns();
    size_t sent = 0, nlat = 0, ncold = 0, acked_batches = 0;
    uint64_t rejected = 0, batch_errors = 0;
    double deadline_s = due[order[s.nb - 1]] + 30;
    while (acked_batches < s.nb) {
        double now_s = (double)(fwb_now_ns() - t0) / 1e9;
        if (now_s > deadline_s)
            fwb_die("%zu of %zu batches not acked 30 s after the last was due",
                    s.nb - acked_batches, s.nb);
        while (sent < s.nb && due[order[sent]] <= now_s) {
            size_t i = order[sent];
            struct term *x = &t[s.b[i].term];
            if (zmq_send(x->sock, s.b[i].data, s.b[i].len, ZMQ_DONTWAIT) < 0)
                break; /* queue full: try again next turn (latency keeps counting) */
            x->next++;
            sent++;
        }
        long wait_ms = 0;
        if (sent < s.nb) {
            double w = due[order[sent]] - now_s;
            wait_ms = w > 0 ? (long)(w * 1000) : 0;
        } else {
            wait_ms = 100;
        }
        if (zmq_poll(items, (int)s.nterms, wait_ms) < 0)
            fwb_die("poll: %s", zmq_strerror(zmq_errno()));
        for (unsigned k = 0; k < s.nterms; k++) {
            zmq_msg_t m;
            for (;;) {
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, t[k].sock, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                double at = (double)(fwb_now_ns() - t0) / 1e9;
                Floorwalker__Ack *a =
                    floorwalker__ack__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                zmq_msg_close(&m);
                if (!a)
                    fwb_die("an ack does not decode");
                rejected += a->n_rejected;
                if (a->batch_code)
                    batch_errors++;
                struct term *x = &t[k];
                while (x->acked < x->next && s.b[x->q[x->acked]].last_seq <= a->acked_seq) {
                    size_t i = x->q[x->acked++];
                    acked_batches++;
                    if (!counted[i]) {
                        counted[i] = true;
                        if (due[i] >= skip_s)
                            lat[nlat++] = (at - due[i]) * 1000;
                        else
                            cold[ncold++] = (at - due[i]) * 1000;
                    }
                }
                floorwalker__ack__free_unpacked(a, NULL);
            }
        }
    }
    double secs = (double)(fwb_now_ns() - t0) / 1e9;
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f)
            fwb_die("%s: cannot create", out);
        for (size_t i = 0; i < nlat; i++)
            fprintf(f, "%.4f\n", lat[i]);
        fclose(f);
    }
    fwb_sort(lat, nlat);
    fwb_sort(cold, ncold);
    double mean = 0;
    for (size_t i = 0; i < nlat; i++)
        mean += lat[i];
    mean = nlat ? mean / (double)nlat : 0;
    printf("{\"events\": %llu, \"batches\": %zu, \"terminals\": %u, \"rate\": %.0f, "
           "\"achieved_events_per_s\": %.0f, \"measured_batches\": %zu, \"skip_s\": %.2f, "
           "\"rejected\": %llu, \"batch_errors\": %llu, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
           "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f, "
           "\"cold_batches\": %zu, \"cold_p50_ms\": %.3f, \"cold_max_ms\": %.3f}\n",
           (unsigned long long)s.events, s.nb, s.nterms, rate, (double)s.events / secs, nlat,
           skip_s, (unsigned long long)rejected, (unsigned long long)batch_errors,
           fwb_pct_sorted(lat, nlat, 50), fwb_pct_sorted(lat, nlat, 90),
           fwb_pct_sorted(lat, nlat, 99), fwb_pct_sorted(lat, nlat, 99.9), nlat ? lat[nlat - 1] : 0,
           mean, ncold, fwb_pct_sorted(cold, ncold, 50), ncold ? cold[ncold - 1] : 0);
    for (unsigned k = 0; k < s.nterms; k++) {
        zmq_close(t[k].sock);
        free(t[k].q);
    }
    zmq_ctx_term(ctx);
    free(t);
    free(items);
    free(order);
    free(due);
    free(lat);
    free(cold);
    free(counted);
    fwb_stream_close(&s);
    return 0;
}
