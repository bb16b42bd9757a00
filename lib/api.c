// SPDX-License-Identifier: MIT
/* The public API (dune.h). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"

/* Back into the VM this process left: much cheaper than a new one. */
static int reenter(struct dune_vm *vm)
{
	struct dune_vcpu *vcpu = dune_vcpu_of_escaped(vm, sys0(SYS_gettid));
	int err;

	if (!vcpu)
		vcpu = dune_vcpu_get(vm);
	if (!vcpu)
		return dune_fail(-EAGAIN, "no vCPU free for this thread: %s", dune_last_error());
	vcpu->escaped_tid = 0;
	err = dune_mem_resync(vm);
	if (!err)
		err = arch_vcpu_reenter(vcpu);
	if (err) {
		vcpu->escaped_tid = sys0(SYS_gettid);
		return err;
	}
	dune_signals_init();
	dune_fastpath_update(vm);	/* the handlers found there count */
	dune_fail(0, "%s", "");
	return arch_enter(vcpu, vcpu->stack_top);
}

/*
 * Natively: enter this process's VM again if it has one, else a new VM.
 * Inside: a new VM one level down (nested), whose KVM ioctls the outer
 * host loop forwards like any other system call.
 */
int dune_enter(void)
{
	struct dune_vm *vm = dune_current_vm;
	int err;

	/* (dune's memory is not mapped inside: look at vm only natively) */
	if (!dune_is_inside() && vm && vm->pid == sys0(SYS_getpid))
		return reenter(vm);
	err = dune_vm_create(&vm);
	if (err)
		return err;
	dune_current_vm = vm;
	dune_signals_init();
	dune_fastpath_update(vm);	/* the handlers found there count */
	dune_fail(0, "%s", "");
	return arch_enter(vm->vcpus[0], vm->vcpus[0]->stack_top);
}

int dune_is_inside(void)
{
	return arch_raw_syscall(DUNE_SYSCALL_NR, DUNE_OP_IS_INSIDE, 0, 0, 0, 0, 0) == 1;
}

int dune_escape(void)
{
	if (!dune_is_inside())
		return dune_fail(-EINVAL, "not inside dune");
	return arch_raw_syscall(DUNE_SYSCALL_NR, DUNE_OP_ESCAPE, 0, 0, 0, 0, 0);
}

/* Outside, after a native fork or a failure: the counters are readable. */
void dune_copy_stats(struct dune_stats *stats, size_t size)
{
	memset((char *)stats + 8, 0, size - 8);
	if (dune_current_vm)
		dune_fastpath_counters(dune_current_vm, &dune_current_vm->stats);
	if (dune_current_vm)
		memcpy((char *)stats + 8, (char *)&dune_current_vm->stats + 8, size - 8);
}

/* The host loop's side of DUNE_OP_GET_STATS (a bad pointer gets -EFAULT). */
long dune_copy_stats_to_guest(struct dune_vm *vm, uintptr_t dst, size_t size)
{
	if (size < offsetof(struct dune_stats, syscalls) || size > sizeof(vm->stats))
		return -EINVAL;
	dune_fastpath_counters(vm, &vm->stats);
	return dune_write_guest(dst + 8, (char *)&vm->stats + 8, size - 8);
}

/* Inside, dune's memory is not mapped for the guest: ask the host loop. */
int dune_get_stats(struct dune_stats *stats)
{
	size_t size = stats->size;

	if (size < offsetof(struct dune_stats, syscalls))
		return dune_fail(-EINVAL, "struct dune_stats too small (%lu bytes)", (unsigned long)size);
	if (size > sizeof(*stats))
		size = sizeof(*stats);
	if (dune_is_inside())
		return arch_raw_syscall(DUNE_SYSCALL_NR, DUNE_OP_GET_STATS, (long)stats, size, 0, 0, 0);
	dune_copy_stats(stats, size);
	return 0;
}
