/* CPU state saved by the interrupt/exception entry stubs (trap_entry.S). */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

#include <stdint.h>

struct trap_frame {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;       /* pushed by the CPU */
};

_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout matches trap_entry.S");

/* Vector map. 0x20-0x2f: the legacy PICs, remapped there and masked, so
 * their spurious IRQ 7/15 cannot alias an exception. */
#define VECTOR_PIC_BASE        0x20
#define VECTOR_LAPIC_TIMER     0x30
#define VECTOR_DEVICE_FIRST    0x40
#define VECTOR_DEVICE_LAST     0xef
#define VECTOR_LAPIC_SPURIOUS  0xff

void cpu_init(void);                /* GDT, TSS with IST stacks, IDT */
void trap_dispatch(struct trap_frame *f);

#endif
