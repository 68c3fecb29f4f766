/*
 * fwb_record: writes a benchmark stream file by recording what `floorwalker sim` sends.
 *
 * A fallback for sims without `--write`: a ROUTER that acks every batch at once and appends
 * each new batch to FILE in the stream format (fwb.h), in arrival order; a batch sent again
 * (the terminal missed the ack) is acked again, not recorded twice. It prints "ready" once
 * bound, and runs until SIGTERM or SIGINT (send it when the sim has exited: every batch is
 * acked then). With -o /dev/null it is the null ROUTER that measures the terminal side alone.
 *
 * Usage: fwb_record -e ENDPOINT -o FILE
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "floorwalker.pb-c.h"
#include "fwb.h"
#include "fwcommon.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

struct term {
    char id[FW_ID_MAX + 1];
    uint64_t epoch, next;
};

int main(int argc, char **argv)
{
    fwb_prog = "fwb_record";
    const char *ep = NULL, *out = NULL;
    int c;
    while ((c = getopt(argc, argv, "e:o:")) != -1) {
        switch (c) {
        case 'e':
            ep = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        default:
            fwb_die("usage: fwb_record -e ENDPOINT -o FILE");
        }
    }
    if (!ep || !out)
        fwb_die("usage: fwb_record -e ENDPOINT -o FILE");
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    FILE *f = fopen(out, "wb");
    if (!f)
        fwb_die("%s: cannot create", out);
    void *ctx = zmq_ctx_new();
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 100000, linger = 2000;
    zmq_setsockopt(r, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(r, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(r, ep) < 0)
        fwb_die("bind %s: %s", ep, zmq_strerror(zmq_errno()));
    printf("ready\n");
    fflush(stdout);
    struct term *terms = NULL;
    size_t nterms = 0;
    uint64_t got = 0, skipped = 0;
    struct fw_slice *sl = malloc(100000 * sizeof *sl);
    uint8_t ackbuf[512];
    zmq_pollitem_t item = {r, 0, ZMQ_POLLIN, 0};
    while (!stop) {
        if (zmq_poll(&item, 1, 100) <= 0)
            continue; /* a timeout, or EINTR from the signal */
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, r, 0) < 0 || zmq_msg_recv(&body, r, 0) < 0)
            fwb_die("recv: %s", zmq_strerror(zmq_errno()));
        const uint8_t *p = zmq_msg_data(&body);
        size_t len = zmq_msg_size(&body);
        long n = fw_batch_split(p, len, sl, 100000);
        if (n <= 0 || n > 100000)
            fwb_die("a batch does not decode");
        Floorwalker__Event *e0 = floorwalker__event__unpack(NULL, sl[0].len, sl[0].p);
        Floorwalker__Event *e1 = floorwalker__event__unpack(NULL, sl[n - 1].len, sl[n - 1].p);
        if (!e0 || !e1)
            fwb_die("an event does not decode");
        struct term *t = NULL;
        for (size_t i = 0; i < nterms; i++)
            if (!strcmp(terms[i].id, e0->terminal_id) && terms[i].epoch == e0->epoch)
                t = &terms[i];
        if (!t) {
            terms = realloc(terms, (nterms + 1) * sizeof *terms);
            t = &terms[nterms++];
            snprintf(t->id, sizeof t->id, "%s", e0->terminal_id);
            t->epoch = e0->epoch;
            t->next = 1;
        }
        if (e0->seq == t->next) {
            uint8_t h[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                            (uint8_t)(len >> 24)};
            if (fwrite(h, 4, 1, f) != 1 || fwrite(p, len, 1, f) != 1)
                fwb_die("%s: write failed", out);
            t->next = e1->seq + 1;
            got += (uint64_t)n;
        } else {
            skipped++;
        }
        Floorwalker__Ack a = FLOORWALKER__ACK__INIT;
        a.terminal_id = t->id;
        a.epoch = t->epoch;
        a.acked_seq = t->next - 1;
        a.expected_seq = t->next;
        a.stored = (uint32_t)n;
        size_t alen = floorwalker__ack__pack(&a, ackbuf);
        zmq_msg_send(&id, r, ZMQ_SNDMORE);
        zmq_send(r, ackbuf, alen, 0);
        zmq_msg_close(&id);
        zmq_msg_close(&body);
        floorwalker__event__free_unpacked(e0, NULL);
        floorwalker__event__free_unpacked(e1, NULL);
    }
    if (fclose(f) != 0)
        fwb_die("%s: write failed", out);
    fprintf(stderr, "fwb_record: %llu events from %zu terminals (%llu resent batches skipped)\n",
            (unsigned long long)got, nterms, (unsigned long long)skipped);
    free(sl);
    free(terms);
    zmq_close(r);
    zmq_ctx_term(ctx);
    return 0;
}
