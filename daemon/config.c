#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <zmq.h>

#include "fwunits.h"

#include "fwkeys.h"
#include "log.h"
#include "tz.h"

enum key_type { KT_STR, KT_INT, KT_BOOL, KT_LEVEL };

/* One row per key of a fixed section: where it goes and what it accepts. The example config
 * (config/floorwalker.conf) documents each of these with its default. */
struct key_spec {
    const char *section;
    const char *key;
    enum key_type type;
    size_t offset;
    size_t size; /* KT_STR buffer size */
    int64_t min, max;
};

#define STR(sec, k, field)                                                                         \
    {                                                                                              \
        sec, k, KT_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0  \
    }
#define INT(sec, k, field, lo, hi)                                                                 \
    {                                                                                              \
        sec, k, KT_INT, offsetof(struct config, field), 0, lo, hi                                  \
    }

static const struct key_spec keys[] = {
    STR("daemon", "data_dir", data_dir),
    {"daemon", "log_level", KT_LEVEL, offsetof(struct config, log_level), 0, 0, 0},
    {"daemon", "log_syslog", KT_BOOL, offsetof(struct config, log_syslog), 0, 0, 0},
    STR("ingest", "endpoint", ingest_endpoint),
    INT("ingest", "max_msg_bytes", max_msg_bytes, 1024, 256 << 20),
    INT("ingest", "max_events_per_batch", max_events_per_batch, 1, 1000000),
    INT("ingest", "commit_max_events", commit_max_events, 1, 10000000),
    INT("ingest", "commit_max_msgs", commit_max_msgs, 1, 1000000),
    INT("ingest", "pass_budget_ms", pass_budget_ms, 1, 10000),
    INT("ingest", "max_future_ms", max_future_ms, 0, 365LL * 86400000),
    INT("ingest", "retention_days", retention_days, 1, 36500),
    INT("limits", "max_qty_milli", max_qty_milli, 1, 1000000000000LL),
    INT("limits", "max_amount_cents", max_amount_cents, 1, 1000000000000000LL),
    INT("limits", "max_lines", max_lines, 1, 100000),
    STR("alerts", "endpoint", alerts_endpoint),
    INT("alerts", "update_min_seconds", alert_update_min_s, 0, 86400),
    INT("alerts", "terminal_records_max", terminal_records_max, 100, 100000000),
    STR("query", "endpoint", query_endpoint),
    INT("query", "max_result_bytes", max_result_bytes, 4096, 1LL << 30),
    STR("metrics", "listen", metrics_listen),
    STR("metrics", "user", metrics_user),
    STR("metrics", "password_hash", metrics_password_hash),
    STR("metrics", "bearer_token_file", metrics_bearer_token_file),
    STR("metrics", "tls_cert", metrics_tls_cert),
    STR("metrics", "tls_key", metrics_tls_key),
    {"metrics", "insecure", KT_BOOL, offsetof(struct config, metrics_insecure), 0, 0, 0},
    INT("rollup", "checkpoint_ms", checkpoint_ms, 10, 3600000),
    INT("rollup", "checkpoint_cells", checkpoint_cells, 100, 100000000),
    INT("rollup", "cache_cells", cache_cells, 1000, 1000000000),
    INT("storage", "map_size_mb", map_size_mb, 1, 1 << 24),
    INT("storage", "map_grow_mb", map_grow_mb, 1, 1 << 24),
    INT("storage", "raw_retention_days", raw_retention_days, 0, 36500),
    INT("storage", "hourly_retention_days", hourly_retention_days, 0, 36500),
    INT("storage", "export_hold_max_days", export_hold_max_days, 0, 36500),
    STR("security", "mode", security_mode),
    STR("security", "server_key", server_key_file),
    STR("security", "key_dir", key_dir),
};

const struct threshold_spec threshold_specs[TH_N] = {
    [TH_RETURN_RATE_PCT] = {"return_rate_pct", 10, 0, 100},
    [TH_RETURN_RATE_MIN_TXNS] = {"return_rate_min_txns", 20, 0, 1000000},
    [TH_CASHIER_RETURNS_MAX] = {"cashier_returns_max", 5, 0, 1000000},
    [TH_CASH_OVER_SHORT_CENTS] = {"cash_over_short_cents", 1000, 0, 100000000},
    [TH_DRAWER_LIMIT_CENTS] = {"drawer_limit_cents", 500000, 0, 10000000000LL},
    [TH_COMPLAINT_SLA_HOURS] = {"complaint_sla_hours", 48, 1, 10000},
    [TH_COMPLAINT_SURGE_COUNT] = {"complaint_surge_count", 5, 1, 13}, /* SURGE_MAX */
    [TH_COMPENSATION_LIMIT_CENTS] = {"compensation_limit_cents", 20000, 0, 10000000000LL},
    [TH_COUNT_VARIANCE_MILLI] = {"count_variance_milli", 2000, 0, 1000000000},
    [TH_COUNT_VARIANCE_PCT] = {"count_variance_pct", 3, 0, 100},
    [TH_SHRINK_RATE_BP] = {"shrink_rate_bp", 50, 0, 10000},
    [TH_SHRINK_MIN_CENTS] = {"shrink_min_cents", 10000, 0, 10000000000LL},
    [TH_LATE_MINUTES] = {"late_minutes", 5, 0, 1440},
    [TH_NO_SHOW_MINUTES] = {"no_show_minutes", 30, 0, 1440},
    [TH_EARLY_LEAVE_MINUTES] = {"early_leave_minutes", 10, 0, 1440},
    [TH_MIN_STAFF] = {"min_staff", 2, 0, 10000},
    [TH_STORE_SILENT_MINUTES] = {"store_silent_minutes", 10, 1, 10080},
    [TH_TERMINAL_SILENT_MINUTES] = {"terminal_silent_minutes", 15, 1, 10080},
    [TH_CLOCK_SKEW_SECONDS] = {"clock_skew_seconds", 120, 1, 86400},
    [TH_SALES_BEHIND_PCT] = {"sales_behind_pct", 80, 0, 1000},
    [TH_SALES_BEHIND_MIN_GAP_PCT] = {"sales_behind_min_gap_pct", 5, 0, 100},
    [TH_UNDERSTAFFED_GRACE_MINUTES] = {"understaffed_grace_minutes", 15, 0, 1440},
};

