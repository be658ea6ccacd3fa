/* Random states and encodings: see diff_gen.h.
 *
 * Template tokens (space separated):
 *   hh        a literal byte in hex (66 67 f2 f3 f0 before the opcode are
 *             tracked as prefixes)
 *   66? 67? f3? f2?   the prefix with probability 1/2
 *   rex?      no REX or a random one; rexw: REX.W=1, R/X/B random;
 *   rex0?     no REX or one with W=0
 *   B         operand size is 8 bits (emits nothing)
 *   +r        add a random register number to the previous byte (REX.B extends)
 *   +cc       add a random condition code to the previous byte
 *   /r /m /R  ModRM: reg field random; r/m register or memory, memory only,
 *             register only.  /0../7 with optional m or R: fixed reg field.
 *   ib iw id iq   immediates (edge values mixed in)
 *   iz        iw with 66, else id;  iv  iq with REX.W, iw with 66, else id
 *   cnt       a shift/rotate count immediate;  CL  the count is CL;  one  count 1
 *   ssec      an SSE compare predicate immediate (0..7 mostly, any sometimes)
 *   moff      a moffs address in the data area (4 bytes with 67, else 8)
 *   rel8 rel32    branch displacements, mostly small and forward
 *   rep?      nothing, F3 or F2
 *   vex.PP.MAP.W[.l1][.v0][.vnz]   a 3-byte VEX prefix (C4): PP np 66 f3 f2,
 *             MAP 0f 0f38 0f3a, W w0 w1 wig (random); R/X/B random (they
 *             feed the ModRM like REX); vvvv random, or 1111b with .v0
 *             (unused field), or anything but 1111b with .vnz; L=0, or 1
 *             with .l1
 */
#include "diff_gen.h"

#include <string.h>

