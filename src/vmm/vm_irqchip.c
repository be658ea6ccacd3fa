/* The board's interrupt controllers: the 8259 pair, the 8254 and the IOAPIC
 * (src/hw/board_irqchip.h) for an engine that has no in-kernel irqchip
 * (engine_ops.in_kernel_irqchip).  The machine owns them; the engine
 * connects its local APICs in vm_init.  See docs/soft-irqchip.md. */
#include <errno.h>

#include "ringvm/vm.h"
#include "src/hw/board_irqchip.h"

/* The machine's clock: it stops while the VM is paused (vm_pause.c). */
static uint64_t board_clock(void *opaque)
{
	return vm_clock_ns(opaque);
}

int vm_irqchip_create(struct vm *vm)
{
	if (vm->engine->in_kernel_irqchip || vm->irqchip)
		return 0;
	struct board_irqchip_config cfg = { .clock = board_clock, .clock_opaque = vm };
	vm->irqchip = board_irqchip_create(vm, &cfg);
	if (!vm->irqchip)
		return -ENOMEM;
	vm->irq = *board_irqchip_router(vm->irqchip);
	return 0;
}

void vm_irqchip_reset(struct vm *vm)
{
	if (vm->irqchip)
		board_irqchip_reset(vm->irqchip);
}

void vm_irqchip_print_stats(struct vm *vm, FILE *out)
{
	if (vm->irqchip)
		board_irqchip_print_stats(vm->irqchip, out);
}

void vm_irqchip_destroy(struct vm *vm)
{
	board_irqchip_destroy(vm->irqchip);
	vm->irqchip = NULL;
}

int vm_irqchip_get(struct vm *vm, struct irqchip_state *s)
{
	int r = vm->engine->get_irqchip(vm, s);
	if (r == 0 && vm->irqchip)
		r = board_irqchip_get_state(vm->irqchip, s);
	return r;
}

int vm_irqchip_set(struct vm *vm, const struct irqchip_state *s)
{
	int r = vm->engine->set_irqchip(vm, s);
	if (r == 0 && vm->irqchip)
		r = board_irqchip_set_state(vm->irqchip, s);
	return r;
}
