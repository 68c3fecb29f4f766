/*
 * fwb_floor: the decode-and-append floor for durable ingest of a stream file (fwb.h).
 *
 * The least work a durable ingest of the stream has to do, in one process and with no network:
 * the batches are taken in file order in groups as large as the daemon ever commits at once (a
 * group takes batches while it holds fewer than MAX_EVENTS events and MAX_BATCHES batches: the
 * daemon's commit_max_events and commit_max_msgs, whose defaults in daemon/config.c are 50,000
 * and 2,048; the daemon's own groups are smaller, as it ends a pass when its writer is idle, and
 * fewer fsyncs make this floor the higher one),
 * and each group is one LMDB write transaction: every batch is split into its events without
 * decoding (fw_batch_split), every event is decoded by protobuf-c (floorwalker__event__unpack,
 * into a bump allocator reset after each event, as the daemon's arena), and the event's bytes
 * are appended behind an 8-byte receive time (the daemon's row) under an 8-byte big-endian
 * position (MDB_APPEND, MDB_RESERVE). The transaction is committed with LMDB's default
 * durability (default environment flags: no MDB_NOSYNC, so fsync per group). No validation,
 * dedup, rollups, rules, acks or sockets. The clock runs from the first group to the last
 * commit (the file is mapped and indexed before). DIR is created and must not hold a database.
 * Prints one JSON line.
 *
 * Usage: fwb_floor -d DIR [-g MAX_EVENTS] [-b MAX_BATCHES] STREAM
 */
#include <errno.h>
#include <getopt.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "floorwalker.pb-c.h"
#include "fwb.h"
#include "fwcommon.h"

#define USAGE "usage: fwb_floor -d DIR [-g MAX_EVENTS] [-b MAX_BATCHES] STREAM"

/* protobuf-c's allocator for one event at a time: a pointer bump in a buffer that is reset
 * after each event; what does not fit is malloc'ed and freed at the reset. */
struct bump {
    ProtobufCAllocator pb;
    uint8_t *buf;
    size_t cap, used;
    void **big;
    size_t nbig, capbig;
};

static void *bump_alloc(void *data, size_t n)
{
    struct bump *b = data;
    n = (n + 15) & ~(size_t)15;
    if (n <= b->cap - b->used) {
        void *p = b->buf + b->used;
        b->used += n;
        return p;
    }
    if (b->nbig == b->capbig) {
        size_t cap = b->capbig ? 2 * b->capbig : 16;
        void **nb = realloc(b->big, cap * sizeof *nb);
        if (!nb)
            return NULL;
        b->big = nb;
        b->capbig = cap;
    }
    void *p = malloc(n);
    if (p)
        b->big[b->nbig++] = p;
    return p;
}

static void bump_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void bump_reset(struct bump *b)
{
    for (size_t i = 0; i < b->nbig; i++)
        free(b->big[i]);
    b->nbig = 0;
    b->used = 0;
}

static void mdb_check(int rc, const char *what)
{
    if (rc)
        fwb_die("%s: %s", what, mdb_strerror(rc));
}

