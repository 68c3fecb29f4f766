/* The console's page, built into the binary (webassets.c is generated from assets/ by
 * embed.cmake at build time). */
#ifndef FW_WEBASSETS_H
#define FW_WEBASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path; /* "/index.html" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
};

/* The asset served at path, or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif
