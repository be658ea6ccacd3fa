/* isa-debug-exit compatible exit port (see debug_exit.c). */
#ifndef RINGVM_HW_DEBUG_EXIT_H
#define RINGVM_HW_DEBUG_EXIT_H

#include <stdint.h>

/* The process exit status a write of value produces: ((v << 1) | 1) & 0xff. */
int debug_exit_status(uint64_t value);

#endif
