// SPDX-License-Identifier: MIT
/*
 * A port without its guest half (arch/unported.c) refuses every VM, with
 * ENOSYS and a message naming the ISA, at the first backend call
 * dune_enter() makes; nothing of it pretends to work.  Run under qemu-user
 * by `make check-cross`.
 */
#include "check.h"
#include "dune-internal.h"

int main(void)
{
	static struct dune_vm vm;
	static struct dune_vcpu vcpu;
	struct dune_exit exit = { .event = DUNE_EV_SYSCALL };

	CHECK(arch_vm_init(&vm) == -ENOSYS, "arch_vm_init did not refuse");
	CHECK(strstr(dune_last_error(), "the " DUNE_ARCH_NAME " backend cannot run a guest yet"),
	      "message: %s", dune_last_error());
	CHECK(arch_vcpu_init(&vcpu) == -ENOSYS, "arch_vcpu_init did not refuse");
	CHECK(arch_enter(&vcpu, NULL) == -ENOSYS, "arch_enter did not refuse");
	arch_decode_exit(&vcpu, &exit);
	CHECK(exit.event == DUNE_EV_FATAL && exit.why, "an exit decoded as %d", exit.event);
	printf("# %s\n", dune_last_error());
	return finish();
}
