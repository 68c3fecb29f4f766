/*
 * floorwalker web: the supervisors' and the ops team's console. A client of floorwalkerd like
 * the CLI (its query and alerts sockets only, with the CLI's CurveZMQ key in curve mode); it
 * serves the page built into this binary and a JSON API that the page uses (docs/WEB.md),
 * over HTTP with libmicrohttpd, one thread per connection (an alert stream holds its own).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
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
#include "fwpass.h"
#include "merge.h"
#include "qjson.h"
#include "webassets.h"
#include "webauth.h"
#include "webfeed.h"

#define WHO "floorwalker web"
#define DEFAULT_LISTEN "127.0.0.1:7480"
#define REASON_MAX 160
#define BODY_MAX 4096

struct web {
    const char *query_ep, *pub_ep;
    /* The daemons asked: the one at -q, or every --daemon (stores sharded across them). */
    const char *daemons[CLI_MAX_DAEMONS];
    size_t ndaemons;
    bool discover; /* --daemon given: each daemon's alerts endpoint is asked of it */
    int timeout_s;
    char host[64];         /* the listen address as given, and its port */
    _Atomic unsigned port; /* set once bound; connection threads read it (host_ok) */
    char csrf[65];         /* without users: the token every POST must carry (X-CSRF-Token) */
    void *ctx;
    struct webfeed *feed;
    struct webauth *auth; /* NULL: no users file, loopback only, everyone is ops */
    bool tls;
    /* Each store's region, for a supervisor's requests (from STORES queries, kept a while). */
    pthread_mutex_t stores_lock;
    json_t *store_region;
    uint64_t stores_ns;
};

/* Who is asking: a logged-in user (with users) or the anonymous ops user (without). */
struct who {
    const struct webuser *user; /* NULL: no users file: ops */
    const char *csrf;
    const char *session;
};

static bool is_ops(const struct who *who)
{
    return !who->user || who->user->ops;
}

/* Set once SIGINT or SIGTERM came (the main thread waits for them; the others block them). */
static fw_stop_flag stop_flag;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker web [--listen HOST:PORT] [-e ALERTS_EP] [-q QUERY_EP] [-w SEC]\n"
            "       floorwalker web [--listen HOST:PORT] --daemon QUERY_EP --daemon QUERY_EP ...\n"
            "\n"
            "The console for regional supervisors and the ops team (docs/WEB.md): a web page\n"
            "with a board of the stores, their live alerts and the figures of every query, and\n"
            "the JSON API it uses. A client of floorwalkerd: it talks to the daemon only over\n"
            "its query and alerts sockets (in curve mode with --key/--server-key, like the\n"
            "other commands), and may run on another host.\n"
            "\n"
            "      --listen HOST:PORT  where to serve HTTP (default %s). Without --users\n"
            "                          it serves loopback addresses only, with no login (the\n"
            "                          page says so)\n"
            "      --users FILE    [user:NAME] sections: role = supervisor (with regions =\n"
            "                      east,north) or ops, password_hash = from `floorwalker web\n"
            "                      passwd`; then everyone logs in\n"
            "      --tls-cert FILE, --tls-key FILE  serve HTTPS with this certificate (PEM)\n"
            "  -e, --endpoint EP   alerts PUB endpoint (default %s, or $FLOORWALKER_ALERTS)\n"
            "  -q, --query EP      query endpoint (default %s, or $FLOORWALKER_QUERY)\n"
            "      --daemon EP     repeated: one console over every daemon (stores sharded\n"
            "                      across them, docs/SCALE.md): figures merged as the CLI's\n"
            "                      query --daemon does, alerts followed from each (its alerts\n"
            "                      endpoint asked of it), an ack sent to the daemon holding\n"
            "                      the alert\n"
            "  -w, --timeout SEC   wait this long for the daemon's answers (default 5)\n"
            "\n"
            "Open http://HOST:PORT/ in a browser. Stop with Ctrl-C or SIGTERM.\n"
            "`floorwalker web passwd` reads a password on stdin and prints its hash.\n"
            "Exit status: 0 stopped, 2 bad usage or the address cannot be served.\n",
            DEFAULT_LISTEN, DEFAULT_ALERTS, DEFAULT_QUERY);
}

/* ---- responses ----------------------------------------------------------------------------- */

static void add_headers(struct MHD_Response *r, const char *type)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    /* The page loads nothing from elsewhere, and no other site may frame it. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    add_headers(r, type);
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

/* Rows (steals them), with what is approximate in a merge of several daemons' answers in the
 * X-Floorwalker-Note header (docs/WEB.md). */
