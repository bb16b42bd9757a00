// SPDX-License-Identifier: MIT
/*
 * The policy filter (lib/policy.c) as the kernel runs it, without KVM: in
 * child processes that install it, calls made from an ordinary instruction
 * (dune's own, or native code) and from the forwarding page (the program's
 * calls inside dune) get what the rules say for each kind of syscall.
 * (Without a rule io_submit(0, 0) is EINVAL: EPERM is the filter's.)
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include "arch-policy.h"
#include "check.h"
#include "policy.h"

static struct dune_vm vm;

static long native(long nr, long a0, long a1)
{
	return arch_raw_syscall(nr, a0, a1, 0, 0, 0, 0);
}

static long forwarded(long nr, long a0, long a1)
{
	int call = DUNE_CALL_IDLE;

	return arch_forward_syscall(nr, a0, a1, 0, 0, 0, 0, vm.forward_insn, &call);
}

/* What the filter says of the program's call nr(a0), which dune performs itself. */
static long ask(long nr, long a0)
{
	long args[5] = { a0 };

	vm.tools.filter = 1;
	return dune_policy_ask(&vm, nr, args);
}

static void install(const struct dune_policy *p)
{
	if (dune_policy_install(p) || dune_forward_init(&vm)) {
		fprintf(stderr, "%s\n", dune_last_error());
		exit(10);
	}
}

/* mkdir is denied everywhere, openat (dune makes it) only forwarded, io_uring always. */
static int deny_mode(void *arg)
{
	struct dune_policy p = { .dflt = EPERM };
	long r;

	(void)arg;
	p.deny[dune_syscall_slot(SYS_mkdirat)] = EACCES;
	p.deny[dune_syscall_slot(SYS_openat)] = ENOTDIR;
	install(&p);
	CHECK(vm.forward_insn == (void *)DUNE_FORWARD_PAGE, "forwarding from %p",
	      vm.forward_insn);
	CHECK(dune_policy_in_force(), "the filter does not answer DUNE_OP_POLICY");
	r = native(SYS_mkdirat, AT_FDCWD, (long)"/nonexistent/x");
	CHECK(r == -EACCES, "native mkdirat: %ld", r);
	r = forwarded(SYS_mkdirat, AT_FDCWD, (long)"/nonexistent/x");
	CHECK(r == -EACCES, "forwarded mkdirat: %ld", r);
	r = native(SYS_openat, AT_FDCWD, (long)"/");
	CHECK(r >= 0, "dune's own openat is refused: %ld", r);
	r = forwarded(SYS_openat, AT_FDCWD, (long)"/");
	CHECK(r == -ENOTDIR, "forwarded openat: %ld", r);
	r = native(SYS_getppid, 0, 0);
	CHECK(r > 0, "getppid, no rule: %ld", r);
	for (int i = 0; i < 2; i++) {
		r = (i ? forwarded : native)(SYS_io_uring_setup, 1, 0);
		CHECK(r == -EPERM, "%s io_uring_setup: %ld", i ? "forwarded" : "native", r);
		r = (i ? forwarded : native)(SYS_io_submit, 0, 0);
		CHECK(r == -EPERM, "%s io_submit: %ld", i ? "forwarded" : "native", r);
	}
	return finish();
}

/* Only getppid for the program; dune's own calls and the ones it performs itself pass. */
static int allow_mode(void *arg)
{
	struct dune_policy p = { .allow_mode = 1, .dflt = EACCES };
	long r;

	(void)arg;
	p.allow[dune_syscall_slot(SYS_getppid)] = 1;
	p.allow[dune_syscall_slot(SYS_write)] = 1;
	p.allow[dune_syscall_slot(SYS_exit_group)] = 1;
	install(&p);
	r = forwarded(SYS_getppid, 0, 0);
	CHECK(r > 0, "forwarded getppid, allowed: %ld", r);
	r = forwarded(SYS_getpid, 0, 0);
	CHECK(r == -EACCES, "forwarded getpid, not allowed: %ld", r);
	r = native(SYS_getpid, 0, 0);
	CHECK(r > 0, "dune's own getpid: %ld", r);
	r = native(SYS_mkdirat, AT_FDCWD, (long)"/nonexistent/x");
	CHECK(r == -EACCES, "native mkdirat, not allowed: %ld", r);
	r = native(SYS_rt_sigprocmask, SIG_BLOCK, 0);	/* EINVAL from the kernel itself */
	CHECK(r == -EINVAL, "dune's own rt_sigprocmask: %ld", r);
	r = ask(SYS_rt_sigprocmask, SIG_BLOCK);
	CHECK(r == -EACCES, "the program's rt_sigprocmask (dune performs it), not allowed: %ld", r);
	r = forwarded(SYS_io_uring_setup, 1, 0);
	CHECK(r == -EACCES, "io_uring_setup: %ld", r);
	return finish();
}

