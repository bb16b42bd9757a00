// SPDX-License-Identifier: MIT
/* The public API (dune.h). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "dune-internal.h"

int dune_enter(void)
{
	struct dune_vm *vm;
	int err;

	if (dune_is_inside())
		return dune_fail(-EBUSY, "already inside dune (nested dune is not supported yet)");
	err = dune_vm_create(&vm);
	if (err)
		return err;
	dune_current_vm = vm;
	dune_fail(0, "%s", "");
	return arch_enter(vm->vcpus[0], vm->vcpus[0]->stack_top);
}

int dune_is_inside(void)
{
	return arch_raw_syscall(DUNE_SYSCALL_NR, DUNE_OP_IS_INSIDE, 0, 0, 0, 0, 0) == 1;
}

int dune_escape(void)
{
	return dune_fail(-ENOSYS, "dune_escape() is not implemented yet");
}

/* Outside, after a native fork or a failure: the counters are readable. */
void dune_copy_stats(struct dune_stats *stats, size_t size)
{
	memset((char *)stats + 8, 0, size - 8);
	if (dune_current_vm)
		memcpy((char *)stats + 8, (char *)&dune_current_vm->stats + 8, size - 8);
}

/* The host loop's side of DUNE_OP_GET_STATS (a bad pointer gets -EFAULT). */
long dune_copy_stats_to_guest(struct dune_vm *vm, uintptr_t dst, size_t size)
{
	if (size < offsetof(struct dune_stats, syscalls) || size > sizeof(vm->stats))
		return -EINVAL;
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