static enum MHD_Result send_rows(struct MHD_Connection *c, json_t *rows, const char *notes)
{
    char *s = json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rows);
    struct MHD_Response *r =
        s ? MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(s);
        return MHD_NO;
    }
    if (notes && notes[0]) {
        /* One header line: the notes' lines joined by "; ". */
        char line[4096];
        size_t n = 0;
        for (const char *p = notes; *p && n + 3 < sizeof line; p++) {
            if (*p == '\n') {
                line[n++] = ';';
                line[n++] = ' ';
            } else {
                line[n++] = *p;
            }
        }
        line[n] = 0;
        MHD_add_response_header(r, "X-Floorwalker-Note", line);
    }
    add_headers(r, "application/json");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
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

static enum MHD_Result no_answer(struct web *w, struct MHD_Connection *c, const char *ep)
{
    return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                      "floorwalkerd did not answer at %s within %d s", ep, w->timeout_s);
}

/* Asks one daemon; on no answer sends 503 and returns NULL. */
static Floorwalker__QueryResult *ask_one(struct web *w, struct MHD_Connection *c, const char *ep,
                                         const Floorwalker__Query *q, enum MHD_Result *rc)
{
    Floorwalker__QueryResult *r = NULL;
    uint64_t deadline = fw_mono_ns() + (uint64_t)w->timeout_s * 1000000000u;
    if (cli_ask(WHO, w->ctx, ep, q, w->timeout_s, deadline, &stop_flag, &r) != ASK_OK) {
        *rc = no_answer(w, c, ep);
        return NULL;
    }
    return r;
}

/* Asks every daemon and merges their answers (one daemon's as it is): NULL after sending 503
 * (a daemon did not answer) or 502 (the answers do not merge). A daemon's refusal is
 * returned (status not OK), *which naming it. Free s with merge_ask_free. */
static const Floorwalker__QueryResult *ask_merged(struct web *w, struct MHD_Connection *c,
                                                  const Floorwalker__Query *q, struct sharded *s,
                                                  size_t *which, enum MHD_Result *rc)
{
    const Floorwalker__QueryResult *r = NULL;
    if (merge_ask(s, WHO, w->ctx, w->daemons, w->ndaemons, q, w->timeout_s, &stop_flag, &r,
                  which) != ASK_OK) {
        *rc = no_answer(w, c, w->daemons[*which]);
        return NULL;
    }
    if (!r)
        *rc = send_error(c, MHD_HTTP_BAD_GATEWAY, NULL, "the daemons' answers do not merge: %s",
                         s->notes[0] ? s->notes : "out of memory");
    return r;
}

/* A refusal, naming the daemon when there are several. */
static enum MHD_Result refused(struct web *w, struct MHD_Connection *c, unsigned status,
                               const Floorwalker__QueryResult *r, size_t which)
{
    if (w->ndaemons > 1)
        return send_error(c, status, NULL, "%s: %s", w->daemons[which], r->error);
    return send_error(c, status, NULL, "%s", r->error);
}

/* ---- what a supervisor may see ------------------------------------------------------------ */

/* Every daemon's stores into the store -> region cache (those that answer; the stores of one
 * that does not stay as they were). */
static void load_store_regions(struct web *w, uint64_t now)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = FLOORWALKER__QUERY__KIND__STORES;
    uint64_t deadline = now + (uint64_t)w->timeout_s * 1000000000u;
    json_t *map = json_object();
    bool any = false, all = true;
    for (size_t k = 0; k < w->ndaemons; k++) {
        Floorwalker__QueryResult *r = NULL;
        if (cli_ask(WHO, w->ctx, w->daemons[k], &q, w->timeout_s, deadline, &stop_flag, &r) ==
                ASK_OK &&
            r->status == FLOORWALKER__QUERY_RESULT__STATUS__OK) {
            json_t *rows = qjson_rows(r), *row;
            size_t i;
            json_array_foreach(rows, i, row)
            {
                json_t *st = json_object_get(row, "store"), *rg = json_object_get(row, "region");
                if (json_is_string(st) && json_is_string(rg))
                    json_object_set(map, json_string_value(st), rg);
            }
            json_decref(rows);
            any = true;
        } else {
            all = false;
        }
        if (r)
            floorwalker__query_result__free_unpacked(r, NULL);
    }
    pthread_mutex_lock(&w->stores_lock);
    if (any) {
        if (!all && w->store_region)
            json_object_update_missing(map, w->store_region);
        json_decref(w->store_region);
        w->store_region = map;
        w->stores_ns = now;
    } else {
        json_decref(map);
    }
    pthread_mutex_unlock(&w->stores_lock);
}

