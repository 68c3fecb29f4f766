#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "stats.h"

/* Argon2 verifications of basic-auth credentials not yet seen to be good, per second (and
 * burst): each costs tens of milliseconds and 64 MiB, so a flood of wrong passwords costs at
 * most this many, and is answered 401 without one beyond it. */
#define VERIFY_PER_S 4.0

/* Why a request was refused: the label values of floorwalker_scrapes_refused_total. */
enum refusal { REFUSED_NO_CREDENTIALS, REFUSED_BAD_CREDENTIALS, REFUSED_THROTTLED, REFUSED_N };
static const char *const refusal_name[REFUSED_N] = {"no_credentials", "bad_credentials",
                                                    "throttled"};

struct metrics {
    struct MHD_Daemon *httpd;
    pthread_mutex_t lock; /* text/len; the rest is the HTTP thread's own */
    char *text;           /* current snapshot */
    size_t len;
    unsigned port;
    /* Who may scrape: basic auth (user_hash, password_hash) and/or a bearer token. */
    bool basic, bearer;
    uint8_t user_hash[32];
    char password_hash[crypto_pwhash_STRBYTES];
    uint8_t token_hash[32];
    /* The last basic credentials that verified, as a keyed hash (key random per process), so
     * a scraper that keeps sending them costs one hash, not an Argon2 verification. */
    uint8_t cache_key[crypto_generichash_KEYBYTES];
    uint8_t good_cred[32];
    bool good_valid;
    double budget; /* Argon2 verifications allowed now (VERIFY_PER_S refills it) */
    uint64_t budget_ns;
    uint64_t refused[REFUSED_N];
    char *tls_cert, *tls_key; /* PEM, held for the daemon's life */
    size_t tls_key_len;
};

/* The user name and password of "Basic BASE64(user:password)" into buf (NUL-separated);
 * false if the header is not that. */
static bool basic_credentials(const char *b64, char *buf, size_t cap, const char **user,
                              const char **pass, size_t *pass_len)
{
    size_t n;
    if (sodium_base642bin((unsigned char *)buf, cap - 1, b64, strlen(b64), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    buf[n] = '\0';
    char *colon = memchr(buf, ':', n);
    if (!colon)
        return false;
    *colon = '\0';
    *user = buf;
    *pass = colon + 1;
    *pass_len = n - (size_t)(colon + 1 - buf);
    return true;
}

/* Whether an Argon2 verification may run now (the token bucket of VERIFY_PER_S). */
static bool take_budget(struct metrics *m)
{
    uint64_t now = fw_mono_ns();
    m->budget += (double)(now - m->budget_ns) / 1e9 * VERIFY_PER_S;
    m->budget_ns = now;
    if (m->budget > VERIFY_PER_S)
        m->budget = VERIFY_PER_S;
    if (m->budget < 1)
        return false;
    m->budget -= 1;
    return true;
}

/*
 * Basic auth: the user name compared as a hash in constant time, the password by libsodium's
 * Argon2 verification, and both always done so the time taken does not say which was wrong.
 */
static int check_basic(struct metrics *m, const char *b64)
{
    char buf[1024];
    const char *user, *pass;
    size_t pass_len;
    int r = REFUSED_BAD_CREDENTIALS;
    if (!basic_credentials(b64, buf, sizeof buf, &user, &pass, &pass_len))
        goto out;
    uint8_t cred[32], uh[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, m->cache_key, sizeof m->cache_key, sizeof cred);
    crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
    crypto_generichash_update(&st, (const unsigned char *)pass, pass_len);
    crypto_generichash_final(&st, cred, sizeof cred);
    if (m->good_valid && sodium_memcmp(cred, m->good_cred, sizeof cred) == 0) {
        r = -1;
        goto out;
    }
    if (!take_budget(m)) {
        r = REFUSED_THROTTLED;
        goto out;
    }
    crypto_generichash(uh, sizeof uh, (const unsigned char *)user, strlen(user), NULL, 0);
    bool user_ok = sodium_memcmp(uh, m->user_hash, sizeof uh) == 0;
    bool pass_ok = crypto_pwhash_str_verify(m->password_hash, pass, pass_len) == 0;
    if (user_ok & pass_ok) {
        memcpy(m->good_cred, cred, sizeof cred);
        m->good_valid = true;
        r = -1;
    }
out:
    sodium_memzero(buf, sizeof buf);
    return r;
}

/* -1 if the request may see /metrics, else why not. */
static int check_auth(struct metrics *m, struct MHD_Connection *conn)
{
    if (!m->basic && !m->bearer)
        return -1;
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h)
        return REFUSED_NO_CREDENTIALS;
    if (m->basic && !strncasecmp(h, "Basic ", 6))
        return check_basic(m, h + 6);
    if (m->bearer && !strncasecmp(h, "Bearer ", 7)) {
        const char *tok = h + 7;
        while (*tok == ' ')
            tok++;
        uint8_t th[32];
        crypto_generichash(th, sizeof th, (const unsigned char *)tok, strlen(tok), NULL, 0);
        return sodium_memcmp(th, m->token_hash, sizeof th) == 0 ? -1 : REFUSED_BAD_CREDENTIALS;
    }
    return REFUSED_NO_CREDENTIALS; /* another scheme: as good as none */
}

/* 401 with a challenge for each way configured. */
static struct MHD_Response *unauthorized(const struct metrics *m)
{
    static const char msg[] = "authentication required\n";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (resp && m->basic)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"floorwalker\"");
    if (resp && m->bearer)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"floorwalker\"");
    return resp;
}

