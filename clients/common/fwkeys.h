/*
 * CurveZMQ key files, shared by floorwalkerd, the terminal library and the CLI.
 *
 * `floorwalker keygen NAME` writes NAME.key (public and secret key, mode 0600) and NAME.pub
 * (public key only) in czmq's zcert text format, so zmakecert/zcert files work too:
 *
 *     metadata
 *         name = "S001-T01"
 *     curve
 *         public-key = "<40 Z85 characters>"
 *         secret-key = "<40 Z85 characters>"
 *
 * A file holding just the 40 Z85 characters of a public key is read as well.
 */
#ifndef FW_KEYS_H
#define FW_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define FW_Z85_KEY_LEN 40

struct fw_keypair {
    char public_z85[FW_Z85_KEY_LEN + 1];
    char secret_z85[FW_Z85_KEY_LEN + 1]; /* "" in a public key file */
    /* The metadata floorwalkerd reads from a key directory ("" when absent). */
    char name[65], role[16], store[65], regions[256];
};

/* True if s is 40 Z85 characters that decode to a 32-byte key. */
bool fw_key_z85_valid(const char *s);

/* Reads a key file. Returns 0, or -1 with one line in err naming the file and the problem. */
int fw_key_read(const char *path, struct fw_keypair *kp, char *err, size_t errlen);

/* A fresh key pair (libzmq built with libsodium). Returns 0 or -1 with err. */
int fw_key_generate(struct fw_keypair *kp, char *err, size_t errlen);

/* Writes base.key (mode 0600, both keys) and base.pub (public key), refusing to overwrite
 * an existing file unless force. kp's name, role, store and regions go into the metadata
 * (empty ones are left out). Returns 0 or -1 with err. */
int fw_key_write(const char *base, const struct fw_keypair *kp, bool force, char *err,
                 size_t errlen);

/* Makes sock a CURVE client of a server with that public key (call before zmq_connect).
 * All three are Z85; returns 0, or -1 (bad key, or no CURVE in libzmq) with err. */
int fw_curve_client(void *sock, const char *server_public, const char *public_z85,
                    const char *secret_z85, char *err, size_t errlen);

#endif