/* The region of store, from STORES queries kept a minute (asked again after 5 s for a store
 * they did not name); false if no daemon knows the store either. */
static bool store_region(struct web *w, const char *store, char *out, size_t len)
{
    uint64_t now = fw_mono_ns();
    pthread_mutex_lock(&w->stores_lock);
    bool known = w->store_region && json_object_get(w->store_region, store);
    uint64_t age = now - w->stores_ns;
    bool ask = !w->store_region || age > 60000000000ull || (!known && age > 5000000000ull);
    pthread_mutex_unlock(&w->stores_lock);
    if (ask)
        load_store_regions(w, now);
    pthread_mutex_lock(&w->stores_lock);
    json_t *rg = w->store_region ? json_object_get(w->store_region, store) : NULL;
    if (rg)
        snprintf(out, len, "%s", json_string_value(rg));
    pthread_mutex_unlock(&w->stores_lock);
    return rg != NULL;
}

static bool store_ok(struct web *w, const struct who *who, const char *store)
{
    char region[FW_ID_MAX + 1];
    return is_ops(who) ||
           (store_region(w, store, region, sizeof region) && webuser_region_ok(who->user, region));
}

static const char *regions_list(const struct webuser *u, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < u->nregions && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", u->regions[i]);
    return buf;
}

/* Drops the rows of other regions' stores from a supervisor's answer. */
static void filter_rows(struct web *w, const struct who *who, json_t *rows)
{
    if (is_ops(who))
        return;
    for (size_t i = json_array_size(rows); i-- > 0;) {
        json_t *row = json_array_get(rows, i), *rg = json_object_get(row, "region"),
               *st = json_object_get(row, "store");
        if (!json_is_string(st))
            st = json_object_get(row, "store_id");
        bool ok = json_is_string(rg)   ? webuser_region_ok(who->user, json_string_value(rg))
                  : json_is_string(st) ? store_ok(w, who, json_string_value(st))
                                       : true;
        if (!ok)
            json_array_remove(rows, i);
    }
}

