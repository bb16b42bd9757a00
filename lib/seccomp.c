// SPDX-License-Identifier: MIT
/*
 * seccomp inside dune.  A filter installed natively on the host thread would
 * also judge dune's own KVM ioctls, so the host loop runs the program's
 * filters itself, on the program's syscalls only, with the kernel's rules:
 * every filter runs, the action of highest precedence wins.  The kernel still
 * validates each filter (in a throwaway child), and an exec'd image gets the
 * filters natively: it runs outside dune.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "dune-internal.h"

#define FILTER_MAX_INSNS	BPF_MAXINSNS
#define FILTERS_MAX		16
#define ALLOWANCE_INSNS		5

struct filter {
	unsigned short len;
	struct sock_filter insns[FILTER_MAX_INSNS];
};

/* Installed filters (process-wide: TSYNC is the common case), or strict mode. */
static struct {
	int strict;
	int count;
	struct filter filters[FILTERS_MAX];
} seccomp;

/* Does dune judge syscalls with the program's filters (or strict mode)? */
int dune_seccomp_active(void)
{
	return seccomp.strict || seccomp.count;
}

static uint32_t load_data(const struct seccomp_data *d, uint32_t off)
{
	uint32_t v = 0;

	if (off <= sizeof(*d) - 4 && !(off & 3))
		memcpy(&v, (const char *)d + off, 4);
	return v;
}

static int jump(const struct sock_filter *in, uint32_t a, uint32_t src)
{
	switch (BPF_OP(in->code)) {
	case BPF_JA:
		return in->k;
	case BPF_JEQ:
		return a == src ? in->jt : in->jf;
	case BPF_JGT:
		return a > src ? in->jt : in->jf;
	case BPF_JGE:
		return a >= src ? in->jt : in->jf;
	case BPF_JSET:
		return a & src ? in->jt : in->jf;
	}
	return 0;
}

static uint32_t alu(const struct sock_filter *in, uint32_t a, uint32_t src)
{
	switch (BPF_OP(in->code)) {
	case BPF_ADD: return a + src;
	case BPF_SUB: return a - src;
	case BPF_MUL: return a * src;
	case BPF_DIV: return src ? a / src : 0;
	case BPF_MOD: return src ? a % src : 0;
	case BPF_AND: return a & src;
	case BPF_OR: return a | src;
	case BPF_XOR: return a ^ src;
	case BPF_LSH: return src < 32 ? a << src : 0;
	case BPF_RSH: return src < 32 ? a >> src : 0;
	case BPF_NEG: return -a;
	}
	return a;
}

/* Classic BPF as seccomp allows it (the kernel checked the program). */
static uint32_t run_filter(const struct filter *f, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (unsigned int pc = 0; pc < f->len; pc++) {
		const struct sock_filter *in = &f->insns[pc];
		uint32_t src = BPF_SRC(in->code) == BPF_X ? x : in->k;

		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
			a = BPF_MODE(in->code) == BPF_ABS ? load_data(d, in->k) :
			    BPF_MODE(in->code) == BPF_LEN ? sizeof(*d) :
			    BPF_MODE(in->code) == BPF_MEM ? mem[in->k % BPF_MEMWORDS] : in->k;
			break;
		case BPF_LDX:
			x = BPF_MODE(in->code) == BPF_LEN ? sizeof(*d) :
			    BPF_MODE(in->code) == BPF_MEM ? mem[in->k % BPF_MEMWORDS] : in->k;
			break;
		case BPF_ST:
			mem[in->k % BPF_MEMWORDS] = a;
			break;
		case BPF_STX:
			mem[in->k % BPF_MEMWORDS] = x;
			break;
		case BPF_ALU:
			a = alu(in, a, src);
			break;
		case BPF_JMP:
			pc += jump(in, a, src);
			break;
		case BPF_RET:
			return BPF_RVAL(in->code) == BPF_A ? a : in->k;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	return SECCOMP_RET_KILL_THREAD;
}

/* The kernel's precedence: lower action values win (KILL_PROCESS first). */
static int action_rank(uint32_t ret)
{
	uint32_t action = ret & SECCOMP_RET_ACTION_FULL;

	return action == SECCOMP_RET_KILL_PROCESS ? -1 : (int)(action >> 16);
}

static long trap(const struct seccomp_data *d, uint32_t ret)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	info.si_signo = SIGSYS;
	info.si_code = 1;	/* SYS_SECCOMP */
	info.si_errno = ret & SECCOMP_RET_DATA;
	info.si_call_addr = (void *)d->instruction_pointer;
	info.si_syscall = d->nr;
	info.si_arch = d->arch;
	sys4(SYS_rt_tgsigqueueinfo, sys0(SYS_getpid), sys0(SYS_gettid), SIGSYS, &info);
	return -ENOSYS;
}

/*
 * The filters' verdict on a guest syscall: 0 to run it, else the result the
 * program gets instead (*skip set).
 */
/*
 * SECCOMP_MODE_STRICT: read, write, exit and rt_sigreturn only; anything else
 * is SIGKILL (of the thread in Linux; here of the process, as for filters).
 */
static long strict_check(const struct dune_syscall *sys)
{
	if (sys->nr != SYS_read && sys->nr != SYS_write && sys->nr != SYS_exit &&
	    sys->nr != SYS_rt_sigreturn)
		dune_force_signal(SIGKILL, &(siginfo_t){ .si_signo = SIGKILL, .si_code = SI_KERNEL });
	return 0;
}

static long set_strict(unsigned long flags, long args)
{
	if (flags || args || seccomp.count)
		return -EINVAL;
	seccomp.strict = 1;
	return 0;
}

