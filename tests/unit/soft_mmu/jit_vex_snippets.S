/* Guest code for test_jit_vex.c (64-bit mode), copied into guest memory. */
	.text
#define SNIP(n) .globl n; .globl n##_end; n:
#define END(n) n##_end:

/* what glibc's AVX2 string functions do, in a loop onto itself over the
 * bytes at RSI (advancing 7 bytes a round, so 32-byte loads cross into
 * the next page), storing to RDI: every form jit/vex.c emits, in
 * register and memory forms, the bit counts and the VEX general-register
 * BMI forms */
SNIP(j_vex)
	vpxor %xmm0, %xmm0, %xmm0
	mov $40, %ecx
1:	vmovdqu (%rsi), %ymm1
	vpcmpeqb 32(%rsi), %ymm0, %ymm2
	vpmovmskb %ymm2, %eax
	vpminub %ymm1, %ymm2, %ymm3
	vpor %ymm3, %ymm1, %ymm4
	vpand (%rsi), %xmm4, %xmm7
	vpsubb %ymm7, %ymm4, %ymm8
	vpcmpeqd %ymm8, %ymm1, %ymm9
	vpandn %ymm9, %ymm8, %ymm10
	vpmovmskb %xmm10, %r11d
	tzcnt %eax, %edx
	tzcnt 8(%rsi), %r12
	popcnt %rax, %r8
	lzcnt %rdx, %r9
	vpbroadcastb %xmm1, %ymm5
	vpbroadcastb 3(%rsi), %xmm11
	vmovd %eax, %xmm6
	vmovd %xmm4, %r10d
	vmovq %xmm5, 8(%rdi)
	vmovdqu %ymm4, (%rdi)
	vmovdqa %xmm6, 32(%rdi)
	vmovdqu %ymm8, %ymm12
	vptest %ymm12, %ymm12
	adc $0, %r10
	vptest 32(%rsi), %ymm1
	cmovz %rcx, %r10
	sbb $0, %r9
	vtestps %xmm2, %xmm1
	seta %dl
	vtestpd (%rsi), %ymm3
	cmovb %rcx, %r8
	shrx %rcx, %rax, %r13
	sarx %ecx, %edx, %r14d
	shlx %r8, %r10, %r15
	andn %r8, %r9, %r15
	blsr %rax, %rbx
	blsmsk %r9d, %ebp
	bzhi %rcx, %r8, %rbp
	bextr %rcx, %r13, %r14
	rorx $13, %r9, %r11
	pdep %rcx, %rax, %r13
	pext %r8d, %edx, %r14d
	andn 5(%rsi), %r9, %r15
	bzhi %rcx, 3(%rsi), %rbp
	shlx %rcx, 1(%rsi), %r11
	pext 8(%rsi), %rax, %r13
	blsi 6(%rsi), %ebx
	add $7, %rsi
	add $48, %rdi
	dec %ecx
	jnz 1b
	vmovdqu %xmm5, %xmm13
	vzeroupper
	hlt
END(j_vex)

/* a fault in the middle of a block: the first VEX instruction's checks
 * (#UD without CR4.OSXSAVE, #NM with CR0.TS) or the 32-byte load at RSI
 * (#PF, or a misaligned VMOVDQA: #GP) */
SNIP(j_vex_fault)
	add $2, %rax
	vpxor %ymm0, %ymm0, %ymm1
	vmovdqa (%rsi), %ymm2
	vpcmpeqb %ymm2, %ymm1, %ymm3
	hlt
END(j_vex_fault)

/* the VEX floating-point forms jit/vex.c emits, in a loop onto itself
 * over the bytes at RSI (13 a round: loads cross into the next page),
 * under whatever MXCSR the test set: a run of them loads the guest MXCSR
 * once, each stores the sticky flags back */
SNIP(j_vex_fp)
	mov $30, %ecx
1:	vmovups (%rsi), %ymm1
	vaddps 32(%rsi), %ymm1, %ymm2
	vmulpd %ymm2, %ymm1, %ymm3
	vsubss %xmm3, %xmm2, %xmm4
	vdivsd 8(%rsi), %xmm4, %xmm5
	vsqrtps %ymm1, %ymm6
	vsqrtsd %xmm5, %xmm6, %xmm7
	vminps %ymm6, %ymm2, %ymm8
	vmaxpd (%rsi), %ymm3, %ymm9
	vdivpd %xmm9, %xmm8, %xmm10
	vcmpps $0x11, %ymm2, %ymm1, %ymm11
	vcmpsd $3, %xmm5, %xmm4, %xmm12
	vcvtps2pd %xmm2, %ymm13
	vcvtpd2ps %ymm3, %xmm14
	vcvtdq2ps (%rsi), %ymm15
	vcvttps2dq %ymm2, %ymm0
	vcvtss2sd 4(%rsi), %xmm15, %xmm9
	vcvtdq2pd 16(%rsi), %ymm10
	vshufps $0x1b, %ymm2, %ymm1, %ymm2
	vunpcklpd %ymm3, %ymm2, %ymm3
	vmovups %ymm2, (%rdi)
	add $13, %rsi
	add $32, %rdi
	dec %ecx
	jnz 1b
	vzeroupper
	hlt
END(j_vex_fp)

/* 0/0 with the invalid-operation exception unmasked: #XM at the VDIVPS */
SNIP(j_vex_xm)
	add $2, %rax
	vxorps %xmm0, %xmm0, %xmm0
	vdivps %ymm0, %ymm0, %ymm2
	hlt
END(j_vex_xm)

/* a BMI memory form faulting in the middle of a block (#PF at RSI) */
SNIP(j_bmi_fault)
	add $2, %rax
	andn (%rsi), %rbx, %rcx
	blsr %rcx, %rdx
	hlt
END(j_bmi_fault)

	.section .note.GNU-stack,"",@progbits
