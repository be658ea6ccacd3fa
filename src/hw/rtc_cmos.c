/* The CMOS RAM layout ringvm fills at creation, as QEMU's pc_cmos_init() does
 * for SeaBIOS and other firmware that reads memory sizes from the RTC:
 *   0x15/0x16  base memory in KiB (at most 640)
 *   0x17/0x18  extended memory above 1 MiB in KiB (at most 65535),
 *   0x30/0x31  the same again
 *   0x34/0x35  memory between 16 MiB and 4 GiB, 64 KiB units
 *   0x5b-0x5d  memory above 4 GiB, 64 KiB units
 *   0x5f       number of CPUs - 1
 *   0x2e/0x2f  checksum of 0x10-0x2d, big endian
 * RAM below 4 GiB ends at the MMIO hole (layout.h). */
#include "rtc.h"
#include "ringvm/layout.h"

static void rtc_cmos_set16(struct rtc *r, uint8_t index, uint64_t v, uint64_t max)
{
	if (v > max)
		v = max;
	rtc_cmos_set(r, index, (uint8_t)v);
	rtc_cmos_set(r, (uint8_t)(index + 1), (uint8_t)(v >> 8));
}

void rtc_cmos_set_machine(struct rtc *r, uint64_t ram_size, unsigned cpus)
{
	uint64_t below = ram_size < LAYOUT_MMIO_HOLE_START ? ram_size : LAYOUT_MMIO_HOLE_START;
	uint64_t above = ram_size - below;
	uint64_t ext = below > MiB ? (below - MiB) / KiB : 0;
	uint64_t high = above / (64 * KiB);

	rtc_cmos_set16(r, 0x15, below / KiB, 640);
	rtc_cmos_set16(r, 0x17, ext, 0xffff);
	rtc_cmos_set16(r, 0x30, ext, 0xffff);
	rtc_cmos_set16(r, 0x34, below > 16 * MiB ? (below - 16 * MiB) / (64 * KiB) : 0, 0xffff);
	if (high > 0xffffff)
		high = 0xffffff;
	rtc_cmos_set(r, 0x5b, (uint8_t)high);
	rtc_cmos_set(r, 0x5c, (uint8_t)(high >> 8));
	rtc_cmos_set(r, 0x5d, (uint8_t)(high >> 16));
	rtc_cmos_set(r, 0x5f, (uint8_t)(cpus ? cpus - 1 : 0));

	unsigned sum = 0;
	for (uint8_t i = 0x10; i <= 0x2d; i++)
		sum += rtc_cmos_get(r, i);
	rtc_cmos_set(r, 0x2e, (uint8_t)(sum >> 8));
	rtc_cmos_set(r, 0x2f, (uint8_t)sum);
}
