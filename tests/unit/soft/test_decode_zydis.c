/* Decoder vs Zydis (oracle): lengths and validity of (a) random byte strings
 * (fixed seed, biased towards prefixes and the 0F maps) and (b) real code:
 * a linear sweep of the .text of host ELF binaries (and the guest vmlinux if
 * present), resynchronised with Zydis's length.
 *
 * Default: a sample that runs in seconds.  RINGVM_DECODE_FULL=1: every
 * /usr/bin binary, .cache/guest/vmlinux and 10x the random strings.
 * Known, accepted differences (counted, not failures): AMD-only extensions
 * (3DNow!, XOP, SSE4a, SVM, CLZERO, MONITORX, RDPRU, TBM, FMA4, ...), which
 * our Intel-model CPU decodes as #UD, and VEX/EVEX validity (decoded for
 * length only).  Everything else is a failure, printed with its bytes. */
#include <Zydis/Zydis.h>
#include <dirent.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/cpu/soft/decode.h"
#include "xorshift.h"

struct stats {
	unsigned long total, both_valid, len_mismatch, op_mismatch, osz_mismatch;
	unsigned long z_only_known, z_only_bad, us_only_known, us_only_bad;
	unsigned printed;
};

static bool amd_only(ZydisISAExt e)
{
	switch (e) {
	case ZYDIS_ISA_EXT_AMD3DNOW: case ZYDIS_ISA_EXT_AMD3DNOW_PREFETCH:
	case ZYDIS_ISA_EXT_AMD_INVLPGB: case ZYDIS_ISA_EXT_CLZERO: case ZYDIS_ISA_EXT_FMA4:
	case ZYDIS_ISA_EXT_KNC: case ZYDIS_ISA_EXT_KNCE: case ZYDIS_ISA_EXT_KNCV:
	case ZYDIS_ISA_EXT_MCOMMIT: case ZYDIS_ISA_EXT_MONITORX: case ZYDIS_ISA_EXT_PADLOCK:
	case ZYDIS_ISA_EXT_RDPRU: case ZYDIS_ISA_EXT_SNP: case ZYDIS_ISA_EXT_SSE4A:
	case ZYDIS_ISA_EXT_SVM: case ZYDIS_ISA_EXT_TBM: case ZYDIS_ISA_EXT_XOP:
	/* not modelled (yet): decode as #UD is acceptable */
	case ZYDIS_ISA_EXT_KEYLOCKER: case ZYDIS_ISA_EXT_KEYLOCKER_WIDE: case ZYDIS_ISA_EXT_UINTR:
	case ZYDIS_ISA_EXT_TDX: case ZYDIS_ISA_EXT_PCONFIG: case ZYDIS_ISA_EXT_WAITPKG:
	case ZYDIS_ISA_EXT_SERIALIZE: case ZYDIS_ISA_EXT_TSX_LDTRK: case ZYDIS_ISA_EXT_HRESET:
	case ZYDIS_ISA_EXT_SGX_ENCLV: case ZYDIS_ISA_EXT_PT: case ZYDIS_ISA_EXT_CET:
	case ZYDIS_ISA_EXT_CLDEMOTE: case ZYDIS_ISA_EXT_MPX:
		return true;
	default:
		return false;
	}
}

static void dump(const char *what, const uint8_t *b, unsigned n, const ZydisDecodedInstruction *z,
		 bool zok, const struct x86_insn *in, int ust, struct stats *s)
{
	if (s->printed++ >= 25)
		return;
	printf("  %-14s", what);
	for (unsigned i = 0; i < n && i < 15; i++)
		printf(" %02x", b[i]);
	printf("  | zydis %s len %u | ours st %d len %u map %u op %02x\n",
	       zok ? ZydisMnemonicGetString(z->mnemonic) : "invalid", zok ? z->length : 0,
	       ust, in->len, in->map, in->opcode);
}

static const unsigned zmap[] = { [ZYDIS_OPCODE_MAP_DEFAULT] = X86_MAP_1BYTE, [ZYDIS_OPCODE_MAP_0F] = X86_MAP_0F,
	[ZYDIS_OPCODE_MAP_0F38] = X86_MAP_0F38, [ZYDIS_OPCODE_MAP_0F3A] = X86_MAP_0F3A };

