/*
 * The daemon's configuration: embedded defaults, overridden by an INI file. Parsing fills a
 * scratch struct config and validates it whole, so a reload can swap only a good one in.
 */
#ifndef FW_CONFIG_H
#define FW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwcommon.h"

#define CONFIG_EP_MAX 256
#define CONFIG_PATH_MAX 1024

/* Alert thresholds (docs/DOMAIN.md "Alert rules"): defaults, overridden in [rules] for the chain,
 * in [region:NAME] for a region and in [store:ID] for a store. */
enum threshold {
    TH_RETURN_RATE_PCT,
    TH_RETURN_RATE_MIN_TXNS,
    TH_CASHIER_RETURNS_MAX,
    TH_CASH_OVER_SHORT_CENTS,
    TH_DRAWER_LIMIT_CENTS,
    TH_COMPLAINT_SLA_HOURS,
    TH_COMPLAINT_SURGE_COUNT,
    TH_COMPENSATION_LIMIT_CENTS,
    TH_COUNT_VARIANCE_MILLI,
    TH_COUNT_VARIANCE_PCT,
    TH_SHRINK_RATE_BP,
    TH_SHRINK_MIN_CENTS,
    TH_LATE_MINUTES,
    TH_NO_SHOW_MINUTES,
    TH_EARLY_LEAVE_MINUTES,
    TH_MIN_STAFF,
    TH_STORE_SILENT_MINUTES,
    TH_TERMINAL_SILENT_MINUTES,
    TH_CLOCK_SKEW_SECONDS,
    TH_SALES_BEHIND_PCT,
    TH_SALES_BEHIND_MIN_GAP_PCT,
    TH_UNDERSTAFFED_GRACE_MINUTES,
    TH_N
};

struct threshold_spec {
    const char *key;
    int64_t def, min, max;
};
extern const struct threshold_spec threshold_specs[TH_N];

struct thresholds {
    int64_t v[TH_N];
    uint32_t set; /* bit i: v[i] was given */
};

struct config_region {
    char name[FW_ID_MAX + 1];
    struct thresholds th;
};

/* A currency: ISO 4217 code and its minor-unit digits (cents: 2, JPY: 0). line: where the code
 * was set, for the message when its digits are unknown. */
struct config_currency {
    char code[4]; /* "" in a [store:ID]: the chain's */
    int digits;   /* -1: from the built-in ISO 4217 table for code */
    int line;
};

struct config_store {
    char id[FW_ID_MAX + 1];
    char name[128];
    struct config_currency currency;
    char region[FW_ID_MAX + 1];
    char timezone[64];
    char hours[64]; /* "08:00-22:00" */
    struct thresholds th;
};

/* [key:NAME]: a CurveZMQ client key allowed in (security = curve). A terminal key may send
 * events for its store only; ops may query everything; a supervisor only their regions. */
enum key_role { KEY_ROLE_TERMINAL, KEY_ROLE_OPS, KEY_ROLE_SUPERVISOR };
#define CONFIG_KEY_REGIONS 16

struct config_key {
    char name[FW_ID_MAX + 1];
    char public_z85[41];
    char public_file[CONFIG_PATH_MAX];
    uint8_t pub[32];
    enum key_role role;
    bool role_set;
    char store[FW_ID_MAX + 1];
    char regions[CONFIG_KEY_REGIONS][FW_ID_MAX + 1];
    int nregions;
    char origin[CONFIG_PATH_MAX + 288]; /* "FILE:LINE" or the key_dir file, for messages */
};

struct config_terminal {
    char id[FW_ID_MAX + 1];
    char store[FW_ID_MAX + 1];
};

