/* Test harness for the kvm engine: a hand-built struct vm (2 MiB of RAM,
 * empty buses), one vCPU driven on the test thread, and tiny real-mode
 * guests written into RAM.  Tests exit 77 (meson SKIP) when /dev/kvm is
 * missing or unusable. */
#ifndef KVM_HARNESS_H
#define KVM_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "ringvm/vm.h"

#define KH_RAM       (2 * MiB)
#define KH_CODE      0x1000ULL   /* real-mode guests start at 0000:1000 */
#define KH_STACK     0x8000ULL
#define KH_SKIP      77
#define KVM_TEST_TICK_MS 200 /* the engine's halt-detection period */

struct kh {
	struct vm vm;
	struct vcpu vcpu;
	struct vcpu_exit exit;
};

/* NULL if /dev/kvm can be opened, else a reason to skip. */
const char *kh_skip_reason(void);
/* main() helper: print the reason and return KH_SKIP, or run the group. */
#define KH_MAIN(tests)                                                        \
	int main(void)                                                        \
	{                                                                     \
		const char *why = kh_skip_reason();                           \
		if (why) {                                                    \
			printf("SKIP: %s\n", why);                            \
			return KH_SKIP;                                       \
		}                                                             \
		return cmocka_run_group_tests(tests, NULL, NULL);             \
	}

/* cmocka setup/teardown: *state becomes a struct kh with vm and vCPU 0. */
int kh_setup(void **state);
/* The same with cfg.cpus = cpus (only vCPU 0 is created). */
int kh_setup_cpus(void **state, unsigned cpus);
int kh_teardown(void **state);

/* Load 16-bit code at KH_CODE and point vCPU 0 at it (real mode, CS=DS=ES=SS=0,
 * SP=KH_STACK, IF=0). */
void kh_load_real(struct kh *h, const uint8_t *code, size_t len);
/* The same in 32-bit flat protected mode (CS 0x08, data 0x10, no paging;
 * only the hidden segment caches are set, no GDT in memory). */
void kh_load_prot32(struct kh *h, const uint8_t *code, size_t len);
/* Run until the next exit the loop would see; returns the exit reason. */
enum vcpu_exit_reason kh_run(struct kh *h);
/* Run and require a PIO exit with these properties; returns its data pointer. */
uint8_t *kh_expect_pio(struct kh *h, uint16_t port, uint8_t size, bool write);
uint32_t kh_pio_value(const struct kh *h);
double kh_now(void);

#endif
