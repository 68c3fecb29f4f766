/*
 * floorwalker web: the supervisors' and the ops team's console. A client of floorwalkerd like
 * the CLI (its query and alerts sockets only, with the CLI's CurveZMQ key in curve mode); it
 * serves the page built into this binary and a JSON API that the page uses (docs/WEB.md),
 * over HTTP with libmicrohttpd, one thread per connection (an alert stream holds its own).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "alertfeed.h"
#include "cli.h"
#include "floorwalker.pb-c.h"
#include "fwcommon.h"
#include "qjson.h"
#include "webassets.h"
#include "webfeed.h"

#define WHO "floorwalker web"
#define DEFAULT_LISTEN "127.0.0.1:7480"
#define REASON_MAX 160
#define BODY_MAX 4096

struct web {
    const char *query_ep, *pub_ep;
    int timeout_s;
    char host[64]; /* the listen address as given, and its port */
    unsigned port;
    char csrf[65]; /* the token every POST must carry (X-CSRF-Token) */
    void *ctx;
    struct webfeed *feed;
};

/* Set once SIGINT or SIGTERM came (the main thread waits for them; the others block them). */
static volatile sig_atomic_t stop_flag;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker web [--listen HOST:PORT] [-e ALERTS_EP] [-q QUERY_EP] [-w SEC]\n"
            "\n"
            "The console for regional supervisors and the ops team (docs/WEB.md): a web page\n"
            "with a board of the stores, their live alerts and the figures of every query, and\n"
            "the JSON API it uses. A client of floorwalkerd: it talks to the daemon only over\n"
            "its query and alerts sockets (in curve mode with --key/--server-key, like the\n"
            "other commands), and may run on another host.\n"
            "\n"
            "      --listen HOST:PORT  where to serve HTTP (default %s). This version\n"
            "                          has no login: it serves loopback addresses only, and\n"
            "                          the page says so.\n"
            "  -e, --endpoint EP   alerts PUB endpoint (default %s, or $FLOORWALKER_ALERTS)\n"
            "  -q, --query EP      query endpoint (default %s, or $FLOORWALKER_QUERY)\n"
            "  -w, --timeout SEC   wait this long for the daemon's answers (default 5)\n"
            "\n"
            "Open http://HOST:PORT/ in a browser. Stop with Ctrl-C or SIGTERM.\n"
            "Exit status: 0 stopped, 2 bad usage or the address cannot be served.\n",
            DEFAULT_LISTEN, DEFAULT_ALERTS, DEFAULT_QUERY);
}

/* ---- responses ----------------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    /* The page loads nothing from elsewhere, and no other site may frame it. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* A JSON answer (steals j). */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!s)
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                         "{\"error\":\"out of memory\"}", 25, MHD_RESPMEM_PERSISTENT);
    return send_text(c, status, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE);
}

__attribute__((format(printf, 4, 5))) static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, const char *param, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:s}", "error", msg);
    if (j && param)
        json_object_set_new(j, "parameter", json_string(param));
    return send_json(c, status, j);
}

/* ---- the daemon ---------------------------------------------------------------------------- */

/* Asks the daemon; on no answer sends 503 and returns NULL. */
static Floorwalker__QueryResult *ask(struct web *w, struct MHD_Connection *c,
                                     const Floorwalker__Query *q, enum MHD_Result *rc)
{
    Floorwalker__QueryResult *r = NULL;
    uint64_t deadline = fw_mono_ns() + (uint64_t)w->timeout_s * 1000000000u;
    if (cli_ask(WHO, w->ctx, w->query_ep, q, w->timeout_s, deadline, &stop_flag, &r) != ASK_OK) {
        *rc =
            send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                       "floorwalkerd did not answer at %s within %d s", w->query_ep, w->timeout_s);
        return NULL;
    }
    return r;
}

/* ---- /api/query/KIND ----------------------------------------------------------------------- */

static const char *const day_words[] = {"today",      "yesterday",  "this-week", "last-week",
                                        "this-month", "last-month", NULL};

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(v, *set))
            return true;
    return false;
}

static bool is_id(const char *v)
{
    size_t n = strlen(v);
    if (!n || n > FW_ID_MAX)
        return false;
    for (; *v; v++)
        if ((unsigned char)*v <= ' ' || *v == 0x7f)
            return false;
    return true;
}

static bool is_day(const char *v)
{
    if (one_of(v, day_words))
        return true;
    int y, m, d;
    char end;
    return strlen(v) == 10 && sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &end) == 3 && v[4] == '-' &&
           v[7] == '-' && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

