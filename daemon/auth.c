#include "auth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "zsock.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_PER_PASS 64

/* ---- the alerts socket: subscriptions, and cutting revoked subscribers ---------------------
 *
 * Why a rebind: libzmq cannot drop one XPUB pipe (ZMQ_UNSUBSCRIBE in manual mode applies to the
 * pipe that sent the last subscription message, XPUB subscription messages carry no ZMQ_SRCFD,
 * and ZAP only runs at the handshake). So a reload that takes a live subscription away from a
 * key closes the XPUB (with a linger, so what was published before the reload still reaches
 * every subscriber) and binds a new one on the same endpoint. Subscribers reconnect by
 * themselves (libzmq's reconnect_ivl, 100 ms by default in the CLI and python3-zmq); ZAP refuses
 * the revoked key and admits the others, whose subscriptions are applied again as they come.
 * Per-subscriber delivery (a ROUTER per client) would have changed the protocol every client
 * speaks; the rebind changes nothing on the wire.
 *
 * Nothing is lost for an allowed subscriber: from the reload on, messages are held in order
 * (pub_seq already assigned) until every subscription the still-allowed keys held before the
 * rebind has been made again on the new socket, then sent. Held subscriptions are counted per
 * (key, applied topic) from the subscription messages, whose User-Id names the key. A pipe that
 * closes sends an unsubscription without metadata, which cannot be attributed, so the counts can
 * only overestimate; the wait is therefore bounded by REBIND_WAIT_S after the new bind.
 */
#define REBIND_WAIT_S 1.0     /* longest hold once the new socket is bound */
#define REBIND_RETRY_S 0.005  /* the old listener closes in libzmq's I/O thread */
#define REBIND_LINGER_MS 1000 /* the old socket's last messages still go out */
#define HOLD_MAX 20000        /* messages held during a rebind; later ones are dropped */
#define GRANTS_MAX 4096       /* (key, topic) pairs tracked */

/* The live subscriptions of one key to one topic as applied (after narrowing). */
struct grant {
    char key[FW_ID_MAX + 1];
    char *topic;
    size_t len;
    unsigned held;     /* subscription messages minus unsubscriptions, on the current socket */
    unsigned expected; /* during a rebind: still to be made again on the new socket */
};

struct held_msg {
    char *topic;
    void *data;
    size_t len;
};

struct alerts_sock {
    char endpoint[CONFIG_EP_MAX]; /* as first bound (tcp://...:* resolved) */
    void *zctx;
    struct grant *grants;
    size_t ngrants;
    bool holding;           /* a rebind is under way: publish into held */
    unsigned expected_left; /* sum of grants[].expected */
    struct held_msg *held;
    size_t nheld, capheld;
    ev_timer retry, wait;
    unsigned tries;
    void (*on_rebind)(void *arg, void *xpub);
    void *on_rebind_arg;
};

struct auth {
    struct ev_loop *loop;
    void *rep;
    struct zsock_watcher w;
    void *xpub; /* the alerts socket, whose subscriptions we filter; NULL while rebinding */
    struct zsock_watcher xw;
    const struct config *cfg;
    struct stats_runtime *sr;
    struct alerts_sock xs;
    /* Refusals are logged at most once a second, with how many were not. */
    double last_log;
    uint64_t unlogged;
};

static bool role_fits(enum key_role r, const char *domain)
{
    if (!strcmp(domain, "ingest"))
        return r == KEY_ROLE_TERMINAL;
    if (!strcmp(domain, "query") || !strcmp(domain, "alerts"))
        return r == KEY_ROLE_OPS || r == KEY_ROLE_SUPERVISOR;
    return false;
}

/* Decides one request; frames per ZMQ RFC 27: version, request id, domain, address, routing
 * id, mechanism, credentials. Returns the key's name (User-Id) or NULL with why. */
