/* The floorwalker CLI: one binary, one file per subcommand. */
#ifndef FW_CLI_H
#define FW_CLI_H

#include <stdbool.h>

/* Exit codes (documented in `floorwalker --help`). */
enum {
    EXIT_OK = 0,
    EXIT_INPUT = 1,    /* bad input: a JSON line, a field, a date, an unknown store */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_NODAEMON = 3, /* the daemon did not answer (published events stay spooled) */
    EXIT_REJECTED = 4, /* the daemon rejected some events (kept in its quarantine) */
};

#define DEFAULT_INGEST "tcp://127.0.0.1:7401"
#define DEFAULT_ALERTS "tcp://127.0.0.1:7402"
#define DEFAULT_QUERY "tcp://127.0.0.1:7403"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "floorwalker.pb-c.h"
#include "fwcommon.h"

/* The endpoint from the environment variable env if set and not empty, else def. */
const char *cli_endpoint(const char *env, const char *def);
/* SIGINT and SIGTERM call fn (which sets the caller's stop flag), without SA_RESTART: they
 * interrupt a blocking zmq_poll (EINTR) so the caller's loop sees the flag at once. */
void cli_catch_stop(void (*fn)(int sig));
/* A whole number from lo to hi in *out, or false after a message naming who and what. */
bool cli_parse_long(const char *who, const char *what, const char *v, long lo, long hi, long *out);

/* --daemon EP, repeated: the most daemons one command follows (stores sharded across them). */
#define CLI_MAX_DAEMONS 64

enum ask_status { ASK_OK, ASK_NOANSWER, ASK_STOPPED, ASK_BADEP };
/* One Query over REQ to ep, answered by 'deadline' (fw_mono_ns); see ask.c. who prefixes the
 * messages; NULL says nothing when no answer came (a client retrying through an outage). */
enum ask_status cli_ask(const char *who, void *ctx, const char *ep, const Floorwalker__Query *q,
                        int timeout_s, uint64_t deadline, const fw_stop_flag *stop,
                        Floorwalker__QueryResult **out);

/* The alerts endpoint of the daemon at query_ep, as its STORES answer states it, into out (a
 * wildcard host there, "*", 0.0.0.0 or [::], becomes the host we reach query_ep at). ASK_OK with
 * out "" when the daemon does not state it (an older version); else as cli_ask. */
enum ask_status cli_alerts_endpoint(const char *who, void *ctx, const char *query_ep, int timeout_s,
                                    const fw_stop_flag *stop, char *out, size_t len);

/* CurveZMQ (keys.c): takes --key/--server-key out of argv (or $FLOORWALKER_KEY and
 * $FLOORWALKER_SERVER_KEY) and reads the files; 0 or an exit code after a message. */
int cli_keys_init(int *argc, char **argv);
bool cli_curve_on(void);
/* Makes sock a CURVE client when keys were given (before zmq_connect); 0, or -1 after a
 * message prefixed by who. */
int cli_secure(void *sock, const char *who);
/* Starts a monitor of sock for events (before zmq_connect, so none is missed); returns the PAIR
 * socket that receives them, or NULL. Stop it with cli_auth_unwatch. */
void *cli_monitor(void *ctx, void *sock, int events);
/* Waits until deadline (fw_mono_ns) for the next event on mon and reads it: its ZMQ_EVENT_*, or
 * 0 when none came, on an error, or once *stop is set (stop may be NULL). */
int cli_monitor_next(void *mon, uint64_t deadline, const fw_stop_flag *stop);
/* Watches sock's handshake for the daemon refusing our key, or wanting one (start before
 * zmq_connect); cli_auth_outcome then tells what it saw. NULL-safe. */
void *cli_auth_watch(void *ctx, void *sock);
/* The handshake failure seen, if any: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH (the daemon refused our
 * key), ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL (the two sides' mechanisms differ: the daemon needs
 * a key we did not give, or takes none), or 0. */
int cli_auth_outcome(void *mon);
void cli_auth_unwatch(void *sock, void *mon);
/* Whether ep completes a keyless (NULL-mechanism) handshake within ms. */
bool cli_plain_probe(void *ctx, const char *ep, int ms);
struct fw_options;
void cli_fw_options(struct fw_options *o);
/* With a supervisor's --key: the regions in its metadata ("east,north"), else NULL. */
const char *cli_key_regions(void);
/* The daemon's public key from --server-key (Z85), or NULL. */
const char *cli_server_key(void);
/* Sets o's keys from the key pair in path (read into kp, which must outlive fw_open_opts)
 * and the --server-key; 0, or -1 after a message. */
struct fw_keypair;
int cli_fw_options_keyfile(struct fw_options *o, const char *path, struct fw_keypair *kp);
int cmd_keygen(int argc, char **argv);

int cmd_publish(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_notify(int argc, char **argv); /* clients/notify/ */
int cmd_web(int argc, char **argv);    /* clients/web/ */
int cmd_export(int argc, char **argv); /* clients/export/ */

#endif