static const char *const store_keys[] = {"name",  "region",   "timezone",
                                         "hours", "currency", "currency_digits"};
static const char *const chain_keys[] = {"currency", "currency_digits"};
static const char *const terminal_keys[] = {"store"};
static const char *const key_keys[] = {"public_key", "public_key_file", "role", "store", "regions"};

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", "./floorwalker-data");
    cfg->log_level = LOG_LVL_INFO;
    snprintf(cfg->ingest_endpoint, sizeof cfg->ingest_endpoint, "%s", "tcp://127.0.0.1:7401");
    snprintf(cfg->alerts_endpoint, sizeof cfg->alerts_endpoint, "%s", "tcp://127.0.0.1:7402");
    snprintf(cfg->query_endpoint, sizeof cfg->query_endpoint, "%s", "tcp://127.0.0.1:7403");
    cfg->max_msg_bytes = 4 << 20;
    cfg->max_events_per_batch = 10000;
    cfg->commit_max_events = 50000;
    cfg->commit_max_msgs = 2048;
    cfg->pass_budget_ms = 2;
    cfg->export_hold_max_days = 7;
    cfg->max_future_ms = 10 * 60 * 1000;
    cfg->retention_days = 400;
    cfg->max_qty_milli = 100000000;       /* 100,000 units in one line or move */
    cfg->max_amount_cents = 1000000000LL; /* 10,000,000.00 */
    cfg->max_lines = 1000;
    cfg->alert_update_min_s = 60;
    cfg->terminal_records_max = 100000;
    cfg->checkpoint_ms = 2000;
    cfg->checkpoint_cells = 200000;
    cfg->cache_cells = 400000;
    cfg->map_size_mb = 1024;
    cfg->map_grow_mb = 1024;
    snprintf(cfg->security_mode, sizeof cfg->security_mode, "%s", "plain");
    cfg->max_result_bytes = 32 << 20;
    snprintf(cfg->currency.code, sizeof cfg->currency.code, "%s", "USD");
    cfg->currency.digits = -1;
}

void config_free(struct config *cfg)
{
    free(cfg->regions);
    cfg->regions = NULL;
    cfg->nregions = 0;
    free(cfg->stores);
    free(cfg->terminals);
    cfg->stores = NULL;
    cfg->terminals = NULL;
    cfg->nstores = cfg->nterminals = 0;
    free(cfg->keys);
    cfg->keys = NULL;
    cfg->nkeys = 0;
    /* The server's secret key does not outlive the config that held it. */
    explicit_bzero(cfg->server_secret, sizeof cfg->server_secret);
    explicit_bzero(cfg->metrics_token_hash, sizeof cfg->metrics_token_hash);
}

struct parse_ctx {
    struct config *cfg;
    const char *path;
    FILE *f;
    int line;
    char *err;
    size_t errlen;
    bool failed;
    int key_line[sizeof keys / sizeof keys[0]]; /* where each fixed key was set (0: default) */
};

static int fail(struct parse_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parse_ctx *p, const char *fmt, ...)
{
    if (!p->failed) {
        int n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->line);
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < p->errlen)
            vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
        p->failed = true;
    }
    return 0; /* inih stops at the first handler error */
}

/* inih's line buffer (Debian builds it with INI_MAX_LINE 200 on the stack). */
#define CONFIG_LINE_MAX 200

static int store_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                     const char *value);
static int terminal_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                        const char *value);
static int region_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                      const char *value);
static int key_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                   const char *value);

/* A [store:ID] or [terminal:ID] header registers the store or terminal even when no key
 * follows: Debian's inih does not call the handler for a bare section header. */
static void section_seen(struct parse_ctx *p, const char *line)
{
    char sec[128];
    const char *end = strchr(line, ']');
    if (line[0] != '[' || !end || (size_t)(end - line) >= sizeof sec)
        return;
    snprintf(sec, sizeof sec, "%.*s", (int)(end - line - 1), line + 1);
    const char *id = strchr(sec, ':');
    if (!id || !fw_id_valid(id + 1))
        return; /* the handler reports it when a key follows */
    if (!strncmp(sec, "store:", 6))
        store_key(p, sec, id + 1, NULL, NULL);
    else if (!strncmp(sec, "region:", 7))
        region_key(p, sec, id + 1, NULL, NULL);
    else if (!strncmp(sec, "terminal:", 9))
        terminal_key(p, sec, id + 1, NULL, NULL);
    else if (!strncmp(sec, "key:", 4))
        key_key(p, sec, id + 1, NULL, NULL);
}

/* Reader for ini_parse_stream: counts lines so the handler can name the line, refuses lines
 * too long for inih's buffer (it would silently split them), and sees section headers. */
static char *counting_reader(char *str, int num, void *stream)
{
    struct parse_ctx *p = stream;
    if (p->failed)
        return NULL;
    char *r = fgets(str, num, p->f);
    if (!r)
        return NULL;
    p->line++;
    if (!strchr(r, '\n') && !feof(p->f)) {
        fail(p,
             "line longer than %d characters; shorten it (a path or endpoint that long "
             "does not fit)",
             num - 3);
        return NULL;
    }
    const char *s = r;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '[' && !strchr(s, ']')) {
        /* inih would skip it and file the keys below under the section before (or none). */
        fail(p, "section header \"%.*s\" has no closing ']': write [%.*s]", (int)strcspn(s, "\r\n"),
             s, (int)strcspn(s + 1, " \t;#\r\n"), s + 1);
        return NULL;
    }
    if (*s == '[')
        section_seen(p, s);
    return r;
}

