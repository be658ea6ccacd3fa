/* QEMU's x86 ISA test device, pc-testdev (--pc-testdev; see pc_testdev.c). */
#ifndef RINGVM_HW_PC_TESTDEV_H
#define RINGVM_HW_PC_TESTDEV_H

#define PC_TESTDEV_PIO_SIZE   8   /* data 0xe0-0xe3, flush page 0xe4-0xe7 */
#define PC_TESTDEV_IRQ_LINES  24  /* ports 0x2000-0x2017: GSI 0-23 */

#endif
