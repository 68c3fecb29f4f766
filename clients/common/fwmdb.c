/* LMDB's return codes as the project's errors: the one mapping, for the daemon's store and the
 * terminal library's spool alike. Only LMDB's constants are used, none of its functions. */
#include <lmdb.h>

#include "fwcommon.h"

fw_err fw_err_from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return FW_OK;
    case MDB_NOTFOUND:
        return FW_ENOTFOUND;
    case MDB_MAP_FULL:
        return FW_EMAPFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return FW_ECORRUPT;
    case MDB_MAP_RESIZED:
        return FW_EAGAIN;
    default:
        if (rc > 0)
            return fw_err_from_errno(rc);
        return FW_EIO;
    }
}
