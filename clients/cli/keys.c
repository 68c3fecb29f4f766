/*
 * CurveZMQ for the CLI: `--key FILE` and `--server-key FILE` are taken by every subcommand
 * (anywhere on the command line, or $FLOORWALKER_KEY / $FLOORWALKER_SERVER_KEY), and
 * `floorwalker keygen` writes key pairs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "floorwalker.h"
#include "fwcommon.h"
#include "fwkeys.h"

static struct {
    bool on;
    char server[FW_Z85_KEY_LEN + 1];
    struct fw_keypair me;
} curve;

/* Removes argv[i] (and its value when two) from argv; returns the new argc. */
static int drop(int argc, char **argv, int i, int n)
{
    for (int j = i; j + n <= argc; j++)
        argv[j] = argv[j + n];
    return argc - n;
}

int cli_keys_init(int *argc, char **argv)
{
    const char *key = getenv("FLOORWALKER_KEY"), *server = getenv("FLOORWALKER_SERVER_KEY");
    for (int i = 1; i < *argc;) {
        const char *a = argv[i];
        const char **dst = !strncmp(a, "--key", 5) && (a[5] == '\0' || a[5] == '=') ? &key
                           : !strncmp(a, "--server-key", 12) && (a[12] == '\0' || a[12] == '=')
                               ? &server
                               : NULL;
        if (!strcmp(a, "--"))
            break;
        if (!dst) {
            i++;
            continue;
        }
        const char *eq = strchr(a, '=');
        if (eq) {
            *dst = eq + 1;
            *argc = drop(*argc, argv, i, 1);
        } else if (i + 1 < *argc) {
            *dst = argv[i + 1];
            *argc = drop(*argc, argv, i, 2);
        } else {
            fprintf(stderr, "floorwalker: %s needs a file\n", a);
            return EXIT_USAGE;
        }
    }
    if (key && !*key)
        key = NULL;
    if (server && !*server)
        server = NULL;
    if (!key && !server)
        return EXIT_OK;
    if (!key && server) { /* a key per terminal comes later (sim --key-dir) */
        char err[1200];
        struct fw_keypair srv;
        if (fw_key_read(server, &srv, err, sizeof err)) {
            fprintf(stderr, "floorwalker: %s\n", err);
            return EXIT_USAGE;
        }
        memcpy(curve.server, srv.public_z85, sizeof curve.server);
        return EXIT_OK;
    }
    if (!key || !server) {
        fprintf(stderr, "floorwalker: CurveZMQ needs both --key FILE (this client's key pair, from "
                        "floorwalker keygen) and --server-key FILE (the daemon's public key)\n");
        return EXIT_USAGE;
    }
    char err[1200];
    struct fw_keypair srv;
    if (fw_key_read(key, &curve.me, err, sizeof err) ||
        fw_key_read(server, &srv, err, sizeof err)) {
        fprintf(stderr, "floorwalker: %s\n", err);
        return EXIT_USAGE;
    }
    if (!curve.me.secret_z85[0]) {
        fprintf(stderr,
                "floorwalker: %s: has no secret key; --key takes the .key file, not the .pub\n",
                key);
        return EXIT_USAGE;
    }
    memcpy(curve.server, srv.public_z85, sizeof curve.server);
    curve.on = true;
    return EXIT_OK;
}

bool cli_curve_on(void)
{
    return curve.on;
}

int cli_secure(void *sock, const char *who)
{
    if (!curve.on)
        return 0;
    char err[256];
    if (fw_curve_client(sock, curve.server, curve.me.public_z85, curve.me.secret_z85, err,
                        sizeof err)) {
        fprintf(stderr, "%s: %s\n", who, err);
        return -1;
    }
    return 0;
}

const char *cli_server_key(void)
{
    return curve.server[0] ? curve.server : NULL;
}