static const char *suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = 3; /* only close matches */
    for (size_t i = 0; i < n; i++) {
        size_t d = fw_edit_distance(word, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return best;
}

static int unknown_key(struct parse_ctx *p, const char *section, const char *name,
                       const char *const *cands, size_t n)
{
    const char *s = suggest(name, cands, n);
    if (s)
        return fail(p, "[%s] unknown key \"%s\" (did you mean \"%s\"?)", section, name, s);
    return fail(p, "[%s] unknown key \"%s\"; see config/floorwalker.conf for the keys", section,
                name);
}

static int set_id(struct parse_ctx *p, const char *section, const char *name, const char *value,
                  char *dst)
{
    if (!fw_id_valid(value))
        return fail(p, "[%s] %s = \"%s\": not an id (1-64 of A-Z a-z 0-9 _ . -)", section, name,
                    value);
    snprintf(dst, FW_ID_MAX + 1, "%s", value);
    return 1;
}

/* The zone names under $TZDIR (or /usr/share/zoneinfo) closest to a misspelt one, from its
 * zone.tab, as "A, B, C" into out (empty if none is close). */
static void closest_zones(const char *name, char *out, size_t outlen)
{
    const char *dir = getenv("TZDIR");
    char path[CONFIG_PATH_MAX + 16], line[512];
    snprintf(path, sizeof path, "%s/zone.tab", dir && dir[0] ? dir : "/usr/share/zoneinfo");
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char best[3][64] = {"", "", ""};
    size_t bestd[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        /* country code, coordinates, zone name, comment: tab-separated */
        char *z = strchr(line, '\t');
        z = z ? strchr(z + 1, '\t') : NULL;
        if (!z++)
            continue;
        z[strcspn(z, "\t\r\n")] = 0;
        size_t d = fw_edit_distance(name, z);
        if (d > 4 || strlen(z) >= sizeof best[0])
            continue;
        for (int i = 0; i < 3; i++)
            if (d < bestd[i]) {
                for (int j = 2; j > i; j--) {
                    bestd[j] = bestd[j - 1];
                    memcpy(best[j], best[j - 1], sizeof best[j]);
                }
                bestd[i] = d;
                snprintf(best[i], sizeof best[i], "%s", z);
                break;
            }
    }
    fclose(f);
    size_t n = 0;
    for (int i = 0; i < 3 && best[i][0] && n < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? ", " : "", best[i]);
}

/* A store's timezone must be a zone the daemon can load: a misspelt one would otherwise run the
 * store on UTC with only a warning at run time. */
static int check_zone(struct parse_ctx *p, const char *section, const char *name, const char *value)
{
    struct tz *z = NULL;
    fw_err e = tz_load(&z, value);
    tz_destroy(&z);
    if (e == FW_OK)
        return 1;
    if (e != FW_ENOTFOUND)
        return fail(p, "[%s] %s = \"%s\": the zone file cannot be read (%s); reinstall tzdata",
                    section, name, value, fw_strerror(e));
    char near[200];
    closest_zones(value, near, sizeof near);
    if (near[0])
        return fail(p, "[%s] %s = \"%s\": no such zone (did you mean %s?)", section, name, value,
                    near);
    return fail(p,
                "[%s] %s = \"%s\": no such zone; use an IANA name such as Europe/London or UTC "
                "(see /usr/share/zoneinfo/zone.tab)",
                section, name, value);
}

/* "PORT" (the part after the last ':') is 1-65535, or "*" where zmq picks one. */
static bool port_ok(const char *hostport)
{
    const char *c = strrchr(hostport, ':');
    if (!c || !c[1])
        return false;
    if (!strcmp(c + 1, "*"))
        return true;
    char *end;
    errno = 0;
    long v = strtol(c + 1, &end, 10);
    return !errno && !*end && v >= 1 && v <= 65535;
}

/* What --check-config can tell about an endpoint before binding it: a tcp port in range, and
 * the directory of an ipc path existing. Other transports are left to zmq_bind. */
static int check_endpoint(struct parse_ctx *p, const char *section, const char *name,
                          const char *value)
{
    /* [metrics] listen is HOST:PORT, checked by validate_metrics (port 0: any free port). */
    if (!strcmp(section, "metrics"))
        return 1;
    if (!strncmp(value, "tcp://", 6) && !port_ok(value + 6))
        return fail(p,
                    "[%s] %s = \"%s\": expected tcp://HOST:PORT with a port from 1 to 65535 (or "
                    "*)",
                    section, name, value);
    if (!strncmp(value, "ipc://", 6) && value[6] != '@') {
        char dir[CONFIG_PATH_MAX];
        snprintf(dir, sizeof dir, "%s", value + 6);
        char *slash = strrchr(dir, '/');
        if (!slash)
            return 1; /* relative to the working directory */
        if (slash == dir)
            slash[1] = 0;
        else
            *slash = 0;
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return fail(p,
                        "[%s] %s = \"%s\": the directory %s does not exist; create it (e.g. "
                        "RuntimeDirectory= under systemd) or fix the path",
                        section, name, value, dir);
    }
    return 1;
}

/* A threshold key in [rules], [region:NAME] or [store:ID]: 1 if name is one (set or error),
 * 0 if it is not a threshold at all. */
static int threshold_key(struct parse_ctx *p, const char *section, const char *name,
                         const char *value, struct thresholds *th, int *ret)
{
    for (int i = 0; i < TH_N; i++) {
        const struct threshold_spec *t = &threshold_specs[i];
        if (strcmp(name, t->key))
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < t->min || v > t->max)
            *ret = fail(p, "[%s] %s = \"%s\": expected a whole number from %lld to %lld", section,
                        name, value, (long long)t->min, (long long)t->max);
        else {
            th->v[i] = v;
            th->set |= 1u << i;
            *ret = 1;
        }
        return 1;
    }
    return 0;
}

static int unknown_threshold(struct parse_ctx *p, const char *section, const char *name,
                             const char *const *extra, size_t nextra)
{
    const char *cands[TH_N + 8];
    size_t n = 0;
    for (size_t i = 0; i < nextra && n < TH_N + 8; i++)
        cands[n++] = extra[i];
    for (int i = 0; i < TH_N; i++)
        cands[n++] = threshold_specs[i].key;
    const char *sug = suggest(name, cands, n);
    if (sug)
        return fail(p, "[%s] unknown key \"%s\" (did you mean \"%s\"?)", section, name, sug);
    return fail(p, "[%s] unknown key \"%s\"; see config/floorwalker.conf for the keys", section,
                name);
}

