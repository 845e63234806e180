/* newlib's system-call layer (the "OS interface" of newlib's libc.texinfo).
 * There is one console and no file system: fds 0-2 are the serial port.
 * newlib configured for x86_64-elf defines MISSING_SYSCALL_NAMES, so its
 * reentrant wrappers (_write_r ...) call the plain names: write, sbrk, ...;
 * the underscored names are aliases for code that uses them. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/panic.h"

int write(int fd, const void *buf, size_t len)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    console_write(buf, len);
    return (int)len;
}

int read(int fd, void *buf, size_t len)
{
    if (fd != 0) {
        errno = EBADF;
        return -1;
    }
    size_t n = 0;
    int c;
    while (n < len && (c = console_getc_nonblock()) >= 0)
        ((char *)buf)[n++] = (char)c;
    return (int)n;
}

int close(int fd)
{
    (void)fd;
    errno = EBADF;
    return -1;
}

int open(const char *path, int flags, int mode)
{
    (void)path; (void)flags; (void)mode;
    errno = ENOENT;
    return -1;
}

int fstat(int fd, struct stat *st)
{
    if (fd < 0 || fd > 2) {
        errno = EBADF;
        return -1;
    }
    st->st_mode = S_IFCHR;
    return 0;
}

int isatty(int fd) { return fd >= 0 && fd <= 2; }

off_t lseek(int fd, off_t off, int whence)
{
    (void)fd; (void)off; (void)whence;
    errno = ESPIPE;
    return -1;
}

void _exit(int status)
{
    kernel_exit(status);
}

int getpid(void) { return 1; }

int kill(int pid, int sig)
{
    if (pid == 1 && sig == SIGABRT)
        panic("abort() called");
    if (pid == 1)
        panic("signal %d raised", sig);
    errno = ESRCH;
    return -1;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    uint64_t us = clock_now_us();
    tv->tv_sec = (time_t)(us / 1000000);
    tv->tv_usec = (suseconds_t)(us % 1000000);
    return 0;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    (void)id;   /* no wall clock: CLOCK_REALTIME is time since boot too */
    uint64_t ns = clock_now_ns();
    ts->tv_sec = (time_t)(ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
    return 0;
}

int unlink(const char *path)
{
    (void)path;
    errno = ENOENT;
    return -1;
}

int stat(const char *path, struct stat *st)
{
    (void)path; (void)st;
    errno = ENOENT;
    return -1;
}

#define ALIAS(name) __attribute__((alias(#name)))
int _write(int fd, const void *buf, size_t len) ALIAS(write);
int _read(int fd, void *buf, size_t len) ALIAS(read);
int _close(int fd) ALIAS(close);
int _fstat(int fd, struct stat *st) ALIAS(fstat);
int _isatty(int fd) ALIAS(isatty);
off_t _lseek(int fd, off_t off, int whence) ALIAS(lseek);
int _getpid(void) ALIAS(getpid);
int _kill(int pid, int sig) ALIAS(kill);

/* newlib's __libc_init_array / exit path reference these; nothing to run. */
void _init(void) {}
void _fini(void) {}

/* assert() failures: "ASSERT: ..." is the marker the test harness watches
 * for, then the usual panic with a register dump. */
void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    panic("ASSERT: %s failed at %s:%d (%s)", expr, file, line, func ? func : "?");
}
