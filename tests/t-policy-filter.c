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
	r = forwarded(SYS_rt_sigprocmask, SIG_BLOCK, 0);	/* EINVAL from the kernel itself */
	CHECK(r == -EINVAL, "rt_sigprocmask (dune performs it) stays allowed: %ld", r);
	r = forwarded(SYS_io_uring_setup, 1, 0);
	CHECK(r == -EACCES, "io_uring_setup: %ld", r);
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
	struct dune_policy p = { .dflt = EPERM };
	static struct sock_filter insns[BPF_MAXINSNS];
	char out[4096];
	int status, len;

	status = run_child(deny_mode, NULL, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "deny rules: %s\n%s",
	      status_str(status), out);
	status = run_child(allow_mode, NULL, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "allow-list: %s\n%s",
	      status_str(status), out);
#ifdef DUNE_FOREIGN_NR_MIN
	status = run_child(foreign, NULL, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "a foreign ABI: %s\n%s",
	      status_str(status), out);
#endif

	p.deny[dune_syscall_slot(SYS_clone)] = EPERM;
	CHECK(dune_policy_check(&p) == -EINVAL && strstr(dune_last_error(), "clone"),
	      "a rule on clone (dune performs it) is not refused: %s", dune_last_error());
	for (int slot = 0; slot < DUNE_NR_SYSCALLS; slot++)
		p.deny[slot] = slot % 2 ? EACCES : DUNE_DENY_KILL;
	len = dune_policy_compile(&p, insns, BPF_MAXINSNS);
	CHECK(len > 0 && len <= BPF_MAXINSNS, "a rule on every syscall: %d instructions", len);
	printf("# a rule on each of %d syscalls: %d BPF instructions\n", DUNE_NR_SYSCALLS, len);
	return finish();
}
