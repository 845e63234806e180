#include "kernel/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "kernel/console.h"

enum log_level log_threshold = LOG_INFO;

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