struct qargs {
    Floorwalker__Query *q;
    const char *bad, *why; /* the first bad parameter and why */
    char why_buf[160];
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    struct qargs *a = cls;
    static const char *const scopes[] = {"store", "region", "chain", NULL};
    static const char *const grains[] = {"hour", "day", "week", "month", NULL};
    Floorwalker__Query *q = a->q;
    const char *v = value ? value : "";
    if (!strcmp(key, "store") || !strcmp(key, "region") || !strcmp(key, "sku") ||
        !strcmp(key, "employee")) {
        if (!is_id(v))
            a->why = "expected an id of 1 to 64 characters without spaces";
        else if (!strcmp(key, "store"))
            q->store_id = (char *)v;
        else if (!strcmp(key, "region"))
            q->region = (char *)v;
        else if (!strcmp(key, "sku"))
            q->sku = (char *)v;
        else
            q->employee_id = (char *)v;
    } else if (!strcmp(key, "scope")) {
        if (one_of(v, scopes))
            q->scope = (char *)v;
        else
            a->why = "expected store, region or chain";
    } else if (!strcmp(key, "granularity")) {
        if (one_of(v, grains))
            q->granularity = (char *)v;
        else
            a->why = "expected hour, day, week or month";
    } else if (!strcmp(key, "from") || !strcmp(key, "to")) {
        if (!is_day(v))
            a->why = "expected YYYY-MM-DD, today, yesterday, this-week, last-week, this-month "
                     "or last-month";
        else if (!strcmp(key, "from"))
            q->from_day = (char *)v;
        else
            q->to_day = (char *)v;
    } else if (!strcmp(key, "limit")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 100000)
            a->why = "expected a whole number from 1 to 100000";
        else
            q->limit = (uint32_t)n;
    } else {
        a->why = "unknown parameter (known: store, region, scope, from, to, granularity, limit, "
                 "sku, employee)";
    }
    if (a->why) {
        a->bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result api_query(struct web *w, struct MHD_Connection *c, const char *kind)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = query_kind_by_name(kind);
    if (!q.kind)
        return send_error(c, MHD_HTTP_NOT_FOUND, "KIND", "unknown query kind \"%.64s\" (known: %s)",
                          kind, query_kind_names());
    struct qargs a = {.q = &q};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &a);
    if (a.bad)
        return send_error(c, MHD_HTTP_BAD_REQUEST, a.bad, "%s: %s", a.bad, a.why);
    enum MHD_Result rc = MHD_NO;
    Floorwalker__QueryResult *r = ask(w, c, &q, &rc);
    if (!r)
        return rc;
    if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK)
        rc = send_error(c, MHD_HTTP_BAD_REQUEST, NULL, "%s", r->error);
    else
        rc = send_json(c, MHD_HTTP_OK, qjson_rows(r));
    floorwalker__query_result__free_unpacked(r, NULL);
    return rc;
}

/* ---- /api/alerts --------------------------------------------------------------------------- */

static bool snapshot_alert(void *arg, const Floorwalker__Alert *a)
{
    json_array_append_new(arg, qjson_alert(a));
    return true;
}

static enum MHD_Result api_alerts(struct web *w, struct MHD_Connection *c)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = FLOORWALKER__QUERY__KIND__ALERTS;
    enum MHD_Result rc = MHD_NO;
    Floorwalker__QueryResult *r = ask(w, c, &q, &rc);
    if (!r)
        return rc;
    if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
        rc = send_error(c, MHD_HTTP_BAD_REQUEST, NULL, "%s", r->error);
    } else {
        struct feed_seqs seqs = {0};
        json_t *alerts = json_array(), *seq = json_object();
        feed_take_snapshot(&seqs, r, NULL, snapshot_alert, alerts);
        for (size_t i = 0; i < seqs.n; i++)
            json_object_set_new(seq, seqs.v[i].region, json_integer((json_int_t)seqs.v[i].snap));
        feed_seqs_free(&seqs);
        rc = send_json(c, MHD_HTTP_OK, json_pack("{s:o, s:o}", "alerts", alerts, "pub_seq", seq));
    }
    floorwalker__query_result__free_unpacked(r, NULL);
    return rc;
}

/* The alert stream: Server-Sent Events from the feed, a comment every 15 s of quiet (so a
 * closed browser is noticed and proxies keep the connection). */
