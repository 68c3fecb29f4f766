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
 * connection is refused from then on.
 */
#ifndef FW_AUTH_H
#define FW_AUTH_H

#include <ev.h>

#include "config.h"
#include "fwcommon.h"
#include "stats.h"

struct auth;

fw_err auth_create(struct auth **out, struct ev_loop *loop, void *zctx, const struct config *cfg,
                   struct stats_runtime *sr) FW_WUR;
void auth_destroy(struct auth **a, struct ev_loop *loop);

/* The alerts socket in curve mode is an XPUB with ZMQ_XPUB_MANUAL: every subscription comes
 * here with its key, and a supervisor's is narrowed to alert/<region>/ and rollup/<region>/
 * of their regions (a subscription to everything becomes exactly those). */
fw_err auth_watch_alerts(struct auth *a, struct ev_loop *loop, void *xpub) FW_WUR;
/* Applies the subscriptions waiting on the alerts socket now (arg: the struct auth); for
 * alerts_set_prepublish. */
void auth_apply_subscriptions(void *arg);

/* The configured key a message came through (its User-Id), or NULL: plain mode, or a key no
 * longer in the configuration. */
const struct config_key *auth_msg_key(const struct config *cfg, void *msg);

#endif
