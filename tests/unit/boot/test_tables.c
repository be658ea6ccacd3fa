/* Machine tables: e820, ACPI (checksum walk, FADT/MADT/DSDT contents), the
 * AML builder's encodings, the MP table, and the entry-state helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ringvm/aml.h"
#include "boot_internal.h"
#include "boot_test_util.h"
#include "ringvm/layout.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* ---- e820 --------------------------------------------------------------- */

static void check_e820(uint64_t ram, unsigned want_n, uint64_t low_end, uint64_t high)
{
	struct vm *vm = tvm_new(ram);
	struct e820_entry m[E820_MAX];
	unsigned n = e820_build(vm, m, E820_MAX);

	assert_int_equal(n, want_n);
	assert_int_equal(m[0].addr, 0);
	assert_int_equal(m[0].size, LAYOUT_EBDA_START);
	assert_int_equal(m[0].type, E820_RAM);
	assert_int_equal(m[1].addr, LAYOUT_EBDA_START);
	assert_int_equal(m[1].addr + m[1].size, LAYOUT_HIGH_MEMORY);
	assert_int_equal(m[1].type, E820_RESERVED);
	assert_int_equal(m[2].addr, LAYOUT_HIGH_MEMORY);
	assert_int_equal(m[2].addr + m[2].size, low_end);
	assert_int_equal(m[2].type, E820_RAM);
	assert_int_equal(m[3].addr, LAYOUT_PCI_ECAM);
	assert_int_equal(m[3].type, E820_RESERVED);
	uint64_t total = 0;
	for (unsigned i = 0; i < n; i++) {
		if (i)
			assert_true(m[i].addr >= m[i - 1].addr + m[i - 1].size);
		if (m[i].type == E820_RAM)
			total += m[i].size;
	}
	/* all RAM but the EBDA..1 MiB window is usable */
	assert_int_equal(total, ram - (LAYOUT_HIGH_MEMORY - LAYOUT_EBDA_START));
	if (high) {
		assert_int_equal(m[4].addr, LAYOUT_HIGH_RAM_START);
		assert_int_equal(m[4].size, high);
		assert_int_equal(m[4].type, E820_RAM);
	}
	/* a short table is truncated, not overrun */
	assert_int_equal(e820_build(vm, m, 2), 2);
	tvm_free(vm);
}

static void test_e820_64m(void **s) { check_e820(64 * MiB, 4, 64 * MiB, 0); }
static void test_e820_3g(void **s) { check_e820(3 * GiB, 4, 3 * GiB, 0); }
static void test_e820_5g(void **s) { check_e820(5 * GiB, 5, 3 * GiB, 2 * GiB); }

/* ---- ACPI --------------------------------------------------------------- */

static const uint8_t *table(struct vm *vm, uint64_t gpa, const char *sig)
{
	const uint8_t *h = gmem_ptr(&vm->mem, gpa, 36);
	assert_non_null(h);
	assert_memory_equal(h, sig, 4);
	uint32_t len = rd32(h + 4);
	assert_true(len >= 36);
	const uint8_t *t = gmem_ptr(&vm->mem, gpa, len);
	assert_non_null(t);
	assert_int_equal(sum(t, len), 0);
	assert_true(gpa >= LAYOUT_ACPI_START && gpa + len <= LAYOUT_ACPI_END);
	return t;
}

static uint64_t le64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void check_gas_io(const uint8_t *g, uint16_t port, uint8_t bits)
{
	assert_int_equal(g[0], 1);
	assert_int_equal(g[1], bits);
	assert_int_equal(le64(g + 4), port);
}

