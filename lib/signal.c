// SPDX-License-Identifier: MIT
/*
 * Signals delivered inside the guest.  The program's handlers are recorded;
 * natively each caught signal gets a tiny host handler that only notes the
 * signal on the thread's vCPU (KVM_RUN and blocking forwarded syscalls then
 * return EINTR).  Before the next KVM_RUN the host loop builds a native-format
 * frame on the guest stack and runs the program's handler in the guest; its
 * rt_sigreturn restores what the frame holds.  SIG_DFL and SIG_IGN stay with
 * the kernel, so default actions are native.  The thread's signal mask is the
 * program's (rt_sigprocmask is forwarded), so it governs KVM_RUN too.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "syscalls.h"

/*
 * The signals dune runs handlers for: those a uint64_t mask holds, which is
 * all of them but MIPS's 65..128 (their handlers are refused with EINVAL).
 */
#define NSIG_HANDLED	(DUNE_NSIG < 64 ? DUNE_NSIG : 64)
#define SIGRTMIN_KERNEL	32		/* glibc keeps a few for itself above this */

typedef void (*handler_fn)(int);
typedef void (*sigaction_fn)(int, siginfo_t *, void *);

/* The program's dispositions (process-wide, like the kernel's). */
static struct dune_sigaction program_act[NSIG_HANDLED + 1];
static int program_act_known[NSIG_HANDLED + 1];

static uint64_t sigbit(int sig)
{
	return 1ULL << (sig - 1);
}

static int is_handler(const struct dune_sigaction *act)
{
	return act->handler != (void *)SIG_DFL && act->handler != (void *)SIG_IGN;
}

static struct dune_vcpu *vcpu_of_thread(void)
{
	struct dune_vm *vm = dune_current_vm;
	long tid = sys0(SYS_gettid);

	for (int i = 0; vm && i < vm->nr_vcpus; i++) {
		struct dune_vcpu *v = vm->vcpus[i];

		if (v->busy && v->tid == tid && !v->escaped_tid)
			return v;
	}
	return NULL;
}

/* SA_RESETHAND: the kernel reset ours as it ran it; the program's goes too. */
static struct dune_sigaction take_action(int sig)
{
	struct dune_sigaction act = program_act[sig];

	if (act.flags & SA_RESETHAND)
		program_act[sig].handler = (void *)SIG_DFL;
	return act;
}

/* A thread running natively (escaped, or never entered): as Linux would. */
static void run_handler_natively(int sig, siginfo_t *info, void *uc)
{
	struct dune_sigaction taken = take_action(sig), *act = &taken;
	uint64_t mask = ((ucontext_t *)uc)->uc_sigmask.__val[0] | act->mask[0];

	if (!(act->flags & SA_NODEFER))
		mask |= sigbit(sig);
	dune_sigmask_raw(SIG_SETMASK, mask, NULL);
	if (act->flags & SA_SIGINFO)
		((sigaction_fn)act->handler)(sig, info, uc);
	else
		((handler_fn)act->handler)(sig);
}

/* In the host handler: a full queue loses the signal (as a send over RLIMIT_SIGPENDING). */
static void queue_signal(struct dune_sigqueue *q, const siginfo_t *info)
{
	int sig = info->si_signo;

	__atomic_and_fetch(&q->deferred, ~sigbit(sig), __ATOMIC_SEQ_CST);
	if (sig < SIGRTMIN_KERNEL && (q->standard & sigbit(sig)))
		return;
	if (q->tail - __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == DUNE_SIGQ_LEN)
		return;
	q->info[q->tail % DUNE_SIGQ_LEN] = *info;
	if (sig < SIGRTMIN_KERNEL)
		q->standard |= sigbit(sig);
	__atomic_store_n(&q->tail, q->tail + 1, __ATOMIC_RELEASE);
}

/*
 * The oldest queued signal no handler we started blocks (one that does waits
 * for its rt_sigreturn, or its unblocking), off the queue; mask is the
 * program's.  It is no longer held.
 */
static int take_signal(struct dune_sigqueue *q, uint64_t mask, siginfo_t *info)
{
	unsigned int tail = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
	uint64_t blocked = __atomic_and_fetch(&q->deferred, mask, __ATOMIC_SEQ_CST);

	for (unsigned int i = q->head; i != tail; i++) {
		siginfo_t *slot = &q->info[i % DUNE_SIGQ_LEN];
		int sig = slot->si_signo;

		if (!sig || (is_handler(&program_act[sig]) && (blocked & sigbit(sig))))
			continue;
		__atomic_and_fetch(&q->standard, ~sigbit(sig), __ATOMIC_SEQ_CST);
		__atomic_and_fetch(&q->held, ~sigbit(sig), __ATOMIC_SEQ_CST);
		*info = *slot;
		slot->si_signo = 0;
		while (q->head != tail && !q->info[q->head % DUNE_SIGQ_LEN].si_signo)
			__atomic_store_n(&q->head, q->head + 1, __ATOMIC_RELEASE);
		return 1;
	}
	return 0;
}

