/* libFuzzer target: the soft CPU's decoder and trace formatter.
 *
 * The input is a byte stream decoded instruction after instruction in each
 * mode (16, 32, 64-bit).  Properties checked (abort() = a finding):
 *  - X86_DEC_OK only with 1 <= len <= 15 and len <= the bytes given
 *    (Intel SDM Vol. 2 2.3.11: an instruction is at most 15 bytes);
 *  - X86_DEC_MORE only when fewer than 15 bytes were given;
 *  - decoding again from exactly len bytes (an exact-size heap copy, so a
 *    peek past the instruction is an ASan report) gives the same length;
 *  - x86_insn_format never writes past n and always terminates the string.
 * Reads past the input are caught by ASan (libFuzzer passes an exact-size
 * buffer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/cpu/soft/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_decode_format(const struct x86_insn *in, size_t n)
{
	/* A canary after n bytes: the formatter must stay inside. */
	char buf[160];
	memset(buf, 0x5a, sizeof(buf));
	int k = x86_insn_format(in, buf, n);
	if (k < 0)
		abort();
	if (n) {
		if (!memchr(buf, 0, n))
			abort();
		if ((size_t)k < n && strlen(buf) != (size_t)k)
			abort();
	}
	for (size_t i = n; i < sizeof(buf); i++)
		if (buf[i] != 0x5a)
			abort();
}

static void fuzz_decode_mode(const uint8_t *data, size_t size, enum soft_mode mode)
{
	size_t off = 0;
	/* Each step advances at least one byte: at most size iterations. */
	while (off < size) {
		struct x86_insn in;
		size_t avail = size - off;
		memset(&in, 0, sizeof(in));
		int r = x86_decode(data + off, avail, mode, &in);
		switch (r) {
		case X86_DEC_OK: {
			if (in.len == 0 || in.len > X86_MAX_INSN_LEN || in.len > avail)
				abort();
			uint8_t *exact = malloc(in.len);
			if (exact) {
				struct x86_insn again;
				memcpy(exact, data + off, in.len);
				memset(&again, 0, sizeof(again));
				if (x86_decode(exact, in.len, mode, &again) != X86_DEC_OK ||
				    again.len != in.len || again.id != in.id)
					abort();
				free(exact);
			}
			/* A small n from the bytes themselves: truncation paths. */
			fuzz_decode_format(&in, data[off] % 48);
			fuzz_decode_format(&in, 128);
			off += in.len;
			break;
		}
		case X86_DEC_UD:
			fuzz_decode_format(&in, 128);
			off += (in.len && in.len <= avail) ? in.len : 1;
			break;
		case X86_DEC_GP:
			off += 1;
			break;
		case X86_DEC_MORE:
			if (avail >= X86_MAX_INSN_LEN)
				abort();
			return;
		default:
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Bound the work per input: 4 KiB of code is plenty for a decoder. */
	if (size > 4096)
		size = 4096;
	fuzz_decode_mode(data, size, SOFT_MODE_16);
	fuzz_decode_mode(data, size, SOFT_MODE_32);
	fuzz_decode_mode(data, size, SOFT_MODE_64);
	return 0;
}
