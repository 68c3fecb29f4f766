#include "alerts.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "grow.h"
#include "htab.h"
#include "log.h"
#include "tz.h"

#define SEQ_KEY_PREFIX "A" /* meta: "A" + region -> last pub_seq of that region */
/* alerts db: "\x01" + alert_id, empty: its stored update is not published yet (ids never
 * start with \x01, and these keys sort before every alert). */
#define UNPUB_PREFIX '\x01'

/* An alert as kept in memory: the message with its own strings, and the day it judges. */
struct alert_rec {
    Floorwalker__Alert m;
    int32_t day;
    bool unstored;       /* a firing alert's value changed since it was last stored */
    bool unpublished;    /* ... since it was last published */
    bool sev_changed;    /* ... and its severity with it: publish at once */
    alert_msg_fn msg_fn; /* not NULL: m.message is stale, say it again with msg_fn (fresh_msg) */
    int64_t last_pub_ms; /* when it was last published FIRING */
    bool queued;         /* in alerts.updated */
};

/*
 * A change of an alert, for the next flush to store and publish: the alert as it stood, packed
 * once, in one allocation with the strings the flush needs. Its pub_seq is left out of the
 * bytes: the flush numbers the change and appends the field (protobuf parsers take fields in
 * any order), so the stored and the published message are these bytes and that suffix. A live
 * record is never freed while the module lives (a RESOLVED one that fires again is filled in
 * anew: fire), so live stays good.
 */
struct change {
    struct alert_rec *live; /* the live record it was taken from */
    uint64_t pub_seq;       /* the live record's when taken; the flush's number if published */
    bool publish;           /* false: store only */
    bool firing;
    size_t len;  /* packed bytes, before the suffix */
    size_t slen; /* the pub_seq suffix, once numbered */
    const char *id, *region, *rule, *topic;
    uint8_t data[]; /* len bytes, room for the suffix, then id, region, rule, topic */
};

#define SEQ_SUFFIX_MAX 11 /* the pub_seq field: a tag byte and a varint of up to 10 */

struct alerts {
    struct store *st;
    void *pub;
    MDB_dbi db;
    struct htab *active;  /* alert_id -> struct alert_rec */
    struct htab *seqs;    /* region -> uint64_t * (last pub_seq) */
    struct htab *fired;   /* rule -> uint64_t * (FIRING published since start) */
    struct htab *nactive; /* rule -> uint64_t * (records FIRING now) */
    /* Rule names come as string literals: a small cache from the pointer to its count. */
    struct {
        const char *rule;
        uint64_t *n;
    } pcache[64];
    struct change **changes; /* in order, to store and publish at the next flush */
    size_t nchanges, changes_cap;
    /* The flush in flight (alerts_flush_begin .. _end): its changes, numbered and recorded,
     * wait for their commit before they are published; before[] undoes the numbering. */
    struct {
        bool on;
        struct change **recs;
        uint64_t *before;
        size_t n, cap, recs_cap; /* cap: of before */
        /* Committed, being published a slice at a time (alerts_flush_send): recs[off..n). A
         * flush asked for meanwhile (asked) is asked for again once they are out, so the
         * messages keep their pub_seq order. */
        bool sending, asked;
        size_t off;
    } fl;
    void (*flusher)(void *arg); /* asks for a flush job (the ingest's writer); NULL: at once */
    void *flusher_arg;
    int64_t clock_offset;
    int64_t held_ms;       /* not 0: alerts_now answers this (alerts_hold_clock) */
    int64_t update_min_ms; /* [alerts] update_min_seconds */
    /* The firing alerts that may be unstored or unpublished, for the next flush to look at
     * (not every active alert: with thousands firing, most are unchanged); rescan: one could
     * not be queued (out of memory), look at them all. */
    struct alert_rec **updated;
    size_t nupdated, updated_cap;
    bool rescan;
    /* A firing alert's new figures are stored when they are published (at most every
     * update_min_ms) and, those not published yet, with the next rollup checkpoint's flush
     * (store_all): what a crash loses of them, the replay after that checkpoint says again.
     * Stored at every flush, the stock alerts' figures (thousands, changing with each sale)
     * were most of the flush's work. */
    bool store_all;
    /* Firing alerts whose figures are unstored; updated[ahead_off..] are not yet looked at
     * by alerts_store_ahead. */
    size_t nunstored, ahead_off;
    uint64_t published;
    uint8_t seq_tag; /* Alert.pub_seq's field tag (a varint), from its descriptor */
    /* Sends instead of zmq_send on pub when set (curve mode: auth_publish). */
    bool (*send)(void *arg, const char *topic, const void *data, size_t len);
    void *send_arg;
};

int64_t alerts_now(const struct alerts *a)
{
    if (a && a->held_ms)
        return a->held_ms;
    return fw_now_ms() + (a ? a->clock_offset : 0);
}

void alerts_hold_clock(struct alerts *a)
{
    if (a) {
        a->held_ms = 0;
        a->held_ms = alerts_now(a);
    }
}

void alerts_hold_clock_at(struct alerts *a, int64_t now_ms)
{
    if (a)
        a->held_ms = now_ms;
}

void alerts_release_clock(struct alerts *a)
{
    if (a)
        a->held_ms = 0;
}

void alerts_set_clock(struct alerts *a, int64_t now_ms)
{
    a->clock_offset = now_ms - fw_now_ms();
    a->held_ms = 0;
}

