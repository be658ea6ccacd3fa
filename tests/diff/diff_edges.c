/* Hand-written edge cases: fixed encodings with chosen operands, run on
 * top of a random background state. */
#include "diff_edges.h"

#define RAX GPR_RAX
#define RCX GPR_RCX
#define RDX GPR_RDX
#define RBX GPR_RBX
#define NEG1 0xffffffffffffffffULL
#define MIN64 0x8000000000000000ULL
#define MAX64 0x7fffffffffffffffULL

/* flags: CF 1 PF 4 AF 10 ZF 40 SF 80 OF 800.  undef follows the SDM rules
 * quoted in diff_forms_int.c for the given operands (e.g. a shift by more
 * than 1 leaves OF undefined, by >= the width CF too). */
static const struct diff_edge diff_edges_tab[] = {
	{ "idiv rcx: INT64_MIN / -1 (#DE)", "48 f7 f9", 0x8d5, 8, 0,
	  { { RAX, MIN64 }, { RDX, NEG1 }, { RCX, NEG1 } }, 3, 0 },
	{ "div rcx: divide by zero (#DE)", "48 f7 f1", 0x8d5, 8, 0,
	  { { RAX, 5 }, { RDX, 0 }, { RCX, 0 } }, 3, 0 },
	{ "div cl: quotient overflow (#DE)", "f6 f1", 0x8d5, 1, 0,
	  { { RAX, 0xffff }, { RCX, 1 } }, 2, 0 },
	{ "idiv ecx: -2^31 / -1 (#DE)", "f7 f9", 0x8d5, 4, 0,
	  { { RAX, 0x80000000 }, { RDX, 0xffffffff }, { RCX, 0xffffffff } }, 3, 0 },
	{ "idiv cx: -1 / 2 rounds toward zero", "66 f7 f9", 0x8d5, 2, 0,
	  { { RAX, 0xffff }, { RDX, 0xffff }, { RCX, 2 } }, 3, 0 },
	{ "div rcx: max / 1 with rdx = 0", "48 f7 f1", 0x8d5, 8, 0,
	  { { RAX, NEG1 }, { RDX, 0 }, { RCX, 1 } }, 3, 0 },
	{ "add rax, rbx: signed overflow", "48 01 d8", 0, 8, 0,
	  { { RAX, MAX64 }, { RBX, 1 } }, 2, 0 },
	{ "add eax, ebx: carry and zero-extension", "01 d8", 0, 4, 0,
	  { { RAX, NEG1 }, { RBX, 1 } }, 2, 0 },
	{ "sub al, bl: borrow, AF", "28 d8", 0, 1, 0,
	  { { RAX, 0x10 }, { RBX, 0x01 } }, 2, 0 },
	{ "neg rax: INT64_MIN", "48 f7 d8", 0, 8, 0, { { RAX, MIN64 } }, 1, 0 },
	{ "neg eax: 0 clears CF", "f7 d8", 0, 4, 0, { { RAX, 0xffffffff00000000ULL } }, 1, 0 },
	{ "imul rax, rbx: overflow", "48 0f af c3", 0xd4, 8, 0,
	  { { RAX, 0x100000000ULL }, { RBX, 0x100000000ULL } }, 2, 0 },
	{ "mul rbx: 2^64-1 squared", "48 f7 e3", 0xd4, 8, 0,
	  { { RAX, NEG1 }, { RBX, NEG1 } }, 2, 0 },
	{ "imul bl: -128 * -1", "f6 eb", 0xd4, 1, 0, { { RAX, 0x80 }, { RBX, 0xff } }, 2, 0 },
	{ "shl eax, cl: count 32 masks to 0 (flags kept)", "d3 e0", 0, 4, 32,
	  { { RAX, 0x80000001 }, { RCX, 32 } }, 2, 0 },
	{ "shl rax, cl: count 64 masks to 0", "48 d3 e0", 0, 8, 64,
	  { { RAX, MIN64 | 1 }, { RCX, 64 } }, 2, 0 },
	{ "shr al, cl: count 9 >= width", "d2 e8", 0x811, 1, 9, { { RAX, 0xff }, { RCX, 9 } }, 2, 0 },
	{ "sar eax, 31", "c1 f8 1f", 0x810, 4, 31, { { RAX, 0x80000000 } }, 1, 0 },
	{ "shl ax, 1: OF from sign change", "66 d1 e0", 0x10, 2, 1, { { RAX, 0x4000 } }, 1, 0 },
	{ "rol al, 8: count mod width 0", "c0 c0 08", 0x800, 1, 8, { { RAX, 0x81 } }, 1, 0 },
	{ "rcl al, 9: count mod 9 = 0", "c0 d0 09", 0x800, 1, 9, { { RAX, 0x81 } }, 1, 0 },
	{ "rcr ax, 17: count mod 17 = 0", "66 c1 d8 11", 0x800, 2, 17, { { RAX, 0x8001 } }, 1, 0 },
	{ "ror rax, 0: no flag change", "48 c1 c8 00", 0, 8, 0, { { RAX, 1 } }, 1, 0 },
	{ "shld eax, ebx, 0", "0f a4 d8 00", 0, 4, 0, { { RAX, 1 }, { RBX, 2 } }, 2, 0 },
	{ "shrd rax, rbx, 63", "48 0f ac d8 3f", 0x810, 8, 63, { { RAX, 1 }, { RBX, NEG1 } }, 2, 0 },
	{ "bsf rax, rbx: zero source keeps dest", "48 0f bc c3", 0x895, 8, 0,
	  { { RAX, 0x1234 }, { RBX, 0 } }, 2, 0 },
	{ "bsr ecx, ebx: zero source", "0f bd cb", 0x895, 4, 0,
	  { { RCX, NEG1 }, { RBX, 0 } }, 2, 0 },
	{ "tzcnt rax, rbx: zero -> 64, CF", "f3 48 0f bc c3", 0x894, 8, 0, { { RBX, 0 } }, 1, 0 },
	{ "lzcnt ax, bx: zero -> 16", "66 f3 0f bd c3", 0x894, 2, 0, { { RBX, 0 } }, 1, 0 },
	{ "popcnt rax, rbx: all ones", "f3 48 0f b8 c3", 0, 8, 0, { { RBX, NEG1 } }, 1, 0 },
	{ "bt eax, 35: bit offset masked", "0f ba e0 23", 0x894, 4, 0, { { RAX, 8 } }, 1, 0 },
	{ "cmpxchg rbx, rcx: equal", "48 0f b1 cb", 0, 8, 0,
	  { { RAX, 7 }, { RBX, 7 }, { RCX, 9 } }, 3, 0 },
	{ "cmpxchg ebx, ecx: not equal zero-extends eax", "0f b1 cb", 0, 4, 0,
	  { { RAX, NEG1 }, { RBX, 7 }, { RCX, 9 } }, 3, 0 },
	{ "xadd al, bl", "0f c0 d8", 0, 1, 0, { { RAX, 0xff }, { RBX, 1 } }, 2, 0 },
	{ "movsx rax, bl: negative", "48 0f be c3", 0, 8, 0, { { RBX, 0x80 } }, 1, 0 },
	{ "movsxd rax, ebx", "48 63 c3", 0, 8, 0, { { RBX, 0x80000000 } }, 1, 0 },
	{ "mov eax, ebx zero-extends", "89 d8", 0, 4, 0, { { RAX, NEG1 }, { RBX, NEG1 } }, 2, 0 },
	{ "mov ax, bx keeps upper bits", "66 89 d8", 0, 2, 0, { { RAX, NEG1 }, { RBX, 0 } }, 2, 0 },
	{ "mov ah, bh (no REX)", "88 fc", 0, 1, 0, { { RAX, 0 }, { RBX, 0xff00 } }, 2, 0 },
	{ "mov spl, bl (REX)", "40 88 dc", 0, 1, 0, { { GPR_RSP, 0 }, { RBX, 0x7f } }, 2, 0 },
	{ "xchg eax, eax (87 c0) zero-extends", "87 c0", 0, 4, 0, { { RAX, NEG1 } }, 1, 0 },
	{ "nop (90) keeps rax", "90", 0, 4, 0, { { RAX, NEG1 } }, 1, 0 },
	{ "xchg r8, rax (49 90)", "49 90", 0, 8, 0, { { RAX, 1 }, { GPR_R8, 2 } }, 2, 0 },
	{ "bswap r9", "49 0f c9", 0, 8, 0, { { GPR_R9, 0x0102030405060708ULL } }, 1, 0 },
	{ "cqo: negative", "48 99", 0, 8, 0, { { RAX, MIN64 } }, 1, 0 },
	{ "cbw", "66 98", 0, 2, 0, { { RAX, 0xff80 } }, 1, 0 },
	{ "lea eax, [rbx+rcx*8+0x7fffffff] wraps", "8d 84 cb ff ff ff 7f", 0, 4, 0,
	  { { RBX, NEG1 }, { RCX, NEG1 } }, 2, 0 },
	{ "lea ax, [ebx+ecx] (67 66)", "67 66 8d 04 0b", 0, 2, 0,
	  { { RBX, 0xffffffff0000ffffULL }, { RCX, 1 } }, 2, 0 },
	{ "adc rax, rbx: carry in + overflow", "48 11 d8", 0, 8, 0,
	  { { RAX, MAX64 }, { RBX, 0 } }, 2, 1 },
	{ "sbb eax, ebx: borrow in", "19 d8", 0, 4, 0, { { RAX, 0 }, { RBX, 0 } }, 2, 1 },
	{ "inc rax: CF kept, OF", "48 ff c0", 0, 8, 0, { { RAX, MAX64 } }, 1, 1 },
	{ "dec al: AF", "fe c8", 0, 1, 0, { { RAX, 0x10 } }, 1, 0 },
	{ "setcc: setg with SF!=OF", "0f 9f c0", 0, 1, 0, { { RAX, 0 } }, 1, 0x80 },
	{ "cmovcc 32-bit not taken zero-extends", "0f 44 c3", 0, 4, 0,
	  { { RAX, NEG1 }, { RBX, 5 } }, 2, 0 },
	{ "sahf: AH bits to flags", "9e", 0, 1, 0, { { RAX, 0xd500 } }, 1, 0 },
	{ "rep stosb with rcx = 0", "f3 aa", 0, 1, 0,
	  { { RCX, 0 }, { GPR_RDI, 0x10200100 } }, 2, 0 },
	{ "rep movsq running off the end (#PF mid-string)", "f3 48 a5", 0, 8, 0,
	  { { RCX, 100 }, { GPR_RSI, 0x10200000 }, { GPR_RDI, 0x10201f00 } }, 3, 0 },
	{ "repe cmpsb stops at difference", "f3 a6", 0, 1, 0,
	  { { RCX, 50 }, { GPR_RSI, 0x10200000 }, { GPR_RDI, 0x10200000 } }, 3, 0 },
	{ "std; rep stosd with 67: edi wraps within data", "67 f3 ab", 0, 4, 0,
	  { { RCX, 0xffffffff00000004ULL }, { GPR_RDI, 0xdead000010200100ULL } }, 2, 0x400 },
	{ "mov rax, [0] (#PF cr2=0)", "48 8b 04 25 00 00 00 00", 0, 8, 0, { { RAX, 0 } }, 1, 0 },
	{ "mov rax, [non-canonical] (#GP)", "48 8b 03", 0, 8, 0,
	  { { RBX, 0x8000000000000000ULL } }, 1, 0 },
	{ "jmp rax to non-canonical", "ff e0", 0, 8, 0, { { RAX, 0x0000800000000000ULL } }, 1, 0 },
	{ "instruction longer than 15 bytes (#GP)",
	  "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 0, 4, 0, { { RAX, 0 } }, 1, 0 },
};

const struct diff_edge *diff_edges_get(size_t *n)
{
	*n = sizeof(diff_edges_tab) / sizeof(diff_edges_tab[0]);
	return diff_edges_tab;
}