static int region_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                      const char *value)
{
    struct config *cfg = p->cfg;
    struct config_region *r = NULL;
    for (size_t i = 0; i < cfg->nregions; i++)
        if (!strcmp(cfg->regions[i].name, id))
            r = &cfg->regions[i];
    if (!r) {
        struct config_region *nr = realloc(cfg->regions, (cfg->nregions + 1) * sizeof *nr);
        if (!nr)
            return fail(p, "out of memory");
        cfg->regions = nr;
        r = &nr[cfg->nregions++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", id);
    }
    if (!name)
        return 1;
    int ret;
    if (threshold_key(p, section, name, value, &r->th, &ret))
        return ret;
    return unknown_threshold(p, section, name, NULL, 0);
}

/* currency / currency_digits of [chain] or a [store:ID]; 1 done, 0 failed, -1 not one of them. */
static int currency_key(struct parse_ctx *p, const char *section, const char *name,
                        const char *value, struct config_currency *c)
{
    if (!strcmp(name, "currency")) {
        if (!fw_currency_code_valid(value))
            return fail(p,
                        "[%s] currency = \"%s\": expected an ISO 4217 code of three capital "
                        "letters, e.g. USD, EUR, CNY",
                        section, value);
        memcpy(c->code, value, 4);
        c->line = p->line;
        return 1;
    }
    if (!strcmp(name, "currency_digits")) {
        char *end;
        long v = strtol(value, &end, 10);
        if (end == value || *end || v < 0 || v > 4)
            return fail(p,
                        "[%s] currency_digits = \"%s\": expected the minor-unit digits of the "
                        "currency, 0 to 4 (2 for cents, 0 for JPY)",
                        section, value);
        c->digits = (int)v;
        return 1;
    }
    return -1;
}

static int store_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                     const char *value)
{
    struct config *cfg = p->cfg;
    struct config_store *s = NULL;
    for (size_t i = 0; i < cfg->nstores; i++)
        if (!strcmp(cfg->stores[i].id, id))
            s = &cfg->stores[i];
    if (!s) {
        struct config_store *ns = realloc(cfg->stores, (cfg->nstores + 1) * sizeof *ns);
        if (!ns)
            return fail(p, "out of memory");
        cfg->stores = ns;
        s = &ns[cfg->nstores++];
        memset(s, 0, sizeof *s);
        snprintf(s->id, sizeof s->id, "%s", id);
        snprintf(s->region, sizeof s->region, "%s", "default");
        snprintf(s->timezone, sizeof s->timezone, "%s", "UTC");
        snprintf(s->hours, sizeof s->hours, "%s", "08:00-22:00");
        s->currency.digits = -1;
    }
    if (!name)
        return 1;
    int cr = currency_key(p, section, name, value, &s->currency);
    if (cr >= 0)
        return cr;
    if (!strcmp(name, "name")) {
        snprintf(s->name, sizeof s->name, "%s", value);
    } else if (!strcmp(name, "region")) {
        return set_id(p, section, name, value, s->region);
    } else if (!strcmp(name, "timezone")) {
        if (!check_zone(p, section, name, value))
            return 0;
        snprintf(s->timezone, sizeof s->timezone, "%s", value);
    } else if (!strcmp(name, "hours")) {
        int h1, m1, h2, m2;
        char tail;
        /* Opening 00:00-23:59; closing up to 24:00 (a store open round the clock). */
        if (sscanf(value, "%d:%d-%d:%d%c", &h1, &m1, &h2, &m2, &tail) != 4 || h1 < 0 || h1 > 23 ||
            h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 || (h2 == 24 && m2))
            return fail(p, "[%s] hours = \"%s\": expected HH:MM-HH:MM, e.g. 08:00-22:00", section,
                        value);
        snprintf(s->hours, sizeof s->hours, "%s", value);
    } else {
        int ret;
        if (threshold_key(p, section, name, value, &s->th, &ret))
            return ret;
        return unknown_threshold(p, section, name, store_keys, 6);
    }
    return 1;
}

static int terminal_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                        const char *value)
{
    struct config *cfg = p->cfg;
    struct config_terminal *t = NULL;
    for (size_t i = 0; i < cfg->nterminals; i++)
        if (!strcmp(cfg->terminals[i].id, id))
            t = &cfg->terminals[i];
    if (!t) {
        struct config_terminal *nt = realloc(cfg->terminals, (cfg->nterminals + 1) * sizeof *nt);
        if (!nt)
            return fail(p, "out of memory");
        cfg->terminals = nt;
        t = &nt[cfg->nterminals++];
        memset(t, 0, sizeof *t);
        snprintf(t->id, sizeof t->id, "%s", id);
    }
    if (!name)
        return 1;
    if (!strcmp(name, "store"))
        return set_id(p, section, name, value, t->store);
    return unknown_key(p, section, name, terminal_keys, 1);
}

static struct config_key *key_add(struct config *cfg, const char *name)
{
    struct config_key *nk = realloc(cfg->keys, (cfg->nkeys + 1) * sizeof *nk);
    if (!nk)
        return NULL;
    cfg->keys = nk;
    struct config_key *k = &nk[cfg->nkeys++];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", name);
    return k;
}

static int parse_role(const char *v, enum key_role *r)
{
    if (!strcmp(v, "terminal"))
        *r = KEY_ROLE_TERMINAL;
    else if (!strcmp(v, "ops"))
        *r = KEY_ROLE_OPS;
    else if (!strcmp(v, "supervisor"))
        *r = KEY_ROLE_SUPERVISOR;
    else
        return -1;
    return 0;
}

/* "east, west" -> k->regions; 0, or -1 naming the bad one in bad. */
static int parse_regions(struct config_key *k, const char *v, char *bad, size_t badlen)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    k->nregions = 0;
    for (char *save = NULL, *r = strtok_r(buf, ", \t", &save); r;
         r = strtok_r(NULL, ", \t", &save)) {
        if (!fw_id_valid(r) || k->nregions >= CONFIG_KEY_REGIONS) {
            snprintf(bad, badlen, "%s", k->nregions >= CONFIG_KEY_REGIONS ? "(too many)" : r);
            return -1;
        }
        snprintf(k->regions[k->nregions++], FW_ID_MAX + 1, "%s", r);
    }
    return 0;
}