static void add_cond(struct dune_policy *p, long nr, int action, int n,
		     const struct dune_arg_cmp *cmp)
{
	struct dune_cond_rule r = { .nr = nr, .action = action, .nr_cmps = n };

	memcpy(r.cmp, cmp, n * sizeof(*cmp));
	if (dune_policy_add_cond(p, &r)) {
		fprintf(stderr, "%s\n", dune_last_error());
		exit(10);
	}
}

#define CMP(arg, op, v, ...)	{ arg, DUNE_CMP_##op, v, __VA_ARGS__ + 0 }
#define COND(p, nr, action, ...) \
	add_cond(p, nr, action, sizeof((struct dune_arg_cmp[]){ __VA_ARGS__ }) / \
		 sizeof(struct dune_arg_cmp), (struct dune_arg_cmp[]){ __VA_ARGS__ })

/*
 * Rules with conditions on the arguments of getppid (which ignores them),
 * made from both sides, each comparison on both halves of its 64 bits;
 * on openat only the forwarded calls; the most restrictive rule wins.
 */
static int cond_mode(void *arg)
{
	static const struct { long a0, a1, err; } calls[] = {
		{ 5, 0, 0 }, { 0x100000005, 0, EACCES }, { 0x200000005, 0, 0 },
		{ 0x1234, 0, ENOTDIR }, { 0x1334, 0, 0 }, { 0x10000001234, 0, ENOTDIR },
		{ 0, 0x200000006, ELOOP }, { 0, 0x200000005, 0 }, { 0, 0x300000000, ELOOP },
		{ 0, 0x100000009, 0 },
		{ 77, 7, EXDEV }, { 77, 9, EXDEV }, { 77, 10, 0 }, { 77, 6, 0 },
		{ 77, 0x100000008, 0 }, { 78, 8, 0 },
		{ 55, 0, EPERM }, { 49, 0, 0 }, { 61, 0, 0 }, { 0x100000055, 0, 0 },
		{ 3, 0x100000000, ENOEXEC }, { 3, 0x500000000, ENOEXEC }, { 3, 4, ENOEXEC },
		{ 3, 5, 0 }, { 3, 0, 0 },
	};
	struct dune_policy p = { .dflt = EPERM };
	long r;

	(void)arg;
	COND(&p, SYS_getppid, EACCES, CMP(0, EQ, 0x100000005));
	COND(&p, SYS_getppid, ENOTDIR, CMP(0, MASKED_EQ, 0xff00, 0x1200));
	COND(&p, SYS_getppid, ELOOP, CMP(0, EQ, 0), CMP(1, GT, 0x200000005));
	COND(&p, SYS_getppid, EXDEV, CMP(1, GE, 7), CMP(1, LE, 9), CMP(0, EQ, 77));
	COND(&p, SYS_getppid, 0, CMP(0, EQ, 55));
	COND(&p, SYS_getppid, EPERM, CMP(0, GE, 50), CMP(0, LT, 61));
	COND(&p, SYS_getppid, ENOEXEC, CMP(0, EQ, 3), CMP(1, NE, 5), CMP(1, NE, 0));
	COND(&p, SYS_openat, ENOTDIR, CMP(0, EQ, (uint64_t)AT_FDCWD));
	p.deny[dune_syscall_slot(SYS_getpid)] = EACCES;	/* outranks the allow below */
	COND(&p, SYS_getpid, 0, CMP(0, EQ, 1));
	install(&p);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		for (int f = 0; f < 2; f++) {
			r = (f ? forwarded : native)(SYS_getppid, calls[i].a0, calls[i].a1);
			CHECK(calls[i].err ? r == -calls[i].err : r > 0, "%s getppid(%#lx, %#lx): "
			      "%ld, expected %ld", f ? "forwarded" : "native", calls[i].a0,
			      calls[i].a1, r, -calls[i].err);
		}
	r = forwarded(SYS_openat, AT_FDCWD, (long)"/");
	CHECK(r == -ENOTDIR, "forwarded openat(AT_FDCWD): %ld", r);
	r = forwarded(SYS_openat, -1, (long)".");
	CHECK(r == -EBADF, "forwarded openat(-1, \".\"): %ld", r);
	r = native(SYS_openat, AT_FDCWD, (long)"/");
	CHECK(r >= 0, "dune's own openat(AT_FDCWD) is refused: %ld", r);
	r = forwarded(SYS_getpid, 1, 0);
	CHECK(r == -EACCES, "getpid(1), denied without conditions: %ld", r);
	return finish();
}

/*
 * The calls dune performs itself: it asks the filter first (DUNE_OP_POLICY_
 * CHECK from the forwarding instruction), which answers with the rules on
 * them, conditions on their arguments included; no other dune operation
 * passes, from either side.
 */