long dune_seccomp_check(const struct dune_syscall *sys, int *skip)
{
	struct seccomp_data d = { .nr = sys->nr,
				  .arch = sys->compat_arch ? sys->compat_arch : arch_audit_arch(),
				  .instruction_pointer = sys->ip };
	uint32_t ret = SECCOMP_RET_ALLOW;

	*skip = 0;
	if (seccomp.strict)
		return strict_check(sys);
	if (!seccomp.count)
		return 0;
	for (int i = 0; i < 6; i++)
		d.args[i] = sys->args[i];
	for (int i = seccomp.count - 1; i >= 0; i--) {
		uint32_t r = run_filter(&seccomp.filters[i], &d);

		if (action_rank(r) < action_rank(ret))
			ret = r;
	}
	*skip = 1;
	switch (ret & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_ALLOW:
	case SECCOMP_RET_LOG:
		*skip = 0;
		return 0;
	case SECCOMP_RET_ERRNO:
		return -(long)((ret & SECCOMP_RET_DATA) > DUNE_MAX_ERRNO ? DUNE_MAX_ERRNO : ret & SECCOMP_RET_DATA);
	case SECCOMP_RET_TRAP:
		return trap(&d, ret);
	case SECCOMP_RET_KILL_PROCESS:
	case SECCOMP_RET_KILL_THREAD:	/* (the whole process, unlike Linux) */
		dune_force_signal(SIGSYS, &(siginfo_t){ .si_signo = SIGSYS, .si_code = SI_KERNEL });
	default:		/* TRACE, USER_NOTIF: nobody is listening */
		return -ENOSYS;
	}
}

/*
 * Let the kernel judge the filter (EINVAL, EFAULT, EACCES as natively), in a
 * throwaway child.  Once installed, the filter may refuse the child even its
 * exit, so the child reports through shared memory and we kill it.
 */
static long kernel_accepts(unsigned int flags, const struct sock_fprog *prog)
{
	volatile long *verdict = (volatile long *)sys6(SYS_mmap, 0, DUNE_PAGE_SIZE,
						       PROT_READ | PROT_WRITE,
						       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	long pid, ret;

	if (IS_ERR_VALUE(verdict))
		return (long)verdict;
	*verdict = 1;		/* not yet */
	pid = arch_raw_syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
	if (pid == 0) {
		*verdict = sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
		for (;;)
			sys1(SYS_exit_group, 0);
	}
	while (pid > 0 && *verdict > 0 && !sys4(SYS_wait4, pid, &status, WNOHANG, NULL))
		sys0(SYS_sched_yield);
	if (pid > 0) {
		sys2(SYS_kill, pid, SIGKILL);
		while (sys4(SYS_wait4, pid, &status, 0, NULL) == -EINTR)
			;
	}
	ret = pid < 0 ? pid : *verdict > 0 ? -EINVAL : *verdict;
	sys2(SYS_munmap, verdict, DUNE_PAGE_SIZE);
	return ret;
}

static long add_filter(unsigned int flags, uintptr_t uprog)
{
	struct sock_fprog prog;
	struct filter *f = &seccomp.filters[seccomp.count];
	long err;

	if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
		return -EOPNOTSUPP;	/* nobody could answer inside dune */
	if (dune_read_guest(&prog, uprog, sizeof(prog)))
		return -EFAULT;
	err = kernel_accepts(flags & ~SECCOMP_FILTER_FLAG_TSYNC, (struct sock_fprog *)uprog);
	if (err)
		return err;
	if (seccomp.count == FILTERS_MAX || prog.len > FILTER_MAX_INSNS - ALLOWANCE_INSNS)
		return -ENOMEM;
	if (dune_read_guest(f->insns, (uintptr_t)prog.filter, prog.len * sizeof(f->insns[0])))
		return -EFAULT;
	f->len = prog.len;
	seccomp.count++;
	return 0;
}

/* seccomp(2) and prctl(PR_SET_SECCOMP/PR_GET_SECCOMP). */
long dune_seccomp_syscall(struct dune_vm *vm, const struct dune_syscall *sys)
{
	long op = sys->args[0], arg = sys->args[1];

	if (sys->nr == SYS_prctl) {
		if (op == PR_GET_SECCOMP)
			return seccomp.count ? SECCOMP_MODE_FILTER : 0;
		if (arg == SECCOMP_MODE_FILTER)
			return add_filter(0, sys->args[2]);
		return arg == SECCOMP_MODE_STRICT ? set_strict(0, 0) : -EINVAL;
	}
	if (op == SECCOMP_SET_MODE_FILTER)
		return add_filter(arg, sys->args[2]);
	if (op == SECCOMP_SET_MODE_STRICT)
		return set_strict(arg, sys->args[2]);
	return dune_forward6(vm, SYS_seccomp, op, arg, sys->args[2], 0, 0, 0);
}

/*
 * Before execve: the new image runs natively, so it gets the filters for real,
 * each behind an allowance for ioctls on dune's fds (the host loop still needs
 * KVM_RUN if the exec fails; they are close-on-exec otherwise).  A filter the
 * kernel refuses now fails the execve: the new image must not run without it.
 */
long dune_seccomp_before_exec(int own_fd_min)
{
	static struct sock_filter insns[FILTER_MAX_INSNS];
	const struct sock_filter allowance[ALLOWANCE_INSNS] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, own_fd_min, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	long err;

	for (int i = 0; i < seccomp.count; i++) {
		struct sock_fprog prog = { seccomp.filters[i].len + ALLOWANCE_INSNS, insns };

		memcpy(insns, allowance, sizeof(allowance));
		memcpy(insns + ALLOWANCE_INSNS, seccomp.filters[i].insns,
		       seccomp.filters[i].len * sizeof(insns[0]));
		err = sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
		if (err)
			return err;	/* those installed stay: stricter, never looser */
	}
	seccomp.count = 0;
	return 0;
}