/* The snapshot, then the listener's own family (it counts in this thread, between snapshots). */
static struct MHD_Response *snapshot(struct metrics *m)
{
    char tail[768];
    int n = snprintf(tail, sizeof tail,
                     "# HELP floorwalker_scrapes_refused_total Requests to /metrics refused "
                     "(401), by reason.\n# TYPE floorwalker_scrapes_refused_total counter\n");
    for (int i = 0; i < REFUSED_N && n > 0 && (size_t)n < sizeof tail; i++)
        n += snprintf(tail + n, sizeof tail - (size_t)n,
                      "floorwalker_scrapes_refused_total{reason=\"%s\"} %llu\n", refusal_name[i],
                      (unsigned long long)m->refused[i]);
    if (n < 0 || (size_t)n >= sizeof tail)
        return NULL;
    pthread_mutex_lock(&m->lock);
    size_t len = m->len + (size_t)n;
    char *body = malloc(len + 1);
    if (body) {
        if (m->len)
            memcpy(body, m->text, m->len);
        memcpy(body + m->len, tail, (size_t)n + 1);
    }
    pthread_mutex_unlock(&m->lock);
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!resp)
        free(body);
    else
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    return resp;
}

/* One request. libmicrohttpd runs every request on its one internal thread (no thread per
 * connection), so the auth state is touched by one thread only. */
static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **con_cls)
{
    struct metrics *m = cls;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    int refused = check_auth(m, conn);
    if (refused >= 0) {
        m->refused[refused]++;
        resp = unauthorized(m);
        status = MHD_HTTP_UNAUTHORIZED;
    } else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "only GET\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics")) {
        static const char msg[] = "see /metrics\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        resp = snapshot(m);
    }
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* A PEM file whole, NUL-terminated (config validation has read it once already). */
static char *read_pem(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    bool bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void free_tls(struct metrics *m)
{
    if (m->tls_key)
        sodium_memzero(m->tls_key, m->tls_key_len);
    free(m->tls_key);
    free(m->tls_cert);
    m->tls_key = m->tls_cert = NULL;
}

/* The credentials and TLS files of [metrics] (validated by config.c) into m. */
static fw_err setup_auth(struct metrics *m, const struct config *cfg)
{
    if (sodium_init() < 0) {
        log_err("metrics: libsodium failed to initialise");
        return FW_EIO;
    }
    if (cfg->metrics_password_hash[0]) {
        m->basic = true;
        crypto_generichash(m->user_hash, sizeof m->user_hash,
                           (const unsigned char *)cfg->metrics_user, strlen(cfg->metrics_user),
                           NULL, 0);
        snprintf(m->password_hash, sizeof m->password_hash, "%s", cfg->metrics_password_hash);
        randombytes_buf(m->cache_key, sizeof m->cache_key);
        m->budget = VERIFY_PER_S;
        m->budget_ns = fw_mono_ns();
    }
    if (cfg->metrics_bearer_token_file[0]) {
        m->bearer = true;
        memcpy(m->token_hash, cfg->metrics_token_hash, sizeof m->token_hash);
    }
    if (cfg->metrics_tls_cert[0]) {
        size_t len;
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            log_err("metrics: this libmicrohttpd has no TLS support; unset [metrics] tls_cert");
            return FW_ECONFIG;
        }
        if (!(m->tls_cert = read_pem(cfg->metrics_tls_cert, &len)) ||
            !(m->tls_key = read_pem(cfg->metrics_tls_key, &m->tls_key_len))) {
            log_err("metrics: cannot read %s: %s",
                    m->tls_cert ? cfg->metrics_tls_key : cfg->metrics_tls_cert, strerror(errno));
            return FW_ECONFIG;
        }
    }
    return FW_OK;
}