static int check_mode(void *arg)
{
	struct dune_policy p = { .dflt = EPERM };
	long r;

	(void)arg;
	p.deny[dune_syscall_slot(SYS_rt_sigaction)] = EACCES;
	COND(&p, SYS_clone, ENOTDIR, CMP(0, MASKED_EQ, CLONE_NEWNS, CLONE_NEWNS));
	COND(&p, SYS_clone, ELOOP, CMP(4, EQ, 0x123456789));
	install(&p);
	r = ask(SYS_rt_sigaction, SIGUSR1);
	CHECK(r == -EACCES, "rt_sigaction, denied: %ld", r);
	r = native(SYS_rt_sigaction, SIGUSR1, 0);
	CHECK(r == -EINVAL, "dune's own rt_sigaction (EINVAL: no sigset size): %ld", r);
	r = ask(SYS_clone, CLONE_NEWNS | SIGCHLD);
	CHECK(r == -ENOTDIR, "clone(CLONE_NEWNS), denied: %ld", r);
	r = ask(SYS_clone, SIGCHLD);
	CHECK(r == 0, "clone(SIGCHLD): %ld", r);
	r = dune_policy_ask(&vm, SYS_clone, (long[5]){ SIGCHLD, 0, 0, 0, 0x123456789 });
	CHECK(r == -ELOOP, "clone's fifth argument: %ld", r);
	r = ask(SYS_rt_sigprocmask, SIG_BLOCK);
	CHECK(r == 0, "rt_sigprocmask, no rule: %ld", r);
	r = forwarded(DUNE_SYSCALL_NR, DUNE_OP_IS_INSIDE, 0);
	CHECK(r == -EPERM, "another dune operation from the forwarding instruction: %ld", r);
	r = native(DUNE_SYSCALL_NR, DUNE_OP_POLICY_CHECK | (uint64_t)SYS_clone << 32, SIGCHLD);
	CHECK(r == -EPERM, "a check from elsewhere: %ld", r);
	vm.tools.filter = 0;
	r = dune_policy_ask(&vm, SYS_rt_sigaction, (long[5]){ SIGUSR1 });
	CHECK(r == 0, "without a filter in force, no question: %ld", r);
	return finish();
}

#ifdef DUNE_FOREIGN_NR_MIN
/* Another ABI's numbers: the whole process is killed. */
static int foreign(void *arg)
{
	struct dune_policy p = { .dflt = EPERM };

	(void)arg;
	install(&p);
	native(DUNE_FOREIGN_NR_MIN | SYS_getpid, 0, 0);
	return 0;
}
#endif

int main(void)
{
	static const struct { int (*fn)(void *); const char *what; } modes[] = {
		{ deny_mode, "deny rules" }, { allow_mode, "allow-list" },
		{ check_mode, "calls dune performs" }, { cond_mode, "rules with conditions" },
	};
	struct dune_policy p = { .dflt = EPERM };
	static struct sock_filter insns[BPF_MAXINSNS];
	char out[4096];
	int status, len;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		status = run_child(modes[i].fn, NULL, out, sizeof(out));
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s\n%s", modes[i].what,
		      status_str(status), out);
	}
#ifdef DUNE_FOREIGN_NR_MIN
	status = run_child(foreign, NULL, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "a foreign ABI: %s\n%s",
	      status_str(status), out);
#endif

	COND(&p, SYS_clone, 0, CMP(5, EQ, 0));
	CHECK(dune_policy_check(&p) == -EINVAL && strstr(dune_last_error(), "clone"),
	      "a rule on clone's sixth argument (dune asks with five) is not refused: %s",
	      dune_last_error());
	p.nr_cond = 0;
	{
		struct dune_cond_rule bad[] = {
			{ SYS_getppid, EPERM, 0, { { 0 } } },
			{ SYS_getppid, EPERM, 1, { { 6, DUNE_CMP_EQ, 0, 0 } } },
			{ SYS_getppid, EPERM, 1, { { 0, DUNE_CMP_MASKED_EQ + 1, 0, 0 } } },
			{ SYS_getppid, DUNE_MAX_ERRNO + 1, 1, { { 0, DUNE_CMP_EQ, 0, 0 } } },
			{ -5, EPERM, 1, { { 0, DUNE_CMP_EQ, 0, 0 } } },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(dune_policy_add_cond(&p, &bad[i]) == -EINVAL && !p.nr_cond,
			      "bad rule %zu accepted", i);
	}
	for (int slot = 0; slot < DUNE_NR_SYSCALLS; slot++)
		p.deny[slot] = slot % 2 ? EACCES : DUNE_DENY_KILL;
	len = dune_policy_compile(&p, insns, BPF_MAXINSNS);
	CHECK(len > 0 && len <= BPF_MAXINSNS, "a rule on every syscall: %d instructions", len);
	printf("# a rule on each of %d syscalls: %d BPF instructions\n", DUNE_NR_SYSCALLS, len);
	return finish();
}