static int key_key(struct parse_ctx *p, const char *section, const char *id, const char *name,
                   const char *value)
{
    struct config *cfg = p->cfg;
    struct config_key *k = NULL;
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (!strcmp(cfg->keys[i].name, id))
            k = &cfg->keys[i];
    if (!k) {
        if (!(k = key_add(cfg, id)))
            return fail(p, "out of memory");
        snprintf(k->origin, sizeof k->origin, "%s:%d", p->path, p->line);
    }
    if (!name)
        return 1;
    if (!strcmp(name, "public_key")) {
        if (!fw_key_z85_valid(value))
            return fail(p,
                        "[%s] public_key: not a CurveZMQ public key (40 Z85 characters, the "
                        "public-key line of the client's .pub file from floorwalker keygen)",
                        section);
        snprintf(k->public_z85, sizeof k->public_z85, "%s", value);
    } else if (!strcmp(name, "public_key_file")) {
        if (strlen(value) >= sizeof k->public_file)
            return fail(p, "[%s] public_key_file: path too long", section);
        snprintf(k->public_file, sizeof k->public_file, "%s", value);
    } else if (!strcmp(name, "role")) {
        if (parse_role(value, &k->role))
            return fail(p, "[%s] role = \"%s\": expected terminal, ops or supervisor", section,
                        value);
        k->role_set = true;
    } else if (!strcmp(name, "store")) {
        return set_id(p, section, name, value, k->store);
    } else if (!strcmp(name, "regions")) {
        char bad[FW_ID_MAX + 16];
        if (parse_regions(k, value, bad, sizeof bad))
            return fail(p,
                        "[%s] regions: \"%s\" is not a region id (a list like east, west; at "
                        "most %d)",
                        section, bad, CONFIG_KEY_REGIONS);
    } else {
        return unknown_key(p, section, name, key_keys, 5);
    }
    return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *p = user;
    const char *colon = strchr(section, ':');
    if (colon) {
        size_t kl = (size_t)(colon - section);
        const char *id = colon + 1;
        bool is_store = kl == 5 && !strncmp(section, "store", 5);
        bool is_term = kl == 8 && !strncmp(section, "terminal", 8);
        bool is_region = kl == 6 && !strncmp(section, "region", 6);
        bool is_key = kl == 3 && !strncmp(section, "key", 3);
        if (!is_store && !is_term && !is_region && !is_key)
            return fail(p,
                        "unknown section [%s]: expected [store:ID], [terminal:ID], [region:NAME] "
                        "or [key:NAME]",
                        section);
        if (!fw_id_valid(id))
            return fail(p, "[%s]: \"%s\" is not an id (1-64 of A-Z a-z 0-9 _ . -)", section, id);
        if (is_key)
            return key_key(p, section, id, name, value);
        if (is_region)
            return region_key(p, section, id, name, value);
        return is_store ? store_key(p, section, id, name, value)
                        : terminal_key(p, section, id, name, value);
    }
    if (!strcmp(section, "chain")) {
        if (!name)
            return 1;
        int cr = currency_key(p, section, name, value, &p->cfg->currency);
        return cr >= 0 ? cr : unknown_key(p, section, name, chain_keys, 2);
    }
    if (!strcmp(section, "rules")) {
        int ret;
        if (name && threshold_key(p, section, name, value, &p->cfg->rules, &ret))
            return ret;
        return name ? unknown_threshold(p, section, name, NULL, 0) : 1;
    }
    bool section_known = false;
    const char *cands[sizeof keys / sizeof keys[0]];
    size_t nc = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key_spec *k = &keys[i];
        if (strcmp(k->section, section))
            continue;
        section_known = true;
        cands[nc++] = k->key;
        if (!name || strcmp(k->key, name))
            continue;
        p->key_line[i] = p->line;
        char *dst = (char *)p->cfg + k->offset;
        switch (k->type) {
        case KT_STR:
            if (strlen(value) >= k->size)
                return fail(p, "[%s] %s: value longer than %zu characters", section, name,
                            k->size - 1);
            memcpy(dst, value, strlen(value) + 1);
            if (!strcmp(name, "endpoint") || !strcmp(name, "listen"))
                return check_endpoint(p, section, name, value);
            return 1;
        case KT_INT: {
            char *end;
            errno = 0;
            long long v = strtoll(value, &end, 10);
            if (errno || end == value || *end || v < k->min || v > k->max)
                return fail(p, "[%s] %s = \"%s\": expected a whole number from %lld to %lld",
                            section, name, value, (long long)k->min, (long long)k->max);
            *(int64_t *)(void *)dst = v;
            return 1;
        }
        case KT_BOOL:
            if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
                *(bool *)(void *)dst = true;
            else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
                *(bool *)(void *)dst = false;
            else
                return fail(p, "[%s] %s = \"%s\": expected true or false", section, name, value);
            return 1;
        case KT_LEVEL: {
            int l = log_level_parse(value);
            if (l < 0)
                return fail(p, "[%s] %s = \"%s\": expected error, warning, info or debug", section,
                            name, value);
            *(int *)(void *)dst = l;
            return 1;
        }
        }
    }
    if (!section_known) {
        static const char *const sections[] = {"daemon",  "ingest",   "limits", "alerts",
                                               "query",   "storage",  "rollup", "rules",
                                               "metrics", "security", "chain"};
        const char *s = suggest(section, sections, 11);
        if (s)
            return fail(p, "unknown section [%s] (did you mean [%s]?)", section, s);
        return fail(p, "unknown section [%s]", section);
    }
    if (!name)
        return 1;
    return unknown_key(p, section, name, cands, nc);
}

/* A key_dir's *.pub files: each a key whose name, role, store and regions come from its
 * metadata (floorwalker keygen --role ... writes them). */
