/* A userland program built for x86-64-v3 (-march=x86-64-v3: AVX, AVX2, FMA,
 * F16C, BMI1/2, LZCNT, MOVBE), run in the Linux guest and on the host by
 * linux_v3.py; both must print the same lines.  The compiler vectorises the
 * loops with AVX2/FMA, the intrinsics force BMI2, F16C and FMA, and glibc
 * picks its AVX2 string and memory routines when the CPU advertises AVX2. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4096

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

int main(void)
{
	static float a[N], b[N], c[N];
	static double d[N];
	static int32_t x[N], y[N];
	static char buf[1 << 16], copy[1 << 16];
	uint64_t h = 0;

	for (int i = 0; i < N; i++) {
		a[i] = (float)(i % 97) * 0.25f - 7.0f;
		b[i] = (float)(i % 13) * 1.5f + 0.125f;
		d[i] = (double)i / 3.0;
		x[i] = i * 2654435761u;
		y[i] = (i ^ 0x5a5a) - 1000;
	}
	/* Vectorised by the compiler: FMA on floats and doubles, AVX2 integers. */
	for (int r = 0; r < 50; r++)
		for (int i = 0; i < N; i++) {
			c[i] = a[i] * b[i] + c[i] * 0.5f;
			d[i] = d[i] * 0.999 + (double)a[i] * 0.001;
			x[i] = (x[i] >> 3) + y[i] * 7 - (x[i] & y[i]);
		}
	for (int i = 0; i < N; i++) {
		uint32_t cf, df;
		double dd = d[i];
		memcpy(&cf, &c[i], 4);
		uint64_t dbits;
		memcpy(&dbits, &dd, 8);
		df = (uint32_t)(dbits >> 20);
		h = mix(h, cf);
		h = mix(h, df);
		h = mix(h, (uint32_t)x[i]);
	}
	printf("v3: vector %016llx\n", (unsigned long long)h);

	/* Intrinsics: BMI2 PDEP/PEXT, LZCNT/TZCNT, F16C, explicit FMA. */
	uint64_t bh = 0;
	for (uint64_t i = 1; i < 20000; i++) {
		uint64_t v = i * 0x9e3779b97f4a7c15ull;
		bh = mix(bh, _pdep_u64(v, 0x0f0f0f0f33333333ull));
		bh = mix(bh, _pext_u64(v, 0xff00ff00f0f0f0f0ull));
		bh = mix(bh, (uint64_t)_lzcnt_u64(v >> (i % 64)) << 8 | _tzcnt_u64(v | 1ull << 63));
	}
	__m256 f = _mm256_set_ps(1.5f, -2.25f, 3.0f, 65504.0f, 1e-8f, -0.0f, 7.75f, 0.1f);
	__m128i half = _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT);
	__m256 back = _mm256_cvtph_ps(half);
	__m256 fm = _mm256_fmadd_ps(back, f, _mm256_set1_ps(0.5f));
	float out[8];
	_mm256_storeu_ps(out, fm);
	for (int i = 0; i < 8; i++) {
		uint32_t bits;
		memcpy(&bits, &out[i], 4);
		bh = mix(bh, bits);
	}
	printf("v3: bmi-f16c-fma %016llx\n", (unsigned long long)bh);

	/* glibc's string functions (AVX2 variants where the CPU has AVX2). */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + (i * 7 + i / 13) % 26);
	buf[sizeof(buf) - 1] = 0;
	uint64_t sh = 0;
	for (int r = 0; r < 64; r++) {
		memcpy(copy + r, buf, sizeof(buf) - 64);
		sh = mix(sh, strlen(copy + r));
		sh = mix(sh, (uint64_t)((char *)memchr(copy + r, 'z', sizeof(buf) - 64) - copy));
		sh = mix(sh, (uint64_t)memcmp(copy + r, buf, 1000 + r) != 0);
		sh = mix(sh, (uint64_t)(strchr(copy + r, 'q') - copy));
	}
	printf("v3: strings %016llx\n", (unsigned long long)sh);
	printf("v3: cpu avx2=%d fma=%d bmi2=%d f16c=%d\n", !!__builtin_cpu_supports("avx2"),
	       !!__builtin_cpu_supports("fma"), !!__builtin_cpu_supports("bmi2"),
	       !!__builtin_cpu_supports("f16c"));
	return 0;
}
