/* GDT, TSS and IDT for the boot CPU.
 *
 * Every vector runs on an IST stack: NMI, double fault and machine check on
 * their own (they can arrive on a broken stack), other exceptions on a
 * second, device interrupts on a third. Switching stacks on every
 * interrupt also protects the red zone of code we do not compile ourselves
 * (libgcc), which an interrupt frame pushed in place would clobber. */
#include "kernel/trap.h"

#include <stdint.h>
#include <string.h>

#define IST_STACK_SIZE (32 * 1024)
#define IST_CRITICAL 1     /* NMI, #DF, #MC */
#define IST_EXCEPTION 2
#define IST_IRQ 3

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");

struct descriptor_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS 0x18
#define IDT_INTERRUPT_GATE 0x8e     /* present, DPL 0, 64-bit interrupt gate */

static uint64_t gdt[5];
static struct tss tss;
static struct idt_gate idt[256];
static uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));

extern const uint64_t trap_stub_table[256];

static void set_gate(int vector, uint64_t handler, uint8_t ist)
{
    idt[vector] = (struct idt_gate){
        .offset_low = handler & 0xffff,
        .selector = GDT_KERNEL_CODE,
        .ist = ist,
        .type_attr = IDT_INTERRUPT_GATE,
        .offset_mid = (handler >> 16) & 0xffff,
        .offset_high = handler >> 32,
    };
}

void cpu_init(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffull;    /* 64-bit code */
    gdt[2] = 0x00cf92000000ffffull;    /* data */
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;

    memset(&tss, 0, sizeof(tss));
    for (int i = 0; i < 3; i++)
        tss.ist[i] = (uint64_t)&ist_stacks[i][IST_STACK_SIZE];
    tss.iomap_base = sizeof(tss);

    struct descriptor_ptr gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };
    __asm__ __volatile__(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w2, %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "ltr %w3\n\t"
        :: "m"(gdtr), "i"(GDT_KERNEL_CODE), "r"(GDT_KERNEL_DATA), "r"(GDT_TSS)
        : "rax", "memory");

    for (int v = 0; v < 256; v++) {
        uint8_t ist = v >= 32 ? IST_IRQ : IST_EXCEPTION;
        if (v == 2 || v == 8 || v == 18)
            ist = IST_CRITICAL;
        set_gate(v, trap_stub_table[v], ist);
    }
    struct descriptor_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ __volatile__("lidt %0" :: "m"(idtr) : "memory");
}
