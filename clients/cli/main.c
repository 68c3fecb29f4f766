#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: floorwalker COMMAND [OPTIONS]\n"
        "\n"
        "Commands:\n"
        "  alerts    follow the daemon's alerts (a snapshot of the active ones, then live),\n"
        "            or acknowledge one: alerts ack ALERT_ID\n"
        "  publish   send events to floorwalkerd through the terminal library (spooled,\n"
        "            resent until acked): one event from flags, or JSON lines\n"
        "  query     ask floorwalkerd for figures (stats, quarantine, ...)\n"
        "  backup    an online, consistent copy of the daemon's data directory\n"
        "  sim       a chain of stores whose terminals publish a seeded event mix\n"
        "  stats     what the daemon holds: events by kind, duplicates, rejects by code,\n"
        "            terminals with their acked seq, batches, commit times\n"
        "  keygen    write a CurveZMQ key pair (NAME.key, NAME.pub)\n"
        "  notify    forward the daemon's alerts to Prometheus Alertmanager\n"
        "  web       the console for supervisors and ops: a web page of the stores and\n"
        "            their live alerts (docs/WEB.md)\n"
        "  export    export kafka: the committed event log into a Kafka topic, exactly once\n"
        "\n"
        "Run `floorwalker COMMAND --help` for the options of each.\n"
        "\n"
        "Every command that talks to floorwalkerd takes, when the daemon runs with\n"
        "[security] mode = curve:\n"
        "  --key FILE          this client's key pair (floorwalker keygen), or $FLOORWALKER_KEY\n"
        "  --server-key FILE   the daemon's public key (its .pub), or $FLOORWALKER_SERVER_KEY\n"
        "\n"
        "Exit status:\n"
        "  0  success\n"
        "  1  bad input (a JSON line, a field value, a query the daemon refused)\n"
        "  2  bad command line\n"
        "  3  the daemon did not answer in time (published events stay spooled and are sent\n"
        "     by the next publish from the same spool)\n"
        "  4  the daemon rejected some events (acked and kept in its quarantine)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    int rc = cli_keys_init(&argc, argv);
    if (rc != EXIT_OK)
        return rc;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "alerts"))
        return cmd_alerts(argc - 1, argv + 1);
    if (!strcmp(cmd, "publish"))
        return cmd_publish(argc - 1, argv + 1);
    if (!strcmp(cmd, "query"))
        return cmd_query(argc - 1, argv + 1);
    if (!strcmp(cmd, "backup"))
        return cmd_backup(argc - 1, argv + 1);
    if (!strcmp(cmd, "sim"))
        return cmd_sim(argc - 1, argv + 1);
    if (!strcmp(cmd, "keygen"))
        return cmd_keygen(argc - 1, argv + 1);
    if (!strcmp(cmd, "notify"))
        return cmd_notify(argc - 1, argv + 1);
    if (!strcmp(cmd, "web"))
        return cmd_web(argc - 1, argv + 1);
    if (!strcmp(cmd, "export"))
        return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "stats"))
        return cmd_stats(argc - 1, argv + 1);
    fprintf(stderr, "floorwalker: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