static void test_acpi_walk(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	vm->cfg.cpus = 4;
	uint64_t rsdp_gpa = acpi_build(vm);
	assert_int_not_equal(rsdp_gpa, 0);
	assert_int_equal(rsdp_gpa % 16, 0);

	const uint8_t *rsdp = gmem_ptr(&vm->mem, rsdp_gpa, 36);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(rd32(rsdp + 20), 36);

	const uint8_t *rsdt = table(vm, rd32(rsdp + 16), "RSDT");
	const uint8_t *xsdt = table(vm, le64(rsdp + 24), "XSDT");
	unsigned nx = (rd32(xsdt + 4) - 36) / 8;
	assert_int_equal(nx, 3);
	assert_int_equal((rd32(rsdt + 4) - 36) / 4, nx);
	const uint8_t *fadt = NULL, *madt = NULL, *mcfg = NULL;
	for (unsigned i = 0; i < nx; i++) {
		uint64_t a = le64(xsdt + 36 + 8 * i);
		assert_int_equal(rd32(rsdt + 36 + 4 * i), a);
		const uint8_t *h = gmem_ptr(&vm->mem, a, 4);
		if (!memcmp(h, "FACP", 4))
			fadt = table(vm, a, "FACP");
		else if (!memcmp(h, "APIC", 4))
			madt = table(vm, a, "APIC");
		else if (!memcmp(h, "MCFG", 4))
			mcfg = table(vm, a, "MCFG");
	}
	assert_non_null(fadt);
	assert_non_null(madt);
	assert_non_null(mcfg);

	/* MCFG: one ECAM allocation, segment 0, bus 0 (the buses that exist) */
	assert_int_equal(rd32(mcfg + 4), 60);
	assert_int_equal(le64(mcfg + 44), LAYOUT_PCI_ECAM);
	assert_int_equal(mcfg[52] | mcfg[53] << 8, 0);
	assert_int_equal(mcfg[54], 0);
	assert_int_equal(mcfg[55], LAYOUT_PCI_BUSES - 1);

	/* FADT */
	assert_int_equal(rd32(fadt + 4), 276);
	assert_int_equal(fadt[8], 6);
	uint32_t dsdt_gpa = rd32(fadt + 40);
	assert_int_equal(le64(fadt + 140), dsdt_gpa);
	const uint8_t *facs = gmem_ptr(&vm->mem, rd32(fadt + 36), 64);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(fadt + 36) % 64, 0);
	assert_int_equal(le64(fadt + 132), 0); /* FACS only via FIRMWARE_CTRL */
	assert_int_equal(fadt[46] | fadt[47] << 8, ACPI_SCI_IRQ);
	assert_int_equal(rd32(fadt + 48), 0);
	assert_int_equal(rd32(fadt + 56), PORT_ACPI_PM1_EVT);
	assert_int_equal(rd32(fadt + 64), PORT_ACPI_PM1_CNT);
	assert_int_equal(rd32(fadt + 76), PORT_ACPI_PM_TMR);
	assert_int_equal(fadt[88], 4);
	assert_int_equal(fadt[89], 2);
	assert_int_equal(fadt[91], 4);
	uint16_t iapc = fadt[109] | fadt[110] << 8;
	assert_true(iapc & 2);          /* 8042 */
	assert_true(iapc & 4);          /* no VGA */
	assert_false(iapc & 8);         /* MSI allowed */
	uint32_t flags = rd32(fadt + 112);
	assert_true(flags & (1u << 8)); /* TMR_VAL_EXT */
	assert_true(flags & (1u << 10));/* RESET_REG_SUP */
	assert_false(flags & (1u << 20)); /* not HW_REDUCED */
	check_gas_io(fadt + 116, PORT_ACPI_RESET, 8);
	assert_int_equal(fadt[128], ACPI_RESET_VALUE);
	check_gas_io(fadt + 148, PORT_ACPI_PM1_EVT, 32);
	check_gas_io(fadt + 172, PORT_ACPI_PM1_CNT, 16);
	check_gas_io(fadt + 208, PORT_ACPI_PM_TMR, 32);

	/* MADT */
	assert_int_equal(rd32(madt + 36), LAYOUT_LAPIC);
	assert_int_equal(rd32(madt + 40) & 1, 1);
	unsigned ncpu = 0, nio = 0, niso = 0;
	uint32_t len = rd32(madt + 4);
	for (uint32_t off = 44; off < len;) {
		const uint8_t *p = madt + off;
		assert_true(p[1] >= 2 && off + p[1] <= len);
		if (p[0] == 0) {
			assert_int_equal(p[3], ncpu);
			assert_int_equal(rd32(p + 4) & 1, 1);
			ncpu++;
		} else if (p[0] == 1) {
			assert_int_equal(p[2], LAYOUT_IOAPIC_ID);
			assert_int_equal(rd32(p + 4), LAYOUT_IOAPIC);
			assert_int_equal(rd32(p + 8), 0);
			nio++;
		} else if (p[0] == 2) {
			if (p[3] == 0) {
				assert_int_equal(rd32(p + 4), 2);
			} else {
				assert_int_equal(p[3], ACPI_SCI_IRQ);
				assert_int_equal(rd32(p + 4), ACPI_SCI_IRQ);
				assert_int_equal(p[8], 0x0d);
			}
			niso++;
		}
		off += p[1];
	}
	assert_int_equal(ncpu, 4);
	assert_int_equal(nio, 1);
	assert_int_equal(niso, 2);

	/* DSDT: has \_S5 = Package { 5, 5, 0, 0 } and both devices */
	const uint8_t *dsdt = table(vm, dsdt_gpa, "DSDT");
	uint32_t dl = rd32(dsdt + 4);
	static const uint8_t s5[] = { 0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, ACPI_SLP_TYP_S5, 0x0a, ACPI_SLP_TYP_S5, 0, 0 };
	assert_memory_equal(dsdt + 36, s5, sizeof(s5));
	assert_non_null(memmem(dsdt, dl, "COM1", 4));
	assert_non_null(memmem(dsdt, dl, "RTC_", 4));
	static const uint8_t com1_crs[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
					    0x22, 0x10, 0x00, 0x79, 0x00 };
	assert_non_null(memmem(dsdt, dl, com1_crs, sizeof(com1_crs)));
	/* PCI0: _HID PNP0A08, _CID PNP0A03, the 32-bit window in _CRS, and a
	 * _PRT entry: slot 1 INTA# -> GSI of the interrupt map */
	assert_non_null(memmem(dsdt, dl, "PCI0", 4));
	uint8_t hid[5] = { 0x0c };
	uint32_t v = aml_eisaid_value("PNP0A08");
	memcpy(hid + 1, &v, 4);
	assert_non_null(memmem(dsdt, dl, hid, 5));
	v = aml_eisaid_value("PNP0A03");
	memcpy(hid + 1, &v, 4);
	assert_non_null(memmem(dsdt, dl, hid, 5));
	/* DWord memory descriptor: granularity 0, then _MIN and _MAX of the
	 * board's PCI memory window (layout.h), little-endian */
	uint8_t mem_win[] = { 0x87, 23, 0, 0, 0x0c, 0x01, 0, 0, 0, 0,
			      0, 0, 0, 0, 0, 0, 0, 0 };
	uint32_t win_min = (uint32_t)LAYOUT_PCI_MMIO32_START;
	uint32_t win_max = (uint32_t)(LAYOUT_PCI_MMIO32_END - 1);
	memcpy(mem_win + 10, &win_min, 4);
	memcpy(mem_win + 14, &win_max, 4);
	assert_non_null(memmem(dsdt, dl, mem_win, sizeof(mem_win)));
	assert_non_null(memmem(dsdt, dl, "_PRT", 4));
	const uint8_t prt_slot1_inta[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00,
					   0x00, 0x00, 0x0a,
					   (uint8_t)board_pci_intx_gsi(1, 0) };
	assert_non_null(memmem(dsdt, dl, prt_slot1_inta, sizeof(prt_slot1_inta)));
	tvm_free(vm);
}

