/* The query socket, shared by the CLI's subcommands. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "fwcommon.h"

const char *cli_endpoint(const char *env, const char *def)
{
    const char *ep = getenv(env);
    return ep && *ep ? ep : def;
}

void cli_catch_stop(void (*fn)(int sig))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_parse_long(const char *who, const char *what, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        fprintf(stderr, "%s: %s \"%s\": give a whole number from %ld to %ld\n", who, what, v, lo,
                hi);
        return false;
    }
    *out = n;
    return true;
}

/* Sends q to ep over a REQ socket of ctx and waits until deadline (fw_mono_ns) for the
 * QueryResult (the caller frees *out). Prints why on failure, prefixed by who, except when *stop
 * became set (a signal); timeout_s is only for that message. stop may be NULL. */
enum ask_status cli_ask(const char *who, void *ctx, const char *ep, const Floorwalker__Query *q,
                        int timeout_s, uint64_t deadline, const fw_stop_flag *stop,
                        Floorwalker__QueryResult **out)
{
    /* who NULL: nothing said about no answer (a client retrying through an outage). */
    const char *who_noanswer = who;
    if (!who)
        who = "floorwalker";
    enum ask_status st = ASK_NOANSWER;
    void *s = zmq_socket(ctx, ZMQ_REQ), *mon = NULL;
    int ms = timeout_s * 1000, zero = 0;
    uint8_t *buf = NULL;
    *out = NULL;
    if (!s) {
        fprintf(stderr, "%s: zmq_socket: %s\n", who, zmq_strerror(zmq_errno()));
        return ASK_NOANSWER;
    }
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &ms, sizeof ms);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (cli_secure(s, who) != 0) {
        st = ASK_BADEP;
        goto out;
    }
    mon = cli_auth_watch(ctx, s);
    if (zmq_connect(s, ep) != 0) {
        fprintf(stderr, "%s: cannot connect to %s: %s\n", who, ep, zmq_strerror(zmq_errno()));
        st = ASK_BADEP;
        goto out;
    }
    size_t len = floorwalker__query__get_packed_size(q);
    buf = malloc(len ? len : 1);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", who);
        goto out;
    }
    floorwalker__query__pack(q, buf);
    if (zmq_send(s, buf, len, 0) < 0) {
        if ((stop && *stop)) {
            st = ASK_STOPPED;
            goto out;
        }
        goto noanswer;
    }
    for (;;) {
        if ((stop && *stop)) {
            st = ASK_STOPPED;
            goto out;
        }
        uint64_t now = fw_mono_ns();
        if (now >= deadline)
            goto noanswer;
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, (long)((deadline - now + 999999) / 1000000));
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n < 0)
            goto noanswer;
        if (n > 0)
            break;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        goto noanswer;
    }
    *out = floorwalker__query_result__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    if (*out) {
        st = ASK_OK;
        goto out;
    }
    fprintf(stderr, "%s: the answer from %s is not a QueryResult\n", who, ep);
    goto out;
noanswer:
    if (!who_noanswer)
        goto out;
    int why = cli_auth_outcome(mon);
    if (cli_curve_on() && why != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH &&
        why != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && !(stop && *stop) &&
        cli_plain_probe(ctx, ep, 1000))
        why = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    /* A plain daemon never fails a keyless handshake: any failure means it wants a key. */
    if (why && why != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && !cli_curve_on())
        fprintf(stderr,
                "%s: floorwalkerd at %s needs a client key (its [security] mode is curve): give "
                "--key FILE --server-key FILE, or set FLOORWALKER_KEY and "
                "FLOORWALKER_SERVER_KEY\n",
                who, ep);
    else if (why == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        fprintf(stderr,
                "%s: floorwalkerd at %s does not use CurveZMQ (its [security] mode is plain): "
                "drop --key and --server-key\n",
                who, ep);
    else if (why == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        fprintf(stderr,
                "%s: floorwalkerd at %s refused this client's key (it is not in the daemon's "
                "[key:NAME] sections or key_dir, or its role may not use this socket)\n",
                who, ep);
    else
        fprintf(stderr,
                "%s: no answer from floorwalkerd at %s within %d s (is it running? check the "
                "endpoint and the timeout%s)\n",
                who, ep, timeout_s, cli_curve_on() ? ", and --server-key" : "");
out:
    cli_auth_unwatch(s, mon);
    free(buf);
    zmq_close(s);
    return st;
}

enum ask_status cli_alerts_endpoint(const char *who, void *ctx, const char *query_ep, int timeout_s,
                                    const fw_stop_flag *stop, char *out, size_t len)
{
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    Floorwalker__QueryResult *r = NULL;
    q.kind = FLOORWALKER__QUERY__KIND__STORES;
    uint64_t deadline = fw_mono_ns() + (uint64_t)timeout_s * 1000000000u;
    enum ask_status st = cli_ask(who, ctx, query_ep, &q, timeout_s, deadline, stop, &r);
    if (st != ASK_OK)
        return st;
    const char *ep = r->alerts_endpoint ? r->alerts_endpoint : "";
    if (!strncmp(ep, "tcp://", 6) &&
        (!strncmp(ep + 6, "*:", 2) || !strncmp(ep + 6, "0.0.0.0:", 8) ||
         !strncmp(ep + 6, "[::]:", 5)) &&
        !strncmp(query_ep, "tcp://", 6)) {
        const char *qhost = query_ep + 6, *qport = strrchr(qhost, ':');
        const char *port = strrchr(ep + 6, ':');
        snprintf(out, len, "tcp://%.*s%s", (int)(qport ? qport - qhost : (long)strlen(qhost)),
                 qhost, port);
    } else {
        snprintf(out, len, "%s", ep);
    }
    floorwalker__query_result__free_unpacked(r, NULL);
    return ASK_OK;
}