/* Compare one instruction; returns Zydis's length (0 = invalid). */
static unsigned compare(const ZydisDecoder *zd, enum soft_mode mode, const uint8_t *b, size_t n,
			struct stats *s)
{
	ZydisDecodedInstruction z;
	struct x86_insn in;
	bool zok = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(zd, NULL, b, n, &z));
	int ust = x86_decode(b, n, mode, &in);
	bool uok = ust == X86_DEC_OK;
	s->total++;
	if (zok && uok) {
		s->both_valid++;
		if (z.length != in.len) {
			s->len_mismatch++;
			dump("LENGTH", b, z.length > in.len ? z.length : in.len, &z, zok, &in, ust, s);
		} else if (z.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY &&
			   z.opcode_map <= ZYDIS_OPCODE_MAP_0F3A &&
			   (zmap[z.opcode_map] != in.map || z.opcode != in.opcode)) {
			s->op_mismatch++;
			dump("OPCODE", b, z.length, &z, zok, &in, ust, s);
		} else if (z.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY && in.op &&
			   X86_OPND_SIZE(in.op->opnd[0]) == OS_v &&
			   (X86_OPND_KIND(in.op->opnd[0]) == OK_E || X86_OPND_KIND(in.op->opnd[0]) == OK_G) &&
			   !(in.op->flags & (F_SSE)) && in.id != X86_I_NOP && z.operand_width != in.opsize * 8) {
			s->osz_mismatch++;
			dump("OPSIZE", b, z.length, &z, zok, &in, ust, s);
		}
	} else if (zok) {
		if (amd_only(z.meta.isa_ext) || z.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) {
			s->z_only_known++;
		} else {
			s->z_only_bad++;
			dump("ZYDIS-ONLY", b, z.length, &z, zok, &in, ust, s);
		}
	} else if (uok) {
		if (in.prefixes & (X86_PFX_VEX | X86_PFX_EVEX)) {
			s->us_only_known++;
		} else {
			s->us_only_bad++;
			dump("OURS-ONLY", b, in.len, &z, zok, &in, ust, s);
		}
	}
	return zok ? z.length : 0;
}

static void random_strings(const ZydisDecoder *zd, enum soft_mode mode, unsigned count, struct stats *s)
{
	static const uint8_t pfx[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x64, 0x65, 0x48, 0x41, 0x4f };
	uint64_t x = 0x9e3779b97f4a7c15ULL + mode;
	uint8_t b[16];
	for (unsigned i = 0; i < count; i++) {
		for (unsigned j = 0; j < 16; j++)
			b[j] = (uint8_t)xorshift64(&x);
		unsigned p = 0, r = (unsigned)xorshift64(&x);
		unsigned np = r & 3;
		for (unsigned k = 0; k < np && (r & 4); k++)
			b[p++] = pfx[xorshift64(&x) % sizeof(pfx)];
		switch ((r >> 4) & 7) {
		case 0: case 1: case 2: b[p] = 0x0f; break;
		case 3: b[p] = 0x0f; b[p + 1] = (r & 0x100) ? 0x38 : 0x3a; break;
		default: break;
		}
		compare(zd, mode, b, 15, s);
	}
}

/* The VEX general-register rows (BMI1/BMI2: VEX 0F38 F0-F7, 0F3A F0),
 * which our decoder resolves and validates (VEX.L, VEX.vvvv, W by mode):
 * random VEX fields, ModRM/SIB/displacement bytes, compared strictly with
 * Zydis for validity, length, mnemonic and operand width.  One accepted
 * difference: outside 64-bit mode the SDM says the 3-byte VEX "will ignore"
 * the high bit of VEX.vvvv (vol. 2, Table 2-9), so RORX with only that bit
 * off 1111b is valid for us; Zydis refuses it. */
