#include "fwpass.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int fw_hash_password_stdin(const char *who)
{
    char pw[1024], out[crypto_pwhash_STRBYTES];
    int rc = 1;
    if (sodium_init() < 0) {
        fprintf(stderr, "%s: libsodium failed to initialise\n", who);
        return 1;
    }
    if (!fgets(pw, sizeof pw, stdin)) {
        fprintf(stderr, "%s: the password is read on stdin; got none\n", who);
        goto out;
    }
    size_t n = strcspn(pw, "\r\n");
    if (pw[n] == '\0' && n == sizeof pw - 1) {
        fprintf(stderr, "%s: password longer than %zu characters\n", who, sizeof pw - 2);
        goto out;
    }
    pw[n] = '\0';
    if (!n) {
        fprintf(stderr, "%s: empty password\n", who);
        goto out;
    }
    if (crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "%s: out of memory hashing the password\n", who);
        goto out;
    }
    printf("%s\n", out);
    rc = 0;
out:
    sodium_memzero(pw, sizeof pw);
    return rc;
}
