/* Guest code for the system-architecture tests (test_soft_sys.c).  Each
 * snippet is copied to guest address 0x10000; handlers are labelled so the
 * test can point IDT gates at them (offset from the snippet start).  Data
 * written by handlers goes to 0x20000. */
	.section .rodata.sys_snippets, "a"
#define SNIP(n) .globl n; .globl n##_end; n:
#define END(n) n##_end:
#define L(n) .globl n; n:
#define DATA 0x20000

	.code64
/* ring 3: INT 0x80 through a DPL-3 gate, IRETQ back, then #UD (ring 0 hlt) */
SNIP(s_lm_int)
	mov $1, %eax
	int $0x80
L(s_lm_int_ret)
	mov %rax, %rbx
L(s_lm_int_ud)
	ud2
L(s_lm_int_h80)
	mov (%rsp), %r8
	mov 8(%rsp), %r9
	mov 16(%rsp), %r10
	mov 24(%rsp), %r11
	mov 32(%rsp), %r12
	mov %rsp, %r13
	pushfq
	pop %rbp
	add $100, %rax
	iretq
L(s_lm_int_hud)
	mov %rsp, %r14
	hlt
END(s_lm_int)

/* ring 0: #PF through an IST gate */
SNIP(s_lm_pf)
	mov $0x10000000, %rax
L(s_lm_pf_fault)
	mov (%rax), %rbx
	hlt
L(s_lm_pf_h)
	mov %rsp, %r13
	mov (%rsp), %r8
	mov 8(%rsp), %r9
	mov %cr2, %r10
	hlt
END(s_lm_pf)

/* ring 0: set up SYSCALL, SYSRETQ to ring 3, SYSCALL back */
SNIP(s_syscall)
	mov $0xc0000081, %ecx		/* STAR: SYSCALL CS 0x08, SYSRET base 0x18 */
	xor %eax, %eax
	mov $0x00180008, %edx
	wrmsr
	mov $0xc0000082, %ecx		/* LSTAR */
	lea s_syscall_entry(%rip), %rax
	mov %rax, %rdx
	shr $32, %rdx
	wrmsr
	mov $0xc0000084, %ecx		/* SFMASK: IF */
	mov $0x200, %eax
	xor %edx, %edx
	wrmsr
	mov $0xc0000080, %ecx		/* EFER.SCE */
	rdmsr
	or $1, %eax
	wrmsr
	mov $0xc0000102, %ecx		/* KERNEL_GS_BASE */
	mov $0x1234000, %eax
	xor %edx, %edx
	wrmsr
	lea s_syscall_user(%rip), %rcx
	mov $0x202, %r11d
	mov $0x60000, %rsp
	sysretq
L(s_syscall_user)
	mov $42, %edi
	syscall
L(s_syscall_user_ret)
	ud2
L(s_syscall_entry)
	swapgs
	mov %rcx, %r14
	mov %r11, %r15
	pushfq
	pop %r13
	hlt
END(s_syscall)

/* ring 0: ud2 with gates missing -> #NP ... -> #DF (or triple fault) */
SNIP(s_df)
	ud2
L(s_df_h)
	mov (%rsp), %r8
	mov 8(%rsp), %r9
	hlt
END(s_df)

/* ring 3 -> 64-bit call gate -> ring 0, far return to ring 3 */
SNIP(s_lm_gate)
	lcall *s_lm_gate_ptr(%rip)
L(s_lm_gate_ret)
	mov %rsp, %rbx
	ud2
L(s_lm_gate_ptr)
	.long 0
	.word 0x63
L(s_lm_gate_h)
	mov (%rsp), %r8
	mov 8(%rsp), %r9
	mov 16(%rsp), %r10
	mov 24(%rsp), %r11
	mov %rsp, %r13
	lretq
L(s_lm_gate_hud)
	hlt
END(s_lm_gate)

	.code32
/* ring 3: INT 0x30 (32-bit gate, stack switch from the TSS), IRET back,
 * INT 0x31 (gate DPL 0: #GP(0x31*8+2)) */
SNIP(s_pm32)
	mov $7, %eax
	int $0x30
L(s_pm32_ret)
	mov %eax, %ebx
L(s_pm32_int31)
	int $0x31
L(s_pm32_h30)
	mov (%esp), %ecx
	mov %ecx, DATA
	mov 4(%esp), %ecx
	mov %ecx, DATA + 4
	mov 8(%esp), %ecx
	mov %ecx, DATA + 8
	mov 12(%esp), %ecx
	mov %ecx, DATA + 12
	mov 16(%esp), %ecx
	mov %ecx, DATA + 16
	mov %esp, DATA + 20
	pushf
	pop %ecx
	mov %ecx, DATA + 24
	add $1, %eax
	iret
L(s_pm32_hgp)
	mov (%esp), %edx
	mov 4(%esp), %esi
	mov %esp, %edi
	hlt
END(s_pm32)

/* ring 3 -> 32-bit call gate with one parameter -> ring 0, RETF 4 */
SNIP(s_gate32)
	push $0x99
	lcall $0x4b, $0
L(s_gate32_ret)
	mov %esp, %ebp
	ud2
L(s_gate32_h)
	mov (%esp), %esi
	mov 4(%esp), %edx
	mov 8(%esp), %ebx
	mov 12(%esp), %ecx
	mov 16(%esp), %edi
	mov %esp, DATA
	lret $4
L(s_gate32_hud)
	hlt
END(s_gate32)

	.code16
/* real mode: INT 0x10 / IRET through the IVT */
SNIP(s_real)
	mov $0x1234, %ax
	sti
	int $0x10
	mov %ax, %bx
	hlt
L(s_real_h)
	pushf
	pop %cx
	mov %sp, %dx
	inc %ax
	iret
END(s_real)
	.code64

	.section .note.GNU-stack, "", @progbits