static int reader_region_ok(const void *arg, const char *region)
{
    return webuser_region_ok(arg, region);
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

/* A supervisor asks about the stores of its regions: one of them, one of its regions, or (with
 * one region) its region by default; never the chain, the daemon's stats or its quarantine. */
/* A Query string given (protobuf-c leaves the others "", not NULL). */
static bool set(const char *s)
{
    return s && *s;
}

static enum MHD_Result supervisor_scope(struct web *w, struct MHD_Connection *c,
                                        const struct who *who, Floorwalker__Query *q, bool *refused)
{
    char mine[WEB_MAX_REGIONS * (FW_ID_MAX + 2)];
    const struct webuser *u = who->user;
    *refused = true;
    regions_list(u, mine, sizeof mine);
    if (q->kind == FLOORWALKER__QUERY__KIND__QUARANTINE)
        return send_error(c, MHD_HTTP_FORBIDDEN, "KIND", "the quarantine is for the ops role");
    if (set(q->scope) && !strcmp(q->scope, "chain"))
        return send_error(c, MHD_HTTP_FORBIDDEN, "scope",
                          "scope: chain-wide figures are for the ops role; ask for a store or "
                          "one of your regions (%s)",
                          mine);
    if (set(q->store_id) && !store_ok(w, who, q->store_id))
        return send_error(c, MHD_HTTP_FORBIDDEN, "store",
                          "store: %s is not a store of your regions (%s)", q->store_id, mine);
    if (set(q->region) && !webuser_region_ok(u, q->region))
        return send_error(c, MHD_HTTP_FORBIDDEN, "region",
                          "region: %s is not one of your regions (%s)", q->region, mine);
    if (!set(q->store_id) && !set(q->region) && q->kind != FLOORWALKER__QUERY__KIND__STORES &&
        q->kind != FLOORWALKER__QUERY__KIND__ALERTS && q->kind != FLOORWALKER__QUERY__KIND__STATS) {
        if (u->nregions != 1)
            return send_error(c, MHD_HTTP_BAD_REQUEST, "region",
                              "region: give one of your regions (%s), or a store", mine);
        q->region = (char *)u->regions[0];
    }
    *refused = false;
    return MHD_YES;
}

static enum MHD_Result api_query(struct web *w, struct MHD_Connection *c, const char *kind,
                                 const struct who *who)
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
    if (!is_ops(who)) {
        bool refused;
        rc = supervisor_scope(w, c, who, &q, &refused);
        if (refused)
            return rc;
    }
    json_t *rows = NULL;
    char notes[sizeof((struct sharded *)0)->notes] = "";
    if (w->ndaemons > 1 && (q.kind == FLOORWALKER__QUERY__KIND__STATS ||
                            q.kind == FLOORWALKER__QUERY__KIND__QUARANTINE ||
                            q.kind == FLOORWALKER__QUERY__KIND__ALERTS)) {
        /* Each daemon's own: its rows side by side, each naming its daemon. */
        rows = json_array();
        for (size_t k = 0; k < w->ndaemons && rows; k++) {
            Floorwalker__QueryResult *r = ask_one(w, c, w->daemons[k], &q, &rc);
            if (!r) {
                json_decref(rows);
                return rc;
            }
            if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
                rc = refused(w, c, MHD_HTTP_BAD_REQUEST, r, k);
                floorwalker__query_result__free_unpacked(r, NULL);
                json_decref(rows);
                return rc;
            }
            json_t *mine = qjson_rows(r), *row;
            size_t i;
            json_array_foreach(mine, i, row)
            {
                json_object_set_new(row, "daemon", json_string(w->daemons[k]));
            }
            json_array_extend(rows, mine);
            json_decref(mine);
            floorwalker__query_result__free_unpacked(r, NULL);
        }
    } else {
        struct sharded s;
        size_t which;
        const Floorwalker__QueryResult *r = ask_merged(w, c, &q, &s, &which, &rc);
        if (r && r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK)
            rc = refused(w, c, MHD_HTTP_BAD_REQUEST, r, which);
        else if (r)
            rows = qjson_rows(r);
        snprintf(notes, sizeof notes, "%s", s.notes);
        merge_ask_free(&s);
        if (!rows)
            return rc;
    }
    filter_rows(w, who, rows);
    /* A supervisor's stats: its stores' terminals (when each was last heard), no more. */
    for (size_t i = json_array_size(rows);
         !is_ops(who) && q.kind == FLOORWALKER__QUERY__KIND__STATS && i-- > 0;)
        if (!json_object_get(json_array_get(rows, i), "store"))
            json_array_remove(rows, i);
    return send_rows(c, rows, notes);
}

/* ---- /api/alerts --------------------------------------------------------------------------- */

struct snap {
    json_t *alerts;
    const char *daemon; /* with several daemons: the one answering */
};

static bool snapshot_alert(void *arg, const Floorwalker__Alert *a)
{
    struct snap *sn = arg;
    json_t *o = qjson_alert(a);
    if (o && sn->daemon)
        json_object_set_new(o, "daemon", json_string(sn->daemon));
    json_array_append_new(sn->alerts, o);
    return true;
}

/* Every daemon's active alerts and each region's pub_seq, as the stream's snapshot event has
 * them (docs/WEB.md). */
static enum MHD_Result api_alerts(struct web *w, struct MHD_Connection *c, const struct who *who)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = FLOORWALKER__QUERY__KIND__ALERTS;
    enum MHD_Result rc = MHD_NO;
    json_t *alerts = json_array(), *seq = json_object();
    for (size_t k = 0; k < w->ndaemons; k++) {
        Floorwalker__QueryResult *r = ask_one(w, c, w->daemons[k], &q, &rc);
        if (!r)
            goto out;
        if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
            rc = refused(w, c, MHD_HTTP_BAD_REQUEST, r, k);
            floorwalker__query_result__free_unpacked(r, NULL);
            goto out;
        }
        struct feed_seqs seqs = {0};
        struct snap sn = {alerts, w->ndaemons > 1 ? w->daemons[k] : NULL};
        feed_take_snapshot(&seqs, r, NULL, snapshot_alert, &sn);
        for (size_t i = 0; i < seqs.n; i++) {
            char key[512];
            if (!is_ops(who) && !webuser_region_ok(who->user, seqs.v[i].region))
                continue;
            webfeed_seq_key(key, sizeof key, sn.daemon, seqs.v[i].region);
            json_object_set_new(seq, key, json_integer((json_int_t)seqs.v[i].snap));
        }
        feed_seqs_free(&seqs);
        floorwalker__query_result__free_unpacked(r, NULL);
    }
    filter_rows(w, who, alerts);
    return send_json(c, MHD_HTTP_OK, json_pack("{s:o, s:o}", "alerts", alerts, "pub_seq", seq));
