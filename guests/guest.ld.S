/* Link map of the test guests (32- and 64-bit): one RWX load segment at
 * LOAD_ADDR (1 MiB unless the image says otherwise: the -low images link at
 * 0x8000, in conventional memory), identity mapped (virtual == physical),
 * plus, in PVH images only, a
 * PT_NOTE for the Xen PHYS32_ENTRY note.  Run through the C preprocessor
 * with the image's BOOT_* define (guests/meson.build).  The multiboot
 * header comes first, well inside the first 8 KiB of the file; the a.out
 * kludge image is this layout flattened from __image_start to __load_end. */
ENTRY(_start)

PHDRS
{
	image PT_LOAD FLAGS(7);
#ifdef BOOT_PVH
	note PT_NOTE FLAGS(4);
#endif
}

SECTIONS
{
#ifndef LOAD_ADDR
#define LOAD_ADDR 0x100000
#endif
	. = LOAD_ADDR;
	__image_start = .;
	.text : {
		KEEP(*(.multiboot))
		*(.text.entry)
		*(.text .text.*)
	} :image
#ifdef BOOT_PVH
	.note.Xen : { KEEP(*(.note.Xen)) } :image :note
#endif
	.rodata : { *(.rodata .rodata.*) } :image
	/* GUEST_TEST() registrations (guest.h), one per test, from any file */
	.guest_tests : {
		. = ALIGN(8);
		__guest_tests_start = .;
		KEEP(*(.guest_tests))
		__guest_tests_end = .;
	} :image
	.data : { *(.data .data.*) } :image
	__load_end = .;
	.bss : {
		. = ALIGN(16);
		__bss_start = .;
		/* most-aligned sections first (page-aligned stacks and buffers),
		 * so alignment padding does not push the -low images past
		 * 0x20000, where ringvm puts the command line */
		*(SORT_BY_ALIGNMENT(.bss) SORT_BY_ALIGNMENT(.bss.*))
		*(COMMON)
		. = ALIGN(16);
		__bss_end = .;
	} :image
	/DISCARD/ : {
		*(.comment) *(.eh_frame*) *(.note.GNU-stack) *(.note.gnu.*)
	}
}
