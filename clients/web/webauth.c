#include "webauth.h"

#include <errno.h>
#include <ini.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WHO "floorwalker web"
#define MAX_USERS 1024
#define MAX_SESSIONS 4096
#define SESSION_IDLE_S (8 * 3600)
#define SESSION_MAX_S (24 * 3600)
#define FAILURE_SLOTS 512

struct session {
    struct websession s;
    int64_t created, last; /* monotonic seconds */
    bool used;
};

struct failure {
    char key[FW_ID_MAX + 8]; /* "a:ADDR" or "u:NAME" */
    int count;
    int64_t since;
};

struct webauth {
    struct webuser *users;
    int nusers;
    char dummy_hash[crypto_pwhash_STRBYTES]; /* verified against for an unknown name */
    pthread_mutex_t lock;
    struct session sessions[MAX_SESSIONS];
    struct failure failures[FAILURE_SLOTS];
};

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* ---- the users file ------------------------------------------------------------------------ */

struct load {
    struct webauth *a;
    const char *path;
    FILE *f;
    int line;
    bool failed;
    char section[FW_ID_MAX + 8];
};

static char *reader(char *buf, int size, void *arg)
{
    struct load *l = arg;
    char *r = fgets(buf, size, l->f);
    if (r)
        l->line++;
    return r;
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > FW_ID_MAX)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == ',' || *s == 0x7f)
            return false;
    return true;
}

__attribute__((format(printf, 3, 4))) static int fail(struct load *l, const char *key,
                                                      const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, WHO ": %s:%d: %s%s%s%s\n", l->path, l->line, l->section[0] ? l->section : "",
            key ? " " : "", key ? key : "", msg);
    l->failed = true;
    return 0;
}

static int handler(void *arg, const char *section, const char *key, const char *value)
{
    struct load *l = arg;
    struct webauth *a = l->a;
    if (l->failed)
        return 0;
    snprintf(l->section, sizeof l->section, "[%s]", section);
    if (strncmp(section, "user:", 5) || !valid_id(section + 5))
        return fail(l, NULL,
                    ": unknown section; this file has [user:NAME] sections (NAME: 1 to 64 "
                    "characters, no spaces or commas)");
    struct webuser *u = a->nusers ? &a->users[a->nusers - 1] : NULL;
    if (!u || strcmp(u->name, section + 5)) {
        for (int i = 0; i < a->nusers; i++)
            if (!strcmp(a->users[i].name, section + 5))
                return fail(l, NULL, ": user given twice; keep one section per user");
        if (a->nusers == MAX_USERS)
            return fail(l, NULL, ": more than %d users", MAX_USERS);
        u = &a->users[a->nusers++];
        memset(u, 0, sizeof *u);
        snprintf(u->name, sizeof u->name, "%s", section + 5);
    }
    if (!strcmp(key, "role")) {
        if (!strcmp(value, "ops"))
            u->ops = true;
        else if (!strcmp(value, "supervisor"))
            u->ops = false;
        else
            return fail(l, key, " = \"%s\": expected supervisor or ops", value);
    } else if (!strcmp(key, "regions")) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", value);
        u->nregions = 0;
        for (char *save, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            if (!valid_id(t))
                return fail(l, key, ": \"%s\" is not a region id", t);
            if (u->nregions == WEB_MAX_REGIONS)
                return fail(l, key, ": at most %d regions", WEB_MAX_REGIONS);
            snprintf(u->regions[u->nregions++], sizeof u->regions[0], "%s", t);
        }
    } else if (!strcmp(key, "password_hash")) {
        if (strncmp(value, "$argon2id$", 10) || strlen(value) >= sizeof u->hash)
            return fail(l, key,
                        ": not an Argon2id hash; make one with `floorwalker web passwd` (it "
                        "reads the password on stdin)");
        snprintf(u->hash, sizeof u->hash, "%s", value);
    } else {
        return fail(l, key, ": unknown key; the keys are role, regions, password_hash");
    }
    return 1;
}

struct webauth *webauth_load(const char *path)
{
    if (sodium_init() < 0) {
        fprintf(stderr, WHO ": libsodium failed to initialise\n");
        return NULL;
    }
    struct webauth *a = calloc(1, sizeof *a);
    struct load l = {.a = a, .path = path};
    if (!a || !(a->users = calloc(MAX_USERS, sizeof *a->users))) {
        free(a);
        return NULL;
    }
    if (!(l.f = fopen(path, "r"))) {
        fprintf(stderr, WHO ": --users %s: %s\n", path, strerror(errno));
        webauth_free(a);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(l.f), &st) == 0 && (st.st_mode & 0044))
        fprintf(stderr,
                WHO ": warning: %s is readable by other users (its password hashes can be "
                    "attacked offline): chmod 600 it\n",
                path);
    int rc = ini_parse_stream(reader, &l, handler, &l);
    fclose(l.f);
    if (rc > 0 && !l.failed)
        fprintf(stderr, WHO ": %s:%d: not a key = value line or [section]\n", path, rc);
    if (rc != 0 || l.failed)
        goto bad;
    if (!a->nusers) {
        fprintf(stderr, WHO ": %s: no [user:NAME] section\n", path);
        goto bad;
    }
    for (int i = 0; i < a->nusers; i++) {
        const struct webuser *u = &a->users[i];
        if (!u->hash[0] || (!u->ops && !u->nregions)) {
            fprintf(stderr, WHO ": %s: [user:%s] needs %s\n", path, u->name,
                    !u->hash[0] ? "password_hash (floorwalker web passwd)"
                                : "regions (a supervisor sees the stores of its regions)");
            goto bad;
        }
    }
    /* An unknown name costs the same Argon2id work as a known one. */
    char pw[32];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(a->dummy_hash, pw, sizeof pw, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        goto bad;
    pthread_mutex_init(&a->lock, NULL);
    return a;
bad:
    free(a->users);
    free(a);
    return NULL;
}

