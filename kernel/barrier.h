/* Memory barriers for shared rings (virtqueues) and interrupt/main-loop data.
 *
 * x86-64 is TSO: loads are not reordered with older loads, stores not with
 * older stores, so rmb/wmb only need to stop the compiler. A store followed by
 * a load of another location CAN be reordered by the CPU, so mb() is a real
 * fence; virtio's event-index protocol (publish index, then read the other
 * side's event field) depends on it.  Unit tests on the host use the same
 * definitions: they are valid user-space instructions. */
#ifndef KERNEL_BARRIER_H
#define KERNEL_BARRIER_H

#define barrier() __asm__ __volatile__("" ::: "memory")
#define mb()  __asm__ __volatile__("lock; addl $0,-4(%%rsp)" ::: "memory", "cc")
#define rmb() barrier()
#define wmb() barrier()

/* Single-copy-atomic access to a field another agent (device, IRQ handler)
 * writes concurrently. */
#define READ_ONCE(x)      (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)  (*(volatile __typeof__(x) *)&(x) = (v))

#endif
