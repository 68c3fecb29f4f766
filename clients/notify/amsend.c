/* Alerts to Prometheus Alertmanager: see amsend.h. */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amsend.h"
#include "fwcommon.h"

#define BATCH_MAX 500        /* alerts per POST */
#define BACKOFF_MIN_MS 500   /* first retry after a failed POST */
#define BACKOFF_MAX_MS 30000 /* the cap */
#define NS_PER_MS 1000000ull

struct rec {
    char *id, *region;
    json_t *am;    /* the Alertmanager alert object */
    bool resolved; /* am has endsAt */
    bool seen;     /* in the snapshot being taken (amsend_mark/sweep) */
    uint32_t due;  /* bit i: URL i has yet to get this state */
};

struct am_url {
    char *url;
    char *shown; /* url without its password, for the log */
    uint64_t next_try_ns;
    long backoff_ms;
};

struct amsend {
    struct amsend_opts o;
    CURL *curl;
    struct am_url urls[AMSEND_MAX_URLS];
    uint32_t all; /* every URL's bit */
    struct rec *recs;
    size_t n, cap;
    uint64_t next_resend_ns;
    struct amsend_stats st;
};

/* Unix ms as RFC 3339 in UTC with milliseconds, as Alertmanager takes it. */
static void rfc3339(char *buf, size_t len, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* URL as the log may show it: Alertmanager's basic-auth password (https://user:pw@host) is
 * given in the URL, so libcurl's URL parser takes it out; a URL it cannot parse is shown as it
 * was given (libcurl will refuse it the same way when posting). NULL only when out of memory. */
static char *url_shown(const char *url)
{
    CURLU *h = curl_url();
    char *got = NULL, *out = NULL;
    if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_PASSWORD, &got, 0) == CURLUE_OK) {
        curl_free(got);
        got = NULL;
        if (curl_url_set(h, CURLUPART_PASSWORD, "***", 0) == CURLUE_OK &&
            curl_url_get(h, CURLUPART_URL, &got, 0) == CURLUE_OK)
            out = strdup(got);
        curl_free(got);
    } else {
        out = strdup(url);
    }
    curl_url_cleanup(h);
    return out;
}

int amsend_new(struct amsend **out, const struct amsend_opts *o)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "floorwalker notify: libcurl could not start\n");
        return -1;
    }
    struct amsend *s = calloc(1, sizeof *s);
    if (!s || !(s->curl = curl_easy_init()))
        goto fail;
    s->o = *o;
    for (int i = 0; i < o->n_urls; i++) {
        const char *u = o->urls[i];
        size_t n = strlen(u);
        while (n && u[n - 1] == '/')
            n--;
        const char *path = "/api/v2/alerts";
        bool has = n >= strlen(path) && !strncmp(u + n - strlen(path), path, strlen(path));
        size_t len = n + strlen(path) + 1;
        if (!(s->urls[i].url = malloc(len)))
            goto fail;
        snprintf(s->urls[i].url, len, "%.*s%s", (int)n, u, has ? "" : path);
        if (!(s->urls[i].shown = url_shown(s->urls[i].url)))
            goto fail;
        s->all |= 1u << i;
    }
    s->next_resend_ns = fw_mono_ns() + (uint64_t)o->resend_seconds * 1000 * NS_PER_MS;
    *out = s;
    return 0;
fail:
    fprintf(stderr, "floorwalker notify: out of memory starting libcurl\n");
    amsend_destroy(&s);
    return -1;
}

void amsend_destroy(struct amsend **p)
{
    struct amsend *s = *p;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->recs[i].id);
        free(s->recs[i].region);
        json_decref(s->recs[i].am);
    }
    free(s->recs);
    for (int i = 0; i < AMSEND_MAX_URLS; i++) {
        free(s->urls[i].url);
        free(s->urls[i].shown);
    }
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s);
    curl_global_cleanup();
    *p = NULL;
}

/* Linear: the records are the daemon's active alerts plus undelivered resolutions (thousands
 * at most); a lookup is a few microseconds. */
static struct rec *rec_find(struct amsend *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->recs[i].id, id))
            return &s->recs[i];
    return NULL;
}

static struct rec *rec_add(struct amsend *s, const char *id, const char *region)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct rec *r = realloc(s->recs, cap * sizeof *r);
        if (!r)
            return NULL;
        s->recs = r;
        s->cap = cap;
    }
    struct rec *r = &s->recs[s->n];
    memset(r, 0, sizeof *r);
    r->id = strdup(id);
    r->region = strdup(region);
    if (!r->id || !r->region) {
        free(r->id);
        free(r->region);
        return NULL;
    }
    s->n++;
    return r;
}