out:
    json_decref(alerts);
    json_decref(seq);
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

static enum MHD_Result api_stream(struct web *w, struct MHD_Connection *c, const struct who *who)
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        return MHD_NO;
    s->w = w;
    if (!is_ops(who)) {
        s->reader.region_ok = reader_region_ok;
        s->reader.arg = who->user; /* the users live as long as the console */
    }
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
/* Every POST but the login carries the session's CSRF token in a header, which another site's
 * page cannot set (nor read the token). */
static bool csrf_ok(struct MHD_Connection *c, const struct who *who)
{
    const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");
    return token && strlen(token) == strlen(who->csrf) &&
           sodium_memcmp(token, who->csrf, strlen(who->csrf)) == 0;
}

static enum MHD_Result csrf_refused(struct MHD_Connection *c)
{
    return send_error(c, MHD_HTTP_FORBIDDEN, "X-CSRF-Token",
                      "X-CSRF-Token: missing or wrong (take it from GET /api/session)");
}

static enum MHD_Result api_ack(struct web *w, struct MHD_Connection *c, const char *id,
                               const char *body, size_t len, const struct who *who)
{
    if (!csrf_ok(c, who))
        return csrf_refused(c);
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
    /* The daemon records the console's key as who acknowledged: the user goes in the reason. */
    size_t room = REASON_MAX - (who->user ? strlen(who->user->name) + 2 : 0);
    if (strlen(reason) > room) {
        json_decref(j);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "reason", "reason: at most %zu bytes", room);
    }
    /* RULE/STORE/SUBJECT: a supervisor acknowledges only its stores' alerts. */
    char store[FW_ID_MAX + 1] = "";
    const char *s1 = strchr(id, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    if (strlen(id) > 200 || !s2 || (size_t)(s2 - s1 - 1) > FW_ID_MAX) {
        json_decref(j);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "ID", "ID: not an alert id (RULE/STORE/...)");
    }
    snprintf(store, sizeof store, "%.*s", (int)(s2 - s1 - 1), s1 + 1);
    if (!store_ok(w, who, store)) {
        json_decref(j);
        return send_error(c, MHD_HTTP_FORBIDDEN, "ID", "ID: %s is not a store of your regions",
                          store);
    }
    char said[REASON_MAX + 1];
    if (who->user)
        snprintf(said, sizeof said, "%s: %s", who->user->name, reason);
    else
        snprintf(said, sizeof said, "%s", reason);
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    q.kind = FLOORWALKER__QUERY__KIND__ACK_ALERT;
    q.alert_id = (char *)id;
    q.reason = said;
    /* To the daemon whose feed has the alert, else to each in turn until one holds it (the
     * others answer NOT_FOUND). */
    enum MHD_Result rc;
    long owner = webfeed_owner(w->feed, id);
    size_t lo = owner < 0 ? 0 : (size_t)owner, which;
    struct sharded s;
    const Floorwalker__QueryResult *r;
    if (merge_ask_holder(&s, WHO, w->ctx, w->daemons + lo, owner < 0 ? w->ndaemons : 1, &q,
                         w->timeout_s, &stop_flag, &r, &which) != ASK_OK)
        rc = no_answer(w, c, w->daemons[lo + which]);
    else if (r->status != FLOORWALKER__QUERY_RESULT__STATUS__OK)
        rc = refused(w, c, MHD_HTTP_CONFLICT, r, lo + which);
    else
        rc = send_json(c, MHD_HTTP_OK, json_pack("{s:s}", "acknowledged", id));
    merge_ask_free(&s);
    json_decref(j);
    return rc;
}

/* ---- sessions ------------------------------------------------------------------------------ */

static void session_cookie(struct web *w, struct MHD_Response *r, const char *id, bool clear)
{
    char v[200];
    snprintf(v, sizeof v, "fw_session=%s; Path=/; HttpOnly; SameSite=Strict%s%s", clear ? "" : id,
             clear ? "; Max-Age=0" : "", w->tls ? "; Secure" : "");
    MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, v);
}

