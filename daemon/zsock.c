#include "zsock.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "log.h"

int zsock_events(void *socket)
{
    int ev = 0;
    size_t len = sizeof ev;
    if (zmq_getsockopt(socket, ZMQ_EVENTS, &ev, &len) != 0)
        return 0;
    return ev;
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
    struct zsock_watcher *w =
        (struct zsock_watcher *)((char *)p - offsetof(struct zsock_watcher, prepare));
    if (zsock_events(w->socket) & w->events)
        ev_idle_start(loop, &w->idle);
    else
        ev_io_start(loop, &w->io);
}

static void check_cb(struct ev_loop *loop, ev_check *c, int revents)
{
    struct zsock_watcher *w =
        (struct zsock_watcher *)((char *)c - offsetof(struct zsock_watcher, check));
    ev_idle_stop(loop, &w->idle);
    ev_io_stop(loop, &w->io);
    int ready = zsock_events(w->socket) & w->events;
    if (ready)
        w->cb(loop, w, ready);
}

/* Both only exist to wake the loop; the work happens in check_cb. */
static void idle_cb(struct ev_loop *loop, ev_idle *i, int revents)
{
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
}

int zsock_init(struct zsock_watcher *w, void *socket, int events, zsock_cb cb, void *data)
{
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(socket, ZMQ_FD, &fd, &len) != 0)
        return -1;
    w->socket = socket;
    w->events = events;
    w->cb = cb;
    w->data = data;
    ev_prepare_init(&w->prepare, prepare_cb);
    ev_check_init(&w->check, check_cb);
    ev_idle_init(&w->idle, idle_cb);
    ev_io_init(&w->io, io_cb, fd, EV_READ);
    return 0;
}

void zsock_start(struct ev_loop *loop, struct zsock_watcher *w)
{
    ev_prepare_start(loop, &w->prepare);
    ev_check_start(loop, &w->check);
}

void zsock_stop(struct ev_loop *loop, struct zsock_watcher *w)
{
    ev_prepare_stop(loop, &w->prepare);
    ev_check_stop(loop, &w->check);
    ev_idle_stop(loop, &w->idle);
    ev_io_stop(loop, &w->io);
}

static char curve_secret[41];

void zsock_set_curve_server(const char *secret_z85)
{
    snprintf(curve_secret, sizeof curve_secret, "%s", secret_z85 ? secret_z85 : "");
}

/* Warns when a plain (unauthenticated, unencrypted) socket listens beyond this machine. */
static void warn_plain(const char *what, const char *bound)
{
    if (strncmp(bound, "tcp://", 6))
        return; /* ipc:// and inproc:// stay on this machine */
    const char *host = bound + 6;
    if (!strncmp(host, "127.", 4) || !strncmp(host, "[::1]", 5) || !strncmp(host, "localhost:", 10))
        return;
    log_warn("%s listens on %s in plain mode: anyone who can reach it can connect, unencrypted; "
             "set [security] mode = curve (see floorwalker.conf(5))",
             what, bound);
}

static void *bind_socket(void *zctx, int type, const char *endpoint, int64_t maxmsg, int hwm,
                         char *bound, size_t boundlen, const char *what, bool quiet)
{
    void *s = zmq_socket(zctx, type);
    int one = 1, zero = 0;
    if (!s)
        goto fail;
    if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) ||
        (type == ZMQ_ROUTER && zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one)) ||
        (type == ZMQ_XPUB && zmq_setsockopt(s, ZMQ_XPUB_MANUAL, &one, sizeof one)) ||
        (maxmsg > 0 && zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)) ||
        (hwm > 0 && (zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
                     zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm))))
        goto fail;
    /* CURVE server: every handshake goes to the ZAP handler under this socket's domain. */
    if (curve_secret[0] && (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) ||
                            zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, curve_secret, 40) ||
                            zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, what, strlen(what))))
        goto fail;
    if (zmq_bind(s, endpoint) != 0)
        goto fail;
    size_t len = boundlen;
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        goto fail;
    if (!curve_secret[0])
        warn_plain(what, bound);
    return s;
fail:;
    int err = zmq_errno();
    if (!quiet)
        log_err("%s: cannot bind %s: %s", what, endpoint, zmq_strerror(err));
    if (s)
        zmq_close(s);
    errno = err;
    return NULL;
}

void *zsock_bind(void *zctx, int type, const char *endpoint, int64_t maxmsg, int hwm, char *bound,
                 size_t boundlen, const char *what)
{
    return bind_socket(zctx, type, endpoint, maxmsg, hwm, bound, boundlen, what, false);
}

void *zsock_bind_quiet(void *zctx, int type, const char *endpoint, char *bound, size_t boundlen,
                       const char *what)
{
    return bind_socket(zctx, type, endpoint, 0, 0, bound, boundlen, what, true);
}