static void test_acpi_bad(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	vm->cfg.cpus = 0;
	assert_int_equal(acpi_build(vm), 0);
	vm->cfg.cpus = MAX_VCPUS + 1;
	assert_int_equal(acpi_build(vm), 0);
	vm->cfg.cpus = MAX_VCPUS;
	assert_int_not_equal(acpi_build(vm), 0);
	tvm_free(vm);
}

/* ---- AML ---------------------------------------------------------------- */

#define AML_EXPECT(a, ...) do {                                   \
		static const uint8_t want_[] = { __VA_ARGS__ };   \
		assert_true(aml_ok(a));                            \
		assert_int_equal((a)->len, sizeof(want_));         \
		assert_memory_equal((a)->buf, want_, sizeof(want_)); \
	} while (0)

static void test_aml_pkglength(void **state)
{
	uint8_t o[4];
	assert_int_equal(aml_pkglength(0, o), 1);
	assert_int_equal(o[0], 1);
	assert_int_equal(aml_pkglength(62, o), 1);
	assert_int_equal(o[0], 0x3f);
	assert_int_equal(aml_pkglength(63, o), 2);       /* total 65 = 0x41 */
	assert_int_equal(o[0], 0x41);
	assert_int_equal(o[1], 0x04);
	assert_int_equal(aml_pkglength(0xffd, o), 2);    /* total 0xfff */
	assert_int_equal(o[0], 0x4f);
	assert_int_equal(o[1], 0xff);
	assert_int_equal(aml_pkglength(0xffe, o), 3);    /* total 0x1001 */
	assert_int_equal(o[0], 0x81);
	assert_int_equal(o[1], 0x00);
	assert_int_equal(o[2], 0x01);
	assert_int_equal(aml_pkglength(0x100000, o), 4); /* total 0x100004 */
	assert_int_equal(o[0], 0xc4);
	assert_int_equal(o[1], 0x00);
	assert_int_equal(o[2], 0x00);
	assert_int_equal(o[3], 0x01);
	assert_int_equal(aml_pkglength(0x10000000, o), 0);
}

