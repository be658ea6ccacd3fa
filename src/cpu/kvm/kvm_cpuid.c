/* CPUID for kvm vCPUs: what KVM supports on this host, made consistent with
 * the machine's topology (cfg.cpus cores, one thread each, one package) and
 * marked as running under the KVM hypervisor. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_priv.h"
#include "ringvm/log.h"

#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define CPUID_1_EDX_HTT        (1U << 28)
#define CPUID_EXT1_ECX_CMP_LEG (1U << 1)
#define KVM_SIG_LEAF           0x40000000U
#define KVM_FEATURES_LEAF      0x40000001U
#define EXTRA_ENTRIES          16

/* KVM_GET_SUPPORTED_CPUID, growing the buffer until it fits. */
struct kvm_cpuid2 *kvm_cpuid_supported(int sys_fd)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = n;
		int r = kvm_ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == 0)
			return c;
		free(c);
		if (r != -E2BIG) {
			pr_err("kvm: KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-r));
			return NULL;
		}
	}
	pr_err("kvm: KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
	return NULL;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx))
			return e;
	}
	return NULL;
}

static struct kvm_cpuid_entry2 *add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx,
				    uint32_t flags)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = flags;
	return e;
}

/* Bits needed to number n items (0 for n <= 1). */
static unsigned id_bits(unsigned n)
{
	unsigned s = 0;

	while ((1U << s) < n)
		s++;
	return s;
}

/* x2APIC topology leaf (0xB or 0x1F): SMT level (1 thread), core level. */
static void add_topology(struct kvm_cpuid2 *c, uint32_t fn, unsigned id,
			 unsigned nr_cpus, unsigned shift)
{
	struct kvm_cpuid_entry2 *e;

	e = add(c, fn, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	e->eax = 0;
	e->ebx = 1;
	e->ecx = 0 | (1U << 8);
	e->edx = id;
	e = add(c, fn, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	e->eax = shift;
	e->ebx = nr_cpus;
	e->ecx = 1 | (2U << 8);
	e->edx = id;
	e = add(c, fn, 2, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	e->ecx = 2;
	e->edx = id;
}

static void fix_leaf1(struct kvm_cpuid2 *c, unsigned id, unsigned nr_cpus, unsigned shift)
{
	struct kvm_cpuid_entry2 *e = find(c, 1, 0);

	if (!e)
		return;
	uint32_t clflush = (e->ebx >> 8) & 0xff;
	e->ebx = (e->ebx & 0xff) | ((clflush ? clflush : 8U) << 8) |
		 ((nr_cpus > 1 ? (1U << shift) : 1U) << 16) | ((id & 0xff) << 24);
	e->ecx |= CPUID_1_ECX_HYPERVISOR;
	if (nr_cpus > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
}

/* Intel deterministic cache parameters: cores per package, sharing. */
static void fix_leaf4(struct kvm_cpuid2 *c, unsigned shift)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != 4 || !(e->eax & 0x1f))
			continue;
		unsigned level = (e->eax >> 5) & 7;
		uint32_t sharing = level >= 3 ? (1U << shift) - 1 : 0;
		e->eax &= ~((0x3fU << 26) | (0xfffU << 14));
		e->eax |= (((1U << shift) - 1) << 26) | (sharing << 14);
	}
}

static void fix_amd(struct kvm_cpuid2 *c, unsigned id, unsigned nr_cpus, unsigned shift)
{
	struct kvm_cpuid_entry2 *e = find(c, 0x80000008, 0);

	if (e)
		e->ecx = (e->ecx & ~0xf0ffU) | ((nr_cpus - 1) & 0xff) | (shift << 12);
	e = find(c, 0x80000001, 0);
	if (e) {
		if (nr_cpus > 1)
			e->ecx |= CPUID_EXT1_ECX_CMP_LEG;
		else
			e->ecx &= ~CPUID_EXT1_ECX_CMP_LEG;
	}
	e = find(c, 0x8000001e, 0);
	if (e) {
		e->eax = id;
		e->ebx = id & 0xff;     /* core id; threads per core - 1 = 0 */
		e->ecx = 0;             /* node 0, one node per package */
	}
}

/* Hypervisor leaves: "KVMKVMKVM\0\0\0" and the PV features KVM reports. */
static void fix_kvm_leaves(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e = find(c, KVM_SIG_LEAF, 0);

	if (!e)
		e = add(c, KVM_SIG_LEAF, 0, 0);
	e->eax = KVM_FEATURES_LEAF;
	memcpy(&e->ebx, "KVMK", 4);
	memcpy(&e->ecx, "VMKV", 4);
	memcpy(&e->edx, "M\0\0\0", 4);
	if (!find(c, KVM_FEATURES_LEAF, 0))
		add(c, KVM_FEATURES_LEAF, 0, 0);
}

int kvm_cpuid_setup(struct kvm_vcpu *kv, unsigned id, unsigned nr_cpus)
{
	const struct kvm_cpuid2 *sup = kv->kvm->cpuid;
	size_t bytes = sizeof(*sup) + (sup->nent + EXTRA_ENTRIES) * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = calloc(1, bytes);

	if (!c)
		return -ENOMEM;
	if (nr_cpus == 0)
		nr_cpus = 1;
	unsigned shift = id_bits(nr_cpus);
	bool has_1f = false;

	/* Copy, dropping the topology leaves (rebuilt below) and any
	 * hypervisor leaves other than KVM's own. */
	for (uint32_t i = 0; i < sup->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &sup->entries[i];
		if (e->function == 0x1f)
			has_1f = true;
		if (e->function == 0xb || e->function == 0x1f)
			continue;
		if (e->function > KVM_FEATURES_LEAF && e->function < 0x80000000U)
			continue;
		c->entries[c->nent++] = *e;
	}
	struct kvm_cpuid_entry2 *l0 = find(c, 0, 0);
	uint32_t max_basic = l0 ? l0->eax : 0;
	if (max_basic >= 0xb)
		add_topology(c, 0xb, id, nr_cpus, shift);
	if (has_1f && max_basic >= 0x1f)
		add_topology(c, 0x1f, id, nr_cpus, shift);
	fix_leaf1(c, id, nr_cpus, shift);
	fix_leaf4(c, shift);
	if (l0 && (!memcmp(&l0->ebx, "Auth", 4) || !memcmp(&l0->ebx, "Hygo", 4)))
		fix_amd(c, id, nr_cpus, shift);
	fix_kvm_leaves(c);

	int r = kvm_ioctl(kv->fd, KVM_SET_CPUID2, c);
	if (r < 0)
		pr_err("kvm: KVM_SET_CPUID2 (vCPU %u, %u entries) failed: %s", id, c->nent,
		       strerror(-r));
	free(c);
	return r < 0 ? r : 0;
}