void alerts_set_update_min(struct alerts *a, int64_t seconds)
{
    if (a)
        a->update_min_ms = seconds * 1000;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static void rec_free_strings(struct alert_rec *r)
{
    free(r->m.alert_id);
    free(r->m.rule);
    free(r->m.store_id);
    free(r->m.region);
    free(r->m.subject);
    free(r->m.message);
    free(r->m.business_day);
    free(r->m.resolution);
}

static void rec_free(struct alert_rec *r)
{
    if (!r)
        return;
    rec_free_strings(r);
    free(r);
}

static void rec_free_v(void *p)
{
    rec_free(p);
}

static struct alert_rec *rec_copy(const struct alert_rec *src)
{
    struct alert_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->m = src->m;
    r->day = src->day;
    r->last_pub_ms = src->last_pub_ms;
    r->m.alert_id = dup_or_empty(src->m.alert_id);
    r->m.rule = dup_or_empty(src->m.rule);
    r->m.store_id = dup_or_empty(src->m.store_id);
    r->m.region = dup_or_empty(src->m.region);
    r->m.subject = dup_or_empty(src->m.subject);
    r->m.message = dup_or_empty(src->m.message);
    r->m.business_day = dup_or_empty(src->m.business_day);
    r->m.resolution = dup_or_empty(src->m.resolution);
    if (!r->m.alert_id || !r->m.rule || !r->m.store_id || !r->m.region || !r->m.subject ||
        !r->m.message || !r->m.business_day || !r->m.resolution) {
        rec_free(r);
        return NULL;
    }
    return r;
}

/* have if it says want already, else a copy of want (NULL: out of memory). */
static char *same_or_dup(char *have, const char *want)
{
    return !strcmp(have, want ? want : "") ? have : dup_or_empty(want);
}

/* r, a RESOLVED record, fired again as src says: the strings it has already are kept (a stock
 * alert fires and resolves again every few sales; a new record, eight copies and nine frees
 * each time were ~4% of the loop). A queued record stays queued (it leaves the queue if it is
 * not unstored). False, r unchanged, when out of memory. */
static bool rec_refill(struct alert_rec *r, const struct alert_rec *src)
{
    struct alert_rec n = *src;
    char **to[] = {&n.m.alert_id, &n.m.rule,    &n.m.store_id,     &n.m.region,
                   &n.m.subject,  &n.m.message, &n.m.business_day, &n.m.resolution};
    char *const have[] = {r->m.alert_id, r->m.rule,    r->m.store_id,     r->m.region,
                          r->m.subject,  r->m.message, r->m.business_day, r->m.resolution};
    bool ok = true;
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++)
        ok &= (*to[i] = same_or_dup(have[i], *to[i])) != NULL;
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++)
        if (*to[i] != have[i])
            free(ok ? have[i] : *to[i]);
    if (!ok)
        return false;
    n.queued = r->queued;
    *r = n;
    return true;
}

/* The message of r's current figures, said again if they changed since (alerts_raise_fn). */
/* r's message becomes msg; false (r unchanged) when out of memory. */
static bool set_message(struct alert_rec *r, const char *msg)
{
    char *m = strdup(msg);
    if (!m)
        return false;
    free(r->m.message);
    r->m.message = m;
    return true;
}

static void fresh_msg(struct alert_rec *r)
{
    if (!r->msg_fn)
        return;
    char msg[512];
    r->msg_fn(msg, sizeof msg, &r->m);
    if (!set_message(r, msg)) {
        log_err("out of memory: alert %s keeps its last message", r->m.alert_id);
        return;
    }
    r->msg_fn = NULL;
}

/* r as it stands, packed without its pub_seq; NULL when out of memory. */
static struct change *change_new(struct alert_rec *r, bool publish)
{
    Floorwalker__Alert m = r->m;
    m.pub_seq = 0; /* appended by the flush */
    char topic[300];
    int tl = snprintf(topic, sizeof topic, "alert/%s/%s/%s", m.region, m.store_id, m.rule);
    size_t len = floorwalker__alert__get_packed_size(&m);
    size_t il = strlen(m.alert_id) + 1, rl = strlen(m.region) + 1, ul = strlen(m.rule) + 1;
    size_t tsz = (size_t)(tl < 0 ? 0 : tl < (int)sizeof topic ? tl : (int)sizeof topic - 1) + 1;
    struct change *c = malloc(sizeof *c + len + SEQ_SUFFIX_MAX + il + rl + ul + tsz);
    if (!c)
        return NULL;
    *c = (struct change){.live = r,
                         .pub_seq = r->m.pub_seq,
                         .publish = publish,
                         .firing = m.state == FLOORWALKER__ALERT__STATE__FIRING,
                         .len = len};
    floorwalker__alert__pack(&m, c->data);
    char *str = (char *)c->data + len + SEQ_SUFFIX_MAX;
    c->id = memcpy(str, m.alert_id, il);
    c->region = memcpy(str += il, m.region, rl);
    c->rule = memcpy(str += rl, m.rule, ul);
    c->topic = memcpy(str += ul, topic, tsz);
    str[tsz - 1] = '\0';
    return c;
}

/* The change's pub_seq field after its bytes (none for 0, as a packed message has it). */
static void change_number(const struct alerts *a, struct change *c, uint64_t seq)
{
    c->pub_seq = seq;
    c->slen = 0;
    if (!seq)
        return;
    uint8_t *o = c->data + c->len;
    o[c->slen++] = a->seq_tag;
    for (; seq >= 0x80; seq >>= 7)
        o[c->slen++] = (uint8_t)(seq | 0x80);
    o[c->slen++] = (uint8_t)seq;
}

/* Queues r as it stands for the next flush: stored, and published unless publish is false. */
static void change_as(struct alerts *a, struct alert_rec *r, bool publish)
{
    fresh_msg(r);
    struct change **v =
        grow_array(a->changes, &a->changes_cap, a->nchanges + 1, sizeof *a->changes);
    struct change *c = v ? change_new(r, publish) : NULL;
    if (v)
        a->changes = v;
    if (!c) {
        log_err("out of memory: alert %s not published", r->m.alert_id);
        return;
    }
    a->changes[a->nchanges++] = c;
}

