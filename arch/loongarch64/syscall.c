// SPDX-License-Identifier: MIT
/* LoongArch64: the seccomp architecture (raw syscalls are in entry.S). */
#include <linux/audit.h>

#include "arch.h"

uint32_t arch_audit_arch(void)
{
	return AUDIT_ARCH_LOONGARCH64;
}