int cli_fw_options_keyfile(struct fw_options *o, const char *path, struct fw_keypair *kp)
{
    char err[1200];
    if (!curve.server[0]) {
        fprintf(stderr, "floorwalker: a key file needs --server-key FILE (the daemon's key)\n");
        return -1;
    }
    if (fw_key_read(path, kp, err, sizeof err)) {
        fprintf(stderr, "floorwalker: %s\n", err);
        return -1;
    }
    if (!kp->secret_z85[0]) {
        fprintf(stderr, "floorwalker: %s: has no secret key (the .key file is needed)\n", path);
        return -1;
    }
    o->server_key = curve.server;
    o->public_key = kp->public_z85;
    o->secret_key = kp->secret_z85;
    return 0;
}

void cli_fw_options(struct fw_options *o)
{
    if (!curve.on)
        return;
    o->server_key = curve.server;
    o->public_key = curve.me.public_z85;
    o->secret_key = curve.me.secret_z85;
}

const char *cli_key_regions(void)
{
    return curve.on && !strcmp(curve.me.role, "supervisor") ? curve.me.regions : NULL;
}

void *cli_monitor(void *ctx, void *sock, int events)
{
    char ep[64];
    int zero = 0;
    snprintf(ep, sizeof ep, "inproc://floorwalker-monitor-%p", sock);
    if (zmq_socket_monitor(sock, ep, events) != 0)
        return NULL;
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    if (mon) {
        zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_connect(mon, ep) == 0)
            return mon;
        zmq_close(mon);
    }
    zmq_socket_monitor(sock, NULL, 0);
    return NULL;
}

/* Without keys too: a CURVE daemon fails a NULL-mechanism client's handshake with a mechanism
 * mismatch (HANDSHAKE_FAILED_PROTOCOL), which is how the CLI can say that the daemon needs a
 * key rather than that it did not answer. When the daemon closes the connection before the
 * client has read its greeting (a loaded machine), libzmq reports NO_DETAIL instead. */
void *cli_auth_watch(void *ctx, void *sock)
{
    return cli_monitor(ctx, sock,
                       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
}

/* The event of the next message on mon (its two frames read), if one is queued: -1 none, 0 one
 * that does not parse. */
static int monitor_read(void *mon)
{
    uint8_t ev[6];
    int n = zmq_recv(mon, ev, sizeof ev, ZMQ_DONTWAIT);
    if (n < 0)
        return -1;
    zmq_msg_t addr; /* the second frame: the endpoint */
    zmq_msg_init(&addr);
    zmq_msg_recv(&addr, mon, ZMQ_DONTWAIT);
    zmq_msg_close(&addr);
    return n >= 2 ? ev[0] | ev[1] << 8 : 0; /* little-endian (zmq_socket_monitor(3)) */
}

int cli_monitor_next(void *mon, uint64_t deadline, const fw_stop_flag *stop)
{
    while (!(stop && *stop)) {
        uint64_t now = fw_mono_ns();
        if (now >= deadline)
            break;
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, (long)((deadline - now + 999999) / 1000000));
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n <= 0)
            break;
        int e = monitor_read(mon);
        return e > 0 ? e : 0;
    }
    return 0;
}

