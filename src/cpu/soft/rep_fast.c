/* Block forms of REP MOVS / REP STOS over host memory: see rep_fast.h.
 *
 * Element order matters only where a later element reads bytes an earlier
 * one wrote: forward (DF=0) with the destination above the source, or
 * backward (DF=1) with it below, at a distance d smaller than the run.
 * Then element i reads bytes written d bytes before it.  When d >= sz every
 * byte an element reads was either never written by the run or is already
 * final, so the run equals a byte-wise copy in the same direction, whose
 * result is the first d bytes (from the run's starting end) repeated: one
 * copy of d bytes, then doubling copies inside the destination.  When
 * d < sz an element overlaps the one before it, and only the element loop
 * itself gives the architectural result (each element is read whole before
 * it is written). */
#include "rep_fast.h"

#include <string.h>

void soft_rep_copy(uint8_t *dst, const uint8_t *src, size_t len, unsigned sz, bool down)
{
	uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
	if (!len || d == s)
		return;
	bool conflict = down ? (d < s && s - d < len) : (d > s && d - s < len);
	if (!conflict) {
		/* no element reads what another wrote: any order gives it */
		memmove(dst, src, len);
		return;
	}
	size_t dist = down ? s - d : d - s;
	if (dist < sz) {
		for (size_t i = 0; i < len; i += sz) {
			size_t o = down ? len - sz - i : i;
			memmove(dst + o, src + o, sz);
		}
		return;
	}
	if (!down) {
		/* [src, src + dist) ends where dst starts */
		memcpy(dst, src, dist);
		for (size_t done = dist; done < len;) {
			size_t k = done < len - done ? done : len - done;
			memcpy(dst + done, dst, k); /* done is a multiple of dist */
			done += k;
		}
	} else {
		/* the top dist bytes of src end where the top of dst starts */
		memcpy(dst + len - dist, src + len - dist, dist);
		for (size_t done = dist; done < len;) {
			size_t k = done < len - done ? done : len - done;
			memcpy(dst + len - done - k, dst + len - k, k);
			done += k;
		}
	}
}

void soft_rep_fill(uint8_t *dst, size_t len, unsigned sz, uint64_t v)
{
	if (sz == 1) {
		memset(dst, (int)(v & 0xff), len);
		return;
	}
	uint8_t pat[8];
	for (unsigned i = 0; i < 8; i++)
		pat[i] = (uint8_t)(v >> (8 * (i % sz)));
	uint64_t p;
	memcpy(&p, pat, 8);
	size_t i = 0;
	for (; i + 8 <= len; i += 8)
		memcpy(dst + i, &p, 8);
	memcpy(dst + i, pat, len - i); /* a multiple of sz, which divides 8 */
}