static fw_err load_key_dir(struct parse_ctx *p)
{
    struct config *cfg = p->cfg;
    DIR *d = opendir(cfg->key_dir);
    if (!d) {
        snprintf(p->err, p->errlen, "%s: [security] key_dir = %s: %s; create it or fix the path",
                 p->path, cfg->key_dir, strerror(errno));
        return FW_ECONFIG;
    }
    fw_err rc = FW_OK;
    struct dirent *de;
    while (rc == FW_OK && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".pub") || de->d_name[0] == '.')
            continue;
        char path[CONFIG_PATH_MAX + 256], kerr[CONFIG_PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", cfg->key_dir, de->d_name);
        struct fw_keypair kp;
        if (fw_key_read(path, &kp, kerr, sizeof kerr)) {
            snprintf(p->err, p->errlen, "%s ([security] key_dir)", kerr);
            rc = FW_ECONFIG;
            break;
        }
        if (!strcmp(kp.public_z85, cfg->server_public))
            continue; /* the daemon's own server.pub, kept beside the clients' */
        char name[FW_ID_MAX + 1];
        if (kp.name[0])
            snprintf(name, sizeof name, "%s", kp.name);
        else
            snprintf(name, sizeof name, "%.*s", (int)(n - 4 > FW_ID_MAX ? FW_ID_MAX : n - 4),
                     de->d_name);
        const char *why = NULL;
        char bad[FW_ID_MAX + 16] = "";
        struct config_key *k = NULL;
        if (!fw_id_valid(name))
            why = "its name is not an id (1-64 of A-Z a-z 0-9 _ . -)";
        else if (config_find_key(cfg, name))
            why = "a key of that name is already configured";
        else if (!(k = key_add(cfg, name)))
            why = "out of memory";
        else if (!kp.role[0] || parse_role(kp.role, &k->role))
            why = "its metadata has no role = terminal, ops or supervisor (floorwalker keygen "
                  "--role)";
        else if (kp.store[0] && !fw_id_valid(kp.store))
            why = "its store is not an id";
        else if (parse_regions(k, kp.regions, bad, sizeof bad))
            why = "its regions are not a list of region ids";
        if (why) {
            snprintf(p->err, p->errlen, "%s: %s ([security] key_dir)", path, why);
            rc = FW_ECONFIG;
            break;
        }
        k->role_set = true;
        snprintf(k->store, sizeof k->store, "%s", kp.store);
        snprintf(k->public_z85, sizeof k->public_z85, "%s", kp.public_z85);
        snprintf(k->origin, sizeof k->origin, "%s", path);
    }
    closedir(d);
    return rc;
}

/* [security]: with mode = curve, the server key pair and every client key must be readable and
 * complete; a config that fails here is refused whole (at start and on reload). */
static fw_err validate_security(struct parse_ctx *p)
{
    struct config *cfg = p->cfg;
    if (!strcmp(cfg->security_mode, "plain")) {
        cfg->curve = false;
    } else if (!strcmp(cfg->security_mode, "curve")) {
        cfg->curve = true;
    } else {
        snprintf(p->err, p->errlen, "%s: [security] mode = %s: expected plain or curve", p->path,
                 cfg->security_mode);
        return FW_ECONFIG;
    }
    if (!cfg->curve)
        return FW_OK; /* keys may stay listed for the day curve is turned on */
    char kerr[CONFIG_PATH_MAX + 256];
    if (!cfg->server_key_file[0]) {
        snprintf(p->err, p->errlen,
                 "%s: [security] mode = curve needs server_key = FILE (the daemon's key pair: "
                 "`floorwalker keygen server` writes server.key)",
                 p->path);
        return FW_ECONFIG;
    }
    struct fw_keypair kp;
    if (fw_key_read(cfg->server_key_file, &kp, kerr, sizeof kerr)) {
        snprintf(p->err, p->errlen, "%s ([security] server_key)", kerr);
        return FW_ECONFIG;
    }
    if (!kp.secret_z85[0]) {
        snprintf(p->err, p->errlen,
                 "%s: has no secret-key ([security] server_key must name the .key file, not the "
                 ".pub)",
                 cfg->server_key_file);
        return FW_ECONFIG;
    }
    memcpy(cfg->server_public, kp.public_z85, sizeof cfg->server_public);
    memcpy(cfg->server_secret, kp.secret_z85, sizeof cfg->server_secret);
    explicit_bzero(&kp, sizeof kp);
    if (cfg->key_dir[0] && load_key_dir(p) != FW_OK)
        return FW_ECONFIG;
    for (size_t i = 0; i < cfg->nkeys; i++) {
        struct config_key *k = &cfg->keys[i];
        const char *why = NULL;
        if (k->public_file[0]) {
            struct fw_keypair pk;
            if (fw_key_read(k->public_file, &pk, kerr, sizeof kerr)) {
                snprintf(p->err, p->errlen, "%s ([key:%s] public_key_file at %s)", kerr, k->name,
                         k->origin);
                return FW_ECONFIG;
            }
            snprintf(k->public_z85, sizeof k->public_z85, "%s", pk.public_z85);
        }
        if (!k->public_z85[0])
            why = "has no public_key or public_key_file";
        else if (!k->role_set)
            why = "has no role (terminal, ops or supervisor)";
        else if (k->role == KEY_ROLE_TERMINAL && !k->store[0])
            why = "is a terminal key without store = ID (the store its events must be for)";
        else if (k->role == KEY_ROLE_TERMINAL && cfg->nstores && !config_find_store(cfg, k->store))
            why = "is bound to a store that has no [store:ID] section";
        else if (k->role == KEY_ROLE_SUPERVISOR && !k->nregions)
            why = "is a supervisor key without regions = NAME[, NAME...]";
        if (why) {
            snprintf(p->err, p->errlen, "%s: [key:%s] %s", k->origin, k->name, why);
            return FW_ECONFIG;
        }
        zmq_z85_decode(k->pub, k->public_z85);
        for (size_t j = 0; j < i; j++)
            if (!memcmp(cfg->keys[j].pub, k->pub, sizeof k->pub)) {
                snprintf(p->err, p->errlen,
                         "%s: [key:%s] has the same public key as [key:%s] (%s); one key, one "
                         "client",
                         k->origin, k->name, cfg->keys[j].name, cfg->keys[j].origin);
                return FW_ECONFIG;
            }
        if (!strcmp(k->public_z85, cfg->server_public)) {
            snprintf(p->err, p->errlen,
                     "%s: [key:%s] is the server's own public key; give each client its own key "
                     "(floorwalker keygen)",
                     k->origin, k->name);
            return FW_ECONFIG;
        }
    }
    if (!zmq_has("curve")) {
        snprintf(p->err, p->errlen,
                 "%s: [security] mode = curve, but this libzmq has no CURVE support (libsodium)",
                 p->path);
        return FW_ECONFIG;
    }
    return FW_OK;
}

