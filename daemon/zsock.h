/*
 * A libev watcher for a ZeroMQ socket.
 *
 * ZMQ_FD is edge-triggered and only says "look at ZMQ_EVENTS", so it can't be used as a plain
 * ev_io. The watcher uses the ev_prepare/ev_check pattern: before the loop blocks, prepare
 * reads ZMQ_EVENTS and starts an ev_idle if the socket already has work (so the loop does not
 * block) or an ev_io on ZMQ_FD otherwise; after the loop wakes, check stops both, re-reads
 * ZMQ_EVENTS and calls the callback if the socket is ready. The callback must handle a bounded
 * number of messages per call; anything left is seen by the next prepare.
 */
#ifndef FW_ZSOCK_H
#define FW_ZSOCK_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

struct zsock_watcher;

/* The socket's ZMQ_EVENTS (ZMQ_POLLIN, ZMQ_POLLOUT); 0 when it cannot be read. */
int zsock_events(void *socket);
typedef void (*zsock_cb)(struct ev_loop *loop, struct zsock_watcher *w, int revents);

struct zsock_watcher {
    ev_prepare prepare;
    ev_check check;
    ev_idle idle;
    ev_io io;
    void *socket;
    int events; /* ZMQ_POLLIN and/or ZMQ_POLLOUT */
    zsock_cb cb;
    void *data;
};

/*
 * Creates a socket of the given type and binds it: LINGER 0; for ROUTERs ROUTER_MANDATORY (so
 * an unroutable reply fails instead of vanishing); MAXMSGSIZE when maxmsg > 0; both HWMs when
 * hwm > 0. Writes the endpoint actually bound (tcp://...:* resolved) into bound. Returns NULL
 * after logging one line naming what and the endpoint.
 */
void *zsock_bind(void *zctx, int type, const char *endpoint, int64_t maxmsg, int hwm, char *bound,
                 size_t boundlen, const char *what);

/* zsock_bind without HWMs or MAXMSGSIZE that logs nothing: NULL with errno set (EADDRINUSE
 * while an old socket's listener on the endpoint is still closing), for a caller that retries. */
void *zsock_bind_quiet(void *zctx, int type, const char *endpoint, char *bound, size_t boundlen,
                       const char *what);

/*
 * With a secret key set (Z85), every later zsock_bind makes a CURVE server whose ZAP domain is
 * its 'what' ("ingest", "query", "alerts"); the ZAP handler must be bound first (auth.h).
 * Without one, a socket bound to a non-loopback tcp:// address gets a warning.
 */
void zsock_set_curve_server(const char *secret_z85);

/* socket must stay open while the watcher is started. */
int zsock_init(struct zsock_watcher *w, void *socket, int events, zsock_cb cb, void *data);
void zsock_start(struct ev_loop *loop, struct zsock_watcher *w);
void zsock_stop(struct ev_loop *loop, struct zsock_watcher *w);

#endif