fw_err metrics_create(struct metrics **out, const struct config *cfg)
{
    const char *listen = cfg->metrics_listen;
    char host[128];
    unsigned port;
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host || sscanf(colon + 1, "%u", &port) != 1 ||
        port > 65535) {
        log_err("[metrics] listen = \"%s\": expected HOST:PORT", listen);
        return FW_ECONFIG;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        log_err("[metrics] listen = \"%s\": \"%s\" is not an IPv4 address", listen, host);
        return FW_ECONFIG;
    }
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return FW_ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    fw_err rc = setup_auth(m, cfg);
    if (rc != FW_OK)
        goto fail;
    struct MHD_OptionItem opts[6] = {
        {MHD_OPTION_SOCK_ADDR, 0, &sa},
        {MHD_OPTION_CONNECTION_LIMIT, 64, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 10, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (m->tls_cert) {
        flags |= MHD_USE_TLS;
        opts[3] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, m->tls_cert};
        opts[4] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, m->tls_key};
        opts[5] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    m->httpd =
        MHD_start_daemon(flags, 0, NULL, NULL, serve, m, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!m->httpd) {
        log_err("metrics: cannot listen on %s%s", listen,
                m->tls_cert ? " (or the TLS certificate and key do not load or match)" : "");
        rc = FW_EIO;
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : port;
    log_info("metrics on %s://%s:%u/metrics (%s)", m->tls_cert ? "https" : "http", host, m->port,
             m->basic && m->bearer ? "basic auth or bearer token"
             : m->basic            ? "basic auth"
             : m->bearer           ? "bearer token"
                                   : "no authentication");
    if (!m->basic && !m->bearer && (ntohl(sa.sin_addr.s_addr) >> 24) != 127)
        log_warn("metrics: %s serves the daemon's stats to anyone who can reach it "
                 "([metrics] insecure = true)",
                 listen);
    *out = m;
    return FW_OK;
fail:
    free_tls(m);
    pthread_mutex_destroy(&m->lock);
    sodium_memzero(m, sizeof *m);
    free(m);
    return rc;
}

unsigned metrics_port(const struct metrics *m)
{
    return m ? m->port : 0;
}

void metrics_destroy(struct metrics **pm)
{
    struct metrics *m = *pm;
    if (!m)
        return;
    MHD_stop_daemon(m->httpd);
    pthread_mutex_destroy(&m->lock);
    free(m->text);
    free_tls(m);
    sodium_memzero(m, sizeof *m);
    free(m);
    *pm = NULL;
}

/* Growing text buffer. */
struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 8192;
        while (ncap < b->len + (size_t)n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/*
 * The catalogue: how each figure of the STATS result becomes a Prometheus family. The stats
 * are the figures' one home (`floorwalker stats` shows the same numbers); this table only names
 * them, types them and scales them to base units. A figure is found by table and column: in
 * the "daemon" table (name, value) the column is the row's name; in every other table it is a
 * numeric column and the row's string columns become labels. A figure the stats gain without
 * an entry here (or in `derived`) is logged once and left out, never exported unnamed.
 */
enum ftype { COUNTER, GAUGE, HISTOGRAM };

#define FIG_MAX 4

struct family {
    const char *name; /* without the floorwalker_ prefix */
    enum ftype type;
    const char *help;
    const char *table;
    /* Counters and gauges: the figures, one sample each (per row); with label set, figure i
     * gets label="values[i]". Histograms: figures[0] is the bound column of the bucket table,
     * figures[1] its count column, figures[2] the daemon row with the sum, figures[3] the one
     * with the count. */
    const char *figures[FIG_MAX];
    const char *label;
    const char *values[FIG_MAX];
    double scale;           /* to base units: figure * scale (histograms: the bounds); 0 means 1 */
    double sum_scale;       /* histograms: the sum */
    bool absent_below_zero; /* a negative figure means "unknown": no sample */
    const char *key_column; /* a numeric column that is part of the row's identity: a label */
};

static const struct family families[] = {
    {.name = "uptime_seconds",
     .type = GAUGE,
     .help = "Seconds since this daemon process started.",
     .table = "daemon",
     .figures = {"uptime_s"}},
    {.name = "events_total",
     .type = COUNTER,
     .help = "Events stored in the event log (kept across restarts).",
     .table = "daemon",
     .figures = {"events_total"}},
    {.name = "events_by_kind_total",
     .type = COUNTER,
     .help = "Events stored in the event log, by kind of body.",
     .table = "events_by_kind",
     .figures = {"events"}},
    {.name = "duplicates_total",
     .type = COUNTER,
     .help = "Events received again and acknowledged without storing.",
     .table = "daemon",
     .figures = {"duplicates"}},
    {.name = "quarantined_total",
     .type = COUNTER,
     .help = "Events and frames refused with a reason and quarantined.",
     .table = "daemon",
     .figures = {"quarantined"}},
    {.name = "rejects_total",
     .type = COUNTER,
     .help = "Events and frames refused, by reject code.",
     .table = "rejects_by_code",
     .figures = {"count"}},
    {.name = "batches_total",
     .type = COUNTER,
     .help = "Event batches taken by ingest.",
     .table = "daemon",
     .figures = {"batches"}},
    {.name = "batches_refused_total",
     .type = COUNTER,
     .help =
         "Batches refused whole: malformed (mixed terminals, too many events) or a sequence gap.",
     .table = "daemon",
     .figures = {"bad_batches", "gaps"},
     .label = "reason",
     .values = {"malformed", "gap"}},
    {.name = "frames_refused_total",
     .type = COUNTER,
     .help = "Ingest frames refused before their events, by reason.",
     .table = "daemon",
     .figures = {"frames_garbage", "frames_empty", "frames_multipart", "frames_oversize"},
     .label = "reason",
     .values = {"garbage", "empty", "multipart", "oversize"}},
    {.name = "acks_total",
     .type = COUNTER,
     .help = "Acks to terminals: sent, or dropped (peer gone or its queue full; it resends).",
     .table = "daemon",
     .figures = {"acks_sent", "acks_dropped"},
     .label = "result",
     .values = {"sent", "dropped"}},
    {.name = "commit_duration_seconds",
     .type = HISTOGRAM,
     .help = "Duration of the group-commit LMDB transactions of this process.",
     .table = "commit_latency",
     .figures = {"below_us", "commits", "commit_ms_total", "commits"},
     .scale = 1e-6,
     .sum_scale = 1e-3},
    {.name = "commit_events",
     .type = HISTOGRAM,
     .help = "Events stored per group commit, in this process.",
     .table = "commit_sizes",
     .figures = {"up_to_events", "commits", "commit_events_total", "commits"}},
    {.name = "ingest_pass_duration_seconds",
     .type = HISTOGRAM,
     .help = "Duration of the ingest passes of the loop (receive, decode, validate, commit, apply, "
             "acks): nothing else on the loop moves meanwhile.",
     .table = "pass_latency",
     .figures = {"below_us", "count", "pass_ms_total", "pass_count"},
     .scale = 1e-6,
     .sum_scale = 1e-3},
    {.name = "ingest_pass_duration_max_seconds",
     .type = GAUGE,
     .help = "Longest ingest pass of this process.",
     .table = "daemon",
     .figures = {"pass_ms_max"},
     .scale = 1e-3},
    {.name = "rollup_apply_duration_seconds",
     .type = HISTOGRAM,
     .help = "Duration of the rollup apply and the event rules of a pass.",
     .table = "apply_latency",
     .figures = {"below_us", "count", "apply_ms_total", "apply_count"},
     .scale = 1e-6,
     .sum_scale = 1e-3},
    {.name = "rollup_apply_duration_max_seconds",
     .type = GAUGE,
     .help = "Longest rollup apply of one pass in this process.",
     .table = "daemon",
     .figures = {"apply_ms_max"},
     .scale = 1e-3},
    {.name = "query_duration_seconds",
     .type = HISTOGRAM,
     .help = "Time to answer a query, from its receipt to the reply sent.",
     .table = "query_latency",
     .figures = {"below_us", "count", "query_ms_total", "query_count"},
     .scale = 1e-6,
     .sum_scale = 1e-3},
    {.name = "query_duration_max_seconds",
     .type = GAUGE,
     .help = "Longest query of this process.",
     .table = "daemon",
     .figures = {"query_ms_max"},
     .scale = 1e-3},
    {.name = "checkpoint_duration_seconds",
     .type = HISTOGRAM,
     .help = "Duration of the rollup checkpoints of this process, from the snapshot on the "
             "loop to its commit by the writer thread.",
     .table = "checkpoint_latency",
     .figures = {"below_us", "count", "checkpoint_ms_total", "checkpoints"},
     .scale = 1e-6,
     .sum_scale = 1e-3},
    {.name = "checkpoint_snapshot_duration_seconds",
     .type = HISTOGRAM,
     .help = "The loop's part of the rollup checkpoints: the steps taking the snapshot of "
             "the dirty cells (a large one in slices between other work; the writer thread "
             "writes it).",
     .table = "checkpoint_snapshot_latency",
     .figures = {"below_us", "count", "checkpoint_snapshot_ms_total", "checkpoint_snapshots"},
     .scale = 1e-6,
     .sum_scale = 1e-3},
    {.name = "checkpoint_snapshot_max_duration_seconds",
     .type = GAUGE,
     .help = "Longest step of a rollup checkpoint's snapshot on the loop.",
     .table = "daemon",
     .figures = {"checkpoint_snapshot_ms_max"},
     .scale = 1e-3},
    {.name = "commit_duration_max_seconds",
     .type = GAUGE,
     .help = "Longest group commit of this process.",
     .table = "daemon",
     .figures = {"commit_ms_max"},
     .scale = 1e-3},
    {.name = "commit_events_max",
     .type = GAUGE,
     .help = "Most events stored by one group commit of this process.",
     .table = "daemon",
     .figures = {"commit_events_max"}},
    {.name = "commit_failures_total",
     .type = COUNTER,
     .help = "Group commits that failed (their events were not acked).",
     .table = "daemon",
     .figures = {"commit_failures"}},
    {.name = "map_grows_total",
     .type = COUNTER,
     .help = "Times the LMDB map was grown.",
     .table = "daemon",
     .figures = {"map_grows"}},
    {.name = "map_size_bytes",
     .type = GAUGE,
     .help = "Size of the LMDB map.",
     .table = "daemon",
     .figures = {"map_size_mb"},
     .scale = 1048576},
    {.name = "log_position",
     .type = GAUGE,
     .help = "Position of the last event in the event log.",
     .table = "daemon",
     .figures = {"log_position"}},
    {.name = "log_start_position",
     .type = GAUGE,
     .help = "First position still in the event log (older ones pruned).",
     .table = "daemon",
     .figures = {"log_start"}},
    {.name = "ingest_last_pass_messages",
     .type = GAUGE,
     .help =
         "Messages drained by the last ingest pass (a full pass means a backlog in the socket).",
     .table = "daemon",
     .figures = {"ingest_last_pass_msgs"}},
    {.name = "ingest_last_slice_events",
     .type = GAUGE,
     .help = "Events received and recorded by the last ingest slice (a slice ends after "
             "[ingest] pass_budget_ms of the loop's work).",
     .table = "daemon",
     .figures = {"ingest_last_slice_events"}},
    {.name = "queries_total",
     .type = COUNTER,
     .help = "Queries answered.",
     .table = "daemon",
     .figures = {"queries"}},
    {.name = "queries_refused_total",
     .type = COUNTER,
     .help = "Queries outside the client key's role or regions.",
     .table = "daemon",
     .figures = {"queries_refused"}},
    {.name = "subscribers",
     .type = GAUGE,
     .help = "Alert subscriber (PUB) connections open now.",
     .table = "daemon",
     .figures = {"subscribers"}},
    {.name = "subscriptions_refused_total",
     .type = COUNTER,
     .help = "Alert subscriptions outside a supervisor's regions.",
     .table = "daemon",
     .figures = {"subscriptions_refused"}},
    {.name = "alerts_socket_rebinds_total",
     .type = COUNTER,
     .help = "Rebinds of the alerts socket that cut subscribers whose key a reload revoked.",
     .table = "daemon",
     .figures = {"alerts_rebinds"}},
    {.name = "alerts_held_total",
     .type = COUNTER,
     .help = "Alert and report messages published during a rebind of the alerts socket: held "
             "and sent after it, or dropped with the hold full.",
     .table = "daemon",
     .figures = {"alerts_held", "alerts_hold_dropped"},
     .label = "result",
     .values = {"held", "dropped"}},
    {.name = "curve_enabled",
     .type = GAUGE,
     .help = "1 if the sockets use CurveZMQ, else 0.",
     .table = "daemon",
     .figures = {"curve"}},
    {.name = "auth_handshakes_total",
     .type = COUNTER,
     .help = "CurveZMQ handshakes, by the ZAP handler's answer.",
     .table = "daemon",
     .figures = {"auth_allowed", "auth_denied"},
     .label = "result",
     .values = {"allowed", "denied"}},
    {.name = "revoked_key_messages_total",
     .type = COUNTER,
     .help = "Messages from a connection whose key a reload removed.",
     .table = "daemon",
     .figures = {"key_revoked"}},
    {.name = "resident_memory_bytes",
     .type = GAUGE,
     .help = "Resident set size of the daemon.",
     .table = "daemon",
     .figures = {"rss_kb"},
     .scale = 1024,
     .absent_below_zero = true},
    {.name = "alerts_active",
     .type = GAUGE,
     .help = "Alerts firing now.",
     .table = "daemon",
     .figures = {"alerts_active"}},
    {.name = "alerts_published_total",
     .type = COUNTER,
     .help = "Alert messages published.",
     .table = "daemon",
     .figures = {"alerts_published"}},
    {.name = "rule_alerts_active",
     .type = GAUGE,
     .help = "Alerts firing now, by rule.",
     .table = "alerts_by_rule",
     .figures = {"active"}},
    {.name = "rule_alerts_fired_total",
     .type = COUNTER,
     .help = "Alerts that started firing in this process, by rule.",
     .table = "alerts_by_rule",
     .figures = {"fired"}},
    {.name = "rollup_position",
     .type = GAUGE,
     .help = "Last event-log position applied to the rollups.",
     .table = "daemon",
     .figures = {"rollup_position"}},
    {.name = "rollup_dirty_cells",
     .type = GAUGE,
     .help = "Rollup cells changed since the last checkpoint.",
     .table = "daemon",
     .figures = {"rollup_dirty_cells"}},
    {.name = "rollup_cached_cells",
     .type = GAUGE,
     .help = "Rollup cells held in memory.",
     .table = "daemon",
     .figures = {"rollup_cached_cells"}},
    {.name = "rollup_evictions_total",
     .type = COUNTER,
     .help = "Evictions of the rollup cache ([rollup] cache_cells), each in slices.",
     .table = "daemon",
     .figures = {"rollup_evictions"}},
    {.name = "rollup_read_errors_total",
     .type = COUNTER,
     .help = "Rollup cells LMDB could not give back; the rollups miss what was applied to "
             "them until a --rebuild.",
     .table = "daemon",
     .figures = {"rollup_read_errors"}},
    {.name = "rollup_evicted_cells_total",
     .type = COUNTER,
     .help = "Rollup cells evicted from memory ([rollup] cache_cells); LMDB keeps them.",
     .table = "daemon",
     .figures = {"rollup_evicted_cells"}},
    {.name = "checkpoints_total",
     .type = COUNTER,
     .help = "Rollup checkpoints written by this process.",
     .table = "daemon",
     .figures = {"checkpoints"}},
    {.name = "checkpoint_last_cells",
     .type = GAUGE,
     .help = "Cells written by the last rollup checkpoint.",
     .table = "daemon",
     .figures = {"checkpoint_cells_last"}},
    {.name = "checkpoint_max_cells",
     .type = GAUGE,
     .help = "Most cells written by one rollup checkpoint.",
     .table = "daemon",
     .figures = {"checkpoint_cells_max"}},
    {.name = "checkpoint_last_duration_seconds",
     .type = GAUGE,
     .help = "Duration of the last rollup checkpoint.",
     .table = "daemon",
     .figures = {"checkpoint_ms_last"},
     .scale = 1e-3},
    {.name = "checkpoint_max_duration_seconds",
     .type = GAUGE,
     .help = "Longest rollup checkpoint of this process.",
     .table = "daemon",
     .figures = {"checkpoint_ms_max"},
     .scale = 1e-3},
    {.name = "startup_replayed_events",
     .type = GAUGE,
     .help = "Events replayed into the rollups at start.",
     .table = "daemon",
     .figures = {"replayed_at_start"}},
    {.name = "startup_replay_seconds",
     .type = GAUGE,
     .help = "Duration of the rollup replay at start.",
     .table = "daemon",
     .figures = {"replay_ms"},
     .scale = 1e-3},
    {.name = "pruned_events_total",
     .type = COUNTER,
     .help = "Events pruned from the log by retention.",
     .table = "daemon",
     .figures = {"pruned_events"}},
    {.name = "pruned_hourly_cells_total",
     .type = COUNTER,
     .help = "Hourly rollup cells pruned by retention.",
     .table = "daemon",
     .figures = {"pruned_hourly_cells"}},
    /* One row per terminal and epoch (a reinstalled terminal starts a new epoch). */
    {.name = "terminal_acked_seq",
     .type = GAUGE,
     .help = "Sequence number acked to the terminal, per epoch.",
     .table = "terminals",
     .figures = {"acked_seq"},
     .key_column = "epoch"},
    {.name = "terminal_updated_timestamp_seconds",
     .type = GAUGE,
     .help = "When the terminal's ack mark last moved, per epoch.",
     .table = "terminals",
     .figures = {"updated_ms"},
     .scale = 1e-3,
     .key_column = "epoch"},
    {.name = "terminal_spooled_events",
     .type = GAUGE,
     .help = "Events left in the terminal's spool: its last heartbeat's report less the "
             "events heard from it since.",
     .table = "terminal_spools",
     .figures = {"spool_depth"}},
    {.name = "terminal_spool_reported_events",
     .type = GAUGE,
     .help = "Events waiting in the terminal's spool as its last heartbeat reported them.",
     .table = "terminal_spools",
     .figures = {"reported_depth"}},
    {.name = "terminal_spool_reported_timestamp_seconds",
     .type = GAUGE,
     .help = "When the terminal last reported its spool.",
     .table = "terminal_spools",
     .figures = {"reported_ms"},
     .scale = 1e-3},
    {.name = "exporter_position",
     .type = GAUGE,
     .help = "Log position an exporter (floorwalker export) has exported through, by name.",
     .table = "exporters",
     .figures = {"pos"}},
    {.name = "exporter_lag_events",
     .type = GAUGE,
     .help = "Committed events an exporter has not exported yet.",
     .table = "exporters",
     .figures = {"lag_events"}},
    {.name = "exporter_lag_seconds",
     .type = GAUGE,
     .help = "Age of the oldest event an exporter has not exported yet (0 when caught up).",
     .table = "exporters",
     .figures = {"lag_ms"},
     .scale = 1e-3},
    {.name = "exporter_last_report_timestamp_seconds",
     .type = GAUGE,
     .help = "When the exporter last reported its position.",
     .table = "exporters",
     .figures = {"updated_ms"},
     .scale = 1e-3},
};

/* Figures /metrics leaves out on purpose: Prometheus derives them from the families above. */
static const char *const derived[] = {
    "daemon.commit_ms_avg",     /* rate(commit_duration_seconds_sum / _count) */
    "daemon.commit_events_avg", /* rate(commit_events_sum / _count) */
    "daemon.events_per_s",      /* rate(floorwalker_events_total[1m]) */
    "daemon.metrics_port",      /* the port being scraped */
    "terminals.epoch",          /* a label of the terminal_* families */
};

static bool is_int(const Floorwalker__Value *v)
{
    return v->v_case == FLOORWALKER__VALUE__V_I;
}

static bool is_num(const Floorwalker__Value *v)
{
    return v->v_case == FLOORWALKER__VALUE__V_I || v->v_case == FLOORWALKER__VALUE__V_D;
}

static double num(const Floorwalker__Value *v)
{
    return is_int(v) ? (double)v->i : v->d;
}

/* A sample value in the text format (NaN and infinities spelled its way). */
static void value(struct buf *b, const Floorwalker__Value *v, double scale)
{
    if (is_int(v) && scale == 1) {
        bprintf(b, "%lld\n", (long long)v->i);
        return;
    }
    double d = num(v) * scale;
    if (isnan(d))
        bprintf(b, "NaN\n");
    else if (isinf(d))
        bprintf(b, "%sInf\n", d < 0 ? "-" : "+");
    else
        bprintf(b, "%.15g\n", d);
}

/* A label value with \ " and newline escaped. */
static void label_value(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            bprintf(b, "\\%c", *s);
        else if (*s == '\n')
            bprintf(b, "\\n");
        else
            bprintf(b, "%c", *s);
    }
}

static const Floorwalker__Table *find_table(const Floorwalker__QueryResult *r, const char *name)
{
    for (size_t i = 0; i < r->n_tables; i++)
        if (!strcmp(r->tables[i]->name, name))
            return r->tables[i];
    return NULL;
}

static int find_column(const Floorwalker__Table *t, const char *name)
{
    for (size_t c = 0; c < t->n_columns; c++)
        if (!strcmp(t->columns[c], name))
            return (int)c;
    return -1;
}

/* The value of a row of the "daemon" table, or NULL. */
static const Floorwalker__Value *daemon_figure(const Floorwalker__Table *d, const char *name)
{
    for (size_t j = 0; d && j < d->n_rows; j++) {
        const Floorwalker__Row *row = d->rows[j];
        if (row->n_cells == 2 && row->cells[0]->v_case == FLOORWALKER__VALUE__V_S &&
            !strcmp(row->cells[0]->s, name) && is_num(row->cells[1]))
            return row->cells[1];
    }
    return NULL;
}

static void family_head(struct buf *b, const struct family *f, bool *done)
{
    static const char *const type_name[] = {"counter", "gauge", "histogram"};
    if (*done)
        return;
    bprintf(b, "# HELP floorwalker_%s %s\n# TYPE floorwalker_%s %s\n", f->name, f->help, f->name,
            type_name[f->type]);
    *done = true;
}

/* The string cells of a row (and its key column) as labels, plus extra="extra_value" if extra
 * is set; nothing if none. */
static void labels(struct buf *b, const Floorwalker__Table *t, const Floorwalker__Row *row,
                   const char *key_column, const char *extra, const char *extra_value)
{
    bool first = true;
    for (size_t l = 0; row && l < row->n_cells && l < t->n_columns; l++) {
        if (key_column && !strcmp(t->columns[l], key_column) && is_int(row->cells[l])) {
            bprintf(b, "%s%s=\"%lld\"", first ? "{" : ",", key_column, (long long)row->cells[l]->i);
            first = false;
            continue;
        }
        if (row->cells[l]->v_case != FLOORWALKER__VALUE__V_S)
            continue;
        bprintf(b, "%s%s=\"", first ? "{" : ",", t->columns[l]);
        label_value(b, row->cells[l]->s);
        bprintf(b, "\"");
        first = false;
    }
    if (extra) {
        bprintf(b, "%s%s=\"", first ? "{" : ",", extra);
        label_value(b, extra_value);
        bprintf(b, "\"");
        first = false;
    }
    if (!first)
        bprintf(b, "}");
}

static void render_scalar(struct buf *b, const struct family *f, const Floorwalker__Table *t)
{
    double scale = f->scale ? f->scale : 1;
    bool head = false;
    for (int i = 0; i < FIG_MAX && f->figures[i]; i++) {
        if (!strcmp(f->table, "daemon")) {
            const Floorwalker__Value *v = daemon_figure(t, f->figures[i]);
            if (!v || (f->absent_below_zero && num(v) < 0))
                continue;
            family_head(b, f, &head);
            bprintf(b, "floorwalker_%s", f->name);
            labels(b, t, NULL, NULL, f->label, f->values[i]);
            bprintf(b, " ");
            value(b, v, scale);
            continue;
        }
        int c = find_column(t, f->figures[i]);
        for (size_t j = 0; c >= 0 && j < t->n_rows; j++) {
            const Floorwalker__Row *row = t->rows[j];
            if ((size_t)c >= row->n_cells || !is_num(row->cells[c]))
                continue;
            family_head(b, f, &head);
            bprintf(b, "floorwalker_%s", f->name);
            labels(b, t, row, f->key_column, f->label, f->values[i]);
            bprintf(b, " ");
            value(b, row->cells[c], scale);
        }
    }
}

/*
 * A histogram from a stats bucket table (its non-empty buckets, bound column null for the
 * overflow bucket) and the daemon rows with its sum and count: every bound of stats.h,
 * cumulative, then +Inf = count.
 */
static void render_histogram(struct buf *b, const struct family *f, const Floorwalker__Table *t,
                             const Floorwalker__Table *d)
{
    const Floorwalker__Value *sum = daemon_figure(d, f->figures[2]);
    const Floorwalker__Value *count = daemon_figure(d, f->figures[3]);
    int cb = find_column(t, f->figures[0]), cc = find_column(t, f->figures[1]);
    if (!sum || !count || cb < 0 || cc < 0)
        return;
    uint64_t per[STATS_HIST - 1] = {0};
    for (size_t j = 0; j < t->n_rows; j++) {
        const Floorwalker__Row *row = t->rows[j];
        if ((size_t)cb >= row->n_cells || (size_t)cc >= row->n_cells || !is_int(row->cells[cb]) ||
            !is_int(row->cells[cc]))
            continue; /* the overflow bucket: only in +Inf */
        for (unsigned i = 0; i < STATS_HIST - 1; i++)
            if ((int64_t)stats_hist_bound(i) == row->cells[cb]->i)
                per[i] += (uint64_t)row->cells[cc]->i;
    }
    bool head = false;
    family_head(b, f, &head);
    double scale = f->scale ? f->scale : 1;
    uint64_t cum = 0;
    for (unsigned i = 0; i < STATS_HIST - 1; i++) {
        cum += per[i];
        bprintf(b, "floorwalker_%s_bucket{le=\"%.15g\"} %llu\n", f->name,
                (double)stats_hist_bound(i) * scale, (unsigned long long)cum);
    }
    bprintf(b, "floorwalker_%s_bucket{le=\"+Inf\"} ", f->name);
    value(b, count, 1);
    bprintf(b, "floorwalker_%s_sum ", f->name);
    value(b, sum, f->sum_scale ? f->sum_scale : 1);
    bprintf(b, "floorwalker_%s_count ", f->name);
    value(b, count, 1);
}

/* Whether the catalogue (or `derived`) names table.column. */
static bool mapped(const char *table, const char *column)
{
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        const struct family *f = &families[i];
        bool hist = f->type == HISTOGRAM;
        for (int k = 0; k < FIG_MAX && f->figures[k]; k++) {
            /* A histogram's figures 2 and 3 (sum, count) are daemon rows. */
            const char *in = hist && k >= 2 ? "daemon" : f->table;
            if (!strcmp(in, table) && !strcmp(f->figures[k], column))
                return true;
        }
    }
    char name[256];
    snprintf(name, sizeof name, "%s.%s", table, column);
    for (size_t i = 0; i < sizeof derived / sizeof *derived; i++)
        if (!strcmp(derived[i], name))
            return true;
    return false;
}