static json_t *session_json(const struct web *w, const struct who *who)
{
    json_t *j;
    if (!w->auth) {
        j = json_pack("{s:b, s:n, s:s, s:s, s:b}", "login", 0, "user", "role", "ops", "csrf",
                      w->csrf, "daemon", webfeed_connected(w->feed));
    } else if (!who->user) {
        return json_pack("{s:b, s:n}", "login", 1, "user");
    } else {
        json_t *regions = json_array();
        for (int i = 0; i < who->user->nregions; i++)
            json_array_append_new(regions, json_string(who->user->regions[i]));
        j = json_pack("{s:b, s:s, s:s, s:o, s:s, s:b}", "login", 1, "user", who->user->name, "role",
                      who->user->ops ? "ops" : "supervisor", "regions", regions, "csrf", who->csrf,
                      "daemon", webfeed_connected(w->feed));
    }
    /* With several daemons: whether each answered. */
    json_t *ds = webfeed_daemons(w->feed);
    if (j && ds)
        json_object_set_new(j, "daemons", ds);
    else
        json_decref(ds);
    return j;
}

static enum MHD_Result send_session(struct web *w, struct MHD_Connection *c, unsigned status,
                                    const struct who *who, const char *cookie_id, bool clear)
{
    json_t *j = session_json(w, who);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    struct MHD_Response *r =
        s ? MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (cookie_id || clear)
        session_cookie(w, r, cookie_id, clear);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "?");
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out,
                  (socklen_t)len);
}

/* POST /api/login {"user": NAME, "password": PASSWORD} */
static enum MHD_Result api_login(struct web *w, struct MHD_Connection *c, const char *body,
                                 size_t len)
{
    if (!w->auth)
        return send_error(c, MHD_HTTP_NOT_FOUND, NULL,
                          "this console has no users (--users): nobody logs in");
    /* Only script sends JSON: a form on another site cannot log a browser in. */
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp(type, "application/json", 16))
        return send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                          "Content-Type: send the login as application/json");
    json_error_t jerr;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *user = json_string_value(json_object_get(j, "user"));
    const char *pw = json_string_value(json_object_get(j, "password"));
    enum MHD_Result rc;
    if (!user || !pw || !is_id(user)) {
        rc = send_error(c, MHD_HTTP_BAD_REQUEST, !user || !is_id(user) ? "user" : "password",
                        "%s: expected {\"user\": NAME, \"password\": PASSWORD}",
                        !user || !is_id(user) ? "user" : "password");
        json_decref(j);
        return rc;
    }
    char addr[64];
    client_addr(c, addr, sizeof addr);
    struct websession s;
    int retry = 0;
    switch (webauth_login(w->auth, addr, user, pw, &s, &retry)) {
    case LOGIN_OK: {
        fprintf(stderr, WHO ": %s logged in from %s\n", user, addr);
        struct who who = {.user = s.user, .csrf = s.csrf, .session = s.id};
        rc = send_session(w, c, MHD_HTTP_OK, &who, s.id, false);
        sodium_memzero(&s, sizeof s);
        break;
    }
    case LOGIN_WRONG:
        fprintf(stderr, WHO ": a wrong password for \"%s\" from %s\n", user, addr);
        rc = send_error(c, MHD_HTTP_UNAUTHORIZED, NULL, "wrong user name or password");
        break;
    default: {
        fprintf(stderr, WHO ": logins refused for \"%s\" from %s for %d s (too many wrong)\n", user,
                addr, retry);
        json_t *e =
            json_pack("{s:s, s:i}", "error", "too many wrong passwords: wait before trying again",
                      "retry_after", retry);
        char *t = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        struct MHD_Response *r =
            t ? MHD_create_response_from_buffer(strlen(t), t, MHD_RESPMEM_MUST_FREE) : NULL;
        if (!r) {
            free(t);
            rc = MHD_NO;
            break;
        }
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry);
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "Retry-After", ra);
        rc = MHD_queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, r);
        MHD_destroy_response(r);
    }
    }
    json_decref(j);
    return rc;
}

/* ---- routing ------------------------------------------------------------------------------- */

/* Without users the console serves loopback only, and a page on loopback is still reachable
 * from any site the browser opens through a DNS name that resolves to 127.0.0.1 (DNS
 * rebinding): answer only requests addressed to us. (With users, such a site has no session.) */
