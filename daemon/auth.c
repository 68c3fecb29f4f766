#include "auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "zsock.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_PER_PASS 64

struct auth {
    void *rep;
    struct zsock_watcher w;
    void *xpub; /* the alerts socket, whose subscriptions we filter */
    struct zsock_watcher xw;
    const struct config *cfg;
    struct stats_runtime *sr;
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
    for (int i = 0; i < ZAP_PER_PASS; i++) {
        int ev = 0;
        size_t len = sizeof ev;
        zmq_getsockopt(a->rep, ZMQ_EVENTS, &ev, &len);
        if (!(ev & ZMQ_POLLIN))
            break;
        handle(a, loop);
    }
}

fw_err auth_create(struct auth **out, struct ev_loop *loop, void *zctx, const struct config *cfg,
                   struct stats_runtime *sr)
{
    struct auth *a = calloc(1, sizeof *a);
    if (!a)
        return FW_ENOMEM;
    a->cfg = cfg;
    a->sr = sr;
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

/* One subscription (un)done for the last subscriber that sent one (ZMQ_XPUB_MANUAL). */
static void apply_sub(struct auth *a, bool on, const char *topic, size_t len)
{
    zmq_setsockopt(a->xpub, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic, len);
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
        apply_sub(a, on, topic, len);
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
                apply_sub(a, on, topic, len); /* inside the region */
                return;
            }
            if (len < (size_t)n && !memcmp(topic, pre, len)) {
                apply_sub(a, on, pre, (size_t)n); /* covers the region: narrowed to it */
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
    for (int i = 0; i < ZAP_PER_PASS; i++) {
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

void auth_apply_subscriptions(void *arg)
{
    struct auth *a = arg;
    if (a && a->xpub)
        on_xpub(NULL, &a->xw, 0);
}

fw_err auth_watch_alerts(struct auth *a, struct ev_loop *loop, void *xpub)
{
    a->xpub = xpub;
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
    if (a->xpub)
        zsock_stop(loop, &a->xw);
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