/*
 * Note the signal for the host loop, and hold it blocked until the loop takes
 * it, as the kernel blocks a signal from its delivery into the handler's mask:
 * further instances wait in the kernel (a realtime signal's queue, with its
 * limit), and a POSIX timer is not dequeued and rearmed again before the
 * program's handler has run (its overrun count is the first delivery's).
 * A signal the mask to restore blocks already came through a temporary mask
 * (sigsuspend, pselect): that block is the program's, not ours.
 */
static void host_handler(int sig, siginfo_t *info, void *uc)
{
	struct dune_vcpu *vcpu = vcpu_of_thread();
	uint64_t *restore = &((ucontext_t *)uc)->uc_sigmask.__val[0];	/* at our return */

	if (!vcpu) {
		run_handler_natively(sig, info, uc);
		return;
	}
	if (vcpu->native_probe && (sig == SIGBUS || sig == SIGSEGV) && info->si_code > 0)
		dune_probe_faulted(vcpu, info, &((ucontext_t *)uc)->uc_sigmask);
	queue_signal(&vcpu->sigq, info);
	/*
	 * Before the program's call is made, its handler must run first, as
	 * natively: a blocking call could wait for good for what the handler
	 * does (a self-pipe, Python's wakeup fd).
	 */
	if (__atomic_load_n(&vcpu->call, __ATOMIC_SEQ_CST) == DUNE_CALL_PENDING) {
		arch_forward_cancel(uc, vcpu->vm->forward_insn, &vcpu->call);
		__atomic_store_n(&vcpu->call, DUNE_CALL_SIGNALLED, __ATOMIC_SEQ_CST);
	}
	/*
	 * Noted after the host loop looked at the queue, it must not wait for
	 * the next exit: KVM_RUN sees no signal pending (this handler took it),
	 * and a guest that only computes would never leave.
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (!(*restore & sigbit(sig))) {	/* else the program's (sigsuspend) */
		__atomic_or_fetch(&vcpu->sigq.held, sigbit(sig), __ATOMIC_SEQ_CST);
		*restore |= sigbit(sig);
	}
}

/*
 * rt_sigprocmask(2) on signals 1..64 (raw: 0 or -errno).  The kernel's
 * sigset_t may be wider (MIPS: 128 signals); the others stay as they are, so
 * a wider SIG_SETMASK is a SIG_BLOCK and a SIG_UNBLOCK.
 */
long dune_sigmask_raw(int how, uint64_t set, uint64_t *old)
{
	dune_ksigset_t kset = { { set } }, kold;
	long ret;

	if (how == SIG_SETMASK && DUNE_SIGSET_WORDS > 1) {
		ret = dune_sigmask_raw(SIG_BLOCK, set, old);
		return ret ? ret : dune_sigmask_raw(SIG_UNBLOCK, ~set, NULL);
	}
	ret = sys4(SYS_rt_sigprocmask, how, &kset, old ? &kold : NULL, sizeof(kset));
	if (!ret && old)
		*old = kold.sig[0];
	return ret;
}

/* The thread's signal mask as the program set it: without what we hold. */
uint64_t dune_signals_mask(struct dune_vcpu *vcpu)
{
	uint64_t real = 0;

	dune_sigmask_raw(SIG_BLOCK, 0, &real);
	return real & ~__atomic_load_n(&vcpu->sigq.held, __ATOMIC_SEQ_CST);
}

/* Make mask the program's; what we hold stays blocked. */
static void set_program_mask(struct dune_vcpu *vcpu, uint64_t mask)
{
	mask &= ~(sigbit(SIGKILL) | sigbit(SIGSTOP));
	mask |= __atomic_load_n(&vcpu->sigq.held, __ATOMIC_SEQ_CST);
	dune_sigmask_raw(SIG_SETMASK, mask, NULL);
}

/*
 * A new thread or fork child on this vCPU: nothing queued (pending signals
 * are not inherited), and the mask its creator's program had.
 */