static bool host_ok(const struct web *w, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (w->auth)
        return true;
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

    /* Who asks: without users, the anonymous ops user; with users, a session's or nobody. */
    struct websession sess;
    struct who who = {.csrf = w->csrf};
    bool known = !w->auth;
    if (w->auth &&
        webauth_session(w->auth, MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "fw_session"),
                        &sess)) {
        who = (struct who){.user = sess.user, .csrf = sess.csrf, .session = sess.id};
        known = true;
    }
    bool api = !strncmp(url, "/api/", 5);

    if (post) {
        struct upload *u = *con_cls;
        if (u->too_big)
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body", "body: at most %d bytes",
                              BODY_MAX - 1);
        if (!strcmp(url, "/api/login"))
            return api_login(w, c, u->body, u->len);
        if (!known)
            return send_error(c, MHD_HTTP_UNAUTHORIZED, NULL, "log in first (POST /api/login)");
        if (!strcmp(url, "/api/logout")) {
            if (!csrf_ok(c, &who))
                return csrf_refused(c);
            webauth_logout(w->auth, who.session);
            struct who none = {0};
            return send_session(w, c, MHD_HTTP_OK, &none, NULL, true);
        }
        const char *p = url + strlen("/api/alerts/");
        size_t n = strlen(url);
        if (strncmp(url, "/api/alerts/", 12) || n < 17 || strcmp(url + n - 4, "/ack"))
            return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "no POST %s (POST /api/alerts/ID/ack)",
                              url);
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)(n - 4 - 12), p);
        return api_ack(w, c, id, u->body, u->len, &who);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "%s is not served here", method);
    if (!strcmp(url, "/api/session"))
        return send_session(w, c, MHD_HTTP_OK, &who, NULL, false);
    if (api && !known)
        return send_error(c, MHD_HTTP_UNAUTHORIZED, NULL, "log in first (POST /api/login)");
    if (!strncmp(url, "/api/query/", 11))
        return api_query(w, c, url + 11, &who);
    if (!strcmp(url, "/api/alerts"))
        return api_alerts(w, c, &who);
    if (!strcmp(url, "/api/alerts/stream"))
        return api_stream(w, c, &who);
    /* The page's own addresses: / and /alerts/ID (notify's generatorURL, --console-url). */
    bool page = !strcmp(url, "/") || !strncmp(url, "/alerts/", 8);
    if (page && !known) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/login.html");
        MHD_add_response_header(r, "Cache-Control", "no-store");
        enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
        MHD_destroy_response(r);
        return rc;
    }
    const struct web_asset *a = web_asset_find(page                           ? "/index.html"
                                               : !strcmp(url, "/favicon.ico") ? "/favicon.svg"
                                                                              : url);
    if (a)
        return send_text(c, MHD_HTTP_OK, a->type, (char *)a->data, a->len, MHD_RESPMEM_PERSISTENT);
    if (api)
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
    bool loopback = (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
    if (!loopback && !w->auth) {
        fprintf(stderr,
                WHO ": --listen \"%s\": without --users (logins) the console serves loopback "
                    "addresses only (127.0.0.0/8); give a users file, or reach it through an "
                    "SSH tunnel\n",
                listen);
        return -1;
    }
    if (!loopback && !w->tls)
        fprintf(stderr,
                WHO ": warning: %s is served without TLS: passwords and session cookies cross "
                    "the network in clear (give --tls-cert and --tls-key)\n",
                listen);
    return 0;
}

static char *read_file(const char *what, const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    if (!f) {
        fprintf(stderr, WHO ": %s %s: %s\n", what, path, strerror(errno));
        return NULL;
    }
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    if (m)
        fclose(m);
    return buf;
}

