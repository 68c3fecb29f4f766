#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct metrics {
    struct MHD_Daemon *httpd;
    pthread_mutex_t lock;
    char *text; /* current snapshot */
    size_t len;
    unsigned port;
};

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **con_cls)
{
    struct metrics *m = cls;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "only GET\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics")) {
        static const char msg[] = "see /metrics\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        pthread_mutex_lock(&m->lock);
        resp = MHD_create_response_from_buffer(m->len, m->text ? m->text : (char *)"",
                                               MHD_RESPMEM_MUST_COPY);
        pthread_mutex_unlock(&m->lock);
        if (resp)
            MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    }
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

fw_err metrics_create(struct metrics **out, const char *listen)
{
    char host[128];
    unsigned port;
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host || sscanf(colon + 1, "%u", &port) != 1 ||
        port > 65535) {
        log_err("[metrics] listen = \"%s\": expected HOST:PORT", listen);
        return FW_ECONFIG;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        log_err("[metrics] listen = \"%s\": \"%s\" is not an IPv4 address", listen, host);
        return FW_ECONFIG;
    }
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return FW_ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    m->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                serve, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT,
                                10u, MHD_OPTION_END);
    if (!m->httpd) {
        log_err("metrics: cannot listen on %s", listen);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return FW_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : port;
    log_info("metrics on http://%s:%u/metrics", host, m->port);
    *out = m;
    return FW_OK;
}

unsigned metrics_port(const struct metrics *m)
{
    return m ? m->port : 0;
}

void metrics_destroy(struct metrics **pm)
{
    struct metrics *m = *pm;
    if (!m)
        return;
    MHD_stop_daemon(m->httpd);
    pthread_mutex_destroy(&m->lock);
    free(m->text);
    free(m);
    *pm = NULL;
}

/* Growing text buffer. */
struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 8192;
        while (ncap < b->len + (size_t)n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void value(struct buf *b, const Floorwalker__Value *v)
{
    if (v->v_case == FLOORWALKER__VALUE__V_I)
        bprintf(b, "%lld\n", (long long)v->i);
    else if (v->v_case == FLOORWALKER__VALUE__V_D)
        bprintf(b, "%.6f\n", v->d);
    else
        bprintf(b, "0\n");
}

/* A label value with \ and " escaped. */
static void label(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            bprintf(b, "\\%c", *s);
        else if (*s == '\n')
            bprintf(b, "\\n");
        else
            bprintf(b, "%c", *s);
    }
}

/*
 * Table "daemon" (name, value) gives one gauge per row, floorwalker_<name>; every other table
 * gives floorwalker_<table>_<column>{<string columns as labels>} per numeric column.
 */
void metrics_update(struct metrics *m, const Floorwalker__QueryResult *r)
{
    if (!m)
        return;
    struct buf b = {0};
    for (size_t i = 0; i < r->n_tables; i++) {
        const Floorwalker__Table *t = r->tables[i];
        if (!strcmp(t->name, "daemon")) {
            for (size_t j = 0; j < t->n_rows; j++) {
                const Floorwalker__Row *row = t->rows[j];
                if (row->n_cells != 2 || row->cells[0]->v_case != FLOORWALKER__VALUE__V_S)
                    continue;
                bprintf(&b, "# TYPE floorwalker_%s gauge\nfloorwalker_%s ", row->cells[0]->s,
                        row->cells[0]->s);
                value(&b, row->cells[1]);
            }
            continue;
        }
        for (size_t c = 0; c < t->n_columns; c++) {
            bool numeric = t->n_rows && c < t->rows[0]->n_cells &&
                           t->rows[0]->cells[c]->v_case != FLOORWALKER__VALUE__V_S;
            if (!numeric)
                continue;
            bprintf(&b, "# TYPE floorwalker_%s_%s gauge\n", t->name, t->columns[c]);
            for (size_t j = 0; j < t->n_rows; j++) {
                const Floorwalker__Row *row = t->rows[j];
                bprintf(&b, "floorwalker_%s_%s{", t->name, t->columns[c]);
                bool first = true;
                for (size_t l = 0; l < row->n_cells && l < t->n_columns; l++) {
                    if (row->cells[l]->v_case != FLOORWALKER__VALUE__V_S)
                        continue;
                    bprintf(&b, "%s%s=\"", first ? "" : ",", t->columns[l]);
                    label(&b, row->cells[l]->s);
                    bprintf(&b, "\"");
                    first = false;
                }
                bprintf(&b, "} ");
                if (c < row->n_cells)
                    value(&b, row->cells[c]);
                else
                    bprintf(&b, "0\n");
            }
        }
    }
    if (b.oom) {
        free(b.p);
        return;
    }
    pthread_mutex_lock(&m->lock);
    free(m->text);
    m->text = b.p;
    m->len = b.len;
    pthread_mutex_unlock(&m->lock);
}
