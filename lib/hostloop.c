// SPDX-License-Identifier: MIT
/*
 * The host loop: runs the vCPU on the guest's own thread (on the host stack)
 * and services its exits.  Raw syscalls only, see util.c.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"

struct dune_vm *dune_current_vm;

/*
 * Before a thread goes on natively because its VM cannot: a policy must not
 * fail open, so under one the program stops instead.
 */
void dune_policy_stop(struct dune_vm *vm, const char *what, const char *why)
{
	if (!vm->tools.policy)
		return;
	dune_log("%s (%s); a policy is in force, so the program stops", what, why);
	for (;;)
		sys1(SYS_exit_group, DUNE_POLICY_EXIT);
}

/* The VM cannot go on: say why, and take the vCPU's state to continue natively. */
static void leave_vm_state(struct dune_vcpu *vcpu, const char *what, const char *why)
{
	dune_policy_stop(vcpu->vm, what, why);
	dune_log("%s (%s); continuing natively outside the VM", what, why);
	dune_vcpu_leave(vcpu);
	arch_capture_native(vcpu);
}

static void __attribute__((noreturn)) leave_vm(struct dune_vcpu *vcpu, const char *why, long err)
{
	leave_vm_state(vcpu, why, dune_strerror(err));
	arch_resume_native(vcpu);
}

void dune_leave_vm_at(struct dune_vcpu *vcpu, const char *what, long ret, uintptr_t sp)
{
	leave_vm_state(vcpu, what, dune_last_error());
	arch_native_set(vcpu, ret, sp);
	arch_resume_native(vcpu);
}

static void handle_fault(struct dune_vcpu *vcpu, struct dune_fault *f)
{
	if (f->is_page_fault && dune_mem_fix_fault(vcpu, f)) {
		vcpu->vm->stats.faults_fixed++;
		return;
	}
	dune_deliver_fault(vcpu, f);
}

/*
 * KVM could not back a guest access: a page the host maps but cannot provide,
 * e.g. past the end of a mapped file (SIGBUS).  KVM_EXIT_MEMORY_FAULT names
 * the address; without it (older KVM, kvm_pvm), the access is retried
 * natively, and the fault it takes comes back to dune_probe_faulted().  Not
 * under a policy: if the retry did not fault, the thread would go on natively.
 */
static void handle_memory_fault(struct dune_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct dune_fault f = { .signo = SIGBUS, .code = BUS_ADRERR };
	uintptr_t hva;

	if (run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
	    !dune_mem_hva_of_gpa(vcpu->vm, dune_memory_fault(run)->gpa, &hva)) {
		f.addr = hva;
		dune_deliver_fault(vcpu, &f);
		return;
	}
	dune_policy_stop(vcpu->vm, "KVM_RUN could not access guest memory",
			 "it can only be retried natively");
	if (vcpu->vm->debug)
		dune_log("KVM_RUN could not access guest memory: retrying natively");
	vcpu->native_probe = 1;
	arch_capture_native(vcpu);
	arch_resume_native(vcpu);
}

static void continue_with_probe_fault(struct dune_vcpu *vcpu)
{
	dune_deliver_fault(vcpu, &vcpu->probe_fault);
	dune_host_loop(vcpu);
}

/*
 * The native retry of handle_memory_fault() faulted (we are in the host
 * signal handler, on the program's stack): the vCPU still stands at that
 * access, so the guest takes the fault there, and the VM goes on.
 */
void dune_probe_faulted(struct dune_vcpu *vcpu, const siginfo_t *info, const sigset_t *mask)
{
	vcpu->native_probe = 0;
	vcpu->probe_fault = (struct dune_fault){
		.signo = info->si_signo, .code = info->si_code, .addr = (uintptr_t)info->si_addr,
	};
	sys4(SYS_rt_sigprocmask, SIG_SETMASK, mask, NULL, DUNE_SIGSET_BYTES);
	arch_call_on_stack(vcpu->stack_top, continue_with_probe_fault, vcpu);
}

/* A KVM_RUN that keeps failing with EAGAIN (a resource KVM lacks) ends the VM. */
static void handle_run_error(struct dune_vcpu *vcpu, long err)
{
	if (err == -EAGAIN && ++vcpu->run_eagain < DUNE_RUN_EAGAIN_MAX) {
		vcpu->vm->stats.exits[DUNE_EXIT_INTR]++;
		return;
	}
	if (err == -EFAULT)
		handle_memory_fault(vcpu);
	if (err == -EBADF) {
		/*
		 * The program closed the vCPU's fd where dune could not refuse
		 * it (io_uring): the thread's registers and FPU state went with
		 * it, and going on from stale ones would corrupt the program.
		 */
		dune_log("the vCPU's fd was closed behind dune's back: this thread's state is lost; "
			 "killing the process");
		dune_force_signal(SIGKILL, &(siginfo_t){ .si_signo = SIGKILL, .si_code = SI_KERNEL });
	}
	leave_vm(vcpu, "KVM_RUN failed", err);
}

