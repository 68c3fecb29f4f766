/* Password hashes for the HTTP endpoints' users (the daemon's /metrics, the web console):
 * Argon2id strings made by libsodium at its interactive limits. */
#ifndef FW_FWPASS_H
#define FW_FWPASS_H

/* Reads one line from stdin (never argv, which other users can read in ps) and prints its
 * hash on stdout; 0, or 1 after a message prefixed by who. */
int fw_hash_password_stdin(const char *who);

#endif