int cmd_web(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},   {"endpoint", required_argument, NULL, 'e'},
        {"query", required_argument, NULL, 'q'},    {"daemon", required_argument, NULL, 'D'},
        {"timeout", required_argument, NULL, 'w'},  {"users", required_argument, NULL, 'u'},
        {"tls-cert", required_argument, NULL, 'C'}, {"tls-key", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && !strcmp(argv[1], "passwd")) {
        if (argc != 2) {
            fprintf(stderr, "Usage: floorwalker web passwd  (reads the password on stdin)\n");
            return EXIT_USAGE;
        }
        return fw_hash_password_stdin("floorwalker web passwd") ? EXIT_INPUT : EXIT_OK;
    }
    struct web w = {.query_ep = cli_endpoint("FLOORWALKER_QUERY", DEFAULT_QUERY),
                    .pub_ep = cli_endpoint("FLOORWALKER_ALERTS", DEFAULT_ALERTS),
                    .timeout_s = 5};
    const char *listen = DEFAULT_LISTEN, *users = NULL, *cert_path = NULL, *key_path = NULL;
    bool single = false; /* -e or -q given */
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:q:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'e':
            w.pub_ep = optarg;
            single = true;
            break;
        case 'q':
            w.query_ep = optarg;
            single = true;
            break;
        case 'D':
            if (w.ndaemons == CLI_MAX_DAEMONS) {
                fprintf(stderr, WHO ": at most %d --daemon\n", CLI_MAX_DAEMONS);
                return EXIT_USAGE;
            }
            w.daemons[w.ndaemons++] = optarg;
            w.discover = true;
            break;
        case 'u':
            users = optarg;
            break;
        case 'C':
            cert_path = optarg;
            break;
        case 'K':
            key_path = optarg;
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
    if (w.discover && single) {
        fprintf(stderr, WHO ": give -e and -q for one daemon, or --daemon for each, not both\n");
        return EXIT_USAGE;
    }
    if (!w.discover)
        w.daemons[w.ndaemons++] = w.query_ep;
    if (!cert_path != !key_path) {
        fprintf(stderr, WHO ": give both --tls-cert and --tls-key, or neither\n");
        return EXIT_USAGE;
    }
    char *cert = NULL, *key = NULL;
    int rc = EXIT_USAGE;
    struct MHD_Daemon *d = NULL;
    if (cert_path) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            fprintf(stderr, WHO ": this libmicrohttpd has no TLS support\n");
            return EXIT_USAGE;
        }
        if (!(cert = read_file("--tls-cert", cert_path)) ||
            !(key = read_file("--tls-key", key_path)))
            goto out;
        w.tls = true;
    }
    if (users && !(w.auth = webauth_load(users)))
        goto out;
    struct sockaddr_in sa;
    if (parse_listen(&w, listen, &sa) != 0)
        goto out;
    uint8_t rnd[32];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
        fprintf(stderr, WHO ": no random bytes for the CSRF token\n");
        goto out;
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

    pthread_mutex_init(&w.stores_lock, NULL);
    if (!(w.ctx = zmq_ctx_new())) {
        rc = EXIT_NODAEMON;
        goto out_mutex;
    }
    /* With --daemon, each daemon's alerts endpoint is asked of it. */
    w.feed =
        webfeed_start(w.ctx, w.daemons, w.discover ? NULL : &w.pub_ep, w.ndaemons, w.timeout_s);
    struct MHD_OptionItem tls[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (cert ? MHD_USE_TLS : 0);
    d = w.feed ? MHD_start_daemon(flags, 0, NULL, NULL, serve, &w, MHD_OPTION_SOCK_ADDR, &sa,
                                  MHD_OPTION_CONNECTION_LIMIT, 256, MHD_OPTION_CONNECTION_TIMEOUT,
                                  60, MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_ARRAY,
                                  tls, MHD_OPTION_END)
               : NULL;
    if (!d) {
        fprintf(stderr, WHO ": cannot serve on %s (in use, not an address of this host%s?)\n",
                listen, cert ? ", or the certificate and key do not load or match" : "");
    } else {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        const char *scheme = w.tls ? "https" : "http";
        w.port = info ? info->port : ntohs(sa.sin_port);
        if (w.auth)
            fprintf(stderr, WHO ": the console is at %s://%s:%u/ (users from %s)\n", scheme, w.host,
                    w.port, users);
        else
            fprintf(stderr,
                    WHO ": the console is at %s://%s:%u/ (no login: anyone who can reach this "
                        "address uses it as ops)\n",
                    scheme, w.host, w.port);
        /* For scripts and tests that ask for port 0: the URL on stdout, alone. */
        printf("%s://%s:%u/\n", scheme, w.host, w.port);
        fflush(stdout);
        int sig = 0;
        sigwait(&sigs, &sig);
        stop_flag = 1;
        fprintf(stderr, WHO ": stopping\n");
        webfeed_halt(w.feed); /* alert streams end at once */
        MHD_stop_daemon(d);
        rc = EXIT_OK;
    }
    webfeed_stop(w.feed);
    zmq_ctx_term(w.ctx);
out_mutex:
    json_decref(w.store_region);
    pthread_mutex_destroy(&w.stores_lock);
out:
    webauth_free(w.auth);
    if (key)
        sodium_memzero(key, strlen(key));
    free(key);
    free(cert);
    return rc;
}