void webauth_free(struct webauth *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    sodium_memzero(a->sessions, sizeof a->sessions);
    free(a->users);
    free(a);
}

bool webuser_region_ok(const struct webuser *u, const char *region)
{
    if (u->ops)
        return true;
    for (int i = 0; region && i < u->nregions; i++)
        if (!strcmp(u->regions[i], region))
            return true;
    return false;
}

/* ---- logins -------------------------------------------------------------------------------- */

/* With the lock: the failure record of key (its window restarted when over), made if new in a
 * free slot or, with none, in the one whose window began longest ago. */
static struct failure *failure_of(struct webauth *a, const char *kind, const char *v, int64_t now)
{
    char key[sizeof a->failures[0].key];
    snprintf(key, sizeof key, "%s:%.64s", kind, v);
    struct failure *slot = NULL;
    for (int i = 0; i < FAILURE_SLOTS; i++) {
        struct failure *f = &a->failures[i];
        if (!strcmp(f->key, key)) {
            if (now - f->since >= LOGIN_WINDOW_S) {
                f->count = 0;
                f->since = now;
            }
            return f;
        }
        if (!slot || (slot->key[0] && (!f->key[0] || f->since < slot->since)))
            slot = f;
    }
    memset(slot, 0, sizeof *slot);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->since = now;
    return slot;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

enum login_result webauth_login(struct webauth *a, const char *addr, const char *name,
                                const char *password, struct websession *out, int *retry_after_s)
{
    int64_t now = now_s();
    pthread_mutex_lock(&a->lock);
    struct failure *fa = failure_of(a, "a", addr, now), *fu = failure_of(a, "u", name, now);
    if (fa->count >= LOGIN_MAX_FAILURES || fu->count >= LOGIN_MAX_FAILURES) {
        int64_t until = (fa->count >= LOGIN_MAX_FAILURES ? fa->since : fu->since) + LOGIN_WINDOW_S;
        *retry_after_s = (int)(until - now > 0 ? until - now : 1);
        pthread_mutex_unlock(&a->lock);
        return LOGIN_LIMITED;
    }
    pthread_mutex_unlock(&a->lock);

    const struct webuser *u = NULL;
    for (int i = 0; i < a->nusers; i++)
        if (!strcmp(a->users[i].name, name))
            u = &a->users[i];
    bool ok =
        crypto_pwhash_str_verify(u ? u->hash : a->dummy_hash, password, strlen(password)) == 0 && u;

    pthread_mutex_lock(&a->lock);
    if (!ok) {
        fa = failure_of(a, "a", addr, now);
        fu = failure_of(a, "u", name, now);
        fa->count++;
        fu->count++;
        pthread_mutex_unlock(&a->lock);
        return LOGIN_WRONG;
    }
    /* A free slot, or (all taken) the session idle longest gives way. */
    struct session *slot = NULL, *lru = NULL;
    for (int i = 0; i < MAX_SESSIONS; i++) {
        struct session *s = &a->sessions[i];
        if (s->used && (now - s->last >= SESSION_IDLE_S || now - s->created >= SESSION_MAX_S))
            s->used = false;
        if (!s->used) {
            if (!slot)
                slot = s;
        } else if (!lru || s->last < lru->last) {
            lru = s;
        }
    }
    if (!slot)
        slot = lru;
    memset(slot, 0, sizeof *slot);
    uint8_t rnd[32];
    randombytes_buf(rnd, sizeof rnd);
    hex(slot->s.id, rnd, sizeof rnd);
    randombytes_buf(rnd, sizeof rnd);
    hex(slot->s.csrf, rnd, sizeof rnd);
    slot->s.user = u;
    slot->created = slot->last = now;
    slot->used = true;
    *out = slot->s;
    pthread_mutex_unlock(&a->lock);
    return LOGIN_OK;
}

bool webauth_session(struct webauth *a, const char *id, struct websession *out)
{
    if (!id || strlen(id) != 64)
        return false;
    int64_t now = now_s();
    bool found = false;
    pthread_mutex_lock(&a->lock);
    for (int i = 0; i < MAX_SESSIONS && !found; i++) {
        struct session *s = &a->sessions[i];
        if (!s->used || sodium_memcmp(s->s.id, id, 64) != 0)
            continue;
        if (now - s->last >= SESSION_IDLE_S || now - s->created >= SESSION_MAX_S) {
            s->used = false;
            break;
        }
        s->last = now;
        *out = s->s;
        found = true;
    }
    pthread_mutex_unlock(&a->lock);
    return found;
}

void webauth_logout(struct webauth *a, const char *id)
{
    pthread_mutex_lock(&a->lock);
    for (int i = 0; id && strlen(id) == 64 && i < MAX_SESSIONS; i++)
        if (a->sessions[i].used && sodium_memcmp(a->sessions[i].s.id, id, 64) == 0)
            memset(&a->sessions[i], 0, sizeof a->sessions[i]);
    pthread_mutex_unlock(&a->lock);
}
