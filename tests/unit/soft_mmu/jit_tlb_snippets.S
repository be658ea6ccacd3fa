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
/* stores and read-modify-writes of every size and fast-path kind over the
 * array at RSI (and %fs: = the same array), R13 times */
SNIP(j_stores)
1:	mov %rax, 8(%rsi,%rcx,8)
	and $3, %ecx
	mov %dl, 1(%rsi,%rcx)
	mov %ah, 3(%rsi)
	movw $0x1234, 2(%rsi)
	movl $-5, 4(%rsi)
	movq $-7, 40(%rsi)
	add %rdx, 16(%rsi)
	adcl $3, 20(%rsi)
	incq 24(%rsi)
	decb 25(%rsi)
	negw 26(%rsi)
	notl 28(%rsi)
	shlq $3, 32(%rsi)
	sarl %cl, 36(%rsi)
	rolw 48(%rsi)
	sete 50(%rsi)
	shldq $5, %rdx, 56(%rsi)
	btsq $3, 8(%rsi)
	subq %r13, %fs:16
	orb %dl, %fs:63
	imul 16(%rsi), %rdx
	add %rdx, %rax
	mov %r13, %rcx
	dec %r13
	jnz 1b
	hlt
END(j_stores)

/* code written by stores to the data page at RDI, called, rewritten and
 * called again: "mov eax, ebx; ret" with a new immediate each time */
SNIP(j_gen)
	xor %ebx, %ebx
1:	movl $0xb8, (%rdi)
	mov %ebx, 1(%rdi)
	movb $0xc3, 5(%rdi)
	call *%rdi
	add %rax, %rdx
	inc %ebx
	cmp $10, %ebx
	jne 1b
	hlt
END(j_gen)

/* a hot loop that patches the immediate of its own first instruction
 * through a RIP-relative store */
SNIP(j_smc)
1:	movl $0, %eax
	add %rax, %rdx
	inc %ecx
	mov %ecx, 1b+1(%rip)
	cmp $20, %ecx
	jne 1b
	hlt
END(j_smc)
/* PUSH POP, CALL rel and RET, CALL and JMP through registers and memory,
 * 50 times: RDX = sum of (c + 7 + 1) for c = 1..50 */
SNIP(j_calls)
	lea 3f(%rip), %rbx
	mov %rbx, 0x200000
	mov $50, %ecx
1:	push %rcx
	call 2f
	pop %rcx
	call *%rbx
	call *0x200000
	lea 4f(%rip), %rsi
	jmp *%rsi
4:	dec %ecx
	jnz 1b
	hlt
2:	add %rcx, %rdx
	push %rdx
	pop %rax
	ret
3:	add $4, %rdx
	ret
END(j_calls)
/* SSE/SSE2 moves and arithmetic on memory at RSI, 40 times, then an
 * aligned move from a misaligned address (#GP) */
SNIP(j_sse)
	mov $40, %ecx
1:	movdqu (%rsi), %xmm0
	paddd 16(%rsi), %xmm0
	movdqu %xmm0, 32(%rsi)
	movapd 48(%rsi), %xmm1
	addpd %xmm1, %xmm2
	divsd 8(%rsi), %xmm2
	movaps %xmm2, 64(%rsi)
	pxor %xmm0, %xmm3
	movntdq %xmm3, 80(%rsi)
	movss 4(%rsi), %xmm5
	movsd %xmm5, %xmm6
	dec %ecx
	jnz 1b
	movaps 4(%rsi), %xmm4
	hlt
END(j_sse)
/* flags live across memory accesses (translate.c: flags in R10 across a
 * probe, restored as an instruction needs them; jit/liveness.c), R13
 * rounds over the array at RSI, with values that vary every round: a
 * load between CMP and Jcc (CF), a store between ADD and ADC, SETO after
 * a store (OF only), CMOVL after a PUSH (SF, OF), INC between a load and
 * a store passing the ADD's CF on to an ADC, JP after a load (PF), a
 * faulting-free SBB from memory */
SNIP(j_flags)
	xor %r8d, %r8d
1:	imul $-1640531535, %r13, %rax
	add %r13, %rdx
	cmp %rax, (%rsi)
	mov 8(%rsi), %rbx
	jb 2f
	add $1, %r8
2:	add %rax, %rbx
	mov %rbx, 16(%rsi)
	adc %rdx, %r8
	sub %rax, %rdx
	mov %rdx, 24(%rsi)
	seto %cl
	movzbl %cl, %ecx
	add %rcx, %r8
	cmp $7, %al
	push %rax
	cmovl %rbx, %rdx
	pop %rcx
	add %rax, %rdx
	mov (%rsi), %r9
	inc %r9
	mov %r9, (%rsi)
	adc $0, %r8
	sbb 8(%rsi), %r11
	test %al, %al
	mov 16(%rsi), %r10
	jp 3f
	xor %r10, %r8