static const char *severity_label(int sev)
{
    switch (sev) {
    case FLOORWALKER__ALERT__SEVERITY__CRITICAL:
        return "critical";
    case FLOORWALKER__ALERT__SEVERITY__WARNING:
        return "warning";
    default:
        return "info";
    }
}

/* The Alertmanager alert for a (labels and annotations as docs/ALERTS.md and issue 16 name
 * them). */
static json_t *am_alert(const struct amsend *s, const Floorwalker__Alert *a, const char *store_name,
                        bool resolved)
{
    char num[32], ts[40];
    json_t *labels =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "alertname", a->rule, "store", a->store_id,
                  "store_name", store_name ? store_name : a->store_id, "region", a->region,
                  "severity", severity_label(a->severity), "subject", a->subject);
    json_t *ann = json_object();
    json_object_set_new(ann, "summary", json_string(a->message));
    snprintf(num, sizeof num, "%" PRId64, a->value);
    json_object_set_new(ann, "value", json_string(num));
    snprintf(num, sizeof num, "%" PRId64, a->threshold);
    json_object_set_new(ann, "threshold", json_string(num));
    json_object_set_new(ann, "alert_id", json_string(a->alert_id));
    json_t *o = json_object();
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "annotations", ann);
    int64_t start = a->first_fired_ms ? a->first_fired_ms : a->updated_ms;
    rfc3339(ts, sizeof ts, start);
    json_object_set_new(o, "startsAt", json_string(ts));
    if (resolved) {
        int64_t end = a->updated_ms > start ? a->updated_ms : start + 1;
        rfc3339(ts, sizeof ts, end);
        json_object_set_new(o, "endsAt", json_string(ts));
    }
    if (s->o.console_url) {
        char *esc = curl_easy_escape(s->curl, a->alert_id, 0);
        if (esc) {
            size_t n = strlen(s->o.console_url);
            bool slash = n && s->o.console_url[n - 1] == '/';
            char *u = NULL;
            if (asprintf(&u, "%s%salerts/%s", s->o.console_url, slash ? "" : "/", esc) >= 0) {
                json_object_set_new(o, "generatorURL", json_string(u));
                free(u);
            }
            curl_free(esc);
        }
    }
    if (!labels || json_object_size(labels) != 6) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static size_t queued(const struct amsend *s)
{
    size_t q = 0;
    for (size_t i = 0; i < s->n; i++)
        q += s->recs[i].due != 0;
    return q;
}

void amsend_update(struct amsend *s, const Floorwalker__Alert *a, const char *store_name)
{
    bool resolved = a->state == FLOORWALKER__ALERT__STATE__RESOLVED;
    struct rec *r = rec_find(s, a->alert_id);
    if (!r && !(r = rec_add(s, a->alert_id, a->region))) {
        fprintf(stderr, "floorwalker notify: out of memory: alert %s not forwarded\n", a->alert_id);
        return;
    }
    r->seen = true;
    json_t *am = am_alert(s, a, store_name, resolved);
    if (!am) {
        fprintf(stderr, "floorwalker notify: alert %s has text that is not UTF-8; skipped\n",
                a->alert_id);
        return;
    }
    json_decref(r->am);
    r->am = am;
    r->resolved = resolved;
    /* A RESOLVED always goes; a FIRING change waits for the next resend when the queue is full. */
    if (resolved || r->due || queued(s) < s->o.queue_max)
        r->due = s->all;
    else
        s->st.deferred++;
}

void amsend_mark(struct amsend *s, const char *region)
{
    for (size_t i = 0; i < s->n; i++)
        if (!region || !strcmp(s->recs[i].region, region))
            s->recs[i].seen = false;
}

void amsend_sweep(struct amsend *s, const char *region, int64_t now_ms)
{
    char ts[40];
    rfc3339(ts, sizeof ts, now_ms);
    for (size_t i = 0; i < s->n; i++) {
        struct rec *r = &s->recs[i];
        if (r->resolved || r->seen || !r->am || (region && strcmp(r->region, region)))
            continue;
        json_object_set_new(r->am, "endsAt", json_string(ts));
        r->resolved = true;
        r->due = s->all;
    }
}

