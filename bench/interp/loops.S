/* The benchmark loops, assembled once and used twice: copied into guest
 * memory for the interpreter, and called natively (System V ABI: the count
 * arrives in %rdi, the data buffer in %rsi) for the reference speed.  Each
 * loop's body is one macro, expanded in both places: the guest entry ends
 * it with hlt, the native entry adds a prologue/epilogue outside the loop
 * and ret. */
	.text
#define GUEST(n) .globl n; .globl n##_end; n:
#define END(n) n##_end:

/* integer: 6 instructions per iteration, flags-heavy */
.macro LOOP_INT
	mov %edi, %ecx
	xor %eax, %eax
	xor %edx, %edx
	mov $1000, %ebx
1:	add %rcx, %rax
	xor %rax, %rdx
	sub $3, %rbx
	inc %r8
	dec %ecx
	jnz 1b
.endm

/* memory: 6 instructions per iteration over a 4 KiB ring */
.macro LOOP_MEM
	mov %edi, %ecx
	xor %edx, %edx
1:	mov %ecx, %eax
	and $511, %eax
	add (%rsi,%rax,8), %rdx
	mov %rdx, (%rsi,%rax,8)
	dec %ecx
	jnz 1b
.endm

/* rdtsc: 4 instructions per iteration, the TSC read Linux's system call
 * entry does (choose_random_kstack_offset) with a use of EAX */
.macro LOOP_TSC
	mov %edi, %ecx
1:	rdtsc
	add %rax, %r8
	dec %ecx
	jnz 1b
.endm

/* SSE: 4 instructions per iteration */
.macro LOOP_SSE
	mov %edi, %ecx
1:	addps %xmm1, %xmm0
	mulps %xmm2, %xmm3
	dec %ecx
	jnz 1b
.endm

/* crc32: ringbench's byte-wise table CRC as gcc compiles it (8 instructions
 * per byte: a byte load, a table load XORed in, shifts), over the 4 KiB at
 * RSI with the table after it, EDI/4096 rounds */
.macro LOOP_CRC
	mov %edi, %r13d
	shr $12, %r13d
	lea 4096(%rsi), %rbp
	xor %r14d, %r14d
2:	mov %rsi, %rax
	lea 4096(%rsi), %r12
1:	movzbl (%rax), %edx
	add $1, %rax
	xor %r14d, %edx
	shr $8, %r14d
	movzbl %dl, %edx
	xor 0(%rbp,%rdx,4), %r14d
	cmp %rax, %r12
	jne 1b
	dec %r13d
	jnz 2b
.endm

/* strscan: glibc's SSE2 strlen/memchr inner loop (an aligned 16-byte
 * load, PCMPEQB against zero, PMOVMSKB), the masks ORed together instead
 * of a data-dependent exit; 8 instructions per 16 bytes of a 4 KiB ring */
.macro LOOP_STR
	mov %edi, %ecx
	pxor %xmm0, %xmm0
	xor %eax, %eax
	xor %r8d, %r8d
1:	movdqa (%rsi,%rax), %xmm1
	pcmpeqb %xmm0, %xmm1
	pmovmskb %xmm1, %edx
	or %edx, %r8d
	add $16, %eax
	and $4095, %eax
	dec %ecx
	jnz 1b
.endm

/* chain: busybox gzip's longest_match hash-chain walk (deflate) in the
 * shape busybox's build has it (PERFORMANCE.md, "The gzip mix: where it
 * goes"): three blocks, 12 instructions per round; the first byte compare
 * fails (the window holds zeros, the scan byte is 1), the next match comes
 * from prev[] (RSI + 4096, zeros), the limit test (a JB where busybox has
 * JAE) never leaves, the chain count runs down.  The scan byte and the
 * limit live below RSP, as busybox keeps them in its frame. */
.macro LOOP_CHAIN
	mov %edi, %r9d
	mov %rsi, %r11
	lea 4096(%rsi), %r13
	xor %r8d, %r8d
	xor %ecx, %ecx
	movb $1, -9(%rsp)
	movl $0, -4(%rsp)
1:	mov %r8d, %edx
	movslq %ecx, %rax
	mov -9(%rsp), %r14b
	add %r11, %rdx
	cmp %r14b, (%rdx,%rax,1)
	jne 2f
	jmp 3f
2:	and $0x7ff, %r8d
	movzwl (%r13,%r8,2), %r8d
	cmp %r8d, -4(%rsp)
	jb 3f
	dec %r9d
	jne 1b
3:
.endm

/* avx2scan: glibc's AVX2 strlen/memchr inner loop (VPCMPEQB of 32 bytes
 * against zero, VPMOVMSKB, TZCNT), the masks ORed together instead of a
 * data-dependent exit; 8 instructions per 32 bytes of a 4 KiB ring */
.macro LOOP_AVX2
	mov %edi, %ecx
	vpxor %xmm0, %xmm0, %xmm0
	xor %eax, %eax
	xor %r8d, %r8d
1:	vpcmpeqb (%rsi,%rax), %ymm0, %ymm1
	vpmovmskb %ymm1, %edx
	tzcnt %edx, %edx
	or %edx, %r8d
	add $32, %eax
	and $4095, %eax
	dec %ecx
	jnz 1b
	vzeroupper
.endm

/* callret: a loop calling two small leaf functions that do some ALU
 * work and return (kernel code's call/ret shape): 10 instructions per
 * round in five blocks, two of them ending in RET (an indirect exit
 * through the IBTC in translated code), the flags live across each */
.macro LOOP_CALLRET
	mov %edi, %ecx
	xor %eax, %eax
	xor %edx, %edx
1:	call 5f
	call 6f
	dec %ecx
	jnz 1b
	jmp 7f
5:	add %rcx, %rax
	xor %rax, %rdx
	ret
6:	sub %rdx, %rax
	inc %r8
	ret
7:
.endm

/* guest entries: the body, then hlt */
GUEST(g_int)
	LOOP_INT
	hlt
END(g_int)

GUEST(g_mem)
	LOOP_MEM
	hlt
END(g_mem)

GUEST(g_sse)
	LOOP_SSE
	hlt
END(g_sse)

GUEST(g_crc)
	LOOP_CRC
	hlt
END(g_crc)

GUEST(g_str)
	LOOP_STR
	hlt
END(g_str)

GUEST(g_chain)
	LOOP_CHAIN
	hlt
END(g_chain)

GUEST(g_callret)
	LOOP_CALLRET
	hlt
END(g_callret)

GUEST(g_avx2)
	LOOP_AVX2
	hlt
END(g_avx2)

GUEST(g_tsc)
	LOOP_TSC
	hlt
END(g_tsc)

/* native entries: the same bodies, callee-saved registers kept, ret */
	.globl n_int, n_mem, n_sse, n_crc, n_str, n_chain, n_avx2, n_callret, n_tsc
n_callret:
	LOOP_CALLRET
	ret
n_tsc:
	LOOP_TSC
	ret
n_chain:
	push %r13
	push %r14
	LOOP_CHAIN
	pop %r14
	pop %r13
	ret
n_avx2:
	LOOP_AVX2
	ret
n_str:
	LOOP_STR
	ret
n_int:
	push %rbx
	LOOP_INT
	pop %rbx
	ret
n_mem:
	LOOP_MEM
	ret
n_sse:
	LOOP_SSE
	ret
n_crc:
	push %rbp
	push %r12
	push %r13
	push %r14
	LOOP_CRC
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	ret
	.section .note.GNU-stack, "", @progbits
