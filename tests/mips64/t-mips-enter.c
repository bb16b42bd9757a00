// SPDX-License-Identifier: MIT
/*
 * Where KVM cannot give a MIPS64 guest (no /dev/kvm, or a device that is
 * not KVM), dune_enter() fails with -errno and a message, and the program
 * goes on natively.  Under qemu-user, which has no process_vm_readv, it
 * fails before opening the device, as cleanly.
 */
#include <fcntl.h>

#include "check.h"
#include "dune-internal.h"

static int copy_works;

static void enter_with(const char *device, int want)
{
	int err;

	setenv("DUNE_KVM_DEVICE", device, 1);
	err = dune_enter();
	if (!copy_works)
		want = -ENOSYS;
	CHECK(err == want, "%s: dune_enter() = %d, want %d", device, err, want);
	CHECK(dune_last_error() && *dune_last_error(), "%s: no message", device);
	CHECK(!dune_is_inside(), "%s: inside after a failed enter", device);
	printf("# %s: %s\n", device, dune_last_error());
}

/* The backend's own refusal: a KVM without VZ answers no to KVM_CAP_MIPS_VZ. */
static void backend_refuses(void)
{
	static struct dune_vm vm;
	int err;

	vm.kvm_fd = open("/dev/null", O_RDWR);
	err = arch_vm_init(&vm);
	CHECK(err == -ENODEV && strstr(dune_last_error(), "MIPS VZ"), "arch_vm_init: %d (%s)", err,
	      dune_last_error());
	printf("# arch_vm_init: %s\n", dune_last_error());
	close(vm.kvm_fd);
}

int main(void)
{
	copy_works = !dune_guest_copy_check();
	enter_with("/nonexistent/kvm", -ENOENT);
	enter_with("/dev/null", -ENOTTY);
	backend_refuses();
	return finish();
}