/* The most telling handshake failure seen so far: AUTH or PROTOCOL over NO_DETAIL; 0: none. */
int cli_auth_outcome(void *mon)
{
    int best = 0;
    if (!mon)
        return 0;
    for (;;) {
        int e = monitor_read(mon);
        if (e < 0)
            return best;
        if (e && e != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            return e;
        if (e)
            best = e;
    }
}

/* Whether ep completes a NULL-mechanism handshake within ms: the daemon there runs in plain mode.
 * Asked only after a CURVE client got no answer, because which side sees the mechanism mismatch
 * is a race: the daemon may close before its whole greeting is out, and the client then sees
 * only HANDSHAKE_FAILED_NO_DETAIL on every attempt. */
bool cli_plain_probe(void *ctx, const char *ep, int ms)
{
    bool plain = false;
    int zero = 0;
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (!s)
        return false;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    void *mon =
        cli_monitor(ctx, s,
                    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    if (mon && zmq_connect(s, ep) == 0) {
        uint64_t deadline = fw_mono_ns() + (uint64_t)ms * 1000000u;
        int e;
        while ((e = cli_monitor_next(mon, deadline, NULL)) != 0)
            if (e == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                plain = true;
                break;
            }
    }
    cli_auth_unwatch(s, mon);
    zmq_close(s);
    return plain;
}

void cli_auth_unwatch(void *sock, void *mon)
{
    if (!mon)
        return;
    zmq_socket_monitor(sock, NULL, 0);
    zmq_close(mon);
}

static void keygen_usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker keygen [OPTIONS] NAME\n"
            "\n"
            "Writes a CurveZMQ key pair: NAME.key (public and secret key, mode 0600; give it to\n"
            "the client, or to floorwalkerd as [security] server_key) and NAME.pub (the public\n"
            "key; give it to the daemon's operator). czmq's zcert format. The metadata tells\n"
            "floorwalkerd, when the .pub is put in its [security] key_dir, what the key may do.\n"
            "\n"
            "  -d, --dir DIR        write the files into DIR (default: the current directory)\n"
            "      --role ROLE      terminal, ops or supervisor (omit for the server's key)\n"
            "      --store ID       terminal keys: the store its events must be for\n"
            "      --regions LIST   supervisor keys: the regions, e.g. east,north\n"
            "  -f, --force          replace existing files\n"
            "      --print          print the public key (Z85) on stdout as well\n"
            "\n"
            "The key's name is NAME (letters, digits, _ . -); it is the name floorwalkerd logs\n"
            "and the [key:NAME] section that allows it.\n"
            "\n"
            "Exit status: 0 written, 1 cannot write or no CURVE in libzmq, 2 bad usage.\n");
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},   {"role", required_argument, NULL, 'r'},
        {"store", required_argument, NULL, 's'}, {"regions", required_argument, NULL, 'R'},
        {"force", no_argument, NULL, 'f'},       {"print", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *dir = ".", *role = "", *store = "", *regions = "";
    bool force = false, print = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 's':
            store = optarg;
            break;
        case 'R':
            regions = optarg;
            break;
        case 'f':
            force = true;
            break;
        case 'p':
            print = true;
            break;
        case 'h':
            keygen_usage(stdout);
            return EXIT_OK;
        default:
            keygen_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        keygen_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    const char *bad = NULL;
    if (!fw_id_valid(name))
        bad = "NAME must be 1-64 of A-Z a-z 0-9 _ . -";
    else if (role[0] && strcmp(role, "terminal") && strcmp(role, "ops") &&
             strcmp(role, "supervisor"))
        bad = "--role is terminal, ops or supervisor";
    else if (!strcmp(role, "terminal") && !fw_id_valid(store))
        bad = "a terminal key needs --store ID";
    else if (!strcmp(role, "supervisor") && !regions[0])
        bad = "a supervisor key needs --regions LIST";
    else if (store[0] && strcmp(role, "terminal"))
        bad = "--store is for --role terminal";
    else if (regions[0] && strcmp(role, "supervisor"))
        bad = "--regions is for --role supervisor";
    if (bad) {
        fprintf(stderr, "floorwalker keygen: %s\n", bad);
        return EXIT_USAGE;
    }
    struct fw_keypair kp;
    char err[1200], base[4096];
    if (fw_key_generate(&kp, err, sizeof err)) {
        fprintf(stderr, "floorwalker keygen: %s\n", err);
        return EXIT_INPUT;
    }
    snprintf(kp.name, sizeof kp.name, "%s", name);
    snprintf(kp.role, sizeof kp.role, "%s", role);
    snprintf(kp.store, sizeof kp.store, "%s", store);
    snprintf(kp.regions, sizeof kp.regions, "%s", regions);
    if (fw_mkdir_p(dir, 0700) != 0) {
        fprintf(stderr, "floorwalker keygen: cannot create %s\n", dir);
        return EXIT_INPUT;
    }
    snprintf(base, sizeof base, "%s/%s", dir, name);
    if (fw_key_write(base, &kp, force, err, sizeof err)) {
        fprintf(stderr, "floorwalker keygen: %s\n", err);
        return EXIT_INPUT;
    }
    if (print)
        printf("%s\n", kp.public_z85);
    fprintf(stderr, "floorwalker keygen: wrote %s.key (secret, mode 0600) and %s.pub\n", base,
            base);
    return EXIT_OK;
}