static void test_aml_integers(void **state)
{
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 5);
	aml_integer(&a, 0x3f8);
	aml_integer(&a, 0x12345678);
	aml_integer(&a, 0x100000000ULL);
	AML_EXPECT(&a, 0x00, 0x01, 0x0a, 0x05, 0x0b, 0xf8, 0x03, 0x0c, 0x78, 0x56, 0x34, 0x12,
		   0x0e, 0, 0, 0, 0, 1, 0, 0, 0);

	aml_init(&a, buf, sizeof(buf));
	aml_string(&a, "ab");
	AML_EXPECT(&a, 0x0d, 'a', 'b', 0);
}

static void test_aml_names(void **state)
{
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "_S5");
	AML_EXPECT(&a, '_', 'S', '5', '_');
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\_SB.COM1");
	AML_EXPECT(&a, 0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\A.B.C");
	AML_EXPECT(&a, 0x5c, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "^FOO");
	AML_EXPECT(&a, '^', 'F', 'O', 'O', '_');
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\");
	AML_EXPECT(&a, 0x5c, 0x00);

	const char *bad[] = { "1ABC", "TOOLONG", "A..B", "A.", "ab", "A-B" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_namestring(&a, bad[i]);
		assert_false(aml_ok(&a));
	}
	assert_int_equal(aml_eisaid_value("PNP0501"), 0x0105d041);
	assert_int_equal(aml_eisaid_value("PNP0B00"), 0x000bd041);
	assert_int_equal(aml_eisaid_value("PNP050"), 0);
	assert_int_equal(aml_eisaid_value("pnp0501"), 0);
	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "PNP0501");
	AML_EXPECT(&a, 0x0c, 0x41, 0xd0, 0x05, 0x01);
}

