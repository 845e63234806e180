/* One stub per IDT vector: push a dummy error code where the CPU pushes
 * none, push the vector, then save everything including the FPU/SSE state
 * (newlib and gcc -O2 use XMM registers in ordinary code, so an interrupt
 * must not clobber them) and call trap_dispatch(frame). */

/* Exceptions that push an error code (Intel SDM vol. 3, table 6-1):
 * 8, 10-14, 17, 21, 29, 30. */

    .text
    .altmacro
    .macro TRAP_STUB v
    .balign 16
trap_stub_\v:
    .if !((\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30))
    pushq $0
    .endif
    pushq $\v
    jmp trap_common
    .endm

    .set i, 0
    .rept 256
    TRAP_STUB %i
    .set i, i + 1
    .endr

trap_common:
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %r11
    pushq %r10
    pushq %r9
    pushq %r8
    pushq %rbp
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq %rbx
    pushq %rax
    cld
    movq %rsp, %rdi
    movq %rsp, %rbx             /* callee-saved: the frame, for the way back */
    subq $512, %rsp
    andq $-16, %rsp
    fxsave (%rsp)
    call trap_dispatch
    fxrstor (%rsp)
    movq %rbx, %rsp
    popq %rax
    popq %rbx
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    popq %rbp
    popq %r8
    popq %r9
    popq %r10
    popq %r11
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    addq $16, %rsp              /* vector, error code */
    iretq

    .macro STUB_ADDR v
    .quad trap_stub_\v
    .endm

    .section .rodata
    .balign 8
    .globl trap_stub_table
trap_stub_table:
    .set i, 0
    .rept 256
    STUB_ADDR %i
    .set i, i + 1
    .endr

    .section .note.GNU-stack, "", @progbits
