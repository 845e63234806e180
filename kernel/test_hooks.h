/* What the boot tests ask for on the command line (SPEC.md test.fault=,
 * test.exit=, test.heap=): the keys and the hooks that act on them. */
#ifndef KERNEL_TEST_HOOKS_H
#define KERNEL_TEST_HOOKS_H

/* Once interrupts are on, before the application: test.heap=1, then
 * test.fault=, then test.exit=boot (never returns then). */
void test_hooks_boot(void);
/* The network is up (READY printed): test.exit=ready exits here. */
void test_hooks_ready(void);

#endif
