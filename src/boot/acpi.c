/* ACPI tables in the BIOS area [LAYOUT_ACPI_START, LAYOUT_ACPI_END):
 * RSDP (v2) -> RSDT + XSDT -> FADT (-> FACS, DSDT), MADT, MCFG.
 * A full (not hardware-reduced) PC: PM1a event/control and PM timer ports,
 * SCI on IRQ 9, reset register, 8042 present. */
#include <errno.h>
#include <stdlib.h>

#include "boot_internal.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

#define ACPI_OEM_ID "RINGVM"
#define ACPI_OEM_TABLE "RINGVMAC"
#define ACPI_CREATOR "RVMB"

/* FADT flags (ACPI 6.x table 5.10). */
#define FADT_WBINVD          (1u << 0)
#define FADT_PROC_C1         (1u << 2)
#define FADT_PWR_BUTTON      (1u << 4)  /* no fixed-feature power button */
#define FADT_SLP_BUTTON      (1u << 5)  /* no fixed-feature sleep button */
#define FADT_TMR_VAL_EXT     (1u << 8)  /* 32-bit PM timer */
#define FADT_RESET_REG_SUP   (1u << 10)
/* IA-PC boot architecture flags. */
#define IAPC_LEGACY_DEVICES  (1u << 0)
#define IAPC_8042            (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)

#define FADT_LEN 276   /* revision 6 */
#define GAS_SYSTEM_IO 1

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	t[9] = 0;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE, 8);
	put32(t + 24, 1);
	memcpy(t + 28, ACPI_CREATOR, 4);
	put32(t + 32, 1);
}

void acpi_finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)(0 - acpi_sum(t, len));
}

/* Generic Address Structure for an I/O port block. */
static void acpi_gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bits;
	p[2] = 0;
	p[3] = access; /* 1 byte, 2 word, 3 dword */
	put64(p + 4, port);
}

static size_t acpi_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	memset(t, 0, FADT_LEN);
	acpi_header(t, "FACP", FADT_LEN, 6);
	put32(t + 36, (uint32_t)facs);
	put32(t + 40, (uint32_t)dsdt);
	t[45] = 0;                            /* PM profile: unspecified */
	put16(t + 46, ACPI_SCI_IRQ);
	put32(t + 48, 0);                     /* SMI_CMD 0: always in ACPI mode */
	put32(t + 56, PORT_ACPI_PM1_EVT);
	put32(t + 64, PORT_ACPI_PM1_CNT);
	put32(t + 76, PORT_ACPI_PM_TMR);
	t[88] = 4;                            /* PM1_EVT_LEN */
	t[89] = 2;                            /* PM1_CNT_LEN */
	t[91] = 4;                            /* PM_TMR_LEN */
	put16(t + 96, 101);                   /* C2 latency >100: no C2 */
	put16(t + 98, 1001);                  /* C3 latency >1000: no C3 */
	put16(t + 109, IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT);
	put32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON |
		       FADT_SLP_BUTTON | FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP);
	acpi_gas_io(t + 116, PORT_ACPI_RESET, 8, 1);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 0;                           /* FADT minor version */
	put64(t + 132, 0);                    /* X_FIRMWARE_CTRL: 0, FACS is below 4 GiB */
	put64(t + 140, dsdt);                 /* X_DSDT */
	acpi_gas_io(t + 148, PORT_ACPI_PM1_EVT, 32, 2);
	acpi_gas_io(t + 172, PORT_ACPI_PM1_CNT, 16, 2);
	acpi_gas_io(t + 208, PORT_ACPI_PM_TMR, 32, 3);
	memcpy(t + 268, "RINGVM\0\0", 8);     /* hypervisor vendor identity */
	acpi_finish(t, FADT_LEN);
	return FADT_LEN;
}

static size_t acpi_facs(uint8_t *t)
{
	memset(t, 0, 64);
	memcpy(t, "FACS", 4);
	put32(t + 4, 64);
	t[32] = 2; /* version */
	return 64;
}

/* MADT entry types. */
#define MADT_LAPIC      0
#define MADT_IOAPIC     1
#define MADT_ISO        2
#define MADT_LAPIC_NMI  4
#define MADT_PCAT_COMPAT 1u
/* MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3. */
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL       0xc

static size_t madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	p[0] = MADT_ISO;
	p[1] = 10;
	p[2] = 0;       /* ISA bus */
	p[3] = irq;
	put32(p + 4, gsi);
	put16(p + 8, flags);
	return 10;
}

static size_t acpi_madt(uint8_t *t, const struct vm *vm)
{
	size_t n = 44;

	put32(t + 36, (uint32_t)LAYOUT_LAPIC);
	put32(t + 40, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < vm->cfg.cpus; i++) {
		uint8_t *p = t + n;
		p[0] = MADT_LAPIC;
		p[1] = 8;
		p[2] = (uint8_t)i;  /* ACPI processor UID */
		p[3] = (uint8_t)i;  /* APIC id */
		put32(p + 4, 1);    /* enabled */
		n += 8;
	}
	uint8_t *p = t + n;
	p[0] = MADT_IOAPIC;
	p[1] = 12;
	p[2] = boot_ioapic_id(vm);
	p[3] = 0;
	put32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	put32(p + 8, 0);            /* GSI base */
	n += 12;
	n += madt_iso(t + n, IRQ_PIT, board_isa_irq_gsi(IRQ_PIT), 0);
	n += madt_iso(t + n, ACPI_SCI_IRQ, ACPI_SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL);
	p = t + n;
	p[0] = MADT_LAPIC_NMI;
	p[1] = 6;
	p[2] = 0xff;                /* all processors */
	put16(p + 3, 0);
	p[5] = 1;                   /* LINT1 */
	n += 6;
	acpi_header(t, "APIC", (uint32_t)n, 5);
	acpi_finish(t, (uint32_t)n);
	return n;
}

