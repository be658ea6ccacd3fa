/* Guest code for the soft CPU unit tests.  Each snippet is copied to guest
 * address 0x1000 and run until HLT; data lives at 0x20000, the stack below
 * 0x80000.  Assembled by the host toolchain into a data section. */
	.section .rodata.snippets, "a"
#define SNIP(n) .globl n; .globl n##_end; n:
#define END(n) n##_end:
#define DATA 0x20000

	.code64
SNIP(s_alu)
	mov $0x7fffffffffffffff, %rax
	add $1, %rax			/* OF SF AF PF, rax = 0x8000... */
	hlt
END(s_alu)

SNIP(s_highbyte)
	mov $0x1234, %eax
	add %ah, %al			/* al = 0x46 */
	mov $-1, %rbx
	mov $1, %ebx			/* zero-extends: rbx = 1 */
	mov $-1, %rcx
	mov $0x55, %cl			/* merges: rcx = ...ff55 */
	mov $-1, %rdx
	mov $0x7777, %dx
	hlt
END(s_highbyte)

SNIP(s_add128)				/* (rdx:rax) += (rcx:rbx) */
	mov $0xffffffffffffffff, %rax
	mov $1, %rdx
	mov $1, %rbx
	mov $2, %rcx
	add %rbx, %rax
	adc %rcx, %rdx			/* rdx = 4, rax = 0 */
	mov $0, %r8
	sub $1, %r8			/* CF = 1 */
	mov $5, %r9
	sbb $2, %r9			/* r9 = 2 */
	stc
	inc %r10			/* CF preserved */
	hlt
END(s_add128)

SNIP(s_shift)
	mov $0x80000000, %eax
	shl $1, %eax			/* 0, CF=1 OF=1 ZF=1 */
	mov $-16, %rbx
	sar $2, %rbx			/* -4 */
	mov $0x81, %cl
	rol $1, %cl			/* 0x03, CF=1 */
	mov $1, %dl
	stc
	rcr $1, %dl			/* 0x80, CF=1 */
	mov $0x1234, %si
	mov $0xabcd, %di
	shld $4, %di, %si		/* si = 0x234a */
	mov $0x12345678, %r8d
	mov $0x9abcdef0, %r9d
	mov $8, %cl
	shrd %cl, %r9d, %r8d		/* r8d = 0xf0123456 */
	mov $5, %r10
	shl $64, %r10			/* count masked to 0: unchanged */
	hlt
END(s_shift)

SNIP(s_muldiv)
	mov $0xffffffffffffffff, %rax
	mov $2, %rbx
	mul %rbx			/* rdx:rax = 1:fffffffffffffffe, CF=OF=1 */
	mov %rax, %r8
	mov %rdx, %r9
	mov $-7, %rax
	cqo
	mov $2, %rcx
	idiv %rcx			/* rax = -3, rdx = -1 */
	mov %rax, %r10
	mov %rdx, %r11
	mov $100, %eax
	imul $-3, %eax, %r12d		/* -300 */
	mov $0x40, %al
	mov $4, %bl
	mul %bl				/* ax = 0x100 */
	mov %eax, %r13d
	mov $1000, %r14
	imul %r14, %r14			/* 1000000 */
	hlt
END(s_muldiv)

SNIP(s_divzero)
	xor %ecx, %ecx
	mov $5, %eax
	div %ecx
	hlt
END(s_divzero)

SNIP(s_divover)
	mov $1, %rdx
	xor %eax, %eax
	mov $1, %rcx
	div %rcx			/* quotient 2^64: #DE */
	hlt
END(s_divover)

SNIP(s_idivover)
	mov $0x80000000, %eax
	cdq
	mov $-1, %ecx
	idiv %ecx			/* INT_MIN / -1: #DE */
	hlt
END(s_idivover)

SNIP(s_ud2)
	nop
	ud2
END(s_ud2)

SNIP(s_bits)
	mov $DATA, %rsi
	movq $0, (%rsi)
	movq $0, 8(%rsi)
	mov $100, %rax
	bts %rax, (%rsi)		/* bit 100: byte 12, bit 4 */
	mov $-1, %rbx
	bts %rbx, 16(%rsi)		/* bit -1 of DATA+16 = bit 7 of DATA+15 */
	mov $0x100, %ecx
	bsf %ecx, %edx			/* 8 */
	bsr %ecx, %edi			/* 8 */
	mov $0xf0f0, %r8d
	popcnt %r8d, %r9d		/* 8 */
	mov $1, %r10d
	lzcnt %r10d, %r11d		/* 31 */
	mov $0x20, %r12
	bt $5, %r12			/* CF = 1 */
	hlt
