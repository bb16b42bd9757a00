// SPDX-License-Identifier: MIT
/*
 * Processes and threads inside dune.  A thread (CLONE_VM) gets a vCPU of the
 * same VM and a host thread of its own; a process (no CLONE_VM) gets a VM of
 * its own, built from ours, since KVM serves a VM only to the mm that made it.
 * Runs on the host loop: raw syscalls only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
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
 * A fork child tells its parent whether it goes on (0) or not (-errno)
 * through a word of a page shared by the process tree (vm->fork_words), so
 * that a full fd table still lets a program fork.  A child that does not go
 * on ends unseen: like the kernel at RLIMIT_NPROC, where KVM's worker
 * thread for the child's VM counts, the fork fails and no child is seen.
 */
enum { FORK_SLOT_FREE, FORK_SLOT_WAITING };	/* then 2 + the child's -errno */
#define FORK_SLOTS	(DUNE_PAGE_SIZE / sizeof(uint32_t))

struct fork_report {
	uint32_t *word;		/* this fork's slot of vm->fork_words */
	int files_shared;	/* CLONE_FILES: one fd table */
	int exit_sig;		/* the child's exit signal, blocked meanwhile */
	dune_ksigset_t exit_set;
	dune_ksigset_t mask;	/* the program's signal mask */
	dune_ksigset_t pending;	/* signals pending before the clone */
};

int dune_fork_init(struct dune_vm *vm)
{
	long page = sys6(SYS_mmap, 0, DUNE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (IS_ERR_VALUE(page))
		return dune_fail(page, "cannot map the page fork children report through: %s",
				 dune_strerror(page));
	vm->fork_words = (uint32_t *)page;
	return dune_own_add(vm, page, page + DUNE_PAGE_SIZE);
}

static int sigset_has(const dune_ksigset_t *set, int sig)
{
	return sig >= 1 && sig <= DUNE_NSIG && (set->sig[(sig - 1) / 64] >> ((sig - 1) % 64) & 1);
}

static int report_open(struct dune_vm *vm, struct fork_report *r, unsigned long flags, int sig)
{
	uint32_t free = FORK_SLOT_FREE;

	r->word = vm->fork_words;
	while (r->word < vm->fork_words + FORK_SLOTS &&
	       !__atomic_compare_exchange_n(r->word, &free, FORK_SLOT_WAITING, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED)) {
		free = FORK_SLOT_FREE;
		r->word++;
	}
	if (r->word == vm->fork_words + FORK_SLOTS)
		return dune_fail(-EAGAIN, "fork: %zu forks of this process tree in flight",
				 FORK_SLOTS);
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
	__atomic_store_n(r->word, 2 - err, __ATOMIC_RELEASE);
	sys6(SYS_futex, r->word, FUTEX_WAKE, 1, 0, 0, 0);	/* shared: another mm waits */
	if (err) {
		dune_vm_before_exit(vm);
		sys1(SYS_exit_group, 1);
	}
	sys4(SYS_rt_sigprocmask, SIG_SETMASK, &r->mask, NULL, sizeof(r->mask));
}

/* The child's word.  One that dies before it can say is the program's, as natively. */
static int child_report(struct fork_report *r, long pid)
{
	const struct timespec tick = { 0, 100 * 1000 * 1000 };
	siginfo_t info;
	uint32_t word;

	while ((word = __atomic_load_n(r->word, __ATOMIC_ACQUIRE)) == FORK_SLOT_WAITING) {
		sys6(SYS_futex, r->word, FUTEX_WAIT, FORK_SLOT_WAITING, &tick, 0, 0);
		info.si_pid = 0;
		if (sys5(SYS_waitid, P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT | __WALL, NULL) ||
		    info.si_pid == pid)
			break;
	}
	word = __atomic_load_n(r->word, __ATOMIC_ACQUIRE);
	return word == FORK_SLOT_WAITING ? 0 : 2 - (int)word;
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
	__atomic_store_n(r->word, FORK_SLOT_FREE, __ATOMIC_RELEASE);
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
	/*
	 * A child the kernel would have let run but that has no VM (it may not
	 * open /dev/kvm, say) goes on natively from the state of the fork,
	 * unless a policy is in force.  At RLIMIT_NPROC (KVM's worker could not
	 * start) the fork fails instead, as the kernel's does there.
	 */
	if (err && err != -EAGAIN && !vm->tools.policy) {
		report_child(vm, &report, 0);
		dune_vm_close_kvm(vm);
		dune_leave_vm_at(vcpu, "fork child", 0, stack);
	}
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