uint64_t diff_rand(struct diff_rng *r)
{
	/* xorshift64* */
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static const uint64_t diff_edges[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffffffffffffffffULL,
	0xfffffffffffffffeULL, 0xffffffff80000000ULL, 0xffffffffffff8000ULL,
	0xffffffffffffff80ULL, 0x00000000ffff0000ULL, 0x5555555555555555ULL,
	0xaaaaaaaaaaaaaaaaULL,
};
#define N_EDGES (sizeof(diff_edges) / sizeof(diff_edges[0]))

static uint64_t gen_int(struct diff_rng *r)
{
	switch (diff_below(r, 8)) {
	case 0: case 1: case 2:
		return diff_edges[diff_below(r, N_EDGES)];
	case 3:
		return diff_below(r, 64);
	case 4:
		return -diff_below(r, 64);
	case 5: /* random value of a random width, sign-extended */
	{
		unsigned w = 8u << diff_below(r, 4);
		uint64_t v = diff_rand(r);
		if (w < 64)
			v = (uint64_t)((int64_t)(v << (64 - w)) >> (64 - w));
		return v;
	}
	default:
		return diff_rand(r);
	}
}

static uint32_t gen_f32(struct diff_rng *r)
{
	uint32_t s = (uint32_t)diff_below(r, 2) << 31;
	uint32_t m = (uint32_t)diff_rand(r) & 0x7fffff;
	switch (diff_below(r, 14)) {
	case 0: return s;                                   /* zero */
	case 1: return s | 0x7f800000;                      /* inf */
	case 2: return s | 0x7fc00000 | (m & 0x3fffff);     /* QNaN */
	case 3: return s | 0x7f800000 | ((m & 0x3fffff) ? m & 0x3fffff : 1); /* SNaN */
	case 4: return s | (m ? m : 1);                     /* denormal */
	case 5: return s | 0x3f800000;                      /* 1.0 */
	case 6: return s | 0x7f7fffff;                      /* max */
	case 7: return s | 0x00800000 | (m & 0xf);          /* min normal */
	case 8: return s | ((uint32_t)(127 + 24 + diff_below(r, 16) - 8) << 23) | m; /* ~2^24 */
	case 9: return s | ((uint32_t)(1 + diff_below(r, 40)) << 23) | m; /* tiny */
	case 10: return s | ((uint32_t)(254 - diff_below(r, 40)) << 23) | m; /* huge */
	case 11: return (uint32_t)diff_rand(r);
	default: return s | ((uint32_t)(127 + diff_below(r, 64) - 32) << 23) | m;
	}
}

static uint64_t gen_f64(struct diff_rng *r)
{
	uint64_t s = diff_below(r, 2) << 63;
	uint64_t m = diff_rand(r) & 0xfffffffffffffULL;
	uint64_t q = m & 0x7ffffffffffffULL;
	switch (diff_below(r, 14)) {
	case 0: return s;
	case 1: return s | 0x7ff0000000000000ULL;
	case 2: return s | 0x7ff8000000000000ULL | q;
	case 3: return s | 0x7ff0000000000000ULL | (q ? q : 1);
	case 4: return s | (m ? m : 1);
	case 5: return s | 0x3ff0000000000000ULL;
	case 6: return s | 0x7fefffffffffffffULL;
	case 7: return s | 0x0010000000000000ULL | (m & 0xf);
	case 8: return s | ((1023 + 53 + diff_below(r, 16) - 8) << 52) | m;
	case 9: return s | ((1 + diff_below(r, 80)) << 52) | m;
	case 10: return s | ((2046 - diff_below(r, 80)) << 52) | m;
	case 11: return diff_rand(r);
	case 12: /* a float32-representable value (for conversions) */
		return s | ((uint64_t)(1023 + diff_below(r, 64) - 32) << 52) | (m & ~0x1fffffffULL);
	default: return s | ((1023 + diff_below(r, 128) - 64) << 52) | m;
	}
}

static void gen_f80(struct diff_rng *r, uint8_t *p)
{
	uint64_t mant = diff_rand(r);
	uint16_t sexp = (uint16_t)(diff_below(r, 2) << 15);
	switch (diff_below(r, 14)) {
	case 0: mant = 0; break;                                        /* zero */
	case 1: mant = 1ULL << 63; sexp |= 0x7fff; break;               /* inf */
	case 2: mant |= 3ULL << 62; sexp |= 0x7fff; break;              /* QNaN */
	case 3: mant = (mant & ~(3ULL << 62)) | (1ULL << 63) | 1; sexp |= 0x7fff; break; /* SNaN */
	case 4: mant &= ~(1ULL << 63); break;                           /* denormal */
	case 5: mant = 1ULL << 63; sexp |= 0x3fff; break;               /* 1.0 */
	case 6: mant |= 1ULL << 63; sexp |= (uint16_t)(0x3fff + diff_below(r, 128) - 64);
		mant &= ~0x7ffULL; break;                               /* double-ish */
	case 7: mant |= 1ULL << 63; sexp |= (uint16_t)(1 + diff_below(r, 64)); break;
	case 8: mant |= 1ULL << 63; sexp |= (uint16_t)(0x7ffe - diff_below(r, 64)); break;
	case 9: mant = (1ULL << 63) | (diff_below(r, 1u << 20) << 43); sexp |= (uint16_t)(0x3fff + diff_below(r, 40)); break; /* integers */
	default: mant |= 1ULL << 63; sexp |= (uint16_t)(0x3fff + diff_below(r, 64) - 32); break;
	}
	memcpy(p, &mant, 8);
	memcpy(p + 8, &sexp, 2);
}

static void gen_xmm(struct diff_rng *r, uint8_t *x)
{
	switch (diff_below(r, 5)) {
	case 0: case 1:
		for (int i = 0; i < 4; i++) {
			uint32_t v = gen_f32(r);
			memcpy(x + 4 * i, &v, 4);
		}
		break;
	case 2: case 3:
		for (int i = 0; i < 2; i++) {
			uint64_t v = gen_f64(r);
			memcpy(x + 8 * i, &v, 8);
		}
		break;
	default:
		for (int i = 0; i < 2; i++) {
			uint64_t v = gen_int(r);
			memcpy(x + 8 * i, &v, 8);
		}
		break;
	}
}

/* RSP sign-extended from bit 47: canonical, with bits 0-47 kept (so an
 * addr32 [esp] operand still has its address).  Hosts differ on a
 * non-canonical RSP at the return to user mode (some raise #GP in
 * sigreturn), so native cases never get one: diff_stackcanon.c checks
 * the non-canonical cases on the soft CPU against the SDM instead. */
static uint64_t canon_rsp(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16);
}