struct config {
    /* [daemon] */
    char data_dir[CONFIG_PATH_MAX];
    int log_level;
    bool log_syslog;
    /* [ingest] */
    char ingest_endpoint[CONFIG_EP_MAX];
    int64_t max_msg_bytes;
    int64_t max_events_per_batch;
    int64_t commit_max_events;
    int64_t commit_max_msgs;
    int64_t pass_budget_ms; /* the loop's share of a pass, in time: sizes the next pass */
    int64_t max_future_ms;
    int64_t retention_days;
    /* [limits] */
    int64_t max_qty_milli;
    int64_t max_amount_cents;
    int64_t max_lines;
    /* [alerts], [query] */
    char alerts_endpoint[CONFIG_EP_MAX];
    int64_t alert_update_min_s;   /* [alerts] update_min_seconds */
    int64_t terminal_records_max; /* [alerts] terminal_records_max */
    char query_endpoint[CONFIG_EP_MAX];
    int64_t max_result_bytes; /* a bigger answer is replaced by an error saying so */
    /* [metrics]: the listener, and who may scrape it (HTTP basic auth against an Argon2id hash
     * from `floorwalkerd --hash-password`, or a bearer token file), over TLS if a certificate
     * is given. Validation refuses a listener beyond loopback with neither auth nor insecure. */
    char metrics_listen[CONFIG_EP_MAX];
    char metrics_user[128];
    char metrics_password_hash[128]; /* crypto_pwhash_STRBYTES */
    char metrics_bearer_token_file[CONFIG_PATH_MAX];
    char metrics_tls_cert[CONFIG_PATH_MAX];
    char metrics_tls_key[CONFIG_PATH_MAX];
    bool metrics_insecure;
    uint8_t metrics_token_hash[32]; /* BLAKE2b of the token file's trimmed contents */
    /* [rollup] */
    int64_t checkpoint_ms;
    int64_t checkpoint_cells;
    int64_t cache_cells; /* rollup cells held in memory at most (clean ones evicted) */
    /* [storage] */
    int64_t map_size_mb;
    int64_t map_grow_mb;
    int64_t raw_retention_days;    /* 0: raw events are kept for good */
    int64_t export_hold_max_days;  /* how much longer raw events wait for a slow exporter */
    int64_t hourly_retention_days; /* 0: hourly rollups are kept for good */
    /* [security] */
    char security_mode[16]; /* "plain" or "curve" */
    bool curve;
    char server_key_file[CONFIG_PATH_MAX];
    char key_dir[CONFIG_PATH_MAX];
    char server_public[41], server_secret[41];
    struct config_key *keys; /* [key:NAME] sections, then the key_dir's *.pub files */
    size_t nkeys;
    /* [chain] */
    struct config_currency currency; /* default USD, 2 digits */
    /* [rules], [region:NAME] */
    struct thresholds rules;
    struct config_region *regions;
    size_t nregions;
    /* [store:ID], [terminal:ID] */
    struct config_store *stores;
    size_t nstores;
    struct config_terminal *terminals;
    size_t nterminals;
};

/* Fills cfg with the embedded defaults (the zero-config demo). */
void config_defaults(struct config *cfg);
/* Parses path over the defaults. On error returns FW_ECONFIG and writes one line naming
 * file, line, key and what to do into err. cfg must be released with config_free either way. */
fw_err config_load(struct config *cfg, const char *path, char *err, size_t errlen) FW_WUR;
void config_free(struct config *cfg);

const struct config_store *config_find_store(const struct config *cfg, const char *id);
/* The allowed client key of that name (the ZAP User-Id) or public key; NULL if none. */
const struct config_key *config_find_key(const struct config *cfg, const char *name);
const struct config_key *config_find_key_pub(const struct config *cfg, const uint8_t pub[32]);
/* True if a supervisor key covers region. */
bool config_key_has_region(const struct config_key *k, const char *region);
const char *config_role_name(enum key_role r);
/* The region of a store ("default" for a store not in the configuration). */
const char *config_store_region(const struct config *cfg, const char *store);
const struct config_terminal *config_find_terminal(const struct config *cfg, const char *id);

/* The currency a store keeps its money in ([store:ID] currency, else [chain] currency) and its
 * minor-unit digits; store may be NULL or unknown (the chain's). Never fails once loaded. */
void config_store_currency(const struct config *cfg, const char *store, const char **code,
                           int *digits);
/* The store's display name ([store:ID] name), or "" if it has none. */
const char *config_store_name(const struct config *cfg, const char *store);

/* The threshold in force for a store: [store:ID], else its [region:NAME], else [rules], else
 * the default. store may be NULL or unknown (zero-config: region "default"). */
int64_t config_threshold(const struct config *cfg, const char *store, enum threshold t);
/* Opening hours of a store in minutes after local midnight (default 08:00-22:00). */
void config_hours(const struct config *cfg, const char *store, int *open_min, int *close_min);

#endif
