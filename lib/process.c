// SPDX-License-Identifier: MIT
/*
 * Processes and threads inside dune.  A thread (CLONE_VM) gets a vCPU of the
 * same VM and a host thread of its own; a process (no CLONE_VM) gets a VM of
 * its own, built from ours, since KVM serves a VM only to the mm that made it.
 * Runs on the host loop: raw syscalls only.
 */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"

/*
 * The vfork parent sleeps until the child has exec'd or exited: then, and not
 * before, the child's vCPU is free (an exec'd child never says so).
 */
static long clone_thread(struct dune_vcpu *parent, unsigned long flags, uintptr_t stack,
			 long ptid, long ctid, long tls)
{
	struct dune_vcpu *child = dune_vcpu_get(parent->vm);
	long ret;

	if (!child) {
		if (parent->vm->debug)
			dune_log("no vCPU for a new thread: %s", dune_last_error());
		return -EAGAIN;
	}
	if (arch_vcpu_save(parent) ||
	    arch_vcpu_restore(child, parent, stack, !!(flags & CLONE_SETTLS), tls)) {
		dune_vcpu_put(child);
		return -ENOMEM;
	}
	child->vfork_child = !!(flags & CLONE_VFORK);
	child->private_sighand = !(flags & CLONE_SIGHAND);
	child->sigq.start_mask = dune_signals_mask(parent);
	ret = arch_clone_thread(child, flags, ptid, ctid, tls);
	if (ret < 0 || (flags & CLONE_VFORK))
		dune_vcpu_put(child);
	return ret;
}

/* The fork child could not get a VM: it goes on natively rather than die. */
static void __attribute__((noreturn)) child_goes_native(struct dune_vcpu *vcpu, uintptr_t stack)
{
	dune_log("fork child: %s; continuing natively outside the VM", dune_last_error());
	arch_capture_native(vcpu);
	arch_native_set(vcpu, 0, stack);
	arch_resume_native(vcpu);
}

/* args3: a clone3 whose stack fields are zero (the child starts on a copy of ours) */
static long fork_process(struct dune_vcpu *vcpu, unsigned long flags, uintptr_t stack,
			 long ptid, long ctid, long tls, const struct clone_args *args3, size_t size3)
{
	uint64_t mask;
	long ret;

	if (arch_vcpu_save(vcpu))
		return -ENOMEM;
	mask = dune_signals_mask(vcpu);
	/* the child goes on from here, on a copy of this host stack */
	if (args3)
		ret = sys2(SYS_clone3, args3, size3);
	else
		ret = arch_raw_syscall(SYS_clone, flags, 0, ptid, ctid, tls, 0);
	if (ret)
		return ret;
	if (dune_vm_rebuild(vcpu->vm, vcpu, !!(flags & CLONE_FILES)) ||
	    arch_vcpu_restore(vcpu, vcpu, stack, !!(flags & CLONE_SETTLS), tls))
		child_goes_native(vcpu, stack);
	vcpu->tid = sys0(SYS_gettid);
	dune_signals_reset(vcpu, mask);
	return 0;
}

/* clone(2) as the guest asked for it (x86-64 argument order). */
long dune_clone(struct dune_vcpu *vcpu, unsigned long flags, uintptr_t stack,
		long ptid, long ctid, long tls)
{
	if (flags & CLONE_VM)
		return clone_thread(vcpu, flags, stack, ptid, ctid, tls);
	return fork_process(vcpu, flags, stack, ptid, ctid, tls, NULL, 0);
}

