/* SPDX-License-Identifier: MIT */
/*
 * KVM ABI newer than the build machine's <linux/kvm.h> (Debian 12 ships 6.1
 * headers); the running kernel decides whether it is there.
 */
#ifndef DUNE_KVM_COMPAT_H
#define DUNE_KVM_COMPAT_H

#include <linux/kvm.h>

#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO	232
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT		39
#endif

/* The memory_fault member of kvm_run's exit union (Linux 6.8). */
struct dune_kvm_memory_fault {
	uint64_t flags;
	uint64_t gpa;
	uint64_t size;
};

static inline const struct dune_kvm_memory_fault *dune_memory_fault(const struct kvm_run *run)
{
	return (const struct dune_kvm_memory_fault *)&run->mmio;
}

#endif