static bool vex_gpr_sweep(const ZydisDecoder *zd, enum soft_mode mode, unsigned count)
{
	uint64_t x = 0x5bd1e995u + mode;
	unsigned long valid = 0, bad = 0, known = 0;
	for (unsigned i = 0; i < count; i++) {
		uint8_t b[15];
		for (unsigned j = 0; j < 15; j++)
			b[j] = (uint8_t)xorshift64(&x);
		unsigned r = (unsigned)xorshift64(&x);
		bool map3 = (r & 7) == 0;
		b[0] = 0xc4;
		b[1] = (uint8_t)((b[1] & 0xe0) | (map3 ? 3 : 2));
		if (mode != SOFT_MODE_64)
			b[1] |= 0xc0; /* else LES */
		if (r & 8) /* mostly vvvv = 1111b, the valid RORX form */
			b[2] |= 0x78;
		if (r & 0x10)
			b[2] &= (uint8_t)~4; /* mostly L = 0 */
		b[3] = map3 ? 0xf0 : (uint8_t)(0xf0 + ((r >> 8) & 7));
		ZydisDecodedInstruction z;
		struct x86_insn in;
		bool zok = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(zd, NULL, b, 15, &z));
		bool uok = x86_decode(b, 15, mode, &in) == X86_DEC_OK && in.exec != soft_exec_vex;
		bool same = zok == uok;
		if (same && zok)
			same = z.length == in.len && z.operand_width == in.opsize * 8 &&
			       strcmp(ZydisMnemonicGetString(z.mnemonic), in.op->mnem) == 0;
		valid += uok;
		if (!same && mode != SOFT_MODE_64 && uok && !zok) {
			uint8_t b2[15];
			memcpy(b2, b, 15);
			b2[2] |= 0x40; /* VEX.vvvv[3] = 0 (inverted) */
			if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(zd, NULL, b2, 15, &z))) {
				known++;
				continue;
			}
		}
		if (!same && bad++ < 10) {
			printf("  VEX-GPR      ");
			for (unsigned k = 0; k < 8; k++)
				printf(" %02x", b[k]);
			printf("  | zydis %s len %u w %u | ours %s len %u w %u\n",
			       zok ? ZydisMnemonicGetString(z.mnemonic) : "invalid", zok ? z.length : 0,
			       zok ? z.operand_width : 0, uok ? in.op->mnem : "invalid", in.len,
			       in.opsize * 8);
		}
	}
	printf("vex-gpr %d-bit          total %u valid %lu | mismatches %lu (+%lu known: VEX.vvvv[3] "
	       "ignored outside 64-bit mode)\n", mode == SOFT_MODE_64 ? 64 : 32, count, valid, bad, known);
	return bad != 0;
}

/* The VEX SIMD rows (AVX, AVX2, FMA, F16C; decode_table_avx.c): random
 * 2- and 3-byte VEX prefixes over every opcode of maps 0F, 0F38 and 0F3A,
 * random pp/W/L/vvvv/ModRM.  Where Zydis decodes an instruction of those
 * extensions (or the VEX.128 AES/PCLMULQDQ ones), ours must resolve a SIMD
 * row with the same length and mnemonic (a few rows are named by their
 * register-form or W1 alias, see vex_alias).  Where ours resolves a SIMD
 * row that Zydis rejects, the only accepted reason is VEX.L: our handlers,
 * not the decoder, check it, so the same bytes with L flipped must be
 * valid for Zydis. */
static bool vex_ext_ours(ZydisISAExt e)
{
	return e == ZYDIS_ISA_EXT_AVX || e == ZYDIS_ISA_EXT_AVX2 || e == ZYDIS_ISA_EXT_AVX2GATHER ||
	       e == ZYDIS_ISA_EXT_FMA || e == ZYDIS_ISA_EXT_F16C || e == ZYDIS_ISA_EXT_AVXAES;
}

/* Zydis's name for an encoding whose row we spell otherwise. */
static bool vex_alias(const char *z, const char *ours)
{
	static const char *const pairs[][2] = {
		{ "vmovq", "vmovd" }, { "vpextrq", "vpextrd" }, { "vpinsrq", "vpinsrd" },
		{ "vmovhlps", "vmovlps" }, { "vmovlhps", "vmovhps" }, { "vzeroall", "vzeroupper" },
		{ "vpclmulqdq", "vpclmulqdq" },
	};
	if (strcmp(z, ours) == 0)
		return true;
	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (!strcmp(z, pairs[i][0]) && !strcmp(ours, pairs[i][1]))
			return true;
	return false;
}