void diff_gen_state(struct diff_rng *r, struct diff_state *s, bool fp)
{
	for (int i = 0; i < GPR_COUNT; i++)
		s->regs.gpr[i] = gen_int(r);
	s->regs.gpr[GPR_RSP] = canon_rsp(s->regs.gpr[GPR_RSP]);
	s->regs.rip = DIFF_CODE_ADDR;
	s->regs.rflags = 0x202 | (diff_rand(r) & 0xcd5);

	struct x86_fpu *f = &s->fpu;
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 16; i++) {
		gen_xmm(r, f->xmm[i]);
		gen_xmm(r, s->ymmh[i]);
	}
	s->avx = 1;
	for (int i = 0; i < 8; i++)
		gen_f80(r, f->st[i]);
	f->mxcsr = 0x1f80;
	f->fcw = 0x037f;
	f->ftw = (uint8_t)diff_rand(r);
	f->fsw = (uint16_t)((diff_rand(r) & 0x4700) | (diff_below(r, 8) << 11));
	if (fp) {
		uint32_t mx = 0x1f80;
		if (diff_below(r, 4) == 0)
			mx = (uint32_t)diff_rand(r) & 0x1f80;
		mx |= (uint32_t)diff_below(r, 4) << 13;         /* RC */
		if (diff_below(r, 5) == 0) mx |= 1u << 15;       /* FZ */
		if (diff_below(r, 5) == 0) mx |= 1u << 6;        /* DAZ */
		if (diff_below(r, 3) == 0) mx |= (uint32_t)diff_rand(r) & 0x3f;
		f->mxcsr = mx;
		uint16_t pc[3] = { 0, 2, 3 };
		uint16_t cw = 0x1040 | 0x3f;
		if (diff_below(r, 5) == 0)
			cw = (uint16_t)(0x1040 | (diff_rand(r) & 0x3f));
		cw |= (uint16_t)(pc[diff_below(r, 3)] << 8);
		cw |= (uint16_t)(diff_below(r, 4) << 10);
		f->fcw = cw;
		if (diff_below(r, 4) == 0)
			f->fsw |= (uint16_t)(diff_rand(r) & 0x7f & ~0x40);
		if (f->fsw & ~f->fcw & 0x3f)
			f->fsw |= 0x8080; /* ES and B follow the unmasked flags */
		if (diff_below(r, 4) == 0)
			f->ftw = 0xff;
	}
	/* random bytes (a cheap inline xorshift), edge values at random spots */
	uint64_t x = diff_rand(r) | 1;
	for (size_t i = 0; i < DIFF_MEM_SIZE; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545F4914F6CDD1DULL;
		memcpy(s->mem + i, &v, 8);
	}
	for (int k = 0; k < 64; k++) {
		uint64_t v = gen_int(r);
		memcpy(s->mem + diff_below(r, DIFF_MEM_SIZE / 8) * 8, &v, 8);
	}
	if (fp) {
		/* FP values at a few random spots (and at the memory operand,
		 * see gen_mem) */
		for (int k = 0; k < 16; k++) {
			size_t at = diff_below(r, DIFF_MEM_SIZE / 16) * 16;
			gen_xmm(r, s->mem + at);
		}
	}
}

struct gen {
	struct diff_rng *r;
	const struct diff_form *f;
	struct diff_case *c;
	struct diff_gen_info *info;
	uint8_t rex;
	bool o16, a32, byteop, opcode_seen;
	int ripdisp_at;      /* offset of a RIP-relative disp32, or -1 */
	uint64_t rip_target;
};

static void emit(struct gen *g, uint8_t b)
{
	if (g->c->len < DIFF_CODE_MAX)
		g->c->code[g->c->len++] = b;
}

static void emit_n(struct gen *g, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		emit(g, (uint8_t)(v >> (8 * i)));
}

static uint64_t gen_imm(struct gen *g, unsigned n)
{
	uint64_t v;
	switch (diff_below(g->r, 4)) {
	case 0: v = diff_edges[diff_below(g->r, N_EDGES)]; break;
	case 1: v = diff_below(g->r, 3) - 1; break;
	default: v = diff_rand(g->r); break;
	}
	emit_n(g, v, n);
	return v;
}

static void set_gpr(struct gen *g, unsigned reg, uint64_t v)
{
	if (g->a32)
		v = (v & 0xffffffffULL) | (diff_rand(g->r) << 32);
	g->c->in.regs.gpr[reg] = v;
}