END(s_bits)

SNIP(s_loop)
	xor %eax, %eax
	mov $100, %ecx
1:	add %rcx, %rax
	dec %ecx
	jnz 1b				/* rax = 5050 */
	xor %ebx, %ebx
	cmp $5050, %rax
	sete %bl
	mov $7, %edx
	cmovne %rax, %rdx		/* not taken: 7 */
	cmove %rax, %rsi		/* taken: 5050 */
	hlt
END(s_loop)

SNIP(s_call)
	mov $0x80000, %rsp
	mov $10, %rdi
	call fact
	hlt
fact:	/* rax = rdi! (recursive, with a frame) */
	push %rbp
	mov %rsp, %rbp
	cmp $1, %rdi
	jbe 2f
	push %rdi
	dec %rdi
	call fact
	pop %rdi
	imul %rdi, %rax
	leave
	ret
2:	mov $1, %eax
	leave
	ret
END(s_call)

SNIP(s_enter)
	mov $0x80000, %rsp
	mov $0x1111, %rbp
	enter $16, $0
	mov %rsp, %rax
	mov %rbp, %rbx
	leave
	pushfq
	popq %rcx
	push $-2
	pop %rdx
	hlt
END(s_enter)

SNIP(s_rep64)
	cld
	mov $DATA, %rdi
	mov $0xab, %al
	mov $100, %ecx
	rep stosb
	mov $DATA, %rsi
	mov $DATA + 0x1000, %rdi
	mov $25, %ecx
	rep movsl
	mov $DATA, %rsi
	mov $DATA + 0x1000, %rdi
	mov $100, %ecx
	repe cmpsb			/* all equal: rcx = 0, ZF = 1 */
	mov %rcx, %r8
	movb $0x00, DATA + 50
	mov $DATA, %rdi
	mov $100, %ecx
	mov $0, %al
	repne scasb			/* found at 50: rcx = 49 */
	mov %rcx, %r9
	mov %rdi, %r10
	addr32 rep stosb		/* rcx = 49, 32-bit address size */
	mov %rcx, %r11
	std
	mov $DATA + 3, %rsi
	lodsb
	cld
	hlt
END(s_rep64)

SNIP(s_atomic)
	mov $DATA, %rsi
	movq $5, (%rsi)
	mov $5, %eax
	mov $9, %ecx
	lock cmpxchg %ecx, (%rsi)	/* equal: [rsi] = 9, ZF = 1 */
	setz %r8b
	mov $7, %eax
	lock cmpxchg %ecx, (%rsi)	/* not equal: eax = 9 */
	mov %eax, %r9d
	mov $3, %edx
	lock xadd %edx, (%rsi)		/* [rsi] = 12, edx = 9 */
	mov %edx, %r10d
	mov $1, %r11
	xchg %r11, (%rsi)		/* r11 = 12 */
	/* cmpxchg16b at DATA+0x100 */
	mov $DATA + 0x100, %rdi
	movq $1, (%rdi)
	movq $2, 8(%rdi)
	mov $1, %eax
	mov $2, %edx
	mov $3, %ebx
	mov $4, %ecx
	lock cmpxchg16b (%rdi)		/* equal: memory = 3,4 */
	setz %r12b
	lock cmpxchg16b (%rdi)		/* now unequal: rdx:rax = 4:3 */
	setz %r13b
	hlt
END(s_atomic)

SNIP(s_cx16_misaligned)
	mov $DATA + 8, %rdi
	cmpxchg16b (%rdi)
	hlt
END(s_cx16_misaligned)

SNIP(s_misc)
	mov $0x8000, %eax
	cwde				/* eax = 0xffff8000 */
	mov %rax, %r8
	mov $0x80000000, %eax
	cdqe				/* rax = 0xffffffff80000000 */
	mov %rax, %r9
	mov $0x80, %al
	cbw				/* ax = 0xff80 */
	mov %ax, %r10w
	xor %eax, %eax
	stc
	lahf				/* ah = 0x47 (ZF PF fixed CF) */
	mov %eax, %r11d
	mov $0xc1, %ah
	sahf				/* SF ZF CF */
	mov $0x12345678, %ebx
	bswap %ebx
	movbe %ebx, DATA
	mov DATA, %ecx
	lea 8(%rbx,%rcx,2), %rdx
	xor %eax, %eax
	cpuid
	mov %ebx, %r12d
	rdtsc
	mov %eax, %r13d
	hlt
