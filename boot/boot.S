/* Entry from the two boot protocols we support, both of which start us in
 * 32-bit protected mode with paging off:
 *   - PVH (QEMU -kernel): XEN_ELFNOTE_PHYS32_ENTRY -> pvh_start32,
 *     %ebx = physical address of struct hvm_start_info.
 *   - Multiboot2 (GRUB, the ISO): ELF entry -> mb2_start32,
 *     %eax = MULTIBOOT2_BOOTLOADER_MAGIC, %ebx = physical address of the MBI.
 * Both build identity-mapped page tables for the low 4 GiB (2 MiB pages;
 * the 3-4 GiB MMIO hole uncached), enter long mode, enable SSE (newlib is
 * compiled with it) and call kernel_main(magic, info) once. */

#define MULTIBOOT2_HEADER_MAGIC     0xe85250d6
#define MULTIBOOT2_ARCH_I386        0
#define PVH_BOOT_MAGIC              0x336ec578   /* hvm_start_info.magic */
#define XEN_ELFNOTE_PHYS32_ENTRY    18

#define CR0_PE  (1 << 0)
#define CR0_MP  (1 << 1)
#define CR0_EM  (1 << 2)
#define CR0_PG  (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

#define PTE_P   0x001
#define PTE_W   0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080

#define BOOT_STACK_SIZE (128 * 1024)

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MULTIBOOT2_HEADER_MAGIC
    .long MULTIBOOT2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MULTIBOOT2_HEADER_MAGIC + MULTIBOOT2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8
    .short 0, 0             /* end tag */
    .long 8
mb2_header_end:

    .section .note.Xen, "a"
    .balign 4
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long pvh_start32
    .balign 4

    .section .boot.text, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    cli
    cld
    movl $PVH_BOOT_MAGIC, %esi
    movl %ebx, %edi
    jmp common_start32

    .globl mb2_start32
mb2_start32:
    cli
    cld
    movl %eax, %esi
    movl %ebx, %edi

common_start32:
    /* %esi = boot magic, %edi = boot info: both survive to kernel_main. */
    movl $(boot_stack + BOOT_STACK_SIZE), %esp
    movl %esi, boot_magic_stash
    movl %edi, boot_info_stash

    /* The loaders zero .bss, but the page tables must be zero whatever
     * loaded us, so clear them explicitly. */
    movl $boot_pml4, %edi
    movl $((6 * 4096) / 4), %ecx
    xorl %eax, %eax
    rep stosl

    /* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages. */
    movl $boot_pdpt, %eax
    orl $(PTE_P | PTE_W), %eax
    movl %eax, boot_pml4

    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    addl $boot_pd, %eax
    orl $(PTE_P | PTE_W), %eax
    movl %eax, boot_pdpt(,%ecx,8)
    incl %ecx
    cmpl $4, %ecx
    jb 1b

    /* 2048 entries: entry i maps i * 2 MiB. The last GiB (the PCI/LAPIC/
     * IOAPIC hole) is uncached. */
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $(PTE_P | PTE_W | PTE_PS), %eax
    cmpl $1536, %ecx
    jb 3f
    orl $(PTE_PCD | PTE_PWT), %eax
3:  movl %eax, boot_pd(,%ecx,8)
    movl $0, boot_pd+4(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb 2b

    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4

    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr

    movl %cr0, %eax
    andl $~CR0_EM, %eax
    orl $(CR0_PG | CR0_PE | CR0_MP), %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_entry

    .code64
long_mode_entry:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs

    movabsq $(boot_stack + BOOT_STACK_SIZE), %rsp
    xorq %rbp, %rbp
    fninit
    movl boot_magic_stash, %edi
    movl boot_info_stash, %esi
    call kernel_main
5:  cli
    hlt
    jmp 5b

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code, DPL0 */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .balign 4096
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4 * 4096
    .balign 16
boot_stack: .skip BOOT_STACK_SIZE
boot_magic_stash: .skip 4
boot_info_stash:  .skip 4
