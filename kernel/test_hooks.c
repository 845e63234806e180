/* The boot tests' hooks (see test_hooks.h). */
#include "kernel/test_hooks.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cmdline.h"
#include "kernel/log.h"
#include "kernel/panic.h"

enum test_fault {
    TEST_FAULT_NONE, TEST_FAULT_PF, TEST_FAULT_UD, TEST_FAULT_DE, TEST_FAULT_GP,
    TEST_FAULT_ABORT, TEST_FAULT_ASSERT,
};
enum test_exit { TEST_EXIT_NONE, TEST_EXIT_BOOT, TEST_EXIT_READY };

static enum test_fault test_fault;
static enum test_exit test_exit;
static uint32_t test_heap;   /* exhaust the heap at boot and check it recovers */

static const char *const fault_names[] = {
    [TEST_FAULT_PF] = "pf", [TEST_FAULT_UD] = "ud", [TEST_FAULT_DE] = "de",
    [TEST_FAULT_GP] = "gp", [TEST_FAULT_ABORT] = "abort", [TEST_FAULT_ASSERT] = "assert",
};
static const char *const exit_names[] = { [TEST_EXIT_BOOT] = "boot", [TEST_EXIT_READY] = "ready" };
_Static_assert(sizeof(enum test_fault) == sizeof(int) && sizeof(enum test_exit) == sizeof(int),
               "CMDLINE_ENUM stores an int");
CMDLINE_PARAM(test_fault, .key = "test.fault", .type = CMDLINE_ENUM, .dst = &test_fault,
              CMDLINE_NAMES(fault_names));
CMDLINE_PARAM(test_exit, .key = "test.exit", .type = CMDLINE_ENUM, .dst = &test_exit,
              CMDLINE_NAMES(exit_names));
CMDLINE_PARAM(test_heap, .key = "test.heap", .type = CMDLINE_U32, .dst = &test_heap, .min = 0,
              .max = 1);

/* Deliberate faults for the boot tests (test.fault=). */
static void trigger_test_fault(enum test_fault f)
{
    volatile uint64_t zero = 0;
    switch (f) {
    case TEST_FAULT_PF:
        (void)*(volatile uint64_t *)(uintptr_t)0x100000000000ull;   /* canonical, not mapped */
        break;
    case TEST_FAULT_UD:
        __asm__ __volatile__("ud2");
        break;
    case TEST_FAULT_DE: {
        volatile uint64_t one = 1, quotient;
        quotient = one / zero;
        (void)quotient;
        break;
    }
    case TEST_FAULT_ABORT:
        abort();
    case TEST_FAULT_ASSERT:
        assert(zero == 1);
        break;
    case TEST_FAULT_GP:
        (void)*(volatile uint64_t *)(uintptr_t)0x8000000000000000ull;  /* non-canonical */
        break;
    default:
        break;
    }
}

/* test.heap=1: malloc until the heap is gone, check the failure is a clean
 * ENOMEM and that everything handed out is intact and reusable. */
static void test_heap_exhaustion(void)
{
    enum { CHUNK = 256 * 1024 };
    void *head = NULL;
    unsigned chunks = 0;
    for (;;) {
        errno = 0;
        void **p = malloc(CHUNK);
        if (!p)
            break;
        memset(p, (int)(chunks & 0xff), CHUNK);
        *p = head;
        head = p;
        chunks++;
    }
    int err = errno;
    unsigned bad = 0, freed = 0;
    while (head) {
        void **p = head;
        head = *p;
        const uint8_t *b = (const uint8_t *)p;
        uint8_t want = (uint8_t)((chunks - 1 - freed) & 0xff);
        for (size_t i = sizeof(void *); i < CHUNK; i += 4096)
            bad += b[i] != want;
        free(p);
        freed++;
    }
    void *again = malloc(CHUNK);
    log_info("test: heap exhausted after %u KiB, errno %s, %u corrupt pages, %s afterwards",
             chunks * (CHUNK / 1024), err == ENOMEM ? "ENOMEM" : "not ENOMEM", bad,
             again ? "malloc works" : "malloc still fails");
    free(again);
}

void test_hooks_boot(void)
{
    if (test_heap)
        test_heap_exhaustion();
    trigger_test_fault(test_fault);
    if (test_exit == TEST_EXIT_BOOT) {
        log_info("test: clean exit after boot");
        kernel_exit(0);
    }
}

void test_hooks_ready(void)
{
    if (test_exit == TEST_EXIT_READY) {
        log_info("test: clean exit after READY");
        kernel_exit(0);
    }
}