static void gen_mem(struct gen *g, unsigned regfield)
{
	struct diff_rng *r = g->r;
	unsigned size = g->f->memsz ? g->f->memsz : 16;
	unsigned align = g->f->align;
	uint64_t off;

	switch (diff_below(r, 10)) {
	case 0: /* straddle the page boundary inside the area */
		off = 4096 - 1 - diff_below(r, size > 1 ? size - 1 : 1);
		break;
	default:
		off = diff_below(r, DIFF_MEM_SIZE - size + 1);
		break;
	}
	if (align && diff_below(r, 16))
		off &= ~(uint64_t)(align - 1);
	uint64_t target = DIFF_DATA_ADDR + off;
	g->info->has_mem = true;
	g->info->mem_la = target;
	if (g->f->fp) { /* FP specials at the operand itself */
		for (unsigned k = 0; k < size && k < 64; k += 16) {
			uint8_t v[16];
			gen_xmm(r, v);
			unsigned n = size - k < 16 ? size - k : 16;
			memcpy(g->c->in.mem + off + k, v, n);
		}
	}
	uint8_t X = (g->rex >> 1) & 1, Bx = g->rex & 1;

	if (diff_below(r, 8) == 0) { /* RIP-relative */
		emit(g, (uint8_t)((regfield << 3) | 5));
		g->ripdisp_at = g->c->len;
		g->rip_target = target;
		emit_n(g, 0, 4);
		return;
	}
	unsigned mod = (unsigned)diff_below(r, 3);
	unsigned rm = (unsigned)diff_below(r, 8);
	/* XSAVE forms take EDX:EAX as the feature mask: keep RAX/RDX out of
	 * the address (a leftover address bit would ask for AVX state). */
	bool avoid_ad = g->f->setup == SETUP_XSAVE;
	while (avoid_ad && !Bx && (rm == 0 || rm == 2))
		rm = (unsigned)diff_below(r, 8);
	if (mod == 0 && rm == 5)
		rm = 4;
	emit(g, (uint8_t)((mod << 6) | (regfield << 3) | rm));
	int base = -1, index = -1;
	unsigned scale = 0;
	if (rm == 4) {
		scale = (unsigned)diff_below(r, 4);
		unsigned idx = (unsigned)diff_below(r, 8), b = (unsigned)diff_below(r, 8);
		while (avoid_ad && !X && (idx == 0 || idx == 2))
			idx = (unsigned)diff_below(r, 8);
		while (avoid_ad && !Bx && (b == 0 || b == 2))
			b = (unsigned)diff_below(r, 8);
		emit(g, (uint8_t)((scale << 6) | (idx << 3) | b));
		if (!(idx == 4 && !X))
			index = (int)(idx | X << 3);
		if (!(b == 5 && mod == 0))
			base = (int)(b | Bx << 3);
		else
			mod = 2; /* disp32, no base */
	} else {
		base = (int)(rm | Bx << 3);
	}
	int64_t disp = 0;
	if (mod == 1) {
		disp = (int8_t)diff_rand(r);
		emit(g, (uint8_t)disp);
	} else if (mod == 2) {
		if (base < 0)
			disp = (int64_t)target - (int64_t)(diff_below(r, 2) ? 0 : diff_below(r, 64));
		else
			disp = (int32_t)(diff_below(r, 0x20000) - 0x10000);
		emit_n(g, (uint64_t)disp, 4);
	}
	uint64_t idxval = 0;
	if (index >= 0 && index == base) {
		/* v + v*2^scale + disp = target, to within k-1 bytes */
		uint64_t want = target - (uint64_t)disp;
		uint64_t k = 1 + (1ULL << scale);
		idxval = want / k;
		set_gpr(g, (unsigned)index, idxval);
	} else {
		if (index >= 0) {
			idxval = diff_below(r, 2) ? diff_below(r, 128)
						: (uint64_t)-(int64_t)diff_below(r, 128);
			set_gpr(g, (unsigned)index, idxval);
		}
		uint64_t bv = target - (uint64_t)disp - (idxval << scale);
		if (base >= 0) {
			set_gpr(g, (unsigned)base, bv);
		} else if (index >= 0 && bv != 0) {
			/* no base: fold the rest into the index (scale permitting) */
			idxval += bv >> scale;
			set_gpr(g, (unsigned)index, idxval);
		}
	}
	/* Record the address the operand really has (the two approximate
	 * cases above can miss the target by a few bytes). */
	const uint64_t *gpr = g->c->in.regs.gpr;
	uint64_t la = (uint64_t)disp;
	if (base >= 0)
		la += gpr[base];
	if (index >= 0)
		la += gpr[index] << scale;
	if (g->a32)
		la &= 0xffffffffULL;
	g->info->mem_la = la;
}

static void gen_modrm(struct gen *g, int regfield, int memmode)
{
	unsigned reg = regfield >= 0 ? (unsigned)regfield : (unsigned)diff_below(g->r, 8);
	bool mem = memmode == 1 || (memmode == 0 && diff_below(g->r, 2));
	if (mem && g->f->setup == SETUP_BITMEM) {
		/* BT* with a register bit offset: keep the bit near the operand */
		unsigned full = reg | ((g->rex & 4u) << 1);
		g->c->in.regs.gpr[full] = (uint64_t)((int64_t)diff_below(g->r, 512) - 256);
	}
	if (mem) {
		gen_mem(g, reg);
		return;
	}
	emit(g, (uint8_t)(0xc0 | (reg << 3) | diff_below(g->r, 8)));
}

static unsigned cur_opsize(const struct gen *g)
{
	if (g->byteop)
		return 1;
	if (g->rex & 8)
		return 8;
	return g->o16 ? 2 : 4;
}