static void test_aml_structures(void **state)
{
	uint8_t buf[512];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_name(&a, "\\_S5");
	aml_package_begin(&a, 4);
	aml_integer(&a, 5);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a);
	AML_EXPECT(&a, 0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 5, 0x0a, 5, 0, 0);

	aml_init(&a, buf, sizeof(buf));
	aml_device_begin(&a, "COM1");
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_end(&a);
	AML_EXPECT(&a, 0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x00);

	aml_init(&a, buf, sizeof(buf));
	aml_scope_begin(&a, "\\_SB");
	aml_end(&a);
	AML_EXPECT(&a, 0x10, 0x06, 0x5c, '_', 'S', 'B', '_');

	uint8_t res[4] = { 0x22, 0x10, 0x00, 0x79 };
	aml_init(&a, buf, sizeof(buf));
	aml_buffer(&a, res, sizeof(res));
	AML_EXPECT(&a, 0x11, 0x07, 0x0a, 0x04, 0x22, 0x10, 0x00, 0x79);

	/* a package long enough for a 2-byte PkgLength, nested in a scope */
	aml_init(&a, buf, sizeof(buf));
	aml_scope_begin(&a, "FOO");
	aml_package_begin(&a, 40);
	for (int i = 0; i < 40; i++)
		aml_integer(&a, 0x1000 + (uint64_t)i);
	aml_end(&a);
	aml_end(&a);
	assert_true(aml_ok(&a));
	/* package: 1 (count) + 120 + 2 (pkglen) = 123; scope: 4 + 1 + 123 + 2 */
	assert_int_equal(a.len, 1 + 2 + 4 + 1 + 2 + 1 + 120);
	assert_int_equal(buf[0], 0x10);
	assert_int_equal(buf[1], 0x40 | ((4 + 1 + 123 + 2) & 0xf));
	assert_int_equal(buf[2], (4 + 1 + 123 + 2) >> 4);
	assert_memory_equal(buf + 3, "FOO_", 4);
	assert_int_equal(buf[7], 0x12);
	assert_int_equal(buf[8], 0x40 | (123 & 0xf));
	assert_int_equal(buf[9], 123 >> 4);
	assert_int_equal(buf[10], 40);
	assert_int_equal(buf[11], 0x0b);
	assert_int_equal(buf[12], 0x00);
	assert_int_equal(buf[13], 0x10);

	/* errors: unbalanced, too deep, buffer full */
	aml_init(&a, buf, sizeof(buf));
	aml_end(&a);
	assert_false(aml_ok(&a));
	aml_init(&a, buf, sizeof(buf));
	aml_package_begin(&a, 0);
	assert_false(aml_ok(&a));
	aml_init(&a, buf, sizeof(buf));
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(&a, 0);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_end(&a);
	assert_false(aml_ok(&a));
	aml_init(&a, buf, 6);
	aml_name(&a, "\\_S5");
	aml_integer(&a, 0x12345678);
	assert_false(aml_ok(&a));
	assert_true(a.len <= 6);
}

/* ---- MP table ----------------------------------------------------------- */

static void test_mptable(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	vm->cfg.cpus = 3;
	assert_int_equal(mptable_build(vm), 0);
	const uint8_t *fp = gmem_ptr(&vm->mem, LAYOUT_MPTABLE, 16);
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(sum(fp, 16), 0);
	assert_int_equal(fp[9], 4);
	uint32_t cfg_gpa = rd32(fp + 4);
	const uint8_t *cfg = gmem_ptr(&vm->mem, cfg_gpa, 44);
	assert_memory_equal(cfg, "PCMP", 4);
	uint16_t len = cfg[4] | cfg[5] << 8;
	cfg = gmem_ptr(&vm->mem, cfg_gpa, len);
	assert_int_equal(sum(cfg, len), 0);
	assert_int_equal(rd32(cfg + 36), LAYOUT_LAPIC);
	uint16_t count = cfg[34] | cfg[35] << 8;
	unsigned cpus = 0, ioapics = 0, ints = 0, lints = 0, bsp = 0;
	const uint8_t *p = cfg + 44;
	for (unsigned i = 0; i < count; i++) {
		assert_true(p < cfg + len);
		switch (p[0]) {
		case 0: cpus++; bsp += (p[3] & 2) != 0; p += 20; break;
		case 1: assert_memory_equal(p + 2, "ISA", 3); p += 8; break;
		case 2: ioapics++; assert_int_equal(rd32(p + 4), LAYOUT_IOAPIC); p += 8; break;
		case 3:
			ints++;
			if (p[5] == 0)
				assert_int_equal(p[7], 2);
			p += 8;
			break;
		case 4: lints++; p += 8; break;
		default: fail();
		}
	}
	assert_ptr_equal(p, cfg + len);
	assert_int_equal(cpus, 3);
	assert_int_equal(bsp, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ints, 15);
	assert_int_equal(lints, 2);

	vm->cfg.cpus = MAX_VCPUS;
	assert_int_equal(mptable_build(vm), 0);
	vm->cfg.cpus = 0;
	assert_int_equal(mptable_build(vm), -EINVAL);
	tvm_free(vm);
}

