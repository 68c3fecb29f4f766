/*
 * The one error enum of Floorwalker: the terminal library returns it, and the daemon and the
 * CLI use the same enum (clients/common/fwcommon.h includes this header). Installed with
 * floorwalker.h.
 *
 * The values are part of libfloorwalker's ABI (a program built against libfloorwalker.so.0
 * compares against them): never renumber, only add new codes just before FW_ERR_COUNT. No
 * code is stored on disk or sent on the wire (the protocol's reject codes are
 * Floorwalker__RejectCode, a separate enum).
 */
#ifndef FLOORWALKER_ERR_H
#define FLOORWALKER_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* 0 is success; every other value is a failure. */
typedef enum fw_err {
    FW_OK = 0,
    FW_ENOMEM,
    FW_EINVAL,
    FW_ENOTFOUND,
    FW_EIO,
    FW_EMAPFULL, /* LMDB map full: grow and retry */
    FW_ENOSPC,   /* the disk is full */
    FW_EAGAIN,
    FW_ETIMEDOUT,
    FW_EPROTO,   /* a peer sent something that is not our protocol */
    FW_ECORRUPT, /* stored data does not decode */
    FW_ECONFIG,
    FW_ESTATE,   /* called in the wrong state */
    FW_ERR_COUNT /* not a code: one more than the highest */
} fw_err;

/* A short English text for e ("timed out"); "unknown error" for a value out of range. The
 * string is static: do not free it. */
const char *fw_strerror(fw_err e);

#ifdef __cplusplus
}
#endif

#endif