3:	mov %r13, %r12
	shl $60, %r12
	add %rax, %r12
	mov %r12, 32(%rsi)
	jo 4f
	rol $1, %r8
4:	dec %r13
	jnz 1b
	hlt
END(j_flags)

/* PUSH imm8/imm32, PUSH m64 (base + index, FS-relative, RSP-relative: the
 * address from the old RSP) and LEAVE through the fast path, R13 rounds
 * over the array at RSI; RDX sums what was pushed */
SNIP(j_push)
1:	push %rbp
	mov %rsp, %rbp
	pushq $-3
	pushq $0x12345678
	pushq $-0x12345678
	pushq 8(%rsi,%rcx,8)
	pushq %fs:16
	pushq 8(%rsp)
	pop %rax
	add %rax, %rdx
	pop %rax
	add %rax, %rdx
	pop %rax
	xor %rax, %rdx
	pop %rax
	add %rax, %rdx
	pop %rax
	add %rax, %rdx
	add %r13, 8(%rsi,%rcx,8)
	leave
	mov %r13, %rcx
	and $3, %ecx
	dec %r13
	jnz 1b
	hlt
END(j_push)
/* native work, then (at +3) PUSH m64 from RDI, PUSH imm8 or LEAVE: the
 * fault cases of test_push_faults */
SNIP(j_pushm_fault)
	add %rbx, %rax
	pushq (%rdi)
	inc %rcx
	hlt
END(j_pushm_fault)
SNIP(j_pushi_fault)
	add %rbx, %rax
	pushq $-2
	inc %rcx
	hlt
END(j_pushi_fault)
SNIP(j_leave_fault)
	add %rbx, %rax
	leave
	inc %rcx
	hlt
END(j_leave_fault)

/* CLI inline at CPL 0 between a flag-writing ADD and the ADC reading its
 * CF, R13 rounds; R8 collects IF as PUSHFQ sees it after CLI (0) */
SNIP(j_cli)
1:	sti
	add %rcx, %rdx
	cli
	adc $0, %rdx
	pushfq
	pop %rax
	and $0x200, %eax
	add %rax, %r8
	mov %r13, %rcx
	shl $60, %rcx
	dec %r13
	jnz 1b
	hlt
END(j_cli)

/* STI inline at CPL 0 (test_sti): R13 rounds of CLI, an ADD, STI (IF
 * 0->1: the shadow over the ADC reading the ADD's CF), STI again (IF
 * already 1); R8 collects IF as PUSHFQ sees it (0x200 a round).  Then
 * once more with the "interrupt pending" word at RSI set (the test points
 * cpu->irq_attn at it): the STI sets the kick, the ADC in its shadow
 * runs, and the run stops at j_sti_at. */
SNIP(j_sti)
1:	cli
	add %rcx, %rdx
	sti
	adc $0, %rdx
	.globl j_sti_at
j_sti_at:
	sti
	pushfq
	pop %rax
	and $0x200, %eax
	add %rax, %r8
	mov %r13, %rcx
	shl $60, %rcx
	dec %r13
	jnz 1b
	test %r9, %r9
	jnz 2f
	inc %r9
	inc %r13
	movl $1, (%rsi)
	jmp 1b
2:	hlt
END(j_sti)

/* DIV r/m64 and r/m32 on the host's DIV, R13 rounds over the array at
 * RSI; the flags of the ADD before the DIV read by the ADC after it (DIV
 * leaves them as they were); R8 sums quotients and remainders */
SNIP(j_div)
	xor %r8d, %r8d
	mov $0x10000, %ebx
1:	mov %r13, %rax
	imul %r13, %rax
	xor %edx, %edx
	divq 8(%rsi)
	add %rax, %r8
	add %rdx, %r8
	mov %r13, %rax
	shl $40, %rax
	add %rax, %rcx
	mov $3, %edx
	divl %ebx
	adc %rdx, %r8
	mov %r13, %rdi
	and $7, %edi
	mov %r8, %rax
	mov %r13, %rdx
	shr $8, %rdx
	divq (%rsi,%rdi,8)
	add %rax, %r8
	xor %rdx, %r8
	dec %r13
	jnz 1b
	hlt
END(j_div)
/* native work, then (at +3) DIV m64 from RDI: test_div_faults */
SNIP(j_div_fault)
	add %rbx, %rax
	divq (%rdi)
	inc %rcx
	hlt
END(j_div_fault)

	.section .note.GNU-stack,"",@progbits