/* A currency not in the built-in ISO 4217 table needs its digits spelled out. */
static fw_err validate_currency(struct parse_ctx *p, const char *section,
                                const struct config_currency *c)
{
    if (!c->code[0] || c->digits >= 0 || fw_currency_digits(c->code) >= 0)
        return FW_OK;
    snprintf(p->err, p->errlen,
             "%s:%d: [%s] currency = %s is not in floorwalkerd's ISO 4217 table: add "
             "currency_digits = N (its minor-unit digits, 0 to 4) to [%s]",
             p->path, c->line, section, c->code, section);
    return FW_ECONFIG;
}

/* The line a fixed key was set on, 0 if it kept its default. */
static int key_line(const struct parse_ctx *p, const char *section, const char *key)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
            return p->key_line[i];
    return 0;
}

/* One line "FILE:LINE: [metrics] KEY ...: what to do" into p->err; returns FW_ECONFIG. */
static fw_err metrics_fail(struct parse_ctx *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static fw_err metrics_fail(struct parse_ctx *p, const char *key, const char *fmt, ...)
{
    int line = key_line(p, "metrics", key);
    int n = line ? snprintf(p->err, p->errlen, "%s:%d: [metrics] ", p->path, line)
                 : snprintf(p->err, p->errlen, "%s: [metrics] ", p->path);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return FW_ECONFIG;
}

/* Reads a small file whole (NUL-terminated, at most max bytes); NULL with errno on failure
 * (EFBIG if longer). The caller wipes and frees it. */
static char *read_small_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    errno = 0;
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int e = !buf ? ENOMEM : ferror(f) ? (errno ? errno : EIO) : n > max ? EFBIG : 0;
    fclose(f);
    if (e) {
        if (buf)
            explicit_bzero(buf, max + 1);
        free(buf);
        errno = e;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A PEM file the TLS listener needs: readable by this user, and PEM. */
static fw_err check_pem(struct parse_ctx *p, const char *key, const char *path)
{
    size_t len;
    char *pem = read_small_file(path, 1 << 20, &len);
    if (!pem)
        return metrics_fail(p, key,
                            "%s = %s: cannot read: %s; fix the path or let the daemon's user "
                            "read it",
                            key, path, strerror(errno));
    bool ok = strstr(pem, "-----BEGIN ") != NULL;
    explicit_bzero(pem, len);
    free(pem);
    if (!ok)
        return metrics_fail(p, key, "%s = %s: not a PEM file (expected -----BEGIN ...)", key, path);
    return FW_OK;
}

/* The bearer token: the file's contents without surrounding white space (as Prometheus sends
 * a credentials_file), kept only as its BLAKE2b hash, for a constant-time compare. */
static fw_err load_bearer_token(struct parse_ctx *p)
{
    struct config *cfg = p->cfg;
    size_t len;
    char *tok = read_small_file(cfg->metrics_bearer_token_file, 4096, &len);
    if (!tok)
        return metrics_fail(p, "bearer_token_file",
                            "bearer_token_file = %s: cannot read: %s; fix the path or let the "
                            "daemon's user read it",
                            cfg->metrics_bearer_token_file, strerror(errno));
    size_t a = 0, b = len;
    while (a < b && strchr(" \t\r\n", tok[a]))
        a++;
    while (b > a && strchr(" \t\r\n", tok[b - 1]))
        b--;
    bool usable = b - a >= 16 && !memchr(tok + a, '\n', b - a);
    if (usable)
        crypto_generichash(cfg->metrics_token_hash, sizeof cfg->metrics_token_hash,
                           (const unsigned char *)tok + a, b - a, NULL, 0);
    explicit_bzero(tok, len);
    free(tok);
    if (!usable)
        return metrics_fail(p, "bearer_token_file",
                            "bearer_token_file = %s: expected one line of at least 16 "
                            "characters (e.g. `openssl rand -hex 32 > FILE`)",
                            cfg->metrics_bearer_token_file);
    return FW_OK;
}

/*
 * [metrics]: the listen address parses, credentials come in whole pairs and their files are
 * readable, and a listener beyond loopback has authentication or says insecure = true. Runs
 * at start, for --check-config and on a reload alike.
 */
static fw_err validate_metrics(struct parse_ctx *p)
{
    struct config *cfg = p->cfg;
    if (!cfg->metrics_listen[0])
        return FW_OK;
    const char *listen = cfg->metrics_listen, *colon = strrchr(listen, ':');
    char host[64], *end;
    struct in_addr addr;
    bool ok = colon && (size_t)(colon - listen) < sizeof host && colon[1] >= '0' &&
              colon[1] <= '9' && strtoul(colon + 1, &end, 10) <= 65535 && !*end;
    if (ok) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        ok = inet_pton(AF_INET, host, &addr) == 1;
    }
    if (!ok)
        return metrics_fail(p, "listen",
                            "listen = %s: expected IPV4:PORT with a port from 1 to 65535 (0: any "
                            "free one), e.g. 127.0.0.1:9464",
                            cfg->metrics_listen);
    if (sodium_init() < 0)
        return metrics_fail(p, "listen", "libsodium failed to initialise");
    bool basic = cfg->metrics_user[0] || cfg->metrics_password_hash[0];
    if (basic && !cfg->metrics_password_hash[0])
        return metrics_fail(p, "user",
                            "user = %s has no password_hash: add one (`floorwalkerd "
                            "--hash-password` reads the password on stdin and prints it)",
                            cfg->metrics_user);
    if (basic && !cfg->metrics_user[0])
        return metrics_fail(p, "password_hash",
                            "password_hash is set without user: add user = NAME (the "
                            "basic_auth username of the Prometheus scrape config)");
    if (basic && crypto_pwhash_str_needs_rehash(cfg->metrics_password_hash,
                                                crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                crypto_pwhash_MEMLIMIT_INTERACTIVE) < 0)
        return metrics_fail(p, "password_hash",
                            "password_hash is not an Argon2 hash: make one with `floorwalkerd "
                            "--hash-password` (reads the password on stdin)");
    if (cfg->metrics_bearer_token_file[0] && load_bearer_token(p) != FW_OK)
        return FW_ECONFIG;
    if (!!cfg->metrics_tls_cert[0] != !!cfg->metrics_tls_key[0])
        return metrics_fail(p, cfg->metrics_tls_cert[0] ? "tls_cert" : "tls_key",
                            "TLS needs both tls_cert and tls_key (PEM files); set the other one");
    if (cfg->metrics_tls_cert[0] && (check_pem(p, "tls_cert", cfg->metrics_tls_cert) != FW_OK ||
                                     check_pem(p, "tls_key", cfg->metrics_tls_key) != FW_OK))
        return FW_ECONFIG;
    bool loopback = (ntohl(addr.s_addr) >> 24) == 127;
    if (!loopback && !basic && !cfg->metrics_bearer_token_file[0] && !cfg->metrics_insecure)
        return metrics_fail(p, "listen",
                            "listen = %s is reachable beyond loopback without authentication: "
                            "set user and password_hash, or bearer_token_file (and tls_cert, "
                            "tls_key), or insecure = true to serve it open",
                            cfg->metrics_listen);
    return FW_OK;
}

static fw_err validate(struct parse_ctx *p)
{
    struct config *cfg = p->cfg;
    p->line = 0;
    if (validate_currency(p, "chain", &cfg->currency) != FW_OK)
        return FW_ECONFIG;
    for (size_t i = 0; i < cfg->nstores; i++) {
        char sec[FW_ID_MAX + 8];
        snprintf(sec, sizeof sec, "store:%s", cfg->stores[i].id);
        if (validate_currency(p, sec, &cfg->stores[i].currency) != FW_OK)
            return FW_ECONFIG;
    }
    for (size_t i = 0; i < cfg->nterminals; i++) {
        const struct config_terminal *t = &cfg->terminals[i];
        if (!t->store[0]) {
            snprintf(p->err, p->errlen, "%s: [terminal:%s] has no \"store\": add store = ID",
                     p->path, t->id);
            return FW_ECONFIG;
        }
        if (cfg->nstores && !config_find_store(cfg, t->store)) {
            snprintf(p->err, p->errlen,
                     "%s: [terminal:%s] store = %s, but there is no [store:%s] section", p->path,
                     t->id, t->store, t->store);
            return FW_ECONFIG;
        }
    }
    if (cfg->map_grow_mb < 1 || cfg->map_size_mb < 1)
        return FW_ECONFIG;
    if (validate_metrics(p) != FW_OK)
        return FW_ECONFIG;
    return validate_security(p);
}

fw_err config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    struct parse_ctx p = {.cfg = cfg, .path = path, .err = err, .errlen = errlen};
    p.f = fopen(path, "r");
    if (!p.f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return FW_ECONFIG;
    }
    ini_allow_multiline = false;
    int r = ini_parse_stream(counting_reader, &p, handler, &p);
    fclose(p.f);
    if (p.failed)
        return FW_ECONFIG;
    if (r != 0) {
        p.line = r > 0 ? r : p.line;
        snprintf(err, errlen, "%s:%d: not a \"key = value\" line, a [section] or a comment", path,
                 p.line);
        return FW_ECONFIG;
    }
    return validate(&p);
}

