// SPDX-License-Identifier: MIT
/* LoongArch64: the seccomp architecture and the forwarded call's hooks (raw syscalls are in entry.S). */
#include <linux/audit.h>

#include "arch.h"

uint32_t arch_audit_arch(void)
{
	return AUDIT_ARCH_LOONGARCH64;
}

/* No protection keys: nothing of the guest's binds the kernel's accesses. */
void arch_call_begin(struct dune_vcpu *vcpu)
{
	(void)vcpu;
}

void arch_call_end(struct dune_vcpu *vcpu)
{
	(void)vcpu;
}
