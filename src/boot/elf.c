/* ELF32/ELF64 parsing and loading by physical address, shared by the PVH
 * and multiboot loaders.  Every header field is checked against the file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "boot_internal.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

#define EM_386    3
#define EM_X86_64 62
#define ET_EXEC   2
#define PN_XNUM   0xffff

int elf_parse(const struct boot_blob *b, struct elf_info *out)
{
	const uint8_t *d = b->data;

	memset(out, 0, sizeof(*out));
	if (b->size < 16 || memcmp(d, "\x7f" "ELF", 4) != 0)
		return -ENOEXEC;
	if (d[4] != 1 && d[4] != 2) {
		pr_err("%s: unsupported ELF class %u", b->path, d[4]);
		return -EINVAL;
	}
	out->is64 = d[4] == 2;
	if (d[5] != 1) {
		pr_err("%s: ELF image is not little endian", b->path);
		return -EINVAL;
	}
	size_t ehsize = out->is64 ? 64 : 52;
	if (b->size < ehsize) {
		pr_err("%s: truncated ELF header (%zu bytes)", b->path, b->size);
		return -EINVAL;
	}
	if (le16_at(d + 16) != ET_EXEC) {
		pr_err("%s: ELF file is not an executable (e_type %u)", b->path,
		       le16_at(d + 16));
		return -EINVAL;
	}
	out->machine = le16_at(d + 18);
	if (out->machine != EM_386 && out->machine != EM_X86_64) {
		pr_err("%s: ELF machine %u is not x86", b->path, out->machine);
		return -EINVAL;
	}
	if (out->is64) {
		out->entry = le64_at(d + 24);
		out->phoff = le64_at(d + 32);
		out->phentsize = le16_at(d + 54);
		out->phnum = le16_at(d + 56);
	} else {
		out->entry = le32_at(d + 24);
		out->phoff = le32_at(d + 28);
		out->phentsize = le16_at(d + 42);
		out->phnum = le16_at(d + 44);
	}
	if (out->phentsize != (out->is64 ? 56 : 32)) {
		pr_err("%s: bad ELF program header size %u", b->path, out->phentsize);
		return -EINVAL;
	}
	if (out->phnum == 0 || out->phnum == PN_XNUM) {
		pr_err("%s: ELF image has %s program headers", b->path,
		       out->phnum ? "too many" : "no");
		return -EINVAL;
	}
	if (!boot_range_ok(out->phoff, (uint64_t)out->phnum * out->phentsize, b->size)) {
		pr_err("%s: ELF program headers (offset 0x%" PRIx64 ", %u entries) "
		       "extend past the end of the file (%zu bytes)", b->path,
		       out->phoff, out->phnum, b->size);
		return -EINVAL;
	}
	return 0;
}

void elf_phdr_get(const struct boot_blob *b, const struct elf_info *e,
		  unsigned i, struct elf_phdr *out)
{
	const uint8_t *p = b->data + e->phoff + (uint64_t)i * e->phentsize;

	out->type = le32_at(p);
	if (e->is64) {
		out->offset = le64_at(p + 8);
		out->vaddr = le64_at(p + 16);
		out->paddr = le64_at(p + 24);
		out->filesz = le64_at(p + 32);
		out->memsz = le64_at(p + 40);
	} else {
		out->offset = le32_at(p + 4);
		out->vaddr = le32_at(p + 8);
		out->paddr = le32_at(p + 12);
		out->filesz = le32_at(p + 16);
		out->memsz = le32_at(p + 20);
	}
}

/* Alignment of a note segment's entries (4, or 8 for p_align 8). */
static uint64_t elf_note_align(const struct boot_blob *b, const struct elf_info *e,
			       unsigned i)
{
	const uint8_t *p = b->data + e->phoff + (uint64_t)i * e->phentsize;
	uint64_t align = e->is64 ? le64_at(p + 48) : le32_at(p + 28);
	return align == 8 ? 8 : 4;
}

