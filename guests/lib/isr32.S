/* 32-bit interrupt stubs: push a zero error code where the CPU pushes none,
 * push the vector, save registers (pusha), call isr_dispatch(frame).
 *
 * Return: by default without IRET, as "popfl; lret $4" from a copy of the
 * frame's EFLAGS (equivalent for a CPL0 -> CPL0 return, which is all these
 * guests do).  KVM's instruction emulator implements IRET only in real mode,
 * and kvm_pvm (nested KVM on these hosts) emulates all 32-bit guest kernel
 * code with it, so a real IRET there stops the VM with an emulation failure.
 * The "iret=1" command-line word (isr_use_iret) selects a real IRET, for
 * engines that have one (the runner passes it to every engine but kvm). */
	.code32
	.text
#define VECTORS 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47

.macro ISR vec
isr\vec:
	.if !(\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17 || \vec == 21 || \vec == 29 || \vec == 30)
	pushl $0
	.endif
	pushl $\vec
	jmp isr_common
.endm

	.irp vec, VECTORS
	ISR \vec
	.endr

isr_common:
	pusha
	cld
	pushl %esp
	call isr_dispatch
	addl $4, %esp
	popa
	addl $8, %esp           /* vector, error code */
	cmpb $0, isr_use_iret   /* EFLAGS come back from the frame either way */
	jne 1f
	pushl 8(%esp)           /* EFLAGS of the frame */
	popfl
	lret $4                 /* EIP, CS, then drop EFLAGS */
1:	iret

	.section .rodata
	.balign 4
	.globl isr_stubs
isr_stubs:
	.irp vec, VECTORS
	.long isr\vec
	.endr

	.section .note.GNU-stack, "", @progbits