static bool vex_simd_sweep(const ZydisDecoder *zd, enum soft_mode mode, unsigned count)
{
	uint64_t x = 0x2545f4914f6cdd1dULL + mode;
	unsigned long zvalid = 0, ours = 0, bad = 0, known_l = 0;
	for (unsigned i = 0; i < count; i++) {
		uint8_t b[15];
		for (unsigned j = 0; j < 15; j++)
			b[j] = (uint8_t)xorshift64(&x);
		unsigned r = (unsigned)xorshift64(&x);
		unsigned opc_at;
		if (r & 1) { /* C5: map 0F */
			b[0] = 0xc5;
			if (mode != SOFT_MODE_64)
				b[1] |= 0x80;
			opc_at = 2;
		} else {
			b[0] = 0xc4;
			b[1] = (uint8_t)((b[1] & 0xe0) | (1 + (r >> 1) % 3));
			if (mode != SOFT_MODE_64)
				b[1] |= 0xc0;
			opc_at = 3;
		}
		if (r & 0x10) /* often vvvv = 1111b: the two-operand forms */
			b[opc_at - 1] |= 0x78;
		if (mode != SOFT_MODE_64)
			b[opc_at - 1] |= 0x40; /* vvvv[3]: ignored there, Zydis wants it */
		ZydisDecodedInstruction z;
		struct x86_insn in;
		bool zok = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(zd, NULL, b, 15, &z));
		bool zmine = zok && z.encoding == ZYDIS_INSTRUCTION_ENCODING_VEX && vex_ext_ours(z.meta.isa_ext);
		/* VAES/VPCLMULQDQ-256 are the VEX.256 forms of rows we have: not offered */
		if (zok && (z.meta.isa_ext == ZYDIS_ISA_EXT_VAES || z.meta.isa_ext == ZYDIS_ISA_EXT_VPCLMULQDQ))
			continue;
		int st = x86_decode(b, 15, mode, &in);
		bool uok = st == X86_DEC_OK && in.exec != soft_exec_vex && in.op && (in.op->flags & F_SSE);
		zvalid += zmine;
		ours += uok;
		const char *why = NULL;
		if (zmine && !uok)
			why = "ZYDIS-ONLY";
		else if (zmine && (z.length != in.len || !vex_alias(ZydisMnemonicGetString(z.mnemonic), in.op->mnem)))
			why = "DIFFERENT";
		else if (uok && !zok) {
			uint8_t b2[15];
			memcpy(b2, b, 15);
			b2[opc_at - 1] ^= 4; /* VEX.L */
			if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(zd, NULL, b2, 15, &z))) {
				known_l++;
				continue;
			}
			why = "OURS-ONLY";
		}
		if (why && bad++ < 10) {
			printf("  VEX-SIMD %-10s", why);
			for (unsigned k = 0; k < 8; k++)
				printf(" %02x", b[k]);
			printf("  | zydis %s len %u | ours %s len %u\n",
			       zok ? ZydisMnemonicGetString(z.mnemonic) : "invalid", zok ? z.length : 0,
			       uok ? in.op->mnem : "invalid", in.len);
		}
	}
	printf("vex-simd %d-bit         total %u zydis-avx %lu ours %lu | mismatches %lu (+%lu known: "
	       "VEX.L checked by the handler)\n", mode == SOFT_MODE_64 ? 64 : 32, count, zvalid, ours,
	       bad, known_l);
	return bad != 0;
}

/* Linear sweep of an ELF64 x86-64 file's executable sections. */
static unsigned long sweep_elf(const ZydisDecoder *zd, const char *path, unsigned long limit, struct stats *s)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	struct stat st;
	if (fstat(fileno(f), &st) || st.st_size < (off_t)sizeof(Elf64_Ehdr) || st.st_size > (512 << 20)) {
		fclose(f);
		return 0;
	}
	uint8_t *img = malloc((size_t)st.st_size);
	if (!img || fread(img, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(img);
		fclose(f);
		return 0;
	}
	fclose(f);
	unsigned long n = 0;
	const Elf64_Ehdr *eh = (const void *)img;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || !eh->e_shoff ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > (uint64_t)st.st_size)
		goto out;
	const Elf64_Shdr *sh = (const void *)(img + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum && n < limit; i++) {
		if (sh[i].sh_type != SHT_PROGBITS || !(sh[i].sh_flags & SHF_EXECINSTR))
			continue;
		if (sh[i].sh_offset + sh[i].sh_size > (uint64_t)st.st_size)
			continue;
		const uint8_t *t = img + sh[i].sh_offset;
		uint64_t len = sh[i].sh_size, off = 0;
		while (off < len && n < limit) {
			size_t avail = len - off < 15 ? (size_t)(len - off) : 15;
			uint8_t buf[15] = { 0 };
			memcpy(buf, t + off, avail);
			if (avail < 15)
				break;
			unsigned zl = compare(zd, SOFT_MODE_64, buf, avail, s);
			off += zl ? zl : 1;
			n++;
		}
	}
