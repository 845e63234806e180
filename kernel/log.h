/* Console logging with levels (cmdline log=error|warn|info|debug). */
#ifndef KERNEL_LOG_H
#define KERNEL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern enum log_level log_threshold;
/* After cmdline_parse: the level log= asked for (default LOG_INFO). */
void log_cmdline_apply(void);

/* printf-style, one line; a trailing newline is added. Safe from the main
 * loop and at boot; not from interrupt handlers (uses newlib's vsnprintf). */
void klog(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) klog(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  klog(LOG_WARN, __VA_ARGS__)
#define log_info(...)  klog(LOG_INFO, __VA_ARGS__)
#define log_debug(...) klog(LOG_DEBUG, __VA_ARGS__)

#endif