void dune_signals_reset(struct dune_vcpu *vcpu, uint64_t mask)
{
	struct dune_sigqueue *q = &vcpu->sigq;

	q->head = q->tail = q->seen = 0;
	q->standard = q->deferred = q->held = 0;
	vcpu->call = DUNE_CALL_IDLE;
	set_program_mask(vcpu, mask);
}

/* Leaving the VM (exec, escape): nothing may stay blocked on our account. */
void dune_signals_unhold(struct dune_vcpu *vcpu)
{
	uint64_t mask = dune_signals_mask(vcpu);

	__atomic_store_n(&vcpu->sigq.held, 0, __ATOMIC_SEQ_CST);
	set_program_mask(vcpu, mask);
}

/*
 * The program's rt_sigprocmask on the signals past 64 (MIPS), which dune
 * neither handles nor holds: the kernel's own.  *old gets the whole mask.
 */
static long sigprocmask_high(int how, const dune_ksigset_t *set, dune_ksigset_t *old)
{
	dune_ksigset_t high;
	long ret;

	if (DUNE_SIGSET_WORDS == 1)
		return 0;
	ret = sys4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, old, sizeof(*old));
	if (ret || !set)
		return ret;
	high = *set;
	high.sig[0] = 0;
	if (how == SIG_SETMASK) {	/* block the new ones, unblock the others */
		ret = sys4(SYS_rt_sigprocmask, SIG_BLOCK, &high, NULL, sizeof(high));
		for (int i = 1; i < DUNE_SIGSET_WORDS; i++)
			high.sig[i] = ~high.sig[i];
		how = SIG_UNBLOCK;
	}
	return ret ? ret : sys4(SYS_rt_sigprocmask, how, &high, NULL, sizeof(high));
}

/*
 * rt_sigprocmask(2) on the program's mask.  What we hold stays blocked
 * whatever it sets; a held signal it blocks itself becomes its own.
 */
