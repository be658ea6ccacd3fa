/* Debugging aids read from the environment when a vCPU's translator is
 * made (soft_jit_new).
 *
 * RINGVM_JIT_NO_LOOP_REGS (set): a loop onto itself writes its registers
 * back and reloads them at every round, as before 2026-12-05 afternoon.
 *
 * RINGVM_JIT_NO_REGION (set): every translation is one decoded block, no
 * loop regions (region.h), as before 2026-12-05 night.
 *
 * RINGVM_JIT_NO_MEMO (set): the inline TLB probes load the slot's addend
 * without the per-site memo (probe.c), as before 2026-12-05 evening.
 *
 * RINGVM_JIT_DUMP=dir: every translation's host code written to
 * dir/<guest rip>-<n>-<cache offset, hex>.bin as it is made (a debugging
 * aid: docs/soft-cpu.md, "Translator"), to read with
 *   objdump -D -b binary -mi386:x86-64 dir/ffffffff81234560-17-8c3b0.bin
 * The cache offset is where the code sits in the cache's memfd: `perf
 * report` names samples in translated code by that offset
 * ("memfd:ringvm-jit ... 0x88c48d"), so the sample belongs to the
 * translation with the highest <n> whose [offset, offset + size) holds it
 * (a full cache's flush reuses offsets).
 * The shared stubs every translation jumps to (stubs.c) go to
 * dir/stubs.bin; translations jump backwards into them (their offsets in
 * the cache: --stats has none, the jump's target is stub offset minus the
 * translation's).  The directory is read from the environment once, when
 * the vCPU's translator is made (soft_jit_new); unset: nothing is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit.h"

#include "../icache.h"

void soft_jit_dump_init(struct soft_jit *j)
{
	j->no_loop_regs = getenv("RINGVM_JIT_NO_LOOP_REGS") != NULL;
	j->no_sysinline = getenv("RINGVM_JIT_NO_SYSINLINE") != NULL;
	j->no_vex = getenv("RINGVM_JIT_NO_VEX") != NULL;
	j->no_memo = getenv("RINGVM_JIT_NO_MEMO") != NULL;
	j->no_region = getenv("RINGVM_JIT_NO_REGION") != NULL;
	const char *dir = getenv("RINGVM_JIT_DUMP");
	if (!dir || !*dir || strlen(dir) >= sizeof(j->dump_dir))
		return;
	memcpy(j->dump_dir, dir, strlen(dir) + 1);
	char path[sizeof(j->dump_dir) + 16];
	snprintf(path, sizeof(path), "%s/stubs.bin", j->dump_dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(j->cache.rw, 1, j->cache.base, f);
	fclose(f);
}

void soft_jit_dump(struct soft_jit *j, const struct soft_block *b, const void *code, size_t len)
{
	if (!j->dump_dir[0])
		return;
	char path[sizeof(j->dump_dir) + 80];
	snprintf(path, sizeof(path), "%s/%016llx-%llu-%llx.bin", j->dump_dir, (unsigned long long)b->rip,
		 (unsigned long long)j->stats.translated, (unsigned long long)((const unsigned char *)code - (const unsigned char *)j->cache.rw));
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(code, 1, len, f);
	fclose(f);
}
