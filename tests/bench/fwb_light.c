/*
 * fwb_light: Floorwalker's durable acked ingest driven by a light client.
 *
 * Sends the batches of a stream file (fwb.h) to a real floorwalkerd as fast as it takes them:
 * one DEALER per terminal, the terminal library's window (8 batches in flight per terminal),
 * but none of the library's work (no spool, no encoding: the batches are the file's bytes).
 * Every Ack is decoded; a batch is done when an Ack from its terminal's socket covers its last
 * seq (acked_seq), or when an Ack refuses it as a whole (batch_code, counted as a batch error).
 * Rejected events and batch errors are counted: with any, the JSON line is still printed but the
 * exit status is 1, as is a daemon that stores fewer events than were sent (stored counts the
 * Acks' `stored`; a data directory that has seen the stream before answers with duplicates).
 * The clock runs from the first send (after the connects) to the last Ack. With -g, "go" is
 * printed on stdout (flushed) when the clock starts, so that a probe can run alongside the load.
 * No progress (no Ack) for TIMEOUT_S seconds (default 60) is an error. Prints one JSON line.
 *
 * Usage: fwb_light -e ENDPOINT [-w WINDOW] [-g] [-T TIMEOUT_S] STREAM
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "floorwalker.pb-c.h"
#include "fwb.h"

#define USAGE "usage: fwb_light -e ENDPOINT [-w WINDOW] [-g] [-T TIMEOUT_S] STREAM"

struct term {
    void *sock;
    size_t *q; /* batches of this terminal, in file order */
    size_t n, next_send, acked;
};