static void change(struct alerts *a, struct alert_rec *r)
{
    change_as(a, r, true);
}

static void set_unstored(struct alerts *a, struct alert_rec *r, bool unstored)
{
    if (r->unstored != unstored)
        a->nunstored += unstored ? 1 : (size_t)-1;
    r->unstored = unstored;
}

/* r's figures go to LMDB with the next flush without being published. */
static void store_quietly(struct alerts *a, struct alert_rec *r)
{
    change_as(a, r, false);
    set_unstored(a, r, false);
}

/* Firing alert r may be unstored or unpublished: the next flush looks at it. */
static void queue_update(struct alerts *a, struct alert_rec *r)
{
    if (r->queued)
        return;
    if (a->nupdated == a->updated_cap) {
        size_t ncap = a->updated_cap ? a->updated_cap * 2 : 64;
        struct alert_rec **n = realloc(a->updated, ncap * sizeof *n);
        if (!n) {
            a->rescan = true;
            return;
        }
        a->updated = n;
        a->updated_cap = ncap;
    }
    a->updated[a->nupdated++] = r;
    r->queued = true;
}

static bool is_active(const struct alert_rec *r)
{
    return r && r->m.state == FLOORWALKER__ALERT__STATE__FIRING;
}

/* How many alerts of rule are FIRING: lets alerts_clear, called for nearly every event,
 * return at once when none is (no id to build, no lookup). NULL only when out of memory. */
static uint64_t *active_count(struct alerts *a, const char *rule)
{
    size_t slot = ((uintptr_t)rule >> 3) % (sizeof a->pcache / sizeof a->pcache[0]);
    if (a->pcache[slot].rule == rule)
        return a->pcache[slot].n;
    uint64_t *n = htab_get(a->nactive, rule);
    if (!n) {
        n = calloc(1, sizeof *n);
        if (!n || htab_put(a->nactive, rule, n) != 0) {
            free(n);
            return NULL;
        }
    }
    a->pcache[slot].rule = rule;
    a->pcache[slot].n = n;
    return n;
}

static void count_active(struct alerts *a, const char *rule, int delta)
{
    uint64_t *n = active_count(a, rule);
    if (n)
        *n += (uint64_t)(int64_t)delta;
}

/* "rule/store/subject", cut to fit; on the per-event path, so no snprintf. */
static void make_id(char *out, size_t len, const char *rule, const char *store, const char *subject)
{
    const char *parts[3] = {rule, store, subject};
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        if (i && n + 1 < len)
            out[n++] = '/';
        size_t l = strlen(parts[i]);
        if (l > len - 1 - n)
            l = len - 1 - n;
        memcpy(out + n, parts[i], l);
        n += l;
    }
    out[n] = '\0';
}

/* A firing alert whose figures changed: take them, and the message that says them (msg), or
 * the function that will (fn). */
static void update(struct alerts *a, struct alert_rec *r, enum rule_severity sev, int64_t value,
                   int64_t threshold, const char *msg, alert_msg_fn fn)
{
    if (msg && !set_message(r, msg)) {
        log_err("out of memory: alert %s not updated", r->m.alert_id);
        return;
    }
    r->msg_fn = fn;
    if ((enum rule_severity)r->m.severity != sev)
        r->sev_changed = true;
    r->m.severity = (Floorwalker__Alert__Severity)sev;
    r->m.value = value;
    r->m.threshold = threshold;
    r->m.updated_ms = alerts_now(a);
    set_unstored(a, r, true);
    r->unpublished = true;
    queue_update(a, r);
}

/* The record of rule/store/subject (NULL: none yet): the caller's hint when it holds one, and
 * id is left "" then; else found by its id (built in id), and noted in the hint. */
static struct alert_rec *lookup(struct alerts *a, alert_hint *hint, const char *rule,
                                const char *store, const char *subject, char *id, size_t idlen)
{
    id[0] = '\0';
    if (hint && *hint)
        return *hint;
    make_id(id, idlen, rule, store, subject);
    struct alert_rec *r = htab_get(a->active, id);
    if (hint)
        *hint = r;
    return r;
}

/* Whether r is firing with these figures already. */
static bool unchanged(const struct alert_rec *r, enum rule_severity sev, int64_t value,
                      int64_t threshold)
{
    return is_active(r) && r->m.value == value && r->m.threshold == threshold &&
           (enum rule_severity)r->m.severity == sev;
}

static struct alert_rec *fire(struct alerts *a, const char *rule, const char *id,
                              struct alert_rec *old, const char *store, const char *region,
                              const char *subject, enum rule_severity sev, int64_t value,
                              int64_t threshold, int32_t day, const char *msg);

void alerts_raise(struct alerts *a, enum rule_id rid, const char *store, const char *region,
                  const char *subject, enum rule_severity sev, int64_t value, int64_t threshold,
                  int32_t day, const char *fmt, ...)
{
    if (!a)
        return;
    const char *rule = rule_name(rid);
    char id[256];
    struct alert_rec *old = lookup(a, NULL, rule, store, subject, id, sizeof id);
    if (unchanged(old, sev, value, threshold))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (is_active(old))
        update(a, old, sev, value, threshold, msg, NULL);
    else
        fire(a, rule, id, old, store, region, subject, sev, value, threshold, day, msg);
}

void alerts_raise_fn(struct alerts *a, enum rule_id rid, const char *store, const char *region,
                     const char *subject, enum rule_severity sev, int64_t value, int64_t threshold,
                     int32_t day, alert_msg_fn fn)
{
    alerts_raise_fn_at(a, NULL, rid, store, region, subject, sev, value, threshold, day, fn);
}

