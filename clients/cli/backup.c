/*
 * floorwalker backup: an online, consistent, compacted copy of the daemon's LMDB data
 * directory. LMDB copies from one read transaction (mdb_env_copy2 with MDB_CP_COMPACT), so the
 * copy is a snapshot of one moment while the daemon goes on writing: events, sequence marks,
 * the rollup checkpoint with its log position, alerts. Restore: stop the daemon, use the copy as
 * its data_dir, start it; it replays the events logged after the copy's checkpoint.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fwcommon.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: floorwalker backup [--data-dir DIR] DEST\n"
            "\n"
            "Copies the daemon's LMDB data directory DIR (default ./floorwalker-data) into the\n"
            "new or empty directory DEST while the daemon runs: a consistent snapshot of one\n"
            "moment, compacted (free pages left out). Run it on the daemon's machine, as root or\n"
            "the daemon's user (LMDB registers the reader in DIR/lock.mdb). The copy is made\n"
            "readable by its owner and group only.\n"
            "\n"
            "Restore: stop floorwalkerd, point data_dir at DEST (or move DEST into place), start\n"
            "it. Events the daemon acked after the backup are not in it, and terminals have\n"
            "deleted them from their spools.\n"
            "\n"
            "Exit status: 0 copied, 1 the copy failed (the reason is printed), 2 bad usage.\n");
}

int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = "./floorwalker-data";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *dest = argv[optind];
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/data.mdb", dir);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "floorwalker backup: %s: no LMDB data here (%s)\n", dir, strerror(errno));
        return EXIT_INPUT;
    }
    snprintf(probe, sizeof probe, "%s/data.mdb", dest);
    if (access(probe, F_OK) == 0) {
        fprintf(stderr, "floorwalker backup: %s already holds a database; give a new directory\n",
                dest);
        return EXIT_INPUT;
    }
    if (fw_mkdir_p(dest, 0750) != 0) {
        fprintf(stderr, "floorwalker backup: %s: %s\n", dest, strerror(errno));
        return EXIT_INPUT;
    }
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 16);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0);
    if (rc == 0) {
        uint64_t t0 = fw_mono_ns();
        rc = mdb_env_copy2(env, dest, MDB_CP_COMPACT);
        if (rc == 0) {
            struct stat st;
            snprintf(probe, sizeof probe, "%s/data.mdb", dest);
            if (chmod(probe, 0640) != 0)
                fprintf(stderr, "floorwalker backup: chmod %s: %s\n", probe, strerror(errno));
            long long size = stat(probe, &st) == 0 ? (long long)st.st_size : -1;
            printf("backup of %s in %s: %lld bytes in %.2f s\n", dir, dest, size,
                   (double)(fw_mono_ns() - t0) / 1e9);
        }
    }
    mdb_env_close(env);
    if (rc) {
        fprintf(stderr, "floorwalker backup: copying %s to %s: %s\n", dir, dest, mdb_strerror(rc));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}