/* The first figure of the stats that /metrics does not name (table and column), or false. */
static bool first_unmapped(const Floorwalker__QueryResult *r, const char **table, const char **col)
{
    for (size_t i = 0; i < r->n_tables; i++) {
        const Floorwalker__Table *t = r->tables[i];
        *table = t->name;
        if (!strcmp(t->name, "daemon")) {
            for (size_t j = 0; j < t->n_rows; j++) {
                const Floorwalker__Row *row = t->rows[j];
                if (row->n_cells && row->cells[0]->v_case == FLOORWALKER__VALUE__V_S &&
                    !mapped(t->name, *col = row->cells[0]->s))
                    return true;
            }
            continue;
        }
        /* Other tables: their numeric columns, as the first row types them. */
        for (size_t c = 0; t->n_rows && c < t->rows[0]->n_cells && c < t->n_columns; c++)
            if (t->rows[0]->cells[c]->v_case != FLOORWALKER__VALUE__V_S &&
                !mapped(t->name, *col = t->columns[c]))
                return true;
    }
    return false;
}

/* Logs, once per process, the first figure of the stats that /metrics does not name. */
static void check_mapped(const Floorwalker__QueryResult *r)
{
    static bool warned;
    const char *table, *col;
    if (!warned && first_unmapped(r, &table, &col)) {
        log_warn("metrics: stats figure %s.%s has no Prometheus name (daemon/metrics.c); left "
                 "out of /metrics",
                 table, col);
        warned = true;
    }
}

void metrics_update(struct metrics *m, const Floorwalker__QueryResult *r)
{
    if (!m)
        return;
    struct buf b = {0};
    const Floorwalker__Table *d = find_table(r, "daemon");
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        const struct family *f = &families[i];
        const Floorwalker__Table *t = find_table(r, f->table);
        if (!t)
            continue;
        if (f->type == HISTOGRAM)
            render_histogram(&b, f, t, d);
        else
            render_scalar(&b, f, t);
    }
    check_mapped(r);
    if (b.oom) {
        free(b.p);
        return;
    }
    pthread_mutex_lock(&m->lock);
    free(m->text);
    m->text = b.p;
    m->len = b.len;
    pthread_mutex_unlock(&m->lock);
}
