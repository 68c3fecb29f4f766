/*
 * The ZAP handler: who may connect when [security] mode = curve.
 *
 * libzmq asks inproc://zeromq.zap.01 about every CURVE handshake; with no handler bound there
 * it lets everyone in (fails open). auth_create binds the handler, so it must run before any
 * CURVE socket binds. Each server socket carries its ZAP domain ("ingest", "query", "alerts"):
 * ingest admits terminal keys, query and alerts admit ops and supervisor keys. The handler
 * answers with the key's name as User-Id, which ingest and query read from every message
 * (zmq_msg_gets "User-Id") to apply the store binding and the supervisor's regions. The
 * handler reads the live configuration, so a reload adds or revokes keys for new connections;
 * ingest and query look the name up again on every message, so a revoked key's open
 * connection is refused from then on; alert subscribers, who send nothing, are cut by a rebind
 * of the alerts socket (below).
 */
#ifndef FW_AUTH_H
#define FW_AUTH_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "fwcommon.h"
#include "stats.h"

struct auth;

fw_err auth_create(struct auth **out, struct ev_loop *loop, void *zctx, const struct config *cfg,
                   struct stats_runtime *sr) FW_WUR;
void auth_destroy(struct auth **a, struct ev_loop *loop);

/* The alerts socket in curve mode is an XPUB with ZMQ_XPUB_MANUAL: every subscription comes
 * here with its key, and a supervisor's is narrowed to alert/<region>/ and rollup/<region>/
 * of their regions (a subscription to everything becomes exactly those). auth owns the socket
 * from here on (auth_destroy closes it): it may be replaced by auth_rebind_alerts, so callers
 * publish through auth_publish and never keep the pointer. endpoint is the one bound. */
fw_err auth_watch_alerts(struct auth *a, struct ev_loop *loop, void *zctx, void *xpub,
                         const char *endpoint) FW_WUR;
/* Publishes one two-frame message (arg: the struct auth; for alerts_set_sender): subscriptions
 * that have arrived are applied first, so a subscriber never misses a message published after
 * its subscription reached the daemon. During a rebind the message is held, in order, and sent
 * when the rebind is over. false: not sent (socket refused it, or the hold is full). */
bool auth_publish(void *arg, const char *topic, const void *data, size_t len);

/*
 * Revocation on reload. Before the swap, auth_reload_revokes says whether next takes a live
 * alert subscription away from a key (key gone, another public key or role, or the topic outside
 * its new regions). If so, after the swap, auth_rebind_alerts closes the alerts socket (its last
 * messages still go out) and binds a new one on the same endpoint; subscribers reconnect, ZAP
 * refuses the revoked keys, and alerts are held until the allowed keys' subscriptions are back
 * (at most 1 s after the new bind), so they lose nothing. fn(arg, xpub) runs with each new
 * socket (main re-attaches its monitor to it).
 */
bool auth_reload_revokes(struct auth *a, const struct config *next);
void auth_rebind_alerts(struct auth *a, struct ev_loop *loop);
void auth_set_rebind_hook(struct auth *a, void (*fn)(void *arg, void *xpub), void *arg);

/* The configured key a message came through (its User-Id), or NULL: plain mode, or a key no
 * longer in the configuration. */
const struct config_key *auth_msg_key(const struct config *cfg, void *msg);

#endif