static uint8_t gen_count(struct gen *g)
{
	static const uint8_t edges[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255 };
	if (diff_below(g->r, 2))
		return edges[diff_below(g->r, sizeof(edges))];
	return (uint8_t)diff_rand(g->r);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static bool has_part(const char *t, size_t n, const char *part)
{
	size_t k = strlen(part);
	for (size_t i = 0; i + k <= n; i++)
		if (t[i] == '.' && memcmp(t + i + 1, part, k) == 0 &&
		    (i + 1 + k == n || t[i + 1 + k] == '.'))
			return true;
	return false;
}

/* vex.PP.MAP.W[...]: see the token list at the top. */
static bool gen_vex(struct gen *g, const char *t, size_t n)
{
	struct diff_rng *r = g->r;
	unsigned pp, map, w;
	if (has_part(t, n, "np")) pp = 0;
	else if (has_part(t, n, "66")) pp = 1;
	else if (has_part(t, n, "f3")) pp = 2;
	else if (has_part(t, n, "f2")) pp = 3;
	else return false;
	if (has_part(t, n, "0f38")) map = 2;
	else if (has_part(t, n, "0f3a")) map = 3;
	else if (has_part(t, n, "0f")) map = 1;
	else return false;
	if (has_part(t, n, "w0")) w = 0;
	else if (has_part(t, n, "w1")) w = 1;
	else if (has_part(t, n, "wig")) w = (unsigned)diff_below(r, 2);
	else return false;
	unsigned l = has_part(t, n, "l1") ? 1 : 0;
	unsigned vvvv = (unsigned)diff_below(r, 16);
	if (has_part(t, n, "v0"))
		vvvv = 0;
	else if (has_part(t, n, "vnz"))
		vvvv = 1 + (unsigned)diff_below(r, 15);
	unsigned rxb = (unsigned)diff_below(r, 8); /* R X B, as in REX */
	g->rex = (uint8_t)(0x40 | (w << 3) | rxb);
	emit(g, 0xc4);
	emit(g, (uint8_t)(((~rxb & 7) << 5) | map));
	emit(g, (uint8_t)((w << 7) | ((~vvvv & 15) << 3) | (l << 2) | pp));
	g->opcode_seen = true;
	if (g->f->setup == SETUP_VEXCTL && diff_below(r, 4)) {
		/* BEXTR start (7:0) and length (15:8), BZHI index (7:0): small
		 * values around the operand sizes, upper bits random */
		uint64_t v = g->c->in.regs.gpr[vvvv] & ~0xffffULL;
		v |= diff_below(r, 72) | (diff_below(r, 72) << 8);
		g->c->in.regs.gpr[vvvv] = v;
	}
	return true;
}

static bool gen_token(struct gen *g, const char *t, size_t n)
{
	struct diff_rng *r = g->r;
	struct diff_case *c = g->c;
#define IS(s) (n == sizeof(s) - 1 && memcmp(t, s, n) == 0)
	if (n == 2 && hexval(t[0]) >= 0 && hexval(t[1]) >= 0) {
		uint8_t b = (uint8_t)(hexval(t[0]) << 4 | hexval(t[1]));
		if (!g->opcode_seen && b == 0x66) g->o16 = true;
		else if (!g->opcode_seen && b == 0x67) g->a32 = true;
		else if (!g->opcode_seen && (b == 0xf2 || b == 0xf3 || b == 0xf0)) ;
		else if (!g->opcode_seen && (b & 0xf0) == 0x40) g->rex = b;
		else g->opcode_seen = true;
		emit(g, b);
		return true;
	}
	if (n == 3 && t[2] == '?' && hexval(t[0]) >= 0) {
		if (diff_below(r, 2))
			return gen_token(g, t, 2);
		return true;
	}
	if (IS("rex?")) {
		if (diff_below(r, 2)) {
			g->rex = (uint8_t)(0x40 | diff_below(r, 16));
			emit(g, g->rex);
		}
		return true;
	}
	if (IS("rex0?")) {
		if (diff_below(r, 2)) {
			g->rex = (uint8_t)(0x40 | diff_below(r, 8));
			emit(g, g->rex);
		}
		return true;
	}
	if (IS("rexw")) {
		g->rex = (uint8_t)(0x48 | diff_below(r, 8));
		emit(g, g->rex);
		return true;
	}
	if (IS("B")) {
		g->byteop = true;
		return true;
	}
	if (IS("+r")) {
		if (c->len)
			c->code[c->len - 1] = (uint8_t)(c->code[c->len - 1] + diff_below(r, 8));
		return true;
	}
	if (IS("+cc")) {
		if (c->len)
			c->code[c->len - 1] = (uint8_t)(c->code[c->len - 1] + diff_below(r, 16));
		return true;
	}
	if (t[0] == '/' && n >= 2) {
		int field = -1, mm = 0;
		size_t k = 1;
		if (t[1] >= '0' && t[1] <= '7') {
			field = t[1] - '0';
			k = 2;
		} else if (t[1] == 'r' || t[1] == 'm' || t[1] == 'R') {
			if (t[1] == 'm') mm = 1;
			if (t[1] == 'R') mm = 2;
			k = 2;
		}
		if (k < n && t[k] == 'm') mm = 1;
		if (k < n && t[k] == 'R') mm = 2;
		g->opcode_seen = true;
		gen_modrm(g, field, mm);
		return true;
	}
	if (IS("ib")) { gen_imm(g, 1); return true; }
	if (IS("iw")) { gen_imm(g, 2); return true; }
	if (IS("id")) { gen_imm(g, 4); return true; }
	if (IS("iq")) { gen_imm(g, 8); return true; }
	if (IS("iz")) { gen_imm(g, g->o16 ? 2 : 4); return true; }
	if (IS("iv")) { gen_imm(g, (g->rex & 8) ? 8 : g->o16 ? 2 : 4); return true; }
	if (IS("cnt")) {
		uint8_t v = gen_count(g);
		emit(g, v);
		g->info->count = v;
		g->info->has_count = true;
		return true;
	}
	if (IS("CL")) {
		uint8_t v = gen_count(g);
		c->in.regs.gpr[GPR_RCX] = (c->in.regs.gpr[GPR_RCX] & ~0xffULL) | v;
		g->info->count = v;
		g->info->has_count = true;
		return true;
	}
	if (IS("one")) {
		g->info->count = 1;
		g->info->has_count = true;
		return true;
	}
	if (IS("moff")) { /* moffs: the data area, address size wide */
		uint64_t a = DIFF_DATA_ADDR + diff_below(r, DIFF_MEM_SIZE - 8);
		g->info->has_mem = true;
		g->info->mem_la = a;
		emit_n(g, a, g->a32 ? 4 : 8);
		return true;
	}
	/* Branch displacements never land inside the instruction itself:
	 * natively that would run its own bytes as a second instruction. */
	if (IS("rel8")) { /* mostly forward inside the code page */
		int8_t v = (int8_t)(diff_below(r, 8) ? diff_below(r, 100) : diff_rand(r));
		if (v < 0 && v >= -24)
			v = (int8_t)(v - 24);
		emit(g, (uint8_t)v);
		return true;
	}
	if (IS("rel32")) {
		int32_t v = diff_below(r, 8) ? (int32_t)diff_below(r, 1000) : (int32_t)diff_rand(r);
		if (v < 0 && v >= -24)
			v -= 24;
		emit_n(g, (uint32_t)v, 4);
		return true;
	}
	if (n > 4 && memcmp(t, "vex.", 4) == 0)
		return gen_vex(g, t, n);
	if (IS("rep?")) {
		static const uint8_t reps[] = { 0, 0xf3, 0xf3, 0xf2 };
		uint8_t p = reps[diff_below(r, 4)];
		if (p)
			emit(g, p);
		return true;
	}
	if (IS("ssec")) {
		emit(g, (uint8_t)(diff_below(r, 4) ? diff_below(r, 8) : diff_rand(r)));
		return true;
	}
#undef IS
	return false;
}

static uint64_t mem_value(const struct diff_case *c, uint64_t la, unsigned size)
{
	uint64_t v = 0;
	if (la >= DIFF_DATA_ADDR && la - DIFF_DATA_ADDR + size <= DIFF_MEM_SIZE)
		memcpy(&v, c->in.mem + (la - DIFF_DATA_ADDR), size);
	return v;
}

static void setup_string(struct gen *g)
{
	struct diff_case *c = g->c;
	struct diff_rng *r = g->r;
	uint64_t rsi = DIFF_DATA_ADDR + 1024 + diff_below(r, 2048);
	uint64_t rdi = DIFF_DATA_ADDR + 4096 + diff_below(r, 2048);
	if (diff_below(r, 2)) { uint64_t t = rsi; rsi = rdi; rdi = t; }
	if (diff_below(r, 8) == 0)
		rdi = rsi + diff_below(r, 16) - 8; /* overlapping */
	set_gpr(g, GPR_RSI, rsi);
	set_gpr(g, GPR_RDI, rdi);
	uint64_t rcx = diff_below(r, 4) ? diff_below(r, 24) : diff_below(r, 3);
	c->in.regs.gpr[GPR_RCX] = g->a32 ? ((diff_rand(r) << 32) | rcx) : rcx;
	/* make the two strings mostly equal so REPE/REPNE stop at various points */
	if (diff_below(r, 2)) {
		/* memmove: the two strings overlap when rdi was put near rsi */
		memmove(c->in.mem + (rdi - DIFF_DATA_ADDR - 64), c->in.mem + (rsi - DIFF_DATA_ADDR - 64), 128);
		c->in.mem[rdi - DIFF_DATA_ADDR + diff_below(r, 32) - 16] ^= 1;
	}
	if (diff_below(r, 2))
		c->in.regs.gpr[GPR_RAX] = mem_value(c, rdi + diff_below(r, 16) - 8, 8);
}

/* Long REP MOVS/STOS runs for the page-wise path (exec_string.c): starts
 * anywhere in the two data pages, the destination often a short distance
 * above or below the source (forward and backward overlaps, closer than an
 * element too), counts that cross the inner page boundary or run off the
 * data area (#PF after part of the string). */
static void setup_string_long(struct gen *g)
{
	struct diff_case *c = g->c;
	struct diff_rng *r = g->r;
	uint64_t rsi = DIFF_DATA_ADDR + diff_below(r, DIFF_MEM_SIZE);
	uint64_t rdi = DIFF_DATA_ADDR + diff_below(r, DIFF_MEM_SIZE);
	switch (diff_below(r, 4)) {
	case 0: rdi = rsi + diff_below(r, 33) - 16; break;    /* closer than a few elements */
	case 1: rdi = rsi + diff_below(r, 1025) - 512; break; /* a long overlap */
	default: break;
	}
	if (rdi < DIFF_DATA_ADDR || rdi >= DIFF_DATA_ADDR + DIFF_MEM_SIZE)
		rdi = DIFF_DATA_ADDR + DIFF_MEM_SIZE / 2;
	set_gpr(g, GPR_RSI, rsi);
	set_gpr(g, GPR_RDI, rdi);
	uint64_t rcx = diff_below(r, 4) ? diff_below(r, 600) : diff_below(r, 5000);
	c->in.regs.gpr[GPR_RCX] = g->a32 ? ((diff_rand(r) << 32) | rcx) : rcx;
}

static void setup_div(struct gen *g)
{
	/* Shape the dividend only (the divisor is random): high half zero or
	 * the sign extension of the low half, so the quotient usually fits
	 * and #DE still happens often enough. */
	struct diff_case *c = g->c;
	struct diff_rng *r = g->r;
	uint64_t *rax = &c->in.regs.gpr[GPR_RAX], *rdx = &c->in.regs.gpr[GPR_RDX];
	unsigned sz = cur_opsize(g);
	switch (diff_below(r, 4)) {
	case 0: /* high half zero / sign extension: quotient usually fits */
		if (sz == 1)
			*rax = (*rax & ~0xff00ULL) | ((*rax & 0x80) && diff_below(r, 2) ? 0xff00 : 0);
		else
			*rdx = (*rax >> 63) && diff_below(r, 2) ? ~0ULL : 0;
		break;
	case 1:
		if (sz == 1)
			*rax &= ~0xff00ULL;
		else
			*rdx = diff_below(r, 4);
		break;
	default:
		break;
	}
}

static void setup_cmpxchg(struct gen *g, bool wide)
{
	struct diff_case *c = g->c;
	struct diff_gen_info *info = g->info;
	if (diff_below(g->r, 3) == 0)
		return;
	if (info->has_mem) {
		c->in.regs.gpr[GPR_RAX] = mem_value(c, info->mem_la, 8);
		if (wide) {
			unsigned half = (g->rex & 8) ? 8 : 4;
			uint64_t lo = mem_value(c, info->mem_la, half);
			uint64_t hi = mem_value(c, info->mem_la + half, half);
			c->in.regs.gpr[GPR_RAX] = lo;
			c->in.regs.gpr[GPR_RDX] = hi;
		}
		return;
	}
	/* register destination: the last ModRM byte's r/m field */
	for (int i = (int)c->len - 1; i > 0; i--) {
		if ((c->code[i] >> 6) == 3 && (c->code[i - 1] == 0xb0 || c->code[i - 1] == 0xb1)) {
			unsigned rm = (c->code[i] & 7) | ((g->rex & 1u) << 3);
			c->in.regs.gpr[GPR_RAX] = c->in.regs.gpr[rm];
			break;
		}
	}
}

static void put32(struct diff_case *c, uint64_t la, uint32_t v)
{
	if (la >= DIFF_DATA_ADDR && la - DIFF_DATA_ADDR + 4 <= DIFF_MEM_SIZE)
		memcpy(c->in.mem + (la - DIFF_DATA_ADDR), &v, 4);
}

static void put64(struct diff_case *c, uint64_t la, uint64_t v)
{
	if (la >= DIFF_DATA_ADDR && la - DIFF_DATA_ADDR + 8 <= DIFF_MEM_SIZE)
		memcpy(c->in.mem + (la - DIFF_DATA_ADDR), &v, 8);
}

/* A valid MXCSR value most of the time; sometimes a reserved bit (bits
 * 18+: #GP everywhere; bit 17, AMD's MM, is left alone: the host has it,
 * ringvm's model does not). */
static uint32_t gen_mxcsr_image(struct diff_rng *r)
{
	uint32_t v = (uint32_t)diff_rand(r) & 0xffff;
	if (diff_below(r, 4))
		v = (v & ~0x1f80u) | 0x1f80u;
	if (diff_below(r, 10) == 0)
		v |= 1u << (18 + diff_below(r, 14));
	return v;
}

static void setup_fpimage(struct gen *g)
{
	struct diff_case *c = g->c;
	struct diff_rng *r = g->r;
	uint64_t la = g->info->mem_la;
	if (!g->info->has_mem)
		return;
	switch (g->f->setup) {
	case SETUP_MXCSR:
		put32(c, la, gen_mxcsr_image(r));
		break;
	case SETUP_FXIMG:
	case SETUP_XSAVE: {
		/* x87 control/status words and tags as FXSAVE would store them */
		uint16_t fcw = (uint16_t)(0x1040 | (diff_rand(r) & 0xf3f));
		if (diff_below(r, 2))
			fcw |= 0x3f;
		uint32_t w0 = fcw | ((uint32_t)(diff_rand(r) & 0x3f00) << 16);
		put32(c, la, w0);
		put32(c, la + 4, (uint32_t)diff_rand(r) & 0xff);
		put32(c, la + 24, gen_mxcsr_image(r));
		for (int i = 0; i < 8; i++) {
			uint8_t v[16];
			gen_f80(r, v);
			memset(v + 10, 0, 6);
			if (la + 32 + 16 * i + 16 <= DIFF_DATA_ADDR + DIFF_MEM_SIZE &&
			    la >= DIFF_DATA_ADDR)
				memcpy(c->in.mem + (la - DIFF_DATA_ADDR) + 32 + 16 * i, v, 16);
		}
		if (g->f->setup == SETUP_FXIMG)
			break;
		/* RFBM: x87/SSE only, so the host's AVX/AVX-512 state stays out */
		c->in.regs.gpr[GPR_RAX] = (c->in.regs.gpr[GPR_RAX] & ~0xffffffffULL) |
					  (diff_rand(r) & 3);
		c->in.regs.gpr[GPR_RDX] &= ~0xffffffffULL;
		uint64_t bv = diff_rand(r) & 3, comp = 0;
		if (diff_below(r, 16) == 0)
			comp = (1ULL << 63) | 3;
		put64(c, la + 512, bv);
		put64(c, la + 520, comp);
		for (int k = 16; k < 64; k += 8)
			put64(c, la + 512 + (uint64_t)k, diff_below(r, 16) ? 0 : diff_rand(r));
		break;
	}
	default:
		break;
	}
}

bool diff_gen_case(struct diff_rng *r, const struct diff_form *f,
		   struct diff_case *c, struct diff_gen_info *info)
{
	struct gen g = { .r = r, .f = f, .c = c, .info = info, .ripdisp_at = -1 };
	memset(info, 0, sizeof(*info));
	c->len = 0;
	memset(c->code, 0, sizeof(c->code));
	diff_gen_state(r, &c->in, f->fp);
	if (f->setup == SETUP_STACK) {
		uint64_t sp = DIFF_DATA_ADDR + 256 + diff_below(r, DIFF_MEM_SIZE - 512);
		if (diff_below(r, 4))
			sp &= ~7ULL;
		c->in.regs.gpr[GPR_RSP] = sp;
		if (diff_below(r, 2))
			c->in.regs.gpr[GPR_RBP] = DIFF_DATA_ADDR + 256 + diff_below(r, DIFF_MEM_SIZE - 512);
		/* a return address inside the code page, RFLAGS images without TF */
		/* (never inside the instruction itself: it would run twice) */
		uint64_t top = diff_below(r, 2) ? DIFF_CODE_ADDR + 24 + diff_below(r, 64)
						: (diff_rand(r) & ~0x40100ULL);
		memcpy(c->in.mem + (sp - DIFF_DATA_ADDR), &top, 8);
	}
	if (f->setup == SETUP_XLAT)
		c->in.regs.gpr[GPR_RBX] = DIFF_DATA_ADDR + diff_below(r, 4096);

	const char *t = f->enc;
	while (*t) {
		while (*t == ' ')
			t++;
		size_t n = 0;
		while (t[n] && t[n] != ' ')
			n++;
		if (n && !gen_token(&g, t, n))
			return false;
		t += n;
	}
	info->opsize = cur_opsize(&g);
	if (g.ripdisp_at >= 0) {
		uint64_t next = DIFF_CODE_ADDR + c->len;
		uint32_t d = (uint32_t)(g.rip_target - next);
		memcpy(c->code + g.ripdisp_at, &d, 4);
	}
	switch (f->setup) {
	case SETUP_STRING: setup_string(&g); break;
	case SETUP_STRING_LONG: setup_string_long(&g); break;
	case SETUP_DIV: setup_div(&g); break;
	case SETUP_CMPXCHG: setup_cmpxchg(&g, false); break;
	case SETUP_CMPXCHG8: setup_cmpxchg(&g, true); break;
	case SETUP_MXCSR:
	case SETUP_FXIMG:
	case SETUP_XSAVE: setup_fpimage(&g); break;
	default: break;
	}
	/* an addr32 [esp] operand gave RSP a random upper half */
	c->in.regs.gpr[GPR_RSP] = canon_rsp(c->in.regs.gpr[GPR_RSP]);
	return true;
}
