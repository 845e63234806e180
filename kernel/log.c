#include "kernel/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "kernel/cmdline.h"
#include "kernel/console.h"

enum log_level log_threshold = LOG_INFO;

/* log= (SPEC.md) takes effect in log_cmdline_apply, once the whole line is
 * parsed: the line's own warnings show at the default level. */
static enum log_level cmdline_level = LOG_INFO;
static const char *const level_names[] = {
    [LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};
_Static_assert(sizeof(enum log_level) == sizeof(int), "CMDLINE_ENUM stores an int");
CMDLINE_PARAM(log, .key = "log", .type = CMDLINE_ENUM, .dst = &cmdline_level,
              CMDLINE_NAMES(level_names));

void log_cmdline_apply(void)
{
    log_threshold = cmdline_level;
}

void klog(enum log_level level, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    console_write(line, (size_t)n);
}