struct stream {
    struct web *w;
    struct webfeed_reader reader;
    char *buf;
    size_t len, off;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct stream *s = cls;
    while (s->off == s->len) {
        free(s->buf);
        s->buf = NULL;
        s->len = s->off = 0;
        if (stop_flag)
            return MHD_CONTENT_READER_END_OF_STREAM;
        char *next = webfeed_next(s->w->feed, &s->reader, 15000);
        s->buf = next ? next : strdup(": still here\n\n");
        if (!s->buf)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        s->len = strlen(s->buf);
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    free(s->buf);
    free(s);
}

static enum MHD_Result api_stream(struct web *w, struct MHD_Connection *c)
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        return MHD_NO;
    s->w = w;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* POST /api/alerts/ID/ack {"reason": "..."} */
static enum MHD_Result api_ack(struct web *w, struct MHD_Connection *c, const char *id,
                               const char *body, size_t len)
{
    const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");
    if (!token || strlen(token) != strlen(w->csrf) ||
        sodium_memcmp(token, w->csrf, strlen(w->csrf)) != 0)
        return send_error(c, MHD_HTTP_FORBIDDEN, "X-CSRF-Token",
                          "X-CSRF-Token: missing or wrong (take it from GET /api/session)");
    json_error_t jerr;
    json_t *j = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "body",
                          "body: expected a JSON object like {\"reason\": \"...\"}");
    }
    json_t *jr = json_object_get(j, "reason");
    const char *reason = jr && json_is_string(jr) ? json_string_value(jr) : "";
    if (jr && !json_is_string(jr)) {
        json_decref(j);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "reason", "reason: expected a string");
    }
    if (strlen(reason) > REASON_MAX) {
        json_decref(j);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "reason", "reason: at most %d bytes",
                          REASON_MAX);
    }
    if (!is_id(id) && strlen(id) > 200) {
        json_decref(j);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "ID", "ID: not an alert id");
    }
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = FLOORWALKER__QUERY__KIND__ACK_ALERT;
    q.alert_id = (char *)id;
    q.reason = (char *)reason;
    enum MHD_Result rc = MHD_NO;
    Floorwalker__QueryResult *r = ask(w, c, &q, &rc);
    if (r) {
        if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK)
            rc = send_error(c, MHD_HTTP_CONFLICT, NULL, "%s", r->error);
        else
            rc = send_json(c, MHD_HTTP_OK, json_pack("{s:s}", "acknowledged", id));
        floorwalker__query_result__free_unpacked(r, NULL);
    }
    json_decref(j);
    return rc;
}

/* ---- routing ------------------------------------------------------------------------------- */

/* A page served on loopback is still reachable from any site the browser opens, through a DNS
 * name that resolves to 127.0.0.1 (DNS rebinding): answer only requests addressed to us. */
static bool host_ok(const struct web *w, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!h)
        return false;
    char want[96];
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    for (int i = 0; names[i]; i++) {
        snprintf(want, sizeof want, "%s:%u", names[i], w->port);
        if (!strcmp(h, want))
            return true;
    }
    snprintf(want, sizeof want, "%s:%u", w->host, w->port);
    return !strcmp(h, want);
}

struct upload {
    char body[BODY_MAX];
    size_t len;
    bool too_big;
};

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_size, void **con_cls)
{
    (void)version;
    struct web *w = cls;
    bool post = !strcmp(method, MHD_HTTP_METHOD_POST);
    if (post) {
        /* Take the body in first (libmicrohttpd calls again for each part, then once more). */
        struct upload *u = *con_cls;
        if (!u) {
            if (!(u = calloc(1, sizeof *u)))
                return MHD_NO;
            *con_cls = u;
            return MHD_YES;
        }
        if (*upload_size) {
            if (u->len + *upload_size >= sizeof u->body)
                u->too_big = true;
            else
                memcpy(u->body + u->len, upload_data, *upload_size);
            u->len += *upload_size;
            *upload_size = 0;
            return MHD_YES;
        }
    }
    if (!host_ok(w, c))
        return send_error(c, MHD_HTTP_MISDIRECTED_REQUEST, "Host",
                          "Host: this console answers only requests to 127.0.0.1:%u", w->port);
    if (post) {
        struct upload *u = *con_cls;
        const char *p = url + strlen("/api/alerts/");
        size_t n = strlen(url);
        if (strncmp(url, "/api/alerts/", 12) || n < 17 || strcmp(url + n - 4, "/ack"))
            return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "no POST %s (POST /api/alerts/ID/ack)",
                              url);
        if (u->too_big)
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body", "body: at most %d bytes",
                              BODY_MAX - 1);
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)(n - 4 - 12), p);
        return api_ack(w, c, id, u->body, u->len);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "%s is not served here", method);
    if (!strncmp(url, "/api/query/", 11))
        return api_query(w, c, url + 11);
    if (!strcmp(url, "/api/alerts"))
        return api_alerts(w, c);
    if (!strcmp(url, "/api/alerts/stream"))
        return api_stream(w, c);
    if (!strcmp(url, "/api/session"))
        return send_json(c, MHD_HTTP_OK,
                         json_pack("{s:b, s:n, s:s, s:s, s:b}", "login", 0, "user", "role", "ops",
                                   "csrf", w->csrf, "daemon", webfeed_connected(w->feed)));
    /* The page's own addresses: / and /alerts/ID (notify's generatorURL, --console-url). */
    bool page = !strcmp(url, "/") || !strncmp(url, "/alerts/", 8);
    const struct web_asset *a = web_asset_find(page                           ? "/index.html"
                                               : !strcmp(url, "/favicon.ico") ? "/favicon.svg"
                                                                              : url);
    if (a)
        return send_text(c, MHD_HTTP_OK, a->type, (char *)a->data, a->len, MHD_RESPMEM_PERSISTENT);
    if (!strncmp(url, "/api/", 5))
        return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "no API at %s (docs/WEB.md)", url);
    return send_text(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n", 10,
                     MHD_RESPMEM_PERSISTENT);
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    free(*con_cls);
    *con_cls = NULL;
}

