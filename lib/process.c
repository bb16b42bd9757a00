// SPDX-License-Identifier: MIT
/*
 * Processes and threads inside dune.  A thread (CLONE_VM) gets a vCPU of the
 * same VM and a host thread of its own; a process (no CLONE_VM) gets a VM of
 * its own, built from ours, since KVM serves a VM only to the mm that made it.
 * Runs on the host loop: raw syscalls only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

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

/*
 * A fork child tells its parent through this eventfd whether it has a
 * working VM (0) or not (-errno): one fd, as in a tight fd table dune's own
 * (VM, vCPUs, the kernel module's) take the program's slots.  Without one it must not run on (natively it would
 * run with stale state): like the kernel at RLIMIT_NPROC, where KVM's worker
 * thread for the child's VM counts, the fork fails and no child is seen.
 */
struct fork_report {
	int fd;			/* eventfd: 1 - the child's err */
	int files_shared;	/* CLONE_FILES: one fd table, the parent closes it */
	int exit_sig;		/* the child's exit signal, blocked meanwhile */
	dune_ksigset_t exit_set;
	dune_ksigset_t mask;	/* the program's signal mask */
	dune_ksigset_t pending;	/* signals pending before the clone */
};

static int sigset_has(const dune_ksigset_t *set, int sig)
{
	return sig >= 1 && sig <= DUNE_NSIG && (set->sig[(sig - 1) / 64] >> ((sig - 1) % 64) & 1);
}

static int report_open(struct dune_vm *vm, struct fork_report *r, unsigned long flags, int sig)
{
	struct rlimit program;

	dune_fds_begin(vm, &program);	/* room even in a full fd table */
	r->fd = dune_take_high(sys2(SYS_eventfd2, 0, O_CLOEXEC));
	dune_fds_end(vm, &program);
	if (r->fd < 0)
		return dune_fail(r->fd, "fork: no eventfd for the child's report: %s",
				 dune_strerror(r->fd));
	r->files_shared = !!(flags & CLONE_FILES);
	r->exit_sig = sig >= 1 && sig <= DUNE_NSIG ? sig : 0;
	memset(&r->exit_set, 0, sizeof(r->exit_set));
	if (r->exit_sig)
		r->exit_set.sig[(sig - 1) / 64] = 1ULL << ((sig - 1) % 64);
	sys4(SYS_rt_sigprocmask, SIG_BLOCK, &r->exit_set, &r->mask, sizeof(r->mask));
	sys2(SYS_rt_sigpending, &r->pending, sizeof(r->pending));
	return 0;
}

/* In the child: say how it went, then run on with the program's mask, or end. */
static void report_child(struct dune_vm *vm, struct fork_report *r, int err)
{
	uint64_t word = 1 - (int64_t)err;	/* never 0: 0 would not wake the parent */

	sys3(SYS_write, r->fd, &word, sizeof(word));
	if (!r->files_shared)
		sys1(SYS_close, r->fd);
	if (err) {
		dune_vm_before_exit(vm);
		sys1(SYS_exit_group, 1);
	}
	sys4(SYS_rt_sigprocmask, SIG_SETMASK, &r->mask, NULL, sizeof(r->mask));
}

/*
 * The child's word.  One that dies before it can say is the program's, as
 * natively (with a shared fd table no EOF tells: waitid does).
 */
static int child_report(struct fork_report *r, long pid)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	const struct timespec tick = { 0, 100 * 1000 * 1000 };
	uint64_t word;
	siginfo_t info;
	int err = 0;

	for (;;) {
		long n = sys4(SYS_ppoll, &pfd, 1, &tick, NULL);

		if (n > 0) {
			if (sys3(SYS_read, r->fd, &word, sizeof(word)) == sizeof(word))
				err = 1 - (int64_t)word;
			break;
		}
		info.si_pid = 0;
		if (sys5(SYS_waitid, P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT | __WALL, NULL) ||
		    info.si_pid == pid)
			break;
	}
	sys1(SYS_close, r->fd);
	return err;
}

/*
 * In the parent: reap a child that has no VM, and take back the exit
 * signal it sent (blocked since before the clone) unless one was pending
 * already.  (Another child's signal merged into it is lost: rare.)
 */
static long report_close(struct fork_report *r, long pid)
{
	const struct timespec now = { 0, 0 };
	dune_ksigset_t pending = { { 0 } };
	siginfo_t info;
	int err = 0;

	if (pid > 0)
		err = child_report(r, pid);
	else
		sys1(SYS_close, r->fd);
	if (err) {
		while (sys4(SYS_wait4, pid, NULL, __WALL, NULL) == -EINTR)
			;
		sys2(SYS_rt_sigpending, &pending, sizeof(pending));
		if (sigset_has(&pending, r->exit_sig) && !sigset_has(&r->pending, r->exit_sig) &&
		    sys4(SYS_rt_sigtimedwait, &r->exit_set, &info, &now, sizeof(r->exit_set)) > 0 &&
		    info.si_pid != pid)
			sys4(SYS_rt_tgsigqueueinfo, sys0(SYS_getpid), sys0(SYS_gettid), info.si_signo, &info);
		pid = err == -ENOMEM ? -ENOMEM : -EAGAIN;
	}
	sys4(SYS_rt_sigprocmask, SIG_SETMASK, &r->mask, NULL, sizeof(r->mask));
	return pid;
}

/* args3: a clone3 whose stack fields are zero (the child starts on a copy of ours) */
static long fork_process(struct dune_vcpu *vcpu, unsigned long flags, uintptr_t stack,
			 long ptid, long ctid, long tls, const struct clone_args *args3, size_t size3)
{
	struct dune_vm *vm = vcpu->vm;
	struct fork_report report;
	uint64_t mask;
	long ret;
	int err;

	if (arch_vcpu_save(vcpu))
		return -ENOMEM;
	mask = dune_signals_mask(vcpu);
	if (report_open(vm, &report, flags, args3 ? (int)args3->exit_signal : (int)(flags & CSIGNAL)))
		return -EAGAIN;
	/* the child goes on from here, on a copy of this host stack */
	dune_lock(&vm->fd_lock);	/* it must not inherit a lifted RLIMIT_NOFILE */
	if (args3)
		ret = sys2(SYS_clone3, args3, size3);
	else
		ret = arch_raw_syscall(SYS_clone, flags, 0, ptid, ctid, tls, 0);
	if (ret) {
		dune_unlock(&vm->fd_lock);
		return report_close(&report, ret);
	}
	err = dune_vm_rebuild(vm, vcpu, report.files_shared);
	if (!err)
		err = arch_vcpu_restore(vcpu, vcpu, stack, !!(flags & CLONE_SETTLS), tls);
	if (err && vm->debug)
		dune_log("fork child: %s", dune_last_error());
	report_child(vm, &report, err);
	vcpu->tid = sys0(SYS_gettid);
	dune_signals_reset(vcpu, mask);
	return 0;
}

/* clone(2) as the guest asked for it (do_clone() put its arguments in this order). */
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