int main(int argc, char **argv)
{
    fwb_prog = "fwb_floor";
    const char *dir = NULL;
    long max_events = 50000, max_batches = 2048;
    int c;
    while ((c = getopt(argc, argv, "d:g:b:")) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'g':
            max_events = atol(optarg);
            break;
        case 'b':
            max_batches = atol(optarg);
            break;
        default:
            fwb_die(USAGE);
        }
    }
    if (!dir || max_events < 1 || max_batches < 1 || optind + 1 != argc)
        fwb_die(USAGE);
    struct fwb_stream s;
    fwb_stream_open(&s, argv[optind]);

    char path[4096];
    struct stat st;
    if (fw_mkdir_p(dir, 0750) != 0)
        fwb_die("%s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) == 0)
        fwb_die("%s already holds a database: the floor starts from an empty one", dir);
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    /* Room for every row twice over (LMDB's map is address space; the file grows as used). */
    size_t map = 2 * (s.bytes + (size_t)s.events * 64) + ((size_t)64 << 20);
    map = (map + 4095) & ~(size_t)4095;
    mdb_check(mdb_env_create(&env), "mdb_env_create");
    mdb_check(mdb_env_set_mapsize(env, map), "mdb_env_set_mapsize");
    mdb_check(mdb_env_open(env, dir, 0, 0640), dir);
    mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    mdb_check(mdb_dbi_open(txn, NULL, 0, &dbi), "mdb_dbi_open");
    mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");

    size_t maxev = 0;
    for (size_t i = 0; i < s.nb; i++)
        if (s.b[i].nev > maxev)
            maxev = s.b[i].nev;
    struct fw_slice *sl = malloc(maxev * sizeof *sl);
    struct bump bump = {.pb = {bump_alloc, bump_free, &bump}, .cap = 256 * 1024};
    if (!sl || !(bump.buf = malloc(bump.cap)))
        fwb_die("out of memory");

    uint64_t pos = 0, decoded = 0, groups = 0, commit_ns = 0, commit_ns_max = 0;
    uint64_t t0 = fwb_now_ns();
    for (size_t i = 0; i < s.nb;) {
        mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        long events = 0, batches = 0;
        uint8_t now_be[8];
        uint64_t now_ms = (uint64_t)fw_now_ms();
        for (int k = 0; k < 8; k++)
            now_be[k] = (uint8_t)(now_ms >> (56 - 8 * k));
        while (i < s.nb && batches < max_batches && events < max_events) {
            const struct fwb_batch *b = &s.b[i++];
            long n = fw_batch_split(b->data, b->len, sl, maxev);
            if (n != (long)b->nev)
                fwb_die("a batch does not split as it did when the stream was indexed");
            for (long e = 0; e < n; e++) {
                Floorwalker__Event *ev = floorwalker__event__unpack(&bump.pb, sl[e].len, sl[e].p);
                if (!ev)
                    fwb_die("event %llu does not decode", (unsigned long long)pos);
                decoded++;
                bump_reset(&bump);
                uint8_t kb[8];
                for (int k = 0; k < 8; k++)
                    kb[k] = (uint8_t)(pos >> (56 - 8 * k));
                MDB_val key = {sizeof kb, kb}, val = {8 + sl[e].len, NULL};
                mdb_check(mdb_put(txn, dbi, &key, &val, MDB_APPEND | MDB_RESERVE), "mdb_put");
                memcpy(val.mv_data, now_be, 8);
                memcpy((uint8_t *)val.mv_data + 8, sl[e].p, sl[e].len);
                pos++;
            }
            events += n;
            batches++;
        }
        uint64_t c0 = fwb_now_ns();
        mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
        uint64_t cn = fwb_now_ns() - c0;
        commit_ns += cn;
        if (cn > commit_ns_max)
            commit_ns_max = cn;
        groups++;
    }
    double secs = (double)(fwb_now_ns() - t0) / 1e9;
    MDB_stat ms;
    mdb_check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    mdb_check(mdb_stat(txn, dbi, &ms), "mdb_stat");
    mdb_txn_abort(txn);
    if (ms.ms_entries != s.events || decoded != s.events)
        fwb_die("%zu rows and %llu events decoded for %llu events", ms.ms_entries,
                (unsigned long long)decoded, (unsigned long long)s.events);
    mdb_env_close(env);
    if (stat(path, &st) < 0)
        fwb_die("%s: %s", path, strerror(errno));
    printf("{\"events\": %llu, \"batches\": %zu, \"terminals\": %u, \"max_events\": %ld, "
           "\"max_batches\": %ld, \"groups\": %llu, \"events_per_group\": %.0f, "
           "\"seconds\": %.4f, \"events_per_s\": %.0f, \"commit_s\": %.4f, "
           "\"commit_ms_avg\": %.3f, \"commit_ms_max\": %.3f, \"db_bytes\": %lld}\n",
           (unsigned long long)s.events, s.nb, s.nterms, max_events, max_batches,
           (unsigned long long)groups, (double)s.events / (double)groups, secs,
           (double)s.events / secs, (double)commit_ns / 1e9,
           (double)commit_ns / 1e6 / (double)groups, (double)commit_ns_max / 1e6,
           (long long)st.st_size);
    bump_reset(&bump);
    free(bump.big);
    free(bump.buf);
    free(sl);
    fwb_stream_close(&s);
    return 0;
}