/* clone3's struct, checked as the kernel does what we cannot leave to it. */
static long read_clone_args(const struct dune_syscall *sys, struct clone_args *args)
{
	size_t size = sys->args[1];
	char extra[64];

	if (size > DUNE_PAGE_SIZE)
		return -E2BIG;
	if (size < CLONE_ARGS_SIZE_VER0)
		return -EINVAL;
	memset(args, 0, sizeof(*args));
	if (dune_read_guest(args, sys->args[0], size < sizeof(*args) ? size : sizeof(*args)))
		return -EFAULT;
	for (size_t at = sizeof(*args); at < size; at += sizeof(extra)) {
		size_t n = size - at < sizeof(extra) ? size - at : sizeof(extra);

		if (dune_read_guest(extra, sys->args[0] + at, n))
			return -EFAULT;
		for (size_t i = 0; i < n; i++)
			if (extra[i])
				return -E2BIG;	/* a newer struct with fields we do not know */
	}
	if (!args->stack != !args->stack_size)
		return -EINVAL;
	return 0;
}

/*
 * clone3(2).  A process: the kernel's clone3 itself, minus the stack (its
 * child starts on a copy of this host stack); so every other check and flag
 * is native.  A thread: clone(2)'s register interface, which has no room for
 * clone3's newer flags.
 */
long dune_clone3(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct clone_args args, copy;
	size_t size = sys->args[1];
	uintptr_t stack;
	long ret = read_clone_args(sys, &args);

	if (ret)
		return ret;
	stack = args.stack ? args.stack + args.stack_size : 0;
	if (!(args.flags & CLONE_VM)) {
		copy = args;
		copy.stack = copy.stack_size = 0;
		return fork_process(vcpu, args.flags, stack, 0, 0, args.tls, &copy,
				    size < sizeof(copy) ? size : sizeof(copy));
	}
	if (args.flags >> 32 || args.exit_signal > 0xff || args.set_tid_size)
		return -EINVAL;
	return clone_thread(vcpu, args.flags | args.exit_signal, stack,
			    args.flags & CLONE_PIDFD ? (long)args.pidfd : (long)args.parent_tid,
			    args.child_tid, args.tls);
}

/*
 * exit(2) of one thread: its vCPU goes back to the pool as the thread ends.
 * The last thread of a VM ends the process: KVM's kvm-nx-lpage-recovery
 * worker belongs to the VM owner's thread group and stops only when the VM's
 * fds are closed, so a plain exit would leave the process neither alive nor
 * a zombie (its parent's wait would hang).  Linux gives the same status.
 */
void dune_exit_thread(struct dune_vcpu *vcpu, long status)
{
	struct dune_vm *vm = vcpu->vm;
	int others = 0;

	for (int i = 0; i < vm->nr_vcpus; i++)
		others += vm->vcpus[i] != vcpu && vm->vcpus[i]->busy;
	if (!others) {
		dune_vm_before_exit(vm);
		sys1(SYS_exit_group, status);
	}
	arch_exit_thread(vcpu->vfork_child ? NULL : &vcpu->busy, status);
}

/*
 * dune_escape(): continue natively right after the call.  The vCPU stays
 * reserved for this thread, whose next dune_enter() takes it again.
 */
void dune_escape_thread(struct dune_vcpu *vcpu)
{
	dune_vcpu_leave(vcpu);
	arch_capture_native(vcpu);
	arch_native_set(vcpu, 0, 0);
	arch_resume_native(vcpu);
}

/*
 * This thread goes on natively (escape, or a VM that cannot go on): its
 * signals are no longer the vCPU's, and the last thread inside gives the
 * kernel the program's dispositions back.
 */
void dune_vcpu_leave(struct dune_vcpu *vcpu)
{
	struct dune_vm *vm = vcpu->vm;
	int others_inside = 0;

	vcpu->escaped_tid = sys0(SYS_gettid);
	for (int i = 0; i < vm->nr_vcpus; i++)
		others_inside |= vm->vcpus[i]->busy && !vm->vcpus[i]->escaped_tid;
	if (!others_inside)
		dune_signals_restore();
	dune_signals_unhold(vcpu);
}

/* A new thread's host thread starts here, on its vCPU's stack. */
void dune_thread_main(struct dune_vcpu *vcpu)
{
	dune_signals_reset(vcpu, vcpu->sigq.start_mask);
	dune_host_loop(vcpu);
}
