#include "fwb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "floorwalker.pb-c.h"
#include "fwcommon.h"

const char *fwb_prog = "fwb";

void fwb_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", fwb_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

uint64_t fwb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fwb_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void fwb_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double fwb_pct_sorted(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t k = (size_t)((p / 100.0) * (double)n + 0.999999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static unsigned term_index(struct fwb_stream *s, const char *id)
{
    /* Few terminals (<= a few hundred): a linear search at load time is fine. */
    for (unsigned i = 0; i < s->nterms; i++)
        if (!strcmp(s->terms[i], id))
            return i;
    char **n = realloc(s->terms, (s->nterms + 1) * sizeof *n);
    if (!n || !(n[s->nterms] = strdup(id)))
        fwb_die("out of memory");
    s->terms = n;
    return s->nterms++;
}

/* Terminal, epoch and seq of one encoded Event. */
static void event_ids(struct fwb_stream *s, const struct fw_slice *e, unsigned *term,
                      uint64_t *epoch, uint64_t *seq)
{
    Floorwalker__Event *ev = floorwalker__event__unpack(NULL, e->len, e->p);
    if (!ev)
        fwb_die("an event in the stream does not decode");
    *term = term_index(s, ev->terminal_id);
    *epoch = ev->epoch;
    *seq = ev->seq;
    floorwalker__event__free_unpacked(ev, NULL);
}

void fwb_stream_open(struct fwb_stream *s, const char *path)
{
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        fwb_die("%s: %s", path, strerror(errno));
    s->size = (size_t)st.st_size;
    if (!s->size)
        fwb_die("%s: empty stream file", path);
    s->map = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (s->map == MAP_FAILED)
        fwb_die("%s: mmap: %s", path, strerror(errno));
    size_t cap = 0, maxev = 0;
    struct fw_slice *sl = NULL;
    for (size_t off = 0; off < s->size;) {
        if (s->size - off < 4)
            fwb_die("%s: truncated record header at byte %zu", path, off);
        const uint8_t *h = s->map + off;
        size_t len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
        off += 4;
        if (len > s->size - off)
            fwb_die("%s: record at byte %zu runs past the end", path, off - 4);
        long n = fw_batch_split(s->map + off, len, sl, maxev);
        if (n <= 0)
            fwb_die("%s: record at byte %zu is not an EventBatch", path, off - 4);
        if ((size_t)n > maxev) {
            maxev = (size_t)n;
            free(sl);
            if (!(sl = malloc(maxev * sizeof *sl)))
                fwb_die("out of memory");
            n = fw_batch_split(s->map + off, len, sl, maxev);
        }
        if (s->nb == cap) {
            cap = cap ? cap * 2 : 1024;
            struct fwb_batch *nb = realloc(s->b, cap * sizeof *nb);
            if (!nb)
                fwb_die("out of memory");
            s->b = nb;
        }
        struct fwb_batch *b = &s->b[s->nb++];
        unsigned t2;
        uint64_t e2;
        b->data = s->map + off;
        b->len = len;
        b->nev = (unsigned)n;
        event_ids(s, &sl[0], &b->term, &b->epoch, &b->first_seq);
        event_ids(s, &sl[n - 1], &t2, &e2, &b->last_seq);
        if (t2 != b->term || e2 != b->epoch || b->last_seq - b->first_seq + 1 != (uint64_t)n)
            fwb_die("%s: record at byte %zu mixes terminals or has a seq gap", path, off - 4);
        s->events += (uint64_t)n;
        s->bytes += len;
        off += len;
    }
    free(sl);
}

void fwb_stream_close(struct fwb_stream *s)
{
    if (s->map)
        munmap(s->map, s->size);
    for (unsigned i = 0; i < s->nterms; i++)
        free(s->terms[i]);
    free(s->terms);
    free(s->b);
    memset(s, 0, sizeof *s);
}

void *fwb_dealer(void *ctx, const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (!s)
        fwb_die("socket: %s", zmq_strerror(zmq_errno()));
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, ep) < 0)
        fwb_die("connect %s: %s", ep, zmq_strerror(zmq_errno()));
    return s;
}