const uint8_t *elf_find_note(const struct boot_blob *b, const struct elf_info *e,
			     const char *name, uint32_t type, uint32_t *descsz)
{
	uint64_t want = strlen(name) + 1;

	for (unsigned i = 0; i < e->phnum; i++) {
		struct elf_phdr ph;
		elf_phdr_get(b, e, i, &ph);
		if (ph.type != ELF_PT_NOTE || !boot_range_ok(ph.offset, ph.filesz, b->size))
			continue;
		uint64_t align = elf_note_align(b, e, i);
		const uint8_t *seg = b->data + ph.offset;
		uint64_t pos = 0;
		while (ph.filesz - pos >= 12) {
			uint32_t nsz = le32_at(seg + pos);
			uint32_t dsz = le32_at(seg + pos + 4);
			uint32_t ntype = le32_at(seg + pos + 8);
			uint64_t name_off = pos + 12;
			uint64_t desc_off = name_off + ALIGN_UP((uint64_t)nsz, align);
			uint64_t next = desc_off + ALIGN_UP((uint64_t)dsz, align);
			if (!boot_range_ok(name_off, nsz, ph.filesz) ||
			    !boot_range_ok(desc_off, dsz, ph.filesz))
				break; /* malformed: stop walking this segment */
			if (ntype == type && nsz == want &&
			    memcmp(seg + name_off, name, want) == 0) {
				*descsz = dsz;
				return seg + desc_off;
			}
			if (next <= pos || next > ph.filesz)
				break;
			pos = next;
		}
	}
	return NULL;
}

int elf_load(struct vm *vm, const struct boot_blob *b, const struct elf_info *e,
	     const char *fmt_name, unsigned proto, uint64_t *start, uint64_t *end)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	struct elf_phdr ph;

	/* Validate everything before writing anything. */
	for (unsigned i = 0; i < e->phnum; i++) {
		elf_phdr_get(b, e, i, &ph);
		if (ph.type != ELF_PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz) {
			pr_err("%s: %s segment %u has p_filesz 0x%" PRIx64
			       " larger than p_memsz 0x%" PRIx64, b->path, fmt_name,
			       i, ph.filesz, ph.memsz);
			return -EINVAL;
		}
		if (!boot_range_ok(ph.offset, ph.filesz, b->size)) {
			pr_err("%s: %s segment %u (offset 0x%" PRIx64 ", 0x%" PRIx64
			       " bytes) extends past the end of the file (%zu bytes)",
			       b->path, fmt_name, i, ph.offset, ph.filesz, b->size);
			return -EINVAL;
		}
		char what[48];
		snprintf(what, sizeof(what), "%s segment %u", fmt_name, i);
		if (boot_check_load_range(vm, b->path, what, ph.paddr, ph.memsz, proto) < 0)
			return -EINVAL;
		if (ph.paddr < lo)
			lo = ph.paddr;
		if (ph.paddr + ph.memsz > hi)
			hi = ph.paddr + ph.memsz;
	}
	if (hi == 0) {
		pr_err("%s: ELF image has no loadable segments", b->path);
		return -EINVAL;
	}
	for (unsigned i = 0; i < e->phnum; i++) {
		elf_phdr_get(b, e, i, &ph);
		if (ph.type != ELF_PT_LOAD || ph.memsz == 0)
			continue;
		if (gmem_write(&vm->mem, ph.paddr, b->data + ph.offset, ph.filesz) < 0 ||
		    gmem_fill(&vm->mem, ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz) < 0) {
			pr_err("%s: cannot write segment %u to guest memory", b->path, i);
			return -EFAULT;
		}
	}
	*start = lo;
	*end = hi;
	return 0;
}

uint64_t elf_entry_phys(const struct boot_blob *b, const struct elf_info *e)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		struct elf_phdr ph;
		elf_phdr_get(b, e, i, &ph);
		if (ph.type == ELF_PT_LOAD && e->entry >= ph.vaddr &&
		    e->entry - ph.vaddr < ph.memsz)
			return ph.paddr + (e->entry - ph.vaddr);
	}
	return e->entry;
}