/* ---- entry state -------------------------------------------------------- */

static void test_entry_modes(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	struct boot_entry e;

	boot_setup_flat32(vm, &e);
	for (int i = 0; i < SEG_COUNT; i++) {
		const struct x86_segment *s = &e.sregs.seg[i];
		assert_int_equal(s->base, 0);
		assert_int_equal(s->limit, 0xffffffffu);
		assert_int_equal(s->present, 1);
		assert_int_equal(s->s, 1);
		assert_int_equal(s->dpl, 0);
		assert_int_equal(s->g, 1);
		assert_int_equal(s->db, 1);
		assert_int_equal(s->selector, i == SEG_CS ? 0x10 : 0x18);
		assert_int_equal(s->type, i == SEG_CS ? 0xb : 0x3);
	}
	assert_int_equal(e.sregs.gdt.limit, 31);
	assert_int_equal(e.sregs.tr.type, 11);
	assert_int_equal(e.sregs.tr.s, 0);
	assert_int_equal(e.sregs.ldt.type, 2);
	assert_int_equal(e.sregs.cr0, X86_CR0_PE | X86_CR0_ET);
	assert_int_equal(e.sregs.cr4, 0);
	assert_int_equal(e.sregs.apic_base & ~0xfffULL, LAYOUT_LAPIC);
	assert_int_equal(e.regs.rflags, 2);
	assert_int_equal(tr64(vm, LAYOUT_BOOT_GDT), 0);
	assert_int_equal(tr64(vm, LAYOUT_BOOT_GDT + 0x10), 0x00cf9b000000ffffULL);

	assert_int_equal(boot_setup_long64(vm, &e), 0);
	assert_int_equal(e.sregs.seg[SEG_CS].l, 1);
	assert_int_equal(e.sregs.seg[SEG_CS].db, 0);
	assert_int_equal(e.sregs.seg[SEG_DS].db, 1);
	assert_int_equal(e.sregs.cr0, X86_CR0_PE | X86_CR0_PG | X86_CR0_ET);
	assert_int_equal(e.sregs.cr4, X86_CR4_PAE);
	assert_int_equal(e.sregs.efer, X86_EFER_LME | X86_EFER_LMA);
	/* walk the identity map for a few addresses */
	uint64_t addrs[] = { 0, 0x7000, 0x1000000, 0xbfffffff, 0xfee00000, 0xffffffff };
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint64_t va = addrs[i];
		uint64_t pml4e = tr64(vm, e.sregs.cr3 + ((va >> 39) & 511) * 8);
		assert_true(pml4e & 1);
		uint64_t pdpte = tr64(vm, (pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8);
		assert_true(pdpte & 1);
		uint64_t pde = tr64(vm, (pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8);
		assert_true((pde & 0x81) == 0x81);
		assert_int_equal((pde & ~0x1fffffULL) | (va & 0x1fffff), va);
	}
	tvm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_64m),
		cmocka_unit_test(test_e820_3g),
		cmocka_unit_test(test_e820_5g),
		cmocka_unit_test(test_acpi_walk),
		cmocka_unit_test(test_acpi_bad),
		cmocka_unit_test(test_aml_pkglength),
		cmocka_unit_test(test_aml_integers),
		cmocka_unit_test(test_aml_names),
		cmocka_unit_test(test_aml_structures),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_entry_modes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
