#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static enum log_level max_level = LOG_LVL_INFO;
static bool to_syslog;
/* Under systemd, stderr goes to the journal, which reads "<N>" prefixes as the level. */
static bool journal_prefix;

void log_setup(enum log_level level, bool use_syslog)
{
    max_level = level;
    to_syslog = use_syslog;
    journal_prefix = getenv("JOURNAL_STREAM") != NULL;
    if (to_syslog)
        openlog("floorwalkerd", LOG_PID, LOG_DAEMON);
}

int log_level_parse(const char *s)
{
    if (!strcmp(s, "error"))
        return LOG_LVL_ERR;
    if (!strcmp(s, "warning") || !strcmp(s, "warn"))
        return LOG_LVL_WARN;
    if (!strcmp(s, "info"))
        return LOG_LVL_INFO;
    if (!strcmp(s, "debug"))
        return LOG_LVL_DEBUG;
    return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const names[8] = {
        [3] = "error", [4] = "warning", [6] = "info", [7] = "debug"};
    if (level > max_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (to_syslog) {
        vsyslog((int)level, fmt, ap);
    } else {
        char buf[2048];
        vsnprintf(buf, sizeof buf, fmt, ap);
        if (journal_prefix)
            fprintf(stderr, "<%d>%s\n", (int)level, buf);
        else
            fprintf(stderr, "floorwalkerd: %s: %s\n", names[level], buf);
    }
    va_end(ap);
}