void alerts_raise_fn_at(struct alerts *a, alert_hint *hint, enum rule_id rid, const char *store,
                        const char *region, const char *subject, enum rule_severity sev,
                        int64_t value, int64_t threshold, int32_t day, alert_msg_fn fn)
{
    if (!a)
        return;
    const char *rule = rule_name(rid);
    char id[256];
    struct alert_rec *old = lookup(a, hint, rule, store, subject, id, sizeof id);
    if (unchanged(old, sev, value, threshold))
        return;
    if (is_active(old)) {
        update(a, old, sev, value, threshold, NULL, fn); /* said when it is read */
        return;
    }
    /* A new alert is published at the next flush: say it now. */
    char msg[512];
    Floorwalker__Alert m = FLOORWALKER__ALERT__INIT;
    m.store_id = (char *)store;
    m.region = (char *)region;
    m.subject = (char *)subject;
    m.value = value;
    m.threshold = threshold;
    fn(msg, sizeof msg, &m);
    struct alert_rec *r =
        fire(a, rule, id, old, store, region, subject, sev, value, threshold, day, msg);
    if (hint)
        *hint = r;
}

/* A new FIRING alert (old: a RESOLVED record of the same id, filled in anew, or NULL: then id
 * is its key). Returns its record, NULL when out of memory. */
static struct alert_rec *fire(struct alerts *a, const char *rule, const char *id,
                              struct alert_rec *old, const char *store, const char *region,
                              const char *subject, enum rule_severity sev, int64_t value,
                              int64_t threshold, int32_t day, const char *msg)
{
    struct alert_rec tmp = {.m = FLOORWALKER__ALERT__INIT, .day = day};
    char dayb[11] = "";
    if (day >= 0)
        tz_format_day(day, dayb);
    int64_t now = alerts_now(a);
    tmp.m.alert_id = old ? old->m.alert_id : (char *)id; /* copied before old is emptied */
    tmp.m.rule = (char *)rule;
    tmp.m.severity = (Floorwalker__Alert__Severity)sev;
    tmp.m.state = FLOORWALKER__ALERT__STATE__FIRING;
    tmp.m.store_id = (char *)store;
    tmp.m.region = (char *)region;
    tmp.m.subject = (char *)subject;
    tmp.m.value = value;
    tmp.m.threshold = threshold;
    tmp.m.message = (char *)msg;
    tmp.m.first_fired_ms = now;
    tmp.m.updated_ms = now;
    tmp.m.business_day = dayb;
    /* A RESOLVED record of the same id is filled in anew, so changes' live holds. */
    struct alert_rec *r = old ? (rec_refill(old, &tmp) ? old : NULL) : rec_copy(&tmp);
    if (!r || (!old && htab_put(a->active, id, r) != 0)) {
        rec_free(r);
        log_err("out of memory: alert %s lost", tmp.m.alert_id);
        return NULL;
    }
    r->last_pub_ms = now;
    count_active(a, r->m.rule, 1);
    change(a, r);
    return r;
}

/* Removes an active alert, publishing RESOLVED with why (the resolution) and a message that
 * says it, followed by what the alert said last. */
static void resolve(struct alerts *a, struct alert_rec *r, const char *why)
{
    count_active(a, r->m.rule, -1);
    r->m.state = FLOORWALKER__ALERT__STATE__RESOLVED;
    r->m.updated_ms = alerts_now(a);
    set_unstored(a, r, false);
    r->unpublished = r->sev_changed = false;
    if (!why || !why[0])
        why = "condition cleared";
    fresh_msg(r);
    char msg[700];
    snprintf(msg, sizeof msg, "resolved (%s); it said: %s", why, r->m.message);
    char *m = strdup(msg), *w = strdup(why);
    if (m && w) {
        free(r->m.message);
        r->m.message = m;
        free(r->m.resolution);
        r->m.resolution = w;
    } else {
        free(m);
        free(w);
    }
    change(a, r);
    /* htab has no delete: keep the record but mark it gone (RESOLVED). */
}

void alerts_clear(struct alerts *a, enum rule_id rid, const char *store, const char *subject,
                  const char *why)
{
    alerts_clear_at(a, NULL, rid, store, subject, why);
}

void alerts_clear_at(struct alerts *a, alert_hint *hint, enum rule_id rid, const char *store,
                     const char *subject, const char *why)
{
    if (!a)
        return;
    const char *rule = rule_name(rid);
    uint64_t *n = active_count(a, rule);
    if (n && !*n)
        return; /* none of this rule is firing */
    char id[256];
    struct alert_rec *r = lookup(a, hint, rule, store, subject, id, sizeof id);
    if (is_active(r))
        resolve(a, r, why);
}

bool alerts_active(struct alerts *a, enum rule_id rule, const char *store, const char *subject)
{
    if (!a)
        return false;
    char id[256];
    make_id(id, sizeof id, rule_name(rule), store, subject);
    return is_active(htab_get(a->active, id));
}

struct end_days {
    struct alerts *a;
    const char *store;
    int32_t today;
};

static void end_day_one(const char *key, void *val, void *arg)
{
    struct end_days *e = arg;
    struct alert_rec *r = val;
    /* A rule judged on a closed day (shrink_high) carries its day but does not end with it. */
    if (is_active(r) && r->day >= 0 && r->day < e->today && !strcmp(r->m.store_id, e->store)) {
        enum rule_id rid = rule_by_name(r->m.rule);
        if (rid == RULE_N || rule_catalogue[rid].per_day)
            resolve(e->a, r, "day ended");
    }
}

void alerts_end_days(struct alerts *a, const char *store, int32_t today)
{
    if (!a)
        return;
    struct end_days e = {a, store, today};
    htab_foreach(a->active, end_day_one, &e);
}

