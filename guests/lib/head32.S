/* Entry of the 32-bit guests: protected mode, paging off, as multiboot and
 * PVH both enter.  EAX = multiboot magic (or anything for PVH), EBX = the
 * multiboot info / hvm_start_info pointer. */
#include "boot_headers.inc"

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	START32
	pushl %ebx              /* info */
	pushl %ebp              /* magic */
	call guest_main
2:	cli
	hlt
	jmp 2b

	.section .note.GNU-stack, "", @progbits