static size_t discard_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* One POST of body to URL i; true on a 2xx. */
static bool post(struct amsend *s, int i, const char *body)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_URL, s->urls[i].url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, s->o.http_timeout_ms);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, s->o.http_timeout_ms);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, discard_body);
    CURLcode rc = curl_easy_perform(s->curl);
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    if (rc == CURLE_OK && code >= 200 && code < 300)
        return true;
    if (s->urls[i].backoff_ms == 0) /* say it once per outage, not per retry */
        fprintf(stderr, "floorwalker notify: %s: %s; retrying with backoff\n", s->urls[i].shown,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP error");
    if (rc == CURLE_OK && code >= 400 && code < 500 && s->urls[i].backoff_ms == 0)
        fprintf(stderr, "floorwalker notify: %s answered HTTP %ld\n", s->urls[i].shown, code);
    return false;
}

/* Posts URL i's due records, BATCH_MAX at a time, until none is left or a POST fails. */
static void run_url(struct amsend *s, int i, uint64_t now_ns)
{
    uint32_t bit = 1u << i;
    size_t from = 0;
    for (;;) {
        json_t *arr = json_array();
        size_t idx[BATCH_MAX], k = 0;
        for (; from < s->n && k < BATCH_MAX; from++)
            if ((s->recs[from].due & bit) && s->recs[from].am) {
                json_array_append(arr, s->recs[from].am);
                idx[k++] = from;
            }
        if (!k) {
            json_decref(arr);
            return;
        }
        char *body = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        bool ok = body && post(s, i, body);
        free(body);
        if (!ok) {
            s->st.posts_failed++;
            long b = s->urls[i].backoff_ms ? s->urls[i].backoff_ms * 2 : BACKOFF_MIN_MS;
            /* Capped at half of resend_seconds too: an Alertmanager that comes back has every
             * FIRING alert again within resend_seconds. */
            long cap = s->o.resend_seconds * 500L < BACKOFF_MAX_MS ? s->o.resend_seconds * 500L
                                                                   : BACKOFF_MAX_MS;
            s->urls[i].backoff_ms = b > cap ? cap : b;
            s->urls[i].next_try_ns = now_ns + (uint64_t)s->urls[i].backoff_ms * NS_PER_MS;
            return;
        }
        if (s->urls[i].backoff_ms)
            fprintf(stderr, "floorwalker notify: %s takes alerts again\n", s->urls[i].shown);
        s->urls[i].backoff_ms = 0;
        s->st.posts_ok++;
        s->st.alerts_posted += k;
        s->st.last_success_ms = wall_ms();
        for (size_t j = 0; j < k; j++)
            s->recs[idx[j]].due &= ~bit;
    }
}

/* Drops the resolved records every URL has taken. */
static void compact(struct amsend *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct rec *r = &s->recs[i];
        if (r->resolved && !r->due) {
            free(r->id);
            free(r->region);
            json_decref(r->am);
            continue;
        }
        s->recs[w++] = *r;
    }
    s->n = w;
}

long amsend_run(struct amsend *s, uint64_t now_ns)
{
    if (now_ns >= s->next_resend_ns) {
        for (size_t i = 0; i < s->n; i++)
            if (!s->recs[i].resolved)
                s->recs[i].due = s->all;
        s->next_resend_ns = now_ns + (uint64_t)s->o.resend_seconds * 1000 * NS_PER_MS;
    }
    for (int i = 0; i < s->o.n_urls; i++)
        if (now_ns >= s->urls[i].next_try_ns)
            run_url(s, i, now_ns);
    compact(s);
    uint64_t next = s->next_resend_ns;
    for (int i = 0; i < s->o.n_urls; i++)
        for (size_t j = 0; j < s->n; j++)
            if (s->recs[j].due & (1u << i)) {
                if (s->urls[i].next_try_ns < next)
                    next = s->urls[i].next_try_ns;
                break;
            }
    uint64_t now = fw_mono_ns();
    long ms = next > now ? (long)((next - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
    return ms > 1000 ? 1000 : ms;
}

void amsend_get_stats(const struct amsend *s, struct amsend_stats *st)
{
    *st = s->st;
    st->queued = st->firing = st->resolved_queued = 0;
    for (size_t i = 0; i < s->n; i++) {
        st->queued += s->recs[i].due != 0;
        st->firing += !s->recs[i].resolved;
        st->resolved_queued += s->recs[i].resolved && s->recs[i].due;
    }
}
