/*
 * kafka_mock: librdkafka's built-in mock cluster on 127.0.0.1, for the export tests (issue 18).
 *
 *   kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Prints "BOOTSTRAP host:port,..." on stdout once the cluster is up, then reads commands on
 * stdin, one per line: "down ID" / "up ID" take broker ID (1..N) down or up (a broker outage),
 * "quit" (or end of input, or SIGTERM) stops it. The brokers listen on ephemeral ports.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int nbrokers = 3;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* A handle only to own the cluster; it never produces. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc)
            nbrokers = atoi(argv[++i]);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--brokers")) {
            i++;
        } else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
            char name[256];
            snprintf(name, sizeof name, "%s", argv[++i]);
            char *colon = strrchr(name, ':');
            int parts = colon ? atoi(colon + 1) : 1;
            if (colon)
                *colon = 0;
            int rf = nbrokers < 3 ? nbrokers : 3;
            if (rd_kafka_mock_topic_create(mc, name, parts, rf)) {
                fprintf(stderr, "kafka_mock: cannot create topic %s\n", name);
                return 1;
            }
        } else {
            fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
            return 2;
        }
    }
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        int id;
        if (sscanf(line, "down %d", &id) == 1)
            rd_kafka_mock_broker_set_down(mc, id);
        else if (sscanf(line, "up %d", &id) == 1)
            rd_kafka_mock_broker_set_up(mc, id);
        else if (!strncmp(line, "quit", 4))
            break;
        printf("OK\n");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