int main(int argc, char **argv)
{
    fwb_prog = "fwb_light";
    const char *ep = NULL;
    unsigned window = 8;
    double timeout_s = 60;
    bool go = false;
    int c;
    while ((c = getopt(argc, argv, "e:w:gT:")) != -1) {
        switch (c) {
        case 'e':
            ep = optarg;
            break;
        case 'w':
            window = (unsigned)atoi(optarg);
            break;
        case 'g':
            go = true;
            break;
        case 'T':
            timeout_s = atof(optarg);
            break;
        default:
            fwb_die(USAGE);
        }
    }
    if (!ep || !window || timeout_s <= 0 || optind + 1 != argc)
        fwb_die(USAGE);
    struct fwb_stream s;
    fwb_stream_open(&s, argv[optind]);
    void *ctx = zmq_ctx_new();
    struct term *t = calloc(s.nterms, sizeof *t);
    zmq_pollitem_t *items = calloc(s.nterms, sizeof *items);
    if (!ctx || !t || !items)
        fwb_die("out of memory");
    for (unsigned k = 0; k < s.nterms; k++) {
        if (!(t[k].q = malloc(s.nb * sizeof(size_t))))
            fwb_die("out of memory");
        t[k].sock = fwb_dealer(ctx, ep);
        items[k].socket = t[k].sock;
        items[k].events = ZMQ_POLLIN;
    }
    for (size_t i = 0; i < s.nb; i++) {
        struct term *x = &t[s.b[i].term];
        x->q[x->n++] = i;
    }
    fwb_sleep_ns(300000000); /* connect before the clock starts */
    uint64_t t0 = fwb_now_ns(), last_progress = t0;
    if (go) {
        printf("go\n");
        fflush(stdout);
    }
    size_t done = 0, acks = 0, extra_acks = 0;
    uint64_t rejected = 0, batch_errors = 0, stored = 0, duplicates = 0;
    unsigned complaints = 0; /* the first few rejections and batch errors go to stderr */
    while (done < s.nb) {
        for (unsigned k = 0; k < s.nterms; k++) {
            struct term *x = &t[k];
            while (x->next_send < x->n && x->next_send - x->acked < window) {
                const struct fwb_batch *b = &s.b[x->q[x->next_send]];
                if (zmq_send(x->sock, b->data, b->len, ZMQ_DONTWAIT) < 0)
                    break; /* the pipe is full: again after the next Acks */
                x->next_send++;
            }
        }
        if (zmq_poll(items, (int)s.nterms, 1000) < 0)
            fwb_die("poll: %s", zmq_strerror(zmq_errno()));
        for (unsigned k = 0; k < s.nterms; k++) {
            struct term *x = &t[k];
            for (;;) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, x->sock, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                Floorwalker__Ack *a =
                    floorwalker__ack__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                zmq_msg_close(&m);
                if (!a)
                    fwb_die("an ack does not decode");
                acks++;
                last_progress = fwb_now_ns();
                rejected += a->n_rejected;
                stored += a->stored;
                duplicates += a->duplicates;
                for (size_t j = 0; j < a->n_rejected && complaints < 5; j++, complaints++)
                    fprintf(stderr, "fwb_light: terminal %s seq %llu rejected (%d): %s\n",
                            s.terms[k], (unsigned long long)a->rejected[j]->seq,
                            (int)a->rejected[j]->code, a->rejected[j]->reason);
                if (a->batch_code) {
                    batch_errors++;
                    if (complaints++ < 5)
                        fprintf(stderr, "fwb_light: terminal %s: a batch refused (%d): %s\n",
                                s.terms[k], (int)a->batch_code, a->batch_error);
                }
                if (x->acked == x->next_send) {
                    /* Nothing in flight: an Ack whose batch an earlier Ack already covered. */
                    extra_acks++;
                    floorwalker__ack__free_unpacked(a, NULL);
                    continue;
                }
                if (a->batch_code) {
                    x->acked++; /* answered, not taken: the run fails, but it ends */
                    done++;
                } else if (a->epoch != s.b[x->q[x->acked]].epoch) {
                    fwb_die("terminal %s: an Ack for epoch %llu, the batch is of epoch %llu",
                            s.terms[k], (unsigned long long)a->epoch,
                            (unsigned long long)s.b[x->q[x->acked]].epoch);
                }
                while (x->acked < x->next_send && s.b[x->q[x->acked]].last_seq <= a->acked_seq) {
                    x->acked++;
                    done++;
                }
                floorwalker__ack__free_unpacked(a, NULL);
            }
        }
        if ((double)(fwb_now_ns() - last_progress) / 1e9 > timeout_s)
            fwb_die("no Ack for %.0f s: %zu of %zu batches not acked", timeout_s, s.nb - done,
                    s.nb);
    }
    double secs = (double)(fwb_now_ns() - t0) / 1e9;
    printf("{\"events\": %llu, \"batches\": %zu, \"terminals\": %u, \"window\": %u, "
           "\"bytes_per_event\": %.1f, \"seconds\": %.4f, \"events_per_s\": %.0f, "
           "\"batches_per_s\": %.0f, \"acks\": %zu, \"extra_acks\": %zu, \"stored\": %llu, "
           "\"duplicates\": %llu, "
           "\"rejected\": %llu, \"batch_errors\": %llu}\n",
           (unsigned long long)s.events, s.nb, s.nterms, window, (double)s.bytes / (double)s.events,
           secs, (double)s.events / secs, (double)s.nb / secs, acks, extra_acks,
           (unsigned long long)stored, (unsigned long long)duplicates, (unsigned long long)rejected,
           (unsigned long long)batch_errors);
    fflush(stdout);
    int rc = 0;
    if (rejected || batch_errors) {
        fprintf(stderr, "fwb_light: %llu event(s) rejected, %llu batch error(s)\n",
                (unsigned long long)rejected, (unsigned long long)batch_errors);
        rc = 1;
    } else if (stored != s.events) {
        fprintf(stderr,
                "fwb_light: the daemon stored %llu of %llu events (%llu duplicates: not a fresh "
                "data directory?)\n",
                (unsigned long long)stored, (unsigned long long)s.events,
                (unsigned long long)duplicates);
        rc = 1;
    }
    for (unsigned k = 0; k < s.nterms; k++) {
        zmq_close(t[k].sock);
        free(t[k].q);
    }
    zmq_ctx_term(ctx);
    free(t);
    free(items);
    fwb_stream_close(&s);
    return rc;
}
