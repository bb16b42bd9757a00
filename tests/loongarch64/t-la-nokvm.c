// SPDX-License-Identifier: MIT
/*
 * dune_enter() on LoongArch64 where there is no usable KVM (qemu-user has
 * none): it fails with -errno and a message, and the process goes on
 * natively, whether the device is absent or is not KVM.  qemu-user (sid's
 * 10.x) does not implement process_vm_readv, which dune checks first: there
 * the failure is that one, and the device checks are not reached.
 */
#include <sys/uio.h>

#include "check.h"

static int have_process_vm_readv(void)
{
	char src = 1, dst = 0;
	struct iovec local = { &dst, 1 }, remote = { &src, 1 };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

static void enter_with(const char *dev, int want, const char *says)
{
	int ret;

	setenv("DUNE_KVM_DEVICE", dev, 1);
	ret = dune_enter();
	if (!have_process_vm_readv()) {
		want = -ENOSYS;
		says = "process_vm_readv";
	}
	CHECK(ret == want, "%s: dune_enter() = %d, want %d", dev, ret, want);
	CHECK(strstr(dune_last_error(), says), "%s: message: %s", dev, dune_last_error());
	CHECK(!dune_is_inside(), "%s: inside after a failure", dev);
	printf("# %s: %s\n", dev, dune_last_error());
}

int main(void)
{
	if (!have_process_vm_readv())
		printf("# no process_vm_readv here (qemu-user): only its refusal is checked\n");
	enter_with("/nonexistent/kvm", -ENOENT, "/nonexistent/kvm");
	enter_with("/dev/null", -ENOTSUP, "not a KVM with KVM_CAP_ONE_REG");
	CHECK(write(1, "", 0) == 0, "native syscalls still work");
	return finish();
}
