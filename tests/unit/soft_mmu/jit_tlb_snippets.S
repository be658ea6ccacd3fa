/* Guest code for test_jit_tlb.c (64-bit mode), copied into guest memory. */
	.text
#define SNIP(n) .globl n; .globl n##_end; n:
#define END(n) n##_end:

/* loads of every fast-path kind over a 64-byte array at RSI, RCX times */
SNIP(j_loads)
1:	mov 8(%rsi,%rcx,8), %rax
	and $3, %ecx
	add 16(%rsi), %rdx
	movzbl (%rsi,%rcx), %ebx
	cmpq $5, (%rsi)
	adc (%rsi,%rcx,8), %rdx
	movswq 2(%rsi), %r8
	test %ebx, 8(%rsi)
	cmovz 24(%rsi), %r9
	imul 32(%rsi), %r10
	xor %fs:8, %r11
	lea 1(%rax,%rdx,2), %r12
	mov %r13, %rcx
	dec %r13
	jnz 1b
	hlt
END(j_loads)

/* native work, then a load from RDI (fault or MMIO or page-crossing), more work */
SNIP(j_fault)
	add %rbx, %rax
	inc %rcx
	mov (%rdi), %rdx
	inc %rcx
	hlt
END(j_fault)
	.section .note.GNU-stack,"",@progbits
