/*
 * The console's users and sessions (docs/WEB.md "Users"): a users file of [user:NAME] sections
 * (role supervisor with its regions, or ops; an Argon2id password hash from `floorwalker web
 * passwd`), logins rate limited per client address and per user name, and sessions named by a
 * random id in an HttpOnly, SameSite=Strict cookie, each with its own CSRF token.
 */
#ifndef FW_WEBAUTH_H
#define FW_WEBAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "fwcommon.h"

#define WEB_MAX_REGIONS 16

struct webuser {
    char name[FW_ID_MAX + 1];
    bool ops; /* else a supervisor of regions[] */
    char regions[WEB_MAX_REGIONS][FW_ID_MAX + 1];
    int nregions;
    char hash[128];
};

/* A session as a request sees it (a copy). */
struct websession {
    char id[65];
    char csrf[65];
    const struct webuser *user;
};

struct webauth;

/* Reads the users file; NULL after a message naming file, line and key. */
struct webauth *webauth_load(const char *path);
void webauth_free(struct webauth *a);

enum login_result { LOGIN_OK, LOGIN_WRONG, LOGIN_LIMITED };
/* Checks name and password (in about the same time whether or not the user exists). After
 * LOGIN_MAX_FAILURES wrong tries from one address or for one name within LOGIN_WINDOW_S, every
 * try is LOGIN_LIMITED for the rest of that window (*retry_after_s says how long). */
enum login_result webauth_login(struct webauth *a, const char *addr, const char *name,
                                const char *password, struct websession *out, int *retry_after_s);
/* The live session named by id (its idle time restarts), or false. */
bool webauth_session(struct webauth *a, const char *id, struct websession *out);
void webauth_logout(struct webauth *a, const char *id);

/* Whether user may see region (ops: every region). */
bool webuser_region_ok(const struct webuser *u, const char *region);

#define LOGIN_MAX_FAILURES 5
#define LOGIN_WINDOW_S 900

#endif