static const char *decide(struct auth *a, zmq_msg_t *f, int n, char *why, size_t len)
{
    if (n < 6 || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3)) {
        snprintf(why, len, "malformed ZAP request");
        return NULL;
    }
    char domain[32] = "", mech[16] = "";
    snprintf(domain, sizeof domain, "%.*s", (int)zmq_msg_size(&f[2]),
             (const char *)zmq_msg_data(&f[2]));
    snprintf(mech, sizeof mech, "%.*s", (int)zmq_msg_size(&f[5]),
             (const char *)zmq_msg_data(&f[5]));
    if (strcmp(mech, "CURVE") || n < 7 || zmq_msg_size(&f[6]) != 32) {
        snprintf(why, len, "%s: mechanism %s, CURVE required", domain, mech);
        return NULL;
    }
    const struct config_key *k = config_find_key_pub(a->cfg, zmq_msg_data(&f[6]));
    if (!k) {
        char z85[41];
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        snprintf(why, len, "%s: unknown key %s", domain, z85);
        return NULL;
    }
    if (!role_fits(k->role, domain)) {
        snprintf(why, len, "%s: key %s has role %s, which may not use this socket", domain, k->name,
                 config_role_name(k->role));
        return NULL;
    }
    return k->name;
}

static void reply(void *rep, const zmq_msg_t *reqid, const char *code, const char *text,
                  const char *user)
{
    zmq_msg_t id;
    zmq_msg_init(&id);
    zmq_msg_copy(&id, (zmq_msg_t *)reqid);
    zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_msg_send(&id, rep, ZMQ_SNDMORE);
    zmq_send(rep, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(rep, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(rep, "", 0, 0);
    zmq_msg_close(&id);
}

static void handle(struct auth *a, struct ev_loop *loop)
{
    zmq_msg_t f[8];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t *m = &f[n < 8 ? n : 7];
        if (n >= 8)
            zmq_msg_close(m);
        zmq_msg_init(m);
        if (zmq_msg_recv(m, a->rep, n ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            break;
        }
        more = zmq_msg_more(m);
        n++;
    }
    int nf = n < 8 ? n : 8;
    if (nf < 2) { /* a REP socket must answer before the next request; nothing to answer */
        for (int i = 0; i < nf; i++)
            zmq_msg_close(&f[i]);
        return;
    }
    char why[256];
    const char *user = decide(a, f, nf, why, sizeof why);
    if (user) {
        a->sr->auth_allowed++;
        reply(a->rep, &f[1], "200", "OK", user);
        log_debug("connection allowed: %s", user);
    } else {
        a->sr->auth_denied++;
        reply(a->rep, &f[1], "400", why, "");
        double now = ev_now(loop);
        if (now - a->last_log >= 1.0) {
            char addr[64];
            snprintf(addr, sizeof addr, "%.*s", nf > 3 ? (int)zmq_msg_size(&f[3]) : 0,
                     nf > 3 ? (const char *)zmq_msg_data(&f[3]) : "");
            if (a->unlogged)
                log_warn("connection refused from %s: %s (and %" PRIu64
                         " more refused since the last line)",
                         addr[0] ? addr : "?", why, a->unlogged);
            else
                log_warn("connection refused from %s: %s", addr[0] ? addr : "?", why);
            a->last_log = now;
            a->unlogged = 0;
        } else {
            a->unlogged++;
        }
    }
    for (int i = 0; i < nf; i++)
        zmq_msg_close(&f[i]);
}

static void on_zap(struct ev_loop *loop, struct zsock_watcher *w, int revents)
{
    struct auth *a = w->data;
    for (int i = 0; i < ZAP_PER_PASS && (zsock_events(a->rep) & ZMQ_POLLIN); i++)
        handle(a, loop);
}

fw_err auth_create(struct auth **out, struct ev_loop *loop, void *zctx, const struct config *cfg,
                   struct stats_runtime *sr)
{
    struct auth *a = calloc(1, sizeof *a);
    if (!a)
        return FW_ENOMEM;
    a->cfg = cfg;
    a->sr = sr;
    a->loop = loop;
    int zero = 0;
    a->rep = zmq_socket(zctx, ZMQ_REP);
    if (!a->rep || zmq_setsockopt(a->rep, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(a->rep, ZAP_ENDPOINT) || zsock_init(&a->w, a->rep, ZMQ_POLLIN, on_zap, a)) {
        log_err("cannot bind the ZAP handler on %s: %s; refusing to run CURVE without it",
                ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        if (a->rep)
            zmq_close(a->rep);
        free(a);
        return FW_EIO;
    }
    zsock_start(loop, &a->w);
    *out = a;
    return FW_OK;
}

/* ---- the alerts socket: subscriptions and revocation (design at the top of the file) ---- */

static bool permitted(const struct config_key *k, const char *topic, size_t len)
{
    if (k->role == KEY_ROLE_OPS)
        return true;
    if (k->role != KEY_ROLE_SUPERVISOR)
        return false;
    for (int i = 0; i < k->nregions; i++) {
        static const char *const kinds[] = {"alert/", "rollup/"};
        for (size_t j = 0; j < 2; j++) {
            char pre[16 + FW_ID_MAX];
            int n = snprintf(pre, sizeof pre, "%s%s/", kinds[j], k->regions[i]);
            if (n > 0 && (size_t)n < sizeof pre && len >= (size_t)n &&
                !memcmp(topic, pre, (size_t)n))
                return true;
        }
    }
    return false;
}

static struct grant *grant_find(struct auth *a, const char *key, const char *topic, size_t len,
                                bool add)
{
    struct alerts_sock *x = &a->xs;
    for (size_t i = 0; i < x->ngrants; i++)
        if (x->grants[i].len == len && !strcmp(x->grants[i].key, key) &&
            !memcmp(x->grants[i].topic, topic, len))
            return &x->grants[i];
    if (!add || x->ngrants >= GRANTS_MAX)
        return NULL;
    if (!(x->ngrants & (x->ngrants + 1))) { /* 0, 1, 3, 7, ...: full; double */
        struct grant *g = realloc(x->grants, (x->ngrants * 2 + 1) * sizeof *g);
        if (!g)
            return NULL;
        x->grants = g;
    }
    struct grant *g = &x->grants[x->ngrants];
    memset(g, 0, sizeof *g);
    if (!(g->topic = malloc(len ? len : 1)))
        return NULL;
    memcpy(g->topic, topic, len);
    g->len = len;
    snprintf(g->key, sizeof g->key, "%s", key);
    x->ngrants++;
    return g;
}

static void hold_flush(struct auth *a, struct ev_loop *loop);

/* One subscription (un)done for the last subscriber that sent one (ZMQ_XPUB_MANUAL), counted
 * for its key; during a rebind, one of the awaited subscriptions may be back. */
static void apply_sub(struct auth *a, const struct config_key *k, bool on, const char *topic,
                      size_t len)
{
    zmq_setsockopt(a->xpub, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic, len);
    struct grant *g = grant_find(a, k->name, topic, len, on);
    if (!g)
        return;
    if (!on) {
        if (g->held)
            g->held--;
        return;
    }
    g->held++;
    if (g->expected) {
        g->expected--;
        if (!--a->xs.expected_left)
            hold_flush(a, a->loop);
    }
}

/*
 * A supervisor's subscription is narrowed to their regions: a topic inside alert/<r>/ or
 * rollup/<r>/ of one of them stands; a shorter one that covers them ("", "alert/") becomes
 * those prefixes; anything else is dropped (and counted). ops subscriptions stand as sent.
 */
static void filter_sub(struct auth *a, const struct config_key *k, bool on, const char *topic,
                       size_t len)
{
    if (k->role == KEY_ROLE_OPS) {
        apply_sub(a, k, on, topic, len);
        return;
    }
    bool any = false;
    for (int i = 0; i < k->nregions; i++) {
        static const char *const kinds[] = {"alert/", "rollup/"};
        for (size_t j = 0; j < 2; j++) {
            char pre[16 + FW_ID_MAX];
            int n = snprintf(pre, sizeof pre, "%s%s/", kinds[j], k->regions[i]);
            if (n < 0 || (size_t)n >= sizeof pre)
                continue;
            if (len >= (size_t)n && !memcmp(topic, pre, (size_t)n)) {
                apply_sub(a, k, on, topic, len); /* inside the region */
                return;
            }
            if (len < (size_t)n && !memcmp(topic, pre, len)) {
                apply_sub(a, k, on, pre, (size_t)n); /* covers the region: narrowed to it */
                any = true;
            }
        }
    }
    if (!any && on) {
        a->sr->subscriptions_refused++;
        log_info("alerts: subscription \"%.*s\" of key %s is outside its regions; dropped",
                 (int)(len > 80 ? 80 : len), topic, k->name);
    }
}

static void on_xpub(struct ev_loop *loop, struct zsock_watcher *w, int revents)
{
    struct auth *a = w->data;
    for (int i = 0; i < ZAP_PER_PASS && a->xpub; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, a->xpub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        const uint8_t *d = zmq_msg_data(&m);
        size_t len = zmq_msg_size(&m);
        const struct config_key *k = auth_msg_key(a->cfg, &m);
        if (len >= 1 && (d[0] == 0 || d[0] == 1) && k)
            filter_sub(a, k, d[0] == 1, (const char *)d + 1, len - 1);
        zmq_msg_close(&m);
    }
}

static bool send_now(struct auth *a, const char *topic, const void *data, size_t len)
{
    return zmq_send(a->xpub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
           zmq_send(a->xpub, data, len, ZMQ_DONTWAIT) >= 0;
}

bool auth_publish(void *arg, const char *topic, const void *data, size_t len)
{
    struct auth *a = arg;
    struct alerts_sock *x = &a->xs;
    if (!x->holding) {
        on_xpub(a->loop, &a->xw, 0); /* subscriptions that arrived are applied first */
        return send_now(a, topic, data, len);
    }
    if (x->nheld == x->capheld) {
        size_t cap = x->capheld ? x->capheld * 2 : 64;
        struct held_msg *h = cap <= HOLD_MAX ? realloc(x->held, cap * sizeof *h) : NULL;
        if (!h) {
            a->sr->alerts_hold_dropped++;
            return false;
        }
        x->held = h;
        x->capheld = cap;
    }
    struct held_msg *h = &x->held[x->nheld];
    h->topic = strdup(topic);
    h->data = malloc(len ? len : 1);
    if (!h->topic || !h->data) {
        free(h->topic);
        free(h->data);
        a->sr->alerts_hold_dropped++;
        return false;
    }
    memcpy(h->data, data, len);
    h->len = len;
    x->nheld++;
    a->sr->alerts_held++;
    return true;
}

/* The rebind is over: what was held goes out in order on the new socket. */
static void hold_flush(struct auth *a, struct ev_loop *loop)
{
    struct alerts_sock *x = &a->xs;
    if (!x->holding || !a->xpub)
        return;
    ev_timer_stop(loop, &x->wait);
    x->holding = false;
    on_xpub(loop, &a->xw, 0);
    size_t lost = 0;
    for (size_t i = 0; i < x->nheld; i++) {
        if (!send_now(a, x->held[i].topic, x->held[i].data, x->held[i].len))
            lost++;
        free(x->held[i].topic);
        free(x->held[i].data);
    }
    if (x->expected_left)
        log_warn("alerts: %u subscription(s) held before the rebind did not come back within "
                 "%.1f s; publishing again",
                 x->expected_left, REBIND_WAIT_S);
    log_info("alerts: subscribers reconnected; %zu held message(s) sent%s", x->nheld - lost,
             lost ? " (some refused by the socket)" : "");
    for (size_t i = 0; i < x->ngrants; i++)
        x->grants[i].expected = 0;
    x->expected_left = 0;
    x->nheld = 0;
}

static void on_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
    hold_flush(w->data, loop);
}

/* The old listener closes in libzmq's I/O thread, so a tcp:// port may still be taken
 * (EADDRINUSE: retried). An ipc:// path binds at once: libzmq unlinks a stale path before it
 * binds, and (4.3) the old listener unlinks only the temporary paths of an "ipc:// *" wildcard,
 * which the daemon's clients could not name anyway. */
static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct auth *a = w->data;
    struct alerts_sock *x = &a->xs;
    char bound[CONFIG_EP_MAX];
    void *s = NULL;
    x->tries++;
    s = zsock_bind_quiet(x->zctx, ZMQ_XPUB, x->endpoint, bound, sizeof bound, "alerts");
    if (!s) {
        if (x->tries % 200 == 0)
            log_err("alerts: cannot bind %s again after a reload: %s; retrying (alerts are held)",
                    x->endpoint, zmq_strerror(errno));
        ev_timer_set(w, REBIND_RETRY_S, 0);
        ev_timer_start(loop, w);
        return;
    }
    a->xpub = s;
    if (zsock_init(&a->xw, s, ZMQ_POLLIN, on_xpub, a) != 0)
        log_err("alerts: cannot watch the new alerts socket: %s", zmq_strerror(zmq_errno()));
    else
        zsock_start(loop, &a->xw);
    if (x->on_rebind)
        x->on_rebind(x->on_rebind_arg, s);
    log_info("alerts: %s bound again after %u attempt(s); waiting for %u subscription(s)",
             x->endpoint, x->tries, x->expected_left);
    if (!x->expected_left) {
        hold_flush(a, loop);
        return;
    }
    ev_timer_set(&x->wait, REBIND_WAIT_S, 0);
    ev_timer_start(loop, &x->wait);
}

bool auth_reload_revokes(struct auth *a, const struct config *next)
{
    if (!a || !a->xpub)
        return false;
    on_xpub(a->loop, &a->xw, 0); /* what arrived before the reload counts */
    for (size_t i = 0; i < a->xs.ngrants; i++) {
        const struct grant *g = &a->xs.grants[i];
        if (!g->held)
            continue;
        const struct config_key *ko = config_find_key(a->cfg, g->key);
        const struct config_key *kn = config_find_key(next, g->key);
        if (ko && (!kn || memcmp(ko->pub, kn->pub, sizeof ko->pub) || ko->role != kn->role ||
                   !permitted(kn, g->topic, g->len))) {
            log_info("reload: key %s loses its live alert subscription \"%.*s\"", g->key,
                     (int)(g->len > 80 ? 80 : g->len), g->topic);
            return true;
        }
    }
    return false;
}

void auth_rebind_alerts(struct auth *a, struct ev_loop *loop)
{
    struct alerts_sock *x = &a->xs;
    if (a->xpub)
        on_xpub(loop, &a->xw, 0);
    /* Await what the keys still allowed (a->cfg is the new configuration) held. */
    x->expected_left = 0;
    for (size_t i = 0; i < x->ngrants; i++) {
        struct grant *g = &x->grants[i];
        const struct config_key *k = config_find_key(a->cfg, g->key);
        g->expected = k && permitted(k, g->topic, g->len) ? g->expected + g->held : 0;
        g->held = 0;
        x->expected_left += g->expected;
    }
    a->sr->alerts_rebinds++;
    x->holding = true;
    ev_timer_stop(loop, &x->wait);
    if (a->xpub) {
        int linger = REBIND_LINGER_MS;
        zsock_stop(loop, &a->xw);
        zmq_setsockopt(a->xpub, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(a->xpub);
        a->xpub = NULL;
    }
    log_info("alerts: closing %s to cut revoked subscribers; alerts are held until %u "
             "subscription(s) of allowed keys are back (at most %.1f s after the new bind)",
             x->endpoint, x->expected_left, REBIND_WAIT_S);
    if (!ev_is_active(&x->retry)) {
        x->tries = 0;
        ev_timer_set(&x->retry, 0, 0);
        ev_timer_start(loop, &x->retry);
    }
}

void auth_set_rebind_hook(struct auth *a, void (*fn)(void *arg, void *xpub), void *arg)
{
    a->xs.on_rebind = fn;
    a->xs.on_rebind_arg = arg;
}

fw_err auth_watch_alerts(struct auth *a, struct ev_loop *loop, void *zctx, void *xpub,
                         const char *endpoint)
{
    a->xpub = xpub;
    a->xs.zctx = zctx;
    snprintf(a->xs.endpoint, sizeof a->xs.endpoint, "%s", endpoint);
    ev_timer_init(&a->xs.retry, on_retry, 0, 0);
    a->xs.retry.data = a;
    ev_timer_init(&a->xs.wait, on_wait, 0, 0);
    a->xs.wait.data = a;
    if (zsock_init(&a->xw, xpub, ZMQ_POLLIN, on_xpub, a))
        return FW_EIO;
    zsock_start(loop, &a->xw);
    return FW_OK;
}

void auth_destroy(struct auth **ap, struct ev_loop *loop)
{
    struct auth *a = *ap;
    if (!a)
        return;
    struct alerts_sock *x = &a->xs;
    if (a->xpub) {
        zsock_stop(loop, &a->xw);
        zmq_close(a->xpub);
    }
    ev_timer_stop(loop, &x->retry);
    ev_timer_stop(loop, &x->wait);
    for (size_t i = 0; i < x->ngrants; i++)
        free(x->grants[i].topic);
    free(x->grants);
    for (size_t i = 0; i < x->nheld; i++) {
        free(x->held[i].topic);
        free(x->held[i].data);
    }
    free(x->held);
    zsock_stop(loop, &a->w);
    zmq_close(a->rep);
    free(a);
    *ap = NULL;
}

const struct config_key *auth_msg_key(const struct config *cfg, void *msg)
{
    if (!cfg->curve)
        return NULL;
    const char *user = zmq_msg_gets((zmq_msg_t *)msg, "User-Id");
    return user ? config_find_key(cfg, user) : NULL;
}