const struct config_store *config_find_store(const struct config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nstores; i++)
        if (!strcmp(cfg->stores[i].id, id))
            return &cfg->stores[i];
    return NULL;
}

void config_store_currency(const struct config *cfg, const char *store, const char **code,
                           int *digits)
{
    const struct config_store *s = store ? config_find_store(cfg, store) : NULL;
    const struct config_currency *c =
        s && (s->currency.code[0] || s->currency.digits >= 0) ? &s->currency : &cfg->currency;
    *code = c->code[0] ? c->code : cfg->currency.code;
    *digits = c->digits >= 0 ? c->digits : fw_currency_digits(*code);
    if (*digits < 0) /* a store overriding digits only, of a chain currency with its own */
        *digits = cfg->currency.digits >= 0 ? cfg->currency.digits : 2;
}

const char *config_store_name(const struct config *cfg, const char *store)
{
    const struct config_store *s = store ? config_find_store(cfg, store) : NULL;
    return s ? s->name : "";
}

const struct config_key *config_find_key(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (!strcmp(cfg->keys[i].name, name))
            return &cfg->keys[i];
    return NULL;
}

const struct config_key *config_find_key_pub(const struct config *cfg, const uint8_t pub[32])
{
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (!memcmp(cfg->keys[i].pub, pub, 32))
            return &cfg->keys[i];
    return NULL;
}

bool config_key_has_region(const struct config_key *k, const char *region)
{
    for (int i = 0; i < k->nregions; i++)
        if (!strcmp(k->regions[i], region))
            return true;
    return false;
}

const char *config_role_name(enum key_role r)
{
    return r == KEY_ROLE_OPS ? "ops" : r == KEY_ROLE_SUPERVISOR ? "supervisor" : "terminal";
}

const char *config_store_region(const struct config *cfg, const char *store)
{
    const struct config_store *s = config_find_store(cfg, store);
    return s ? s->region : "default";
}

const struct config_terminal *config_find_terminal(const struct config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nterminals; i++)
        if (!strcmp(cfg->terminals[i].id, id))
            return &cfg->terminals[i];
    return NULL;
}

int64_t config_threshold(const struct config *cfg, const char *store, enum threshold t)
{
    const struct config_store *s = store ? config_find_store(cfg, store) : NULL;
    uint32_t bit = 1u << t;
    if (s && (s->th.set & bit))
        return s->th.v[t];
    const char *region = s ? s->region : "default";
    for (size_t i = 0; i < cfg->nregions; i++)
        if (!strcmp(cfg->regions[i].name, region) && (cfg->regions[i].th.set & bit))
            return cfg->regions[i].th.v[t];
    if (cfg->rules.set & bit)
        return cfg->rules.v[t];
    return threshold_specs[t].def;
}

void config_hours(const struct config *cfg, const char *store, int *open_min, int *close_min)
{
    const struct config_store *s = store ? config_find_store(cfg, store) : NULL;
    int h1 = 8, m1 = 0, h2 = 22, m2 = 0;
    if (s)
        sscanf(s->hours, "%d:%d-%d:%d", &h1, &m1, &h2, &m2);
    *open_min = h1 * 60 + m1;
    *close_min = h2 * 60 + m2;
}