/* ---- main ---------------------------------------------------------------------------------- */

static int parse_listen(struct web *w, const char *listen, struct sockaddr_in *sa)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == listen || !colon[1] || *end || port < 0 || port > 65535 ||
        (size_t)(colon - listen) >= sizeof w->host) {
        fprintf(stderr, WHO ": --listen \"%s\": expected HOST:PORT, e.g. %s\n", listen,
                DEFAULT_LISTEN);
        return -1;
    }
    snprintf(w->host, sizeof w->host, "%.*s", (int)(colon - listen), listen);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (!strcmp(w->host, "localhost"))
        inet_pton(AF_INET, "127.0.0.1", &sa->sin_addr);
    else if (inet_pton(AF_INET, w->host, &sa->sin_addr) != 1) {
        fprintf(stderr, WHO ": --listen \"%s\": \"%s\" is not an IPv4 address\n", listen, w->host);
        return -1;
    }
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr,
                WHO ": --listen \"%s\": this version of the console has no login yet, so it "
                    "serves loopback addresses only (127.0.0.0/8); reach it from elsewhere "
                    "through an SSH tunnel or a reverse proxy that authenticates\n",
                listen);
        return -1;
    }
    return 0;
}

int cmd_web(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"endpoint", required_argument, NULL, 'e'},
        {"query", required_argument, NULL, 'q'},  {"timeout", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    struct web w = {.query_ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY),
                    .pub_ep = cli_endpoint("FLOORWALKER_ALERTS", DEFAULT_ALERTS),
                    .timeout_s = 5};
    const char *listen = DEFAULT_LISTEN;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:q:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'e':
            w.pub_ep = optarg;
            break;
        case 'q':
            w.query_ep = optarg;
            break;
        case 'w':
            w.timeout_s = atoi(optarg);
            if (w.timeout_s <= 0 || w.timeout_s > 600) {
                fprintf(stderr, WHO ": --timeout takes a whole number of seconds (1 to 600)\n");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct sockaddr_in sa;
    if (parse_listen(&w, listen, &sa) != 0)
        return EXIT_USAGE;
    uint8_t rnd[32];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
        fprintf(stderr, WHO ": no random bytes for the CSRF token\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(w.csrf + 2 * i, 3, "%02x", rnd[i]);

    /* Blocked before any thread starts, so only sigwait below takes them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(w.ctx = zmq_ctx_new()))
        return EXIT_NODAEMON;
    w.feed = webfeed_start(w.ctx, w.pub_ep, w.query_ep, w.timeout_s);
    struct MHD_Daemon *d =
        w.feed ? MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                      MHD_USE_ERROR_LOG,
                                  0, NULL, NULL, serve, &w, MHD_OPTION_SOCK_ADDR, &sa,
                                  MHD_OPTION_CONNECTION_LIMIT, 256, MHD_OPTION_CONNECTION_TIMEOUT,
                                  60, MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END)
               : NULL;
    int rc = EXIT_OK;
    if (!d) {
        fprintf(stderr, WHO ": cannot serve on %s (in use, or not an address of this host?)\n",
                listen);
        rc = EXIT_USAGE;
    } else {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        w.port = info ? info->port : ntohs(sa.sin_port);
        fprintf(stderr,
                WHO ": the console is at http://%s:%u/ (no login: anyone who can reach this "
                    "address uses it as ops)\n",
                w.host, w.port);
        /* For scripts and tests that ask for port 0: the port on stdout, alone. */
        printf("http://%s:%u/\n", w.host, w.port);
        fflush(stdout);
        int sig = 0;
        sigwait(&sigs, &sig);
        stop_flag = 1;
        fprintf(stderr, WHO ": stopping\n");
        webfeed_halt(w.feed); /* alert streams end at once */
        MHD_stop_daemon(d);
    }
    webfeed_stop(w.feed);
    zmq_ctx_term(w.ctx);
    return rc;
}
