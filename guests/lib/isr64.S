/* 64-bit interrupt stubs: push a zero error code where the CPU pushes none,
 * push the vector, save the caller-saved registers, call isr_dispatch(frame).
 * The CPU aligned RSP to 16 before pushing its 5-word frame; 5 + 2 + 9 words
 * keep the call aligned. */
	.code64
	.text
#define VECTORS 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47

.macro ISR vec
isr\vec:
	.if !(\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17 || \vec == 21 || \vec == 29 || \vec == 30)
	pushq $0
	.endif
	pushq $\vec
	jmp isr_common
.endm

	.irp vec, VECTORS
	ISR \vec
	.endr

isr_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	cld
	movq %rsp, %rdi
	call isr_dispatch
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl isr_stubs
isr_stubs:
	.irp vec, VECTORS
	.quad isr\vec
	.endr

	.section .note.GNU-stack, "", @progbits