/* The call state of dune's own forwarded calls: never DUNE_CALL_SIGNALLED. */
int dune_call_none;
_Static_assert(DUNE_CALL_IDLE == 0 && DUNE_CALL_SIGNALLED == 2 && DUNE_ERESTARTNOINTR == 513,
	       "the values arch_forward_syscall() has in each entry.S");

static void handle_exit(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct dune_stats *stats = &vcpu->vm->stats;

	switch (e->event) {
	case DUNE_EV_SYSCALL: {
		long ret;

		stats->exits[DUNE_EXIT_SYSCALL]++;
		vcpu->sys_nr = e->sys.nr;
		__atomic_store_n(&vcpu->call, DUNE_CALL_PENDING, __ATOMIC_SEQ_CST);
		/* noted since the loop looked, with KVM_RUN on its way out */
		if (__atomic_load_n(&vcpu->sigq.tail, __ATOMIC_SEQ_CST) != vcpu->sigq.seen)
			__atomic_store_n(&vcpu->call, DUNE_CALL_SIGNALLED, __ATOMIC_SEQ_CST);
		ret = dune_syscall(vcpu, &e->sys);
		if (ret == -DUNE_ERESTARTNOINTR &&
		    __atomic_load_n(&vcpu->call, __ATOMIC_SEQ_CST) == DUNE_CALL_SIGNALLED)
			return;		/* not made: the handlers first (the loop) */
		__atomic_store_n(&vcpu->call, DUNE_CALL_IDLE, __ATOMIC_SEQ_CST);
		vcpu->sys_interrupted = ret == -EINTR;
		arch_syscall_return(vcpu, ret);
		return;
	}
	case DUNE_EV_FAULT:
		stats->exits[DUNE_EXIT_FAULT]++;
		handle_fault(vcpu, &e->fault);
		return;
	case DUNE_EV_INTR:
		stats->exits[DUNE_EXIT_INTR]++;
		return;
	case DUNE_EV_MMIO:
		stats->exits[DUNE_EXIT_MMIO]++;
		leave_vm(vcpu, "guest access to unbacked guest-physical memory", -EFAULT);
	case DUNE_EV_FATAL:
		stats->exits[DUNE_EXIT_OTHER]++;
		leave_vm(vcpu, e->why, -EIO);
	}
}

static void trace_exit(const struct dune_vcpu *vcpu, const struct dune_exit *e)
{
	if (e->event == DUNE_EV_SYSCALL)
		dune_log("vcpu %d: syscall %ld (%lx, %lx, %lx)", vcpu->id, e->sys.nr,
			 e->sys.args[0], e->sys.args[1], e->sys.args[2]);
	else if (e->event == DUNE_EV_FAULT)
		dune_log("vcpu %d: fault signal %d addr %p pc %p%s%s", vcpu->id, e->fault.signo,
			 (void *)e->fault.addr, (void *)e->fault.pc,
			 e->fault.not_present ? " not-present" : "", e->fault.write ? " write" : "");
	else
		dune_log("vcpu %d: event %d", vcpu->id, e->event);
}

/* dune_enter() switched to the host stack: the guest begins at its caller. */
void dune_host_start(struct dune_vcpu *vcpu)
{
	arch_vcpu_start(vcpu);
	dune_host_loop(vcpu);
}

void dune_host_loop(struct dune_vcpu *vcpu)
{
	struct dune_exit e;

	vcpu->tid = sys0(SYS_gettid);
	for (;;) {
		long r;

		/* what the host handler notes from here on, this KVM_RUN returns for */
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		vcpu->sigq.seen = __atomic_load_n(&vcpu->sigq.tail, __ATOMIC_SEQ_CST);
		if (vcpu->sigq.seen != vcpu->sigq.head)
			dune_signals_deliver(vcpu);
		/*
		 * A call a signal came before, which no handler's frame makes
		 * again (the signal was not for a handler, or waits for one's
		 * mask to end): made now.
		 */
		if (vcpu->call == DUNE_CALL_SIGNALLED) {
			handle_exit(vcpu, &e);
			continue;
		}
		r = arch_prepare_run(vcpu);
		if (r)
			leave_vm(vcpu, "cannot prepare the vCPU to run", r);
		r = sys3(SYS_ioctl, vcpu->fd, KVM_RUN, 0);
		/*
		 * A signal interrupted KVM_RUN (KVM says so in exit_reason, but
		 * not on every path): the guest may stand in a stub, which the
		 * arch decodes like any other exit.
		 */
		if (r == -EINTR)
			vcpu->run->exit_reason = KVM_EXIT_INTR;
		else if (r < 0) {
			handle_run_error(vcpu, r);
			continue;
		}
		vcpu->run_eagain = 0;
		arch_decode_exit(vcpu, &e);
		if (vcpu->vm->debug > 1)
			trace_exit(vcpu, &e);
		handle_exit(vcpu, &e);
	}
}
