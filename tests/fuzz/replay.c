/*
 * Replays fuzz inputs without libFuzzer: feeds every file of the directories (or files) given
 * on the command line to LLVMFuzzerTestOneInput, in name order. Built with the project's
 * compiler in every build and run as ctest unit.fuzz_replay over tests/fuzz/corpus and
 * tests/fuzz/regressions, so past findings stay fixed under ASan+UBSan and valgrind too.
 * Fails if an argument cannot be read or names no input at all.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip(const struct dirent *d)
{
    return d->d_name[0] != '.'; /* ".", "..", dotfiles (.gitkeep) */
}

int main(int argc, char **argv)
{
    long total = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) != 0)
                return 1;
            total++;
            continue;
        }
        struct dirent **ents;
        int n = scandir(argv[i], &ents, skip, by_name);
        if (n < 0) {
            perror(argv[i]);
            return 1;
        }
        long here = 0;
        for (int j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], ents[j]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (replay_file(path) != 0)
                    return 1;
                here++;
            }
            free(ents[j]);
        }
        free(ents);
        printf("%s: %ld input(s)\n", argv[i], here);
        total += here;
    }
    if (!total) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    printf("replayed %ld input(s), no finding\n", total);
    return 0;
}