static uint64_t *seq_of(struct alerts *a, const char *region)
{
    uint64_t *s = htab_get(a->seqs, region);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s || htab_put(a->seqs, region, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* A firing alert whose figures changed: published (and stored) when its last FIRING is
 * update_min_ms old or its severity changed; else stored only when this flush goes with a
 * checkpoint (store_all). Returns whether it waits for a later flush. */
static bool take_update(struct alerts *a, struct alert_rec *r, int64_t now)
{
    if (!is_active(r) || (!r->unstored && !r->unpublished))
        return false;
    bool due = r->unpublished && (r->sev_changed || now - r->last_pub_ms >= a->update_min_ms);
    if (due) {
        change_as(a, r, true);
        r->last_pub_ms = now;
        r->unpublished = r->sev_changed = false;
        set_unstored(a, r, false);
    } else if (r->unstored && a->store_all) {
        store_quietly(a, r);
    }
    return r->unpublished || r->unstored; /* look again at the next flush */
}

static void queue_all(const char *key, void *val, void *arg)
{
    struct alert_rec *r = val;
    if (is_active(r) && (r->unstored || r->unpublished))
        queue_update(arg, r);
}

/* The queued updates are taken; those not yet due stay queued. */
static void take_updates(struct alerts *a)
{
    if (a->rescan) {
        a->rescan = false;
        htab_foreach(a->active, queue_all, a);
    }
    int64_t now = alerts_now(a); /* once: thousands may be queued */
    size_t keep = 0;
    for (size_t i = 0; i < a->nupdated; i++) {
        struct alert_rec *r = a->updated[i];
        if (!r)
            continue;
        if (take_update(a, r, now))
            a->updated[keep++] = r;
        else
            r->queued = false;
    }
    a->nupdated = keep;
    a->ahead_off = 0;
    a->store_all = false;
}

void alerts_flush_with_checkpoint(struct alerts *a)
{
    if (a)
        a->store_all = true;
}

size_t alerts_unstored(const struct alerts *a)
{
    return a ? a->nunstored : 0;
}

#define AHEAD_CHUNK 32 /* alerts looked at between clock readings */

bool alerts_store_ahead(struct alerts *a, uint64_t until_ns)
{
    if (!a)
        return false;
    while (a->ahead_off < a->nupdated) {
        size_t end =
            a->ahead_off + AHEAD_CHUNK < a->nupdated ? a->ahead_off + AHEAD_CHUNK : a->nupdated;
        for (; a->ahead_off < end; a->ahead_off++) {
            struct alert_rec *r = a->updated[a->ahead_off];
            if (r && is_active(r) && r->unstored)
                store_quietly(a, r);
        }
        if (a->ahead_off < a->nupdated && fw_mono_ns() >= until_ns)
            return true;
    }
    return false;
}

/* Every published message goes out here: the alert lifecycle and the rollup reports alike. */
static bool pub_send(struct alerts *a, const char *topic, const void *data, size_t len)
{
    if (a->send)
        return a->send(a->send_arg, topic, data, len);
    return zmq_send(a->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
           zmq_send(a->pub, data, len, ZMQ_DONTWAIT) >= 0;
}

struct seq_put {
    struct store_txn *t;
    MDB_dbi meta;
};

static void put_seq(const char *region, void *val, void *arg)
{
    struct seq_put *sp = arg;
    char sk[FW_ID_MAX + 2];
    snprintf(sk, sizeof sk, SEQ_KEY_PREFIX "%s", region);
    uint8_t sv[8];
    be64_put(sv, *(uint64_t *)val);
    store_txn_put_raw(sp->t, sp->meta, sk, strlen(sk), sv, 8, 0);
}

/* Records one change: the alert's state (FIRING stored as its numbered bytes, RESOLVED
 * removed) and whether it is published. */
static void store_change(struct alerts *a, struct store_txn *t, const struct change *c)
{
    size_t idlen = strlen(c->id);
    if (c->firing)
        store_txn_put_raw(t, a->db, c->id, idlen, c->data, c->len + c->slen, 0);
    else
        store_txn_del_raw(t, a->db, c->id, idlen);
    char uk[300];
    size_t ul = strnlen(c->id, sizeof uk - 2);
    uk[0] = UNPUB_PREFIX;
    memcpy(uk + 1, c->id, ul);
    if (!c->publish)
        store_txn_put_raw(t, a->db, uk, ul + 1, "", 0, 0);
    else
        store_txn_del_raw(t, a->db, uk, ul + 1);
}

/* The loop's part of a flush, recorded into its write set: each region's last pub_seq, once
 * (not once per message: thousands of puts of a few keys). The changes themselves go in first,
 * from the writer thread (alerts_flush_fill). */
static fw_err store_seqs(struct alerts *a, struct store_txn *t)
{
    bool published = false;
    for (size_t i = 0; i < a->fl.n; i++)
        published |= a->fl.recs[i]->publish;
    if (published && !t->err) {
        struct seq_put sp = {t, store_db(a->st, STORE_META)};
        htab_foreach(a->seqs, put_seq, &sp);
    }
    return t->err;
}

fw_err alerts_flush_fill(struct alerts *a, struct store_txn *t)
{
    for (size_t i = 0; i < a->fl.n && !t->err; i++)
        store_change(a, t, a->fl.recs[i]);
    return t->err;
}

fw_err alerts_flush_begin(struct alerts *a, struct store_wset *w, bool *started)
{
    *started = false;
    if (!a || a->fl.on)
        return FW_OK;
    if (a->fl.sending) {
        a->fl.asked = true;
        return FW_OK;
    }
    take_updates(a);
    if (!a->nchanges)
        return FW_OK;
    if (!a->pub) { /* rebuild mode */
        for (size_t i = 0; i < a->nchanges; i++)
            free(a->changes[i]);
        a->nchanges = 0;
        return FW_OK;
    }
    if (a->nchanges > a->fl.cap) {
        uint64_t *b = realloc(a->fl.before, a->nchanges * sizeof *b);
        if (!b)
            return FW_ENOMEM;
        a->fl.before = b;
        a->fl.cap = a->nchanges;
    }
    /* The changes move to the flush; new ones gather for the next. */
    struct change **recs = a->fl.recs;
    a->fl.recs = a->changes;
    a->fl.n = a->nchanges;
    a->changes = recs;
    a->nchanges = 0;
    size_t cap = a->changes_cap;
    a->changes_cap = a->fl.recs_cap;
    a->fl.recs_cap = cap;
    /* Number the messages per region, then record the final state of each alert. */
    for (size_t i = 0; i < a->fl.n; i++) {
        struct change *c = a->fl.recs[i];
        uint64_t *s = c->publish ? seq_of(a, c->region) : NULL;
        a->fl.before[i] = s ? *s : 0;
        change_number(a, c, s ? ++*s : c->pub_seq);
        if (s && c->firing == is_active(c->live))
            c->live->m.pub_seq = *s; /* the snapshot shows the message it is current to */
    }
    a->fl.on = true;
    struct store_txn t;
    store_txn_begin_recording(a->st, &t, w);
    fw_err err = t.err ? t.err : store_seqs(a, &t);
    fw_err end = store_txn_commit(&t); /* ends the recording's read transaction */
    if (!err)
        err = end;
    if (err != FW_OK) {
        alerts_flush_end(a, err);
        return err;
    }
    *started = true;
    return FW_OK;
}

void alerts_flush_end(struct alerts *a, fw_err err)
{
    if (!a || !a->fl.on)
        return;
    a->fl.on = false;
    if (err != FW_OK) {
        /* Not stored: give the numbers back, and keep the changes, first, for the next flush. */
        log_err("storing %zu alert change(s) failed: %s; retrying later", a->fl.n,
                fw_strerror(err));
        for (size_t i = a->fl.n; i-- > 0;) {
            struct change *c = a->fl.recs[i];
            uint64_t *s = c->publish ? seq_of(a, c->region) : NULL;
            if (s)
                *s = a->fl.before[i]; /* numbered again by the next flush */
        }
        size_t need = a->nchanges + a->fl.n;
        if (need > a->changes_cap) {
            struct change **n = realloc(a->changes, need * sizeof *n);
            if (!n) {
                log_err("out of memory: %zu alert change(s) lost", a->fl.n);
                for (size_t i = 0; i < a->fl.n; i++)
                    free(a->fl.recs[i]);
                a->fl.n = 0;
                return;
            }
            a->changes = n;
            a->changes_cap = need;
        }
        memmove(a->changes + a->fl.n, a->changes, a->nchanges * sizeof *a->changes);
        memcpy(a->changes, a->fl.recs, a->fl.n * sizeof *a->changes);
        a->nchanges = need;
        a->fl.n = 0;
        return;
    }
    a->fl.sending = true;
    a->fl.off = 0;
}

/* One alert of the committed flush goes out on the PUB. */
static void send_one(struct alerts *a, const struct change *c)
{
    if (pub_send(a, c->topic, c->data, c->len + c->slen))
        a->published++;
    if (c->firing) {
        uint64_t *f = htab_get(a->fired, c->rule);
        if (!f && (f = calloc(1, sizeof *f)) && htab_put(a->fired, c->rule, f) != 0) {
            free(f);
            f = NULL;
        }
        if (f)
            (*f)++;
    }
    log_debug("alert %s %s", c->id, c->firing ? "FIRING" : "RESOLVED");
}

bool alerts_flush_sending(const struct alerts *a)
{
    return a && a->fl.sending;
}

#define SEND_CHUNK 32 /* messages published between clock readings */

bool alerts_flush_send(struct alerts *a, uint64_t until_ns)
{
    if (!a || !a->fl.sending)
        return false;
    while (a->fl.off < a->fl.n) {
        size_t end = a->fl.off + SEND_CHUNK < a->fl.n ? a->fl.off + SEND_CHUNK : a->fl.n;
        for (; a->fl.off < end; a->fl.off++) {
            struct change *c = a->fl.recs[a->fl.off];
            if (c->publish)
                send_one(a, c);
            free(c);
        }
        if (a->fl.off < a->fl.n && fw_mono_ns() >= until_ns)
            return true;
    }
    a->fl.n = a->fl.off = 0;
    a->fl.sending = false;
    if (a->fl.asked) {
        a->fl.asked = false;
        alerts_flush(a);
    }
    return false;
}

void alerts_set_flusher(struct alerts *a, void (*fn)(void *arg), void *arg)
{
    if (!a)
        return;
    a->flusher = fn;
    a->flusher_arg = arg;
}

struct flush_now {
    struct alerts *a;
    struct store_wset *w;
};

/* A flush in one transaction (store_write's fill): the changes, then what begin recorded. */
static fw_err flush_fill(struct store_txn *t, void *arg)
{
    struct flush_now *f = arg;
    fw_err err = alerts_flush_fill(f->a, t);
    return err ? err : store_wset_apply(t, f->w);
}

void alerts_flush(struct alerts *a)
{
    if (!a)
        return;
    if (a->flusher) {
        a->flusher(a->flusher_arg);
        return;
    }
    alerts_flush_send(a, UINT64_MAX); /* the last flush's messages go first */
    a->store_all = true; /* no checkpoints to wait for here: everything is stored now */
    struct store_wset w = {0};
    bool started;
    if (alerts_flush_begin(a, &w, &started) == FW_OK && started) {
        struct flush_now f = {a, &w};
        alerts_flush_end(a, store_write(a->st, flush_fill, NULL, &f, NULL));
        alerts_flush_send(a, UINT64_MAX);
    }
    store_wset_free(&w);
}

void alerts_set_sender(struct alerts *a,
                       bool (*fn)(void *arg, const char *topic, const void *data, size_t len),
                       void *arg)
{
    a->send = fn;
    a->send_arg = arg;
}

void alerts_publish(struct alerts *a, const char *topic, const void *data, size_t len)
{
    if (!a || !a->pub)
        return;
    if (!pub_send(a, topic, data, len))
        log_debug("report %s not published: %s", topic, zmq_strerror(zmq_errno()));
}

/* ---- snapshot and ack ----------------------------------------------------------------------- */

struct snap {
    const Floorwalker__Query *q;
    struct alert_rec **v;
    size_t n, cap;
};

static void snap_one(const char *key, void *val, void *arg)
{
    struct snap *s = arg;
    struct alert_rec *r = val;
    const Floorwalker__Query *q = s->q;
    if (!is_active(r))
        return;
    if ((q->region[0] && strcmp(q->region, r->m.region)) ||
        (q->store_id[0] && strcmp(q->store_id, r->m.store_id)) ||
        (q->rule && q->rule[0] && strcmp(q->rule, r->m.rule)))
        return;
    fresh_msg(r);
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        struct alert_rec **n = realloc(s->v, ncap * sizeof *n);
        if (!n)
            return;
        s->v = n;
        s->cap = ncap;
    }
    s->v[s->n++] = r;
}

static int cmp_rec(const void *x, const void *y)
{
    return strcmp((*(struct alert_rec *const *)x)->m.alert_id,
                  (*(struct alert_rec *const *)y)->m.alert_id);
}

struct seq_rows {
    struct result *res;
    struct rtable *t;
    const char *region;
};

static void seq_row(const char *key, void *val, void *arg)
{
    struct seq_rows *s = arg;
    if (s->region[0] && strcmp(s->region, key))
        return;
    res_row(s->res, s->t, "si", key, (int64_t) * (uint64_t *)val);
}

static const char *const sev_name[] = {"", "INFO", "WARNING", "CRITICAL"};

void alerts_snapshot(struct alerts *a, const Floorwalker__Query *q, struct result *res)
{
    struct snap s = {.q = q};
    htab_foreach(a->active, snap_one, &s);
    if (s.n)
        qsort(s.v, s.n, sizeof *s.v, cmp_rec);
    struct rtable t = res_table(res, "alerts", 13, "alert_id", "rule", "severity", "state", "store",
                                "region", "subject", "value", "threshold", "message",
                                "first_fired_ms", "updated_ms", "pub_seq");
    for (size_t i = 0; i < s.n; i++) {
        const Floorwalker__Alert *m = &s.v[i]->m;
        res_row(res, &t, "sssssssiisiii", m->alert_id, m->rule,
                m->severity >= 1 && m->severity <= 3 ? sev_name[m->severity] : "", "FIRING",
                m->store_id, m->region, m->subject, m->value, m->threshold, m->message,
                m->first_fired_ms, m->updated_ms, (int64_t)m->pub_seq);
    }
    free(s.v);
    struct rtable ts = res_table(res, "pub_seq", 2, "region", "pub_seq");
    struct seq_rows sr = {res, &ts, q->region};
    htab_foreach(a->seqs, seq_row, &sr);
    uint64_t *mine = q->region[0] ? htab_get(a->seqs, q->region) : NULL;
    res->r.pub_seq = mine ? *mine : 0;
}

const char *alerts_region_of(struct alerts *a, const char *alert_id)
{
    struct alert_rec *r = alert_id ? htab_get(a->active, alert_id) : NULL;
    return r ? r->m.region : NULL;
}

void alerts_ack(struct alerts *a, const char *alert_id, const char *by, const char *reason,
                struct result *res)
{
    struct alert_rec *r = alert_id ? htab_get(a->active, alert_id) : NULL;
    if (!is_active(r)) {
        res_not_found(res, "no active alert \"%.200s\"", alert_id ? alert_id : "");
        return;
    }
    enum rule_id rid = rule_by_name(r->m.rule);
    if (rid == RULE_N || !rule_catalogue[rid].by_ack) {
        res_error(res, "%s alerts resolve by themselves, not by acknowledgement", r->m.rule);
        return;
    }
    char why[300];
    if (reason && reason[0])
        snprintf(why, sizeof why, "acknowledged by %.100s: %.160s",
                 by && by[0] ? by : "an ops client", reason);
    else
        snprintf(why, sizeof why, "acknowledged by %.100s", by && by[0] ? by : "an ops client");
    resolve(a, r, why);
    alerts_flush(a);
}

struct by_rule {
    struct htab *active; /* rule -> uint64_t * */
};

static void count_rule(const char *key, void *val, void *arg)
{
    struct by_rule *b = arg;
    struct alert_rec *r = val;
    if (!is_active(r))
        return;
    uint64_t *n = htab_get(b->active, r->m.rule);
    if (!n && (n = calloc(1, sizeof *n)) && htab_put(b->active, r->m.rule, n) != 0) {
        free(n);
        n = NULL;
    }
    if (n)
        (*n)++;
}

struct rule_rows {
    struct result *res;
    struct rtable t;
    struct htab *active, *fired;
};

static void rule_row(const char *rule, void *val, void *arg)
{
    struct rule_rows *rr = arg;
    uint64_t *act = htab_get(rr->active, rule), *f = htab_get(rr->fired, rule);
    res_row(rr->res, &rr->t, "sii", rule, (int64_t)(act ? *act : 0), (int64_t)(f ? *f : 0));
}

static void add_rule(const char *rule, void *val, void *arg)
{
    struct htab *all = arg;
    if (!htab_get(all, rule) && htab_put(all, rule, val) != 0)
        return;
}

void alerts_stats(struct alerts *a, struct result *res)
{
    struct by_rule b = {htab_new()};
    struct htab *all = htab_new();
    if (!b.active || !all) {
        res->oom = true;
        goto out;
    }
    htab_foreach(a->active, count_rule, &b);
    htab_foreach(b.active, add_rule, all);
    htab_foreach(a->fired, add_rule, all);
    struct rule_rows rr = {res, res_table(res, "alerts_by_rule", 3, "rule", "active", "fired"),
                           b.active, a->fired};
    htab_foreach(all, rule_row, &rr);
out:
    htab_destroy(&b.active, free);
    htab_destroy(&all, NULL);
}

uint64_t alerts_count(const struct alerts *a)
{
    struct snap s = {0};
    Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
    s.q = &q;
    htab_foreach(((struct alerts *)a)->active, snap_one, &s);
    free(s.v);
    return s.n;
}

uint64_t alerts_published(const struct alerts *a)
{
    return a->published;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static fw_err load(struct alerts *a)
{
    struct store_txn t;
    struct store_cursor cur;
    store_txn_begin(a->st, &t, true);
    if (t.err)
        return t.err;
    MDB_val k, v;
    if (store_cursor_open(&t, a->db, &cur)) {
        for (bool ok = store_cursor_get(&cur, STORE_FIRST, &k, &v); ok;
             ok = store_cursor_get(&cur, STORE_NEXT, &k, &v)) {
            if (k.mv_size && ((char *)k.mv_data)[0] == UNPUB_PREFIX)
                continue; /* below */
            Floorwalker__Alert *m = floorwalker__alert__unpack(NULL, v.mv_size, v.mv_data);
            if (!m)
                continue;
            struct alert_rec tmp = {.m = *m, .day = -1, .last_pub_ms = m->updated_ms};
            if (m->business_day[0] && tz_parse_day(m->business_day, &tmp.day) != 0)
                tmp.day = -1;
            struct alert_rec *r = rec_copy(&tmp);
            floorwalker__alert__free_unpacked(m, NULL);
            if (!r || htab_put(a->active, r->m.alert_id, r) != 0)
                rec_free(r);
            else if (is_active(r))
                count_active(a, r->m.rule, 1);
        }
        /* Updates stored but not published before the stop: publish them when due. */
        for (bool ok = store_cursor_get(&cur, STORE_FIRST, &k, &v); ok;
             ok = store_cursor_get(&cur, STORE_NEXT, &k, &v)) {
            if (!k.mv_size || ((char *)k.mv_data)[0] != UNPUB_PREFIX)
                break;
            char id[300];
            size_t l = k.mv_size - 1 < sizeof id - 1 ? k.mv_size - 1 : sizeof id - 1;
            memcpy(id, (char *)k.mv_data + 1, l);
            id[l] = 0;
            struct alert_rec *r = htab_get(a->active, id);
            if (is_active(r)) {
                r->unpublished = true;
                queue_update(a, r);
            }
        }
        store_cursor_close(&cur);
        /* Each region's last pub_seq. */
        if (store_cursor_open(&t, store_db(a->st, STORE_META), &cur)) {
            for (bool ok = store_cursor_seek(&cur, SEQ_KEY_PREFIX, 1, &k, &v); ok;
                 ok = store_cursor_get(&cur, STORE_NEXT, &k, &v)) {
                if (k.mv_size < 2 || ((char *)k.mv_data)[0] != 'A' || v.mv_size != 8)
                    break;
                char region[FW_ID_MAX + 1];
                size_t l = k.mv_size - 1 < FW_ID_MAX ? k.mv_size - 1 : FW_ID_MAX;
                memcpy(region, (char *)k.mv_data + 1, l);
                region[l] = 0;
                uint64_t *s = seq_of(a, region);
                if (s)
                    *s = be64_get(v.mv_data);
            }
            store_cursor_close(&cur);
        }
    }
    fw_err err = t.err;
    store_txn_abort(&t);
    return err;
}

fw_err alerts_create(struct alerts **out, struct store *st, void *pub)
{
    struct alerts *a = calloc(1, sizeof *a);
    if (!a)
        return FW_ENOMEM;
    a->st = st;
    a->pub = pub;
    a->update_min_ms = 60000;
    const ProtobufCFieldDescriptor *ps =
        protobuf_c_message_descriptor_get_field_by_name(&floorwalker__alert__descriptor, "pub_seq");
    a->seq_tag = (uint8_t)(ps->id << 3 | PROTOBUF_C_WIRE_TYPE_VARINT); /* one byte: field 13 */
    a->active = htab_new();
    a->seqs = htab_new();
    a->fired = htab_new();
    a->nactive = htab_new();
    fw_err err = FW_ENOMEM;
    if (!a->active || !a->seqs || !a->fired || !a->nactive)
        goto fail;
    if ((err = store_db_open(st, "alerts", &a->db)) != FW_OK)
        goto fail;
    if (pub && (err = load(a)) != FW_OK)
        goto fail;
    *out = a;
    return FW_OK;
fail:
    alerts_destroy(&a);
    return err;
}

void alerts_destroy(struct alerts **pa)
{
    struct alerts *a = *pa;
    if (!a)
        return;
    for (size_t i = 0; i < a->nchanges; i++)
        free(a->changes[i]);
    free(a->changes);
    for (size_t i = a->fl.off; i < a->fl.n; i++)
        free(a->fl.recs[i]);
    free(a->fl.recs);
    free(a->fl.before);
    free(a->updated);
    htab_destroy(&a->active, rec_free_v);
    htab_destroy(&a->seqs, free);
    htab_destroy(&a->fired, free);
    htab_destroy(&a->nactive, free);
    free(a);
    *pa = NULL;
}