/* MCFG (PCI Firmware spec 3.0, 4.1.2): one ECAM allocation, segment 0,
 * at LAYOUT_PCI_ECAM (reserved in the e820 map too), for the buses that
 * exist (LAYOUT_PCI_BUSES: bus 0).  The window decodes all 256 buses
 * (others read all-ones), but Linux takes MCFG's end bus as the last bus
 * (pcibios_last_bus) and probes every one up to it for peer bridges. */
#define MCFG_LEN (44 + 16)
static size_t acpi_mcfg(uint8_t *t)
{
	memset(t + 36, 0, MCFG_LEN - 36);
	put64(t + 44, LAYOUT_PCI_ECAM);
	put16(t + 52, 0);                           /* PCI segment group */
	t[54] = 0;                                  /* start bus */
	t[55] = (uint8_t)(LAYOUT_PCI_BUSES - 1);      /* end bus */
	acpi_header(t, "MCFG", MCFG_LEN, 1);
	acpi_finish(t, MCFG_LEN);
	return MCFG_LEN;
}

/* Reserve len bytes in the table buffer at the given alignment. */
static size_t acpi_take(size_t *cur, size_t len, size_t align, size_t cap)
{
	size_t off = ALIGN_UP(*cur, align);
	if (off > cap || len > cap - off)
		return SIZE_MAX;
	*cur = off + len;
	return off;
}

uint64_t acpi_build(struct vm *vm)
{
	const uint64_t base = LAYOUT_ACPI_START;
	const size_t cap = LAYOUT_ACPI_END - LAYOUT_ACPI_START;

	if (vm->cfg.cpus == 0 || vm->cfg.cpus > MAX_VCPUS) {
		pr_err("ACPI: cannot describe %u CPUs (1..%d supported)",
		       vm->cfg.cpus, MAX_VCPUS);
		return 0;
	}
	if (!gmem_is_ram(&vm->mem, base, cap)) {
		pr_err("ACPI: guest RAM does not cover the table area 0x%llx-0x%llx",
		       (unsigned long long)base, (unsigned long long)LAYOUT_ACPI_END);
		return 0;
	}
	uint8_t *buf = calloc(1, cap);
	if (!buf) {
		pr_err("ACPI: out of memory building tables");
		return 0;
	}
	size_t cur = 0;
	size_t rsdp = acpi_take(&cur, 36, 16, cap);
	size_t rsdt = acpi_take(&cur, 36 + 3 * 4, 16, cap);
	size_t xsdt = acpi_take(&cur, 36 + 3 * 8, 16, cap);
	size_t facs = acpi_take(&cur, 64, 64, cap);
	size_t fadt = acpi_take(&cur, FADT_LEN, 16, cap);
	size_t madt = acpi_take(&cur, 44 + 8 * MAX_VCPUS + 12 + 2 * 10 + 6, 16, cap);
	size_t mcfg = acpi_take(&cur, MCFG_LEN, 16, cap);
	size_t dsdt = acpi_take(&cur, 0, 16, cap);
	size_t dsdt_len = dsdt == SIZE_MAX ? 0 : acpi_dsdt_build(vm, buf + dsdt, cap - dsdt);
	if (madt == SIZE_MAX || mcfg == SIZE_MAX || dsdt_len == 0) {
		pr_err("ACPI: tables do not fit in 0x%llx-0x%llx",
		       (unsigned long long)base, (unsigned long long)LAYOUT_ACPI_END);
		free(buf);
		return 0;
	}
	cur = dsdt + dsdt_len;

	acpi_facs(buf + facs);
	acpi_fadt(buf + fadt, base + facs, base + dsdt);
	acpi_madt(buf + madt, vm);
	acpi_mcfg(buf + mcfg);

	uint8_t *t = buf + rsdt;
	acpi_header(t, "RSDT", 36 + 3 * 4, 1);
	put32(t + 36, (uint32_t)(base + fadt));
	put32(t + 40, (uint32_t)(base + madt));
	put32(t + 44, (uint32_t)(base + mcfg));
	acpi_finish(t, 36 + 3 * 4);

	t = buf + xsdt;
	acpi_header(t, "XSDT", 36 + 3 * 8, 1);
	put64(t + 36, base + fadt);
	put64(t + 44, base + madt);
	put64(t + 52, base + mcfg);
	acpi_finish(t, 36 + 3 * 8);

	t = buf + rsdp;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, ACPI_OEM_ID, 6);
	t[15] = 2;                            /* ACPI 2.0+ */
	put32(t + 16, (uint32_t)(base + rsdt));
	put32(t + 20, 36);
	put64(t + 24, base + xsdt);
	t[8] = (uint8_t)(0 - acpi_sum(t, 20));
	t[32] = (uint8_t)(0 - acpi_sum(t, 36));

	int r = gmem_write(&vm->mem, base, buf, cur);
	free(buf);
	if (r < 0) {
		pr_err("ACPI: cannot write tables to guest memory");
		return 0;
	}
	return base + rsdp;
}
