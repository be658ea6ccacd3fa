/* The test device's guest ABI, shared by ringvm (src/hw/testdev.c) and the
 * tiny test guests (guests/).  Present only with --testdev.
 *
 * In the style of KVM selftests' ucall: the guest fills a struct
 * testdev_call in its RAM and writes its guest-physical address (32-bit,
 * below 4 GiB) to port TESTDEV_PORT with a 4-byte OUT.  The host reads the
 * struct through the checked guest-memory API (it is hostile input: strings
 * are bounded and need not be terminated).
 *
 *   TESTDEV_SYNC   prints "testdev: sync <msg> <arg0>" (progress, --verbose)
 *                  and records arg0 so the host harness can check values
 *   TESTDEV_ASSERT a failed guest assertion: prints file:line, msg and args,
 *                  the VM exits with RINGVM_EXIT_TEST_FAIL
 *   TESTDEV_DONE   the test passed: the VM exits with status 0
 *
 * A 4-byte IN from TESTDEV_PORT returns how many times the machine has been
 * reset since ringvm started (0 on the first boot), so a guest can test
 * reset by resetting and checking it came back.
 *
 * The MMIO window TESTDEV_MMIO_BASE (4 KiB) holds: offset 0 a read-only
 * magic TESTDEV_MAGIC (32-bit); offsets 0x8..0x47 eight 64-bit scratch
 * registers readable and writable with 1/2/4/8-byte accesses. */
#ifndef RINGVM_TESTDEV_ABI_H
#define RINGVM_TESTDEV_ABI_H

#include <stdint.h>

#define TESTDEV_PORT       0x0e0
#define TESTDEV_MMIO_BASE  0xFE000000u
#define TESTDEV_MMIO_SIZE  0x1000u
#define TESTDEV_MAGIC      0x474e4952u /* "RING" little endian */
#define TESTDEV_SCRATCH    0x8u
#define TESTDEV_NR_SCRATCH 8

enum testdev_cmd {
	TESTDEV_SYNC = 1,
	TESTDEV_ASSERT = 2,
	TESTDEV_DONE = 3,
};

/* The PCI test device (--testdev, src/hw/pci/pci_testdev.c): a function on
 * bus 0 of the host bridge.  BAR0: 4 KiB memory with the registers below,
 * the MSI-X table (PCI_TESTDEV_MSIX_VECTORS) at PCI_TESTDEV_MSIX_TABLE and
 * its PBA at PCI_TESTDEV_MSIX_PBA; an MSI capability too
 * (PCI_TESTDEV_MSI_VECTORS); BAR1: 16 bytes of port I/O scratch
 * (dword registers that read back what was written); INTA#. */
#define PCI_TESTDEV_VENDOR      0x1b36   /* Red Hat, as QEMU's pci-testdev */
#define PCI_TESTDEV_DEVICE      0x0005
#define PCI_TESTDEV_CLASS       0xff0000u /* unassigned class */
#define PCI_TESTDEV_BAR0_SIZE   0x1000u
#define PCI_TESTDEV_BAR1_SIZE   16u
#define PCI_TESTDEV_MSIX_VECTORS 2
#define PCI_TESTDEV_MSIX_TABLE  0x800u
#define PCI_TESTDEV_MSIX_PBA    0xc00u
#define PCI_TESTDEV_MAGIC       0x50434954u /* +0x00 RO: "TICP" */
#define PCI_TESTDEV_NOTIFY      0x04u /* W: signal MSI-X vector n; R: 1 if the
					 last one went out as MSI-X (enabled) */
#define PCI_TESTDEV_INTX        0x08u /* RW: bit 0 drives INTA# */
#define PCI_TESTDEV_COUNT       0x0cu /* R: notifications so far */
#define PCI_TESTDEV_MSI         0x10u /* W: signal MSI vector n; R: 1 if the
					 last one went out as MSI (enabled) */
#define PCI_TESTDEV_MSI_VECTORS 4     /* MSI capability: 64-bit, per-vector masking */

struct testdev_call {
	uint32_t cmd;
	uint32_t line;
	uint64_t arg[4];
	char file[64];
	char msg[128];
};

#endif
