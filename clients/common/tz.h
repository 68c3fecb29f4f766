/*
 * Store-local civil time without touching TZ: each IANA zone is read once from its TZif file
 * (RFC 8536) under $TZDIR or /usr/share/zoneinfo, and turned into one sorted array of
 * transitions (the file's own, then its POSIX TZ footer rule expanded up to 2100), so that a
 * lookup is one binary search, with no allocation, no lock and no global state. Instants past
 * the table follow the footer rule directly (exact for any year: the Gregorian calendar repeats
 * every 400 years).
 *
 * A struct tz is immutable once loaded: share it between stores and threads freely.
 *
 * Days are counted from 1970-01-01 (day 0, a Thursday) in the proleptic Gregorian calendar.
 */
#ifndef FW_TZ_H
#define FW_TZ_H

#include <stdint.h>

#include "fwcommon.h"

struct tz;

/*
 * Loads zone name (e.g. "America/New_York") from $TZDIR/name, or /usr/share/zoneinfo/name when
 * TZDIR is unset or empty. "UTC" and "Etc/UTC" are built in and never read from disk.
 * Returns FW_ENOTFOUND if there is no such zone (including names that are not of the form
 * Area/Location: absolute paths, "..", odd characters), FW_ECORRUPT if the file is not valid
 * TZif, FW_EINVAL for the leap-second ("right/") zones, whose times are not Unix times,
 * FW_ENOMEM, or an errno mapping for other I/O errors. *out is set only on success.
 */
fw_err tz_load(struct tz **out, const char *name) __attribute__((warn_unused_result));
/* Frees and NULLs *tz; NULL and *tz == NULL are fine. */
void tz_destroy(struct tz **tz);
/* The name tz_load was given. */
const char *tz_name(const struct tz *tz);

/* Seconds east of UTC in force at the instant utc_s. O(log n), no allocation. */
int32_t tz_offset(const struct tz *tz, int64_t utc_s);

struct tz_local {
    int32_t day; /* days since 1970-01-01 in local civil time */
    int8_t hour, minute;
    int8_t wday; /* 0 = Sunday */
};
/* Local civil day, hour, minute and weekday of the instant utc_ms (Unix milliseconds). */
void tz_local(const struct tz *tz, int64_t utc_ms, struct tz_local *out);

/*
 * The UTC instant (seconds) of local civil time day + minute_of_day (minute_of_day may be
 * outside 0..1439: it just moves on from midnight of day). In a gap (the local time does not
 * exist, e.g. 02:30 on the spring-forward day in New York) returns the instant the gap ends at
 * (07:00Z, which is 03:00 EDT); in an overlap (the local time exists twice) the earlier one.
 * The length of local day d in seconds is tz_utc_of_local(d + 1, 0) - tz_utc_of_local(d, 0).
 */
int64_t tz_utc_of_local(const struct tz *tz, int32_t day, int32_t minute_of_day);

/* Calendar helpers (proleptic Gregorian; Howard Hinnant's days_from_civil/civil_from_days).
 * Valid for years -5,000,000..5,000,000 (the int32_t day range). */
int32_t tz_days_from_civil(int y, unsigned m, unsigned d);
void tz_civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d);

/* "YYYY-MM-DD" (exactly, years 0000..9999) -> day number; 0 on success, -1 if s is not a real
 * date. */
int tz_parse_day(const char *s, int32_t *day);
/* Day number -> "YYYY-MM-DD" and a NUL; "0000-00-00" (not a date) for a year outside
 * 0000..9999. */
void tz_format_day(int32_t day, char out[11]);

/* Monday of the ISO week containing day. */
int32_t tz_week_start(int32_t day);
/* First day of the month containing day. */
int32_t tz_month_start(int32_t day);

#endif
