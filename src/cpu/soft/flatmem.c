/* Flat memory ops (see flatmem.h).  Accesses outside the buffer raise #PF
 * (with cr2) for data and fetches; nothing outside [ram, ram+size) is ever
 * touched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flatmem.h"

static bool in_range(const struct soft_flatmem *m, uint64_t la, unsigned len)
{
	return la < m->size && len <= m->size - la;
}

static int pf(struct soft_fault *f, uint64_t la, uint32_t err)
{
	f->vector = X86_EXC_PF;
	f->has_error = true;
	f->error_code = err;
	f->cr2 = la;
	return -1;
}

static int fm_read(void *opaque, uint64_t la, void *dst, unsigned len, unsigned acc,
		   struct soft_fault *f)
{
	struct soft_flatmem *m = opaque;
	if (!in_range(m, la, len))
		return pf(f, la, acc == SOFT_ACC_RMW ? 2 : 0);
	memcpy(dst, m->ram + la, len);
	return 0;
}

static int fm_write(void *opaque, uint64_t la, const void *src, unsigned len, uint64_t pa[2],
		    struct soft_fault *f)
{
	struct soft_flatmem *m = opaque;
	if (!in_range(m, la, len))
		return pf(f, la, 2);
	memcpy(m->ram + la, src, len);
	pa[0] = la;
	pa[1] = la + len - 1;
	return 0;
}

static int fm_fetch(void *opaque, uint64_t la, void *dst, unsigned len, uint64_t *pa,
		    struct soft_fault *f)
{
	struct soft_flatmem *m = opaque;
	if (!in_range(m, la, len))
		return pf(f, la, 0x10);
	memcpy(dst, m->ram + la, len);
	*pa = la;
	return 0;
}

static int fm_in(void *opaque, uint16_t port, unsigned size, uint32_t *val, struct soft_fault *f)
{
	struct soft_flatmem *m = opaque;
	m->last_port = port;
	*val = m->in_value & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
	return 0;
}

static int fm_out(void *opaque, uint16_t port, unsigned size, uint32_t val, struct soft_fault *f)
{
	struct soft_flatmem *m = opaque;
	m->last_port = port;
	m->last_out = val;
	m->nouts++;
	return 0;
}

static uint64_t fm_tsc(void *opaque)
{
	struct soft_flatmem *m = opaque;
	return m->tsc++;
}

const struct soft_mem_ops soft_flatmem_ops = {
	.read = fm_read,
	.write = fm_write,
	.fetch = fm_fetch,
	.pio_in = fm_in,
	.pio_out = fm_out,
	.rdtsc = fm_tsc,
};

int soft_flatmem_init(struct soft_flatmem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->ram = calloc(1, size);
	if (!m->ram)
		return -ENOMEM;
	m->size = size;
	return 0;
}

void soft_flatmem_destroy(struct soft_flatmem *m)
{
	free(m->ram);
	m->ram = NULL;
}