long dune_sigprocmask(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	int how = sys->args[0];
	dune_ksigset_t set = { { 0 } }, old = { { 0 } };
	uint64_t mask;

	if (sys->args[3] != DUNE_SIGSET_BYTES)
		return -EINVAL;
	if (sys->args[1] && dune_read_guest(&set, sys->args[1], sizeof(set)))
		return -EFAULT;
	if (sys->args[1] && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return -EINVAL;
	if (sigprocmask_high(how, sys->args[1] ? &set : NULL, &old))
		return -EINVAL;
	old.sig[0] = mask = dune_signals_mask(vcpu);
	if (sys->args[1]) {
		if (how == SIG_BLOCK)
			mask |= set.sig[0];
		else if (how == SIG_UNBLOCK)
			mask &= ~set.sig[0];
		else
			mask = set.sig[0];
		__atomic_and_fetch(&vcpu->sigq.held, ~mask, __ATOMIC_SEQ_CST);
		set_program_mask(vcpu, mask);
	}
	if (sys->args[1])
		dune_fastpath_update(vcpu->vm);	/* dune_signals_interrupting() */
	if (sys->args[2] && dune_write_guest(vcpu->vm, sys->args[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

/* What the kernel holds for sig when the program's act is installed. */
static void native_action(const struct dune_sigaction *act, struct dune_sigaction *native)
{
	*native = *act;
	if (!is_handler(act))
		return;
	native->handler = (void *)host_handler;
	native->flags = SA_SIGINFO | DUNE_SA_RESTORER |
			(act->flags & (SA_RESETHAND | SA_NOCLDSTOP | SA_NOCLDWAIT));
	memset(native->mask, 0xff, sizeof(native->mask));	/* record and return, nothing else */
}

/*
 * rt_sigaction(2): the program sees its own actions, the kernel holds ours.
 * A thread with a signal table of its own (CLONE_VM without CLONE_SIGHAND:
 * a vfork child, which posix_spawn resets to SIG_DFL) shares our memory but
 * not our dispositions: it changes only the kernel's copy.
 */
long dune_sigaction(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	int sig = sys->args[0];
	struct dune_sigaction act, native, old;
	long ret;

	if (sig < 1 || sig > NSIG_HANDLED || sys->args[3] != DUNE_SIGSET_BYTES) {
		/* past 64 (MIPS): a handler dune could not run in the guest */
		if (sig > NSIG_HANDLED && sig <= DUNE_NSIG && sys->args[1] &&
		    sys->args[3] == DUNE_SIGSET_BYTES &&
		    !dune_read_guest(&act, sys->args[1], sizeof(act)) && is_handler(&act))
			return -EINVAL;
		return arch_raw_syscall(SYS_rt_sigaction, sig, sys->args[1], sys->args[2],
					sys->args[3], 0, 0);
	}
	if (sys->args[1] && dune_read_guest(&act, sys->args[1], sizeof(act)))
		return -EFAULT;
	ret = sys4(SYS_rt_sigaction, sig, NULL, &old, DUNE_SIGSET_BYTES);
	if (ret)
		return ret;
	if (program_act_known[sig])
		old = program_act[sig];
	if (sys->args[1]) {
		native_action(&act, &native);
		ret = sys4(SYS_rt_sigaction, sig, &native, NULL, DUNE_SIGSET_BYTES);
		if (ret)
			return ret;
		if (!vcpu->private_sighand) {
			program_act[sig] = act;
			program_act_known[sig] = 1;
		}
	}
	if (sys->args[1])
		dune_fastpath_update(vcpu->vm);	/* dune_signals_interrupting() */
	if (sys->args[2] && dune_write_guest(vcpu->vm, sys->args[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

/*
 * Whether some handler of the program lacks SA_RESTART.  Then a blocking
 * syscall must stay in user space: the kernel module cannot tell the host
 * loop that its call was interrupted (it declines, and the call would be
 * re-issued after the handler instead of failing with EINTR).
 */
int dune_signals_interrupting(void)
{
	for (int sig = 1; sig <= NSIG_HANDLED; sig++)
		if (program_act_known[sig] && is_handler(&program_act[sig]) &&
		    !(program_act[sig].flags & SA_RESTART))
			return 1;
	return 0;
}

/* At dune_enter(): handlers installed natively before now come inside too. */
void dune_signals_init(void)
{
	for (int sig = 1; sig <= NSIG_HANDLED; sig++) {
		struct dune_sigaction act, native;

		if (sig == SIGKILL || sig == SIGSTOP || program_act_known[sig] ||
		    sys4(SYS_rt_sigaction, sig, NULL, &act, DUNE_SIGSET_BYTES) || !is_handler(&act))
			continue;
		native_action(&act, &native);
		if (!sys4(SYS_rt_sigaction, sig, &native, NULL, DUNE_SIGSET_BYTES)) {
			program_act[sig] = act;
			program_act_known[sig] = 1;
		}
	}
}

/*
 * Leaving dune (the last thread inside): the kernel gets the program's own
 * dispositions back; the next dune_enter() takes them up again.
 */
void dune_signals_restore(void)
{
	for (int sig = 1; sig <= NSIG_HANDLED; sig++) {
		if (program_act_known[sig])
			sys4(SYS_rt_sigaction, sig, &program_act[sig], NULL, DUNE_SIGSET_BYTES);
		program_act_known[sig] = 0;
	}
}

/*
 * Run the program's handler for sig in the guest; -errno if no frame fits.
 * *mask is the program's mask, before and then during the handler (the
 * caller makes it the thread's).
 */
static int deliver(struct dune_vcpu *vcpu, int sig, const siginfo_t *info, uint64_t *mask)
{
	struct dune_sigaction taken = take_action(sig), *act = &taken;
	uint64_t old_mask = *mask;
	int unmade = vcpu->call == DUNE_CALL_SIGNALLED;
	int restart = unmade || (vcpu->sys_interrupted && (act->flags & SA_RESTART) &&
				 !(dune_syscall_why(vcpu->sys_nr) & DUNE_WHY_NORESTART));
	int err;

	err = arch_signal_deliver(vcpu, info, act, old_mask, restart, vcpu->sys_nr);
	vcpu->sys_interrupted = 0;
	if (err)
		return err;
	if (unmade)		/* the guest makes the call after the handler */
		__atomic_store_n(&vcpu->call, DUNE_CALL_IDLE, __ATOMIC_SEQ_CST);
	*mask = old_mask | act->mask[0] | ((act->flags & SA_NODEFER) ? 0 : sigbit(sig));
	__atomic_or_fetch(&vcpu->sigq.deferred, *mask & ~old_mask, __ATOMIC_SEQ_CST);
	vcpu->vm->stats.signals++;
	return 0;
}

/* A signal the program cannot take or refuse: what Linux does (force_sig). */
void dune_force_signal(int sig, const siginfo_t *info)
{
	struct dune_sigaction dfl = { .handler = (void *)SIG_DFL };

	sys4(SYS_rt_sigaction, sig, &dfl, NULL, DUNE_SIGSET_BYTES);
	dune_sigmask_raw(SIG_UNBLOCK, sigbit(sig), NULL);
	sys4(SYS_rt_tgsigqueueinfo, sys0(SYS_getpid), sys0(SYS_gettid), sig, info);
	for (;;)
		sys3(SYS_tgkill, sys0(SYS_getpid), sys0(SYS_gettid), SIGKILL);
}

/*
 * The default action of a signal Linux forces (a fault the program does not
 * catch or blocks): SIG_DFL and unblocked for good, as force_sig() leaves it.
 * The kernel acts on it as this syscall returns; a tracer may still cancel it
 * (PTRACE_CONT with no signal, as debuggers do with a breakpoint's SIGTRAP),
 * and then the program goes on, as natively.  *mask is the program's.
 */
static void force_default(struct dune_vcpu *vcpu, const siginfo_t *info, uint64_t *mask)
{
	struct dune_sigaction dfl = { .handler = (void *)SIG_DFL };
	int sig = info->si_signo;
	uint64_t bit = sigbit(sig);

	if (!vcpu->private_sighand)
		program_act[sig].handler = (void *)SIG_DFL;
	sys4(SYS_rt_sigaction, sig, &dfl, NULL, DUNE_SIGSET_BYTES);
	dune_sigmask_raw(SIG_UNBLOCK, bit, NULL);
	sys4(SYS_rt_tgsigqueueinfo, sys0(SYS_getpid), sys0(SYS_gettid), sig, info);
	*mask &= ~bit;
}

/*
 * No frame for sig fits on its stack (Linux's force_sigsegv()): SIGSEGV,
 * which the program may catch on another stack, unless sig was SIGSEGV.
 */
static void frame_failed(struct dune_vcpu *vcpu, int sig, uint64_t *mask)
{
	siginfo_t info = { .si_signo = SIGSEGV, .si_code = SI_KERNEL };

	if (vcpu->vm->debug)
		dune_log("no frame for signal %d: %s", sig, dune_last_error());
	if (sig != SIGSEGV && is_handler(&program_act[SIGSEGV]) && !(*mask & sigbit(SIGSEGV)) &&
	    !deliver(vcpu, SIGSEGV, &info, mask))
		return;
	force_default(vcpu, &info, mask);
}

/* Before KVM_RUN: every signal the host handler noted for this thread. */
void dune_signals_deliver(struct dune_vcpu *vcpu)
{
	uint64_t mask = dune_signals_mask(vcpu);
	siginfo_t info;

	while (take_signal(&vcpu->sigq, mask, &info)) {
		int sig = info.si_signo;

		if (!is_handler(&program_act[sig])) {	/* changed since: as natively */
			if (program_act[sig].handler == (void *)SIG_DFL)
				sys4(SYS_rt_tgsigqueueinfo, sys0(SYS_getpid), sys0(SYS_gettid), sig, &info);
			continue;
		}
		if (deliver(vcpu, sig, &info, &mask))
			frame_failed(vcpu, sig, &mask);
	}
	set_program_mask(vcpu, mask);
	vcpu->sys_interrupted = 0;
}

/*
 * A guest fault Linux would turn into a signal: to the program's handler in
 * the guest, or the default action if it does not catch it (as force_sig).
 */
void dune_deliver_fault(struct dune_vcpu *vcpu, const struct dune_fault *f)
{
	siginfo_t info;
	uint64_t mask;

	vcpu->vm->stats.faults_signalled++;
	if (vcpu->vm->debug)
		dune_log("guest fault: signal %d code %d addr %p pc %p", f->signo, f->code,
			 (void *)f->addr, (void *)f->pc);
	memset(&info, 0, sizeof(info));
	info.si_signo = f->signo;
	info.si_code = f->code;
	info.si_addr = (void *)f->addr;
	if (f->signo == SIGSEGV && f->code == SEGV_PKUERR)
		info.si_pkey = f->pkey;
	mask = dune_signals_mask(vcpu);
	if (!is_handler(&program_act[f->signo]) || (mask & sigbit(f->signo)))
		force_default(vcpu, &info, &mask);
	else if (deliver(vcpu, f->signo, &info, &mask))
		frame_failed(vcpu, f->signo, &mask);
	set_program_mask(vcpu, mask);
}

/* rt_sigreturn(2) from a handler that ran in the guest. */
long dune_sigreturn(struct dune_vcpu *vcpu)
{
	uint64_t mask;
	long ret;
	siginfo_t info = { .si_signo = SIGSEGV, .si_code = SI_KERNEL };

	if (arch_sigreturn(vcpu, &mask, &ret)) {
		if (vcpu->vm->debug)
			dune_log("rt_sigreturn: bad frame: %s", dune_last_error());
		dune_force_signal(SIGSEGV, &info);
	}
	set_program_mask(vcpu, mask);
	return ret;
}