out:
	free(img);
	return n;
}

static bool report(const char *name, const struct stats *s)
{
	printf("%-22s total %lu both-valid %lu | length %lu opcode %lu opsize %lu | "
	       "zydis-only %lu (+%lu known) ours-only %lu (+%lu known VEX/EVEX)\n",
	       name, s->total, s->both_valid, s->len_mismatch, s->op_mismatch, s->osz_mismatch,
	       s->z_only_bad, s->z_only_known, s->us_only_bad, s->us_only_known);
	return s->len_mismatch || s->op_mismatch || s->z_only_bad || s->us_only_bad || s->osz_mismatch;
}

int main(int argc, char **argv)
{
	bool full = getenv("RINGVM_DECODE_FULL") != NULL;
	bool fail = false;
	ZydisDecoder z64, z32, z16;
	ZydisDecoderInit(&z64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisDecoderInit(&z32, ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32);
	ZydisDecoderInit(&z16, ZYDIS_MACHINE_MODE_LONG_COMPAT_16, ZYDIS_STACK_WIDTH_16);
	/* our CPU has no MPX and no CET: 0F 1A/1B/1E are hint NOPs */
	ZydisDecoder *all[] = { &z64, &z32, &z16 };
	for (int i = 0; i < 3; i++) {
		ZydisDecoderEnableMode(all[i], ZYDIS_DECODER_MODE_MPX, ZYAN_FALSE);
		ZydisDecoderEnableMode(all[i], ZYDIS_DECODER_MODE_CET, ZYAN_FALSE);
	}

	unsigned count = full ? 2000000 : 200000;
	struct stats s64 = { 0 }, s32 = { 0 }, s16 = { 0 }, sreal = { 0 };
	random_strings(&z64, SOFT_MODE_64, count, &s64);
	fail |= report("random 64-bit", &s64);
	random_strings(&z32, SOFT_MODE_32, count / 2, &s32);
	fail |= report("random 32-bit", &s32);
	random_strings(&z16, SOFT_MODE_16, count / 4, &s16);
	fail |= report("random 16-bit", &s16);
	fail |= vex_gpr_sweep(&z64, SOFT_MODE_64, count / 2);
	fail |= vex_gpr_sweep(&z32, SOFT_MODE_32, count / 4);
	fail |= vex_simd_sweep(&z64, SOFT_MODE_64, count);
	fail |= vex_simd_sweep(&z32, SOFT_MODE_32, count / 4);

	/* real code */
	unsigned long per_file = full ? ~0UL : 60000, total = 0;
	unsigned files = 0, max_files = full ? 100000 : 4;
	const char *vmlinux = getenv("RINGVM_VMLINUX");
	const char *cands[] = { vmlinux ? vmlinux : ".cache/guest/vmlinux", "../.cache/guest/vmlinux",
				"/work/main/.cache/guest/vmlinux" };
	for (unsigned i = 0; i < 3 && full; i++) {
		unsigned long n = sweep_elf(&z64, cands[i], ~0UL, &sreal);
		if (n) {
			printf("  %s: %lu instructions\n", cands[i], n);
			total += n;
			break;
		}
	}
	const char *dirs[] = { "/usr/bin", "/usr/lib/x86_64-linux-gnu" };
	for (unsigned d = 0; d < 2 && files < max_files; d++) {
		DIR *dir = opendir(dirs[d]);
		if (!dir)
			continue;
		struct dirent *de;
		/* deterministic sample: a few well-known binaries first */
		const char *pref[] = { "bash", "gcc-12", "ld.bfd", "perl", "ls" };
		if (!full && d == 0) {
			for (unsigned i = 0; i < 5 && files < max_files; i++) {
				char p[512];
				snprintf(p, sizeof(p), "%s/%s", dirs[d], pref[i]);
				unsigned long n = sweep_elf(&z64, p, per_file, &sreal);
				if (n) {
					files++;
					total += n;
				}
			}
			closedir(dir);
			continue;
		}
		while ((de = readdir(dir)) && files < max_files) {
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", dirs[d], de->d_name);
			unsigned long n = sweep_elf(&z64, p, per_file, &sreal);
			if (n) {
				files++;
				total += n;
			}
		}
		closedir(dir);
	}
	printf("real code: %u files, %lu instructions\n", files, total);
	fail |= report("real code (64-bit)", &sreal);
	(void)argc;
	(void)argv;
	return fail ? 1 : 0;
}
