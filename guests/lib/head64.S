/* Entry of the 64-bit guests: enter in 32-bit protected mode with paging
 * off (multiboot or PVH), build an identity map of the low 4 GiB with 2 MiB
 * pages (the MMIO hole uncached), enable PAE, EFER.LME and paging, and jump
 * to 64-bit code. */
#include "boot_headers.inc"

#define CR0_PG    (1 << 31)
#define CR4_PAE   (1 << 5)
#define MSR_EFER  0xc0000080
#define EFER_LME  (1 << 8)
#define PTE_P     0x1
#define PTE_RW    0x2
#define PTE_PWT   0x8
#define PTE_PCD   0x10
#define PTE_PS    0x80

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	START32
	/* PML4[0] -> PDPT; PDPT[0..3] -> PD[0..3] (.bss is zero now) */
	movl $pdpt + (PTE_P | PTE_RW), pml4
	movl $pd + (PTE_P | PTE_RW), %eax
	xorl %ecx, %ecx
1:	movl %eax, pdpt(,%ecx,8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jne 1b
	/* PD[i] = i * 2 MiB, 2048 entries; from 3 GiB (the MMIO hole) uncached */
	movl $(PTE_P | PTE_RW | PTE_PS), %eax
	xorl %ecx, %ecx
2:	movl %eax, %edx
	cmpl $1536, %ecx
	jb 3f
	orl $(PTE_PCD | PTE_PWT), %edx
3:	movl %edx, pd(,%ecx,8)
	addl $0x200000, %eax
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $0x20, $long_mode

	.code64
long_mode:
	movw $0x18, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $stack_top, %rsp
	movl %ebp, %edi         /* magic (zero-extended) */
	movl %ebx, %esi         /* info */
	call guest_main
4:	cli
	hlt
	jmp 4b

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096

	.section .note.GNU-stack, "", @progbits