END(s_misc)

SNIP(s_int)
	nop
	int $0x80
	hlt
END(s_int)

SNIP(s_lock_bad)
	.byte 0xf0, 0x48, 0x01, 0xc3	/* lock add %rax, %rbx: register destination */
END(s_lock_bad)

SNIP(s_push_es)
	.byte 0x06			/* PUSH ES: invalid in 64-bit mode */
END(s_push_es)

SNIP(s_vex)
	vpxor %xmm0, %xmm0, %xmm0
END(s_vex)

SNIP(s_io)
	mov $0x3f8, %dx
	mov $0x41, %al
	out %al, %dx
	in $0x60, %al
	mov $DATA, %rsi
	movl $0x44434241, (%rsi)
	mov $4, %ecx
	rep outsb
	hlt
END(s_io)

/* self-modifying code: patch the immediate of the next instruction */
SNIP(s_smc)
	movb $0x42, 1f+1(%rip)
1:	mov $0x00, %al
	mov $3, %ecx
2:	movb %cl, 3f+1(%rip)		/* patch an instruction in the loop body */
3:	mov $0x00, %bl
	add %bl, %dl
	dec %ecx
	jnz 2b				/* dl = 3 + 2 + 1 = 6 */
	hlt
END(s_smc)

/* a hot loop run through the icache, then rewritten by the host */
SNIP(s_fresh)
	mov $1000, %ecx
	xor %eax, %eax
1:	add $1, %eax
	dec %ecx
	jnz 1b
	hlt
END(s_fresh)

	.code32
SNIP(s_rep32)
	cld
	mov $DATA, %edi
	mov $0x5a, %al
	mov $16, %ecx
	rep stosb
	mov $DATA, %esi
	mov $DATA + 0x100, %edi
	mov $4, %ecx
	rep movsl
	mov $0x10, %esi			/* 16-bit addressing: SI/DI */
	mov $0x20, %edi
	mov $3, %ecx
	addr16 rep movsb
	mov %esi, %ebx
	push $0x1234
	pop %edx
	hlt
END(s_rep32)

/* 32-bit protected mode: calls, stack, loops, 16-bit operands */
SNIP(s_flow32)
	mov $0x80000, %esp
	mov $5, %ecx
	xor %eax, %eax
1:	add %ecx, %eax
	loop 1b				/* eax = 15 */
	call 2f
	jmp 3f
2:	push %ebp
	mov %esp, %ebp
	mov $0x77, %ebx
	pushw $0x1234			/* 16-bit push: esp -= 2 */
	popw %dx
	leave
	ret
3:	mov %esp, %esi			/* back at 0x80000 */
	mov $0xfffffffe, %edi
	add $3, %edi			/* CF = 1, edi = 1 */
	setc %ah
	movzwl %dx, %edx
	movsbl %al, %ebp		/* al = 15 */
	hlt
END(s_flow32)

	.code16
/* real mode: 16-bit stack, near call/ret, jcc rel16, 32-bit operands */
SNIP(s_flow16)
	xor %ax, %ax
	mov %ax, %ss
	mov $0x8000, %sp
	mov $10, %cx
	xor %bx, %bx
1:	add %cx, %bx
	dec %cx
	jnz 1b				/* bx = 55 */
	call 2f
	jmp 3f
2:	mov $0x1234, %dx
	ret
3:	mov $0x12345678, %eax		/* 66-prefixed in 16-bit mode */
	push %eax			/* sp -= 4 */
	pop %edi
	mov %sp, %si			/* 0x8000 */
	hlt
END(s_flow16)

	.code16
SNIP(s_rep16)
	cld
	mov $0x2000, %ax
	mov %ax, %es			/* ES base 0x20000 */
	mov %ax, %ds
	xor %di, %di
	mov $0x77, %al
	mov $8, %cx
	rep stosb
	xor %si, %si
	mov $0x100, %di
	mov $8, %cx
	rep movsb
	mov $0x100, %bx
	mov -1(%bx,%si), %dl		/* 16-bit addressing [bx+si-1]: DS:0x107 */
	mov $0x3, %ecx
	.byte 0x67, 0xf3, 0xaa		/* addr32 rep stosb: 32-bit address size in 16-bit mode
				 * (as bytes: clang's assembler rejects the prefix in .code16) */
	hlt
END(s_rep16)
	.code64

	.section .note.GNU-stack, "", @progbits
