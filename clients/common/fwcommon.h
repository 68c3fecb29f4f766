/*
 * Small pieces shared by the daemon, the terminal library and the CLI: the project error
 * codes, id checks, clocks and the raw EventBatch framing.
 */
#ifndef FW_COMMON_H
#define FW_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floorwalker_err.h"

#define FW_WUR __attribute__((warn_unused_result))

/* A stop flag that a signal handler or another thread sets and loops poll: a lock-free atomic
 * is safe in both (C11 7.14.1.1), where fw_stop_flag is a data race across threads. */
typedef atomic_int fw_stop_flag;

/* One error enum for the whole project, fw_err (0 is FW_OK), and fw_strerror(): in the
 * terminal library's public floorwalker_err.h, so the library, the daemon and the CLI share it.
 * Foreign codes are mapped in one place each (fw_err_from_mdb for MDB_*, fw_err_from_errno for
 * errno). */
fw_err fw_err_from_errno(int e);
/* LMDB's return codes (MDB_*, or an errno) as fw_err (fwmdb.c): the daemon's store and the
 * terminal library's spool map them alike. */
fw_err fw_err_from_mdb(int rc);

/* Ids are [A-Za-z0-9_.-]{1,64}. */
#define FW_ID_MAX 64
bool fw_id_valid(const char *s);

/* Copies at most max bytes of s into out (outlen >= 1) as printable ASCII: bytes outside
 * 0x20-0x7e, '"' and '\\' become \xHH, and "..." marks a cut. Returns out. For quoting what
 * a peer sent in a text that goes back on the wire (Rejection.reason, Ack.batch_error): proto3
 * strings must be valid UTF-8, or stock protobuf refuses the whole message. */
char *fw_quote(char *out, size_t outlen, const char *s, size_t max);

/* Wall clock in Unix milliseconds, and a monotonic clock in nanoseconds. */
int64_t fw_now_ms(void);
uint64_t fw_mono_ns(void);

/* Raw protobuf framing of EventBatch (field 1, length-delimited, repeated Event): lets the
 * library build a batch from stored Event encodings, and the daemon keep each event's exact
 * bytes, without re-encoding. */
size_t fw_varint_put(uint8_t *out, uint64_t v);
/* Bytes needed to frame one event of len bytes as an EventBatch element. */
size_t fw_batch_elem_size(size_t len);
/* Appends the framing and the event to out; returns bytes written. */
size_t fw_batch_elem_put(uint8_t *out, const uint8_t *ev, size_t len);

struct fw_slice {
    const uint8_t *p;
    size_t len;
};
/* Splits an encoded EventBatch into its events. Returns the number of events (which may be
 * more than max: only the first max are stored), or -1 if the bytes are not a well-formed
 * protobuf message. Fields other than 1 are skipped as protobuf requires. */
long fw_batch_split(const uint8_t *buf, size_t len, struct fw_slice *out, size_t max);

/* mkdir -p; 0 or -1 with errno set. */
int fw_mkdir_p(const char *dir, unsigned mode);

/* Edit distance, for "did you mean" hints. */
size_t fw_edit_distance(const char *a, const char *b);

#endif
