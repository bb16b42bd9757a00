// SPDX-License-Identifier: MIT
/*
 * A program inside dune that installs a seccomp filter gets the native result
 * for its own syscalls, while dune's own KVM ioctls keep working (a filter
 * installed natively would stop them).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "check.h"

/* nr == which -> action, else allow */
static long install(int use_prctl, int which, unsigned int action)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, which, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };

	if (use_prctl)
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void check_still_works(const char *when)
{
	char *p = malloc(4 << 20);
	int fds[2];
	char c = 0;

	CHECK(dune_is_inside() && getpid() > 0, "%s: dune broken", when);
	CHECK(p != NULL, "%s: malloc", when);
	if (p) {
		memset(p, 1, 4 << 20);
		free(p);
	}
	CHECK(pipe(fds) == 0 && write(fds[1], "x", 1) == 1 && read(fds[0], &c, 1) == 1 &&
	      c == 'x', "%s: pipe", when);
	close(fds[0]);
	close(fds[1]);
}

/* A bad filter is refused as natively (the kernel still judges it). */
static void check_invalid(void)
{
	struct sock_filter bad[] = { BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0) };
	struct sock_fprog prog = { 1, bad };

	errno = 0;
	CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == -1 && errno == EINVAL,
	      "invalid filter: errno %d", errno);
	errno = 0;
	CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (void *)8) == -1 &&
	      errno == EFAULT, "bad pointer: errno %d", errno);
}

static int kill_child(void *inside)
{
	if (inside)
		enter_dune();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (install(0, SYS_getuid, SECCOMP_RET_KILL_PROCESS))
		return 3;
	syscall(SYS_getuid);
	return 0;
}

/* SECCOMP_RET_KILL_PROCESS ends the process as natively (SIGSYS). */
static void check_kill(void)
{
	char out[256];
	int native = run_child(kill_child, NULL, out, sizeof(out));
	int dune = run_child(kill_child, (void *)1, out, sizeof(out));

	CHECK(WIFSIGNALED(native) && WTERMSIG(native) == SIGSYS, "natively: %s",
	      status_str(native));
	CHECK(WIFSIGNALED(dune) && WTERMSIG(dune) == SIGSYS, "inside dune: %s; %s",
	      status_str(dune), out);
}

/*
 * mode 0: strict mode allows write, then getpid is SIGKILL.  mode 1: a filter
 * refusing even exit_group installs (dune's check of it must not hang on it).
 */
static int strict_child(void *mode)
{
	enter_dune();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (mode) {
		if (install(0, SYS_exit_group, SECCOMP_RET_ERRNO | EPERM))
			return 3;
		syscall(SYS_exit_group, 0);
		syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
		return 4;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0))
		return 3;
	syscall(SYS_write, 1, "ok", 2);
	syscall(SYS_getpid);
	syscall(SYS_exit, 5);
	return 6;
}

static void check_strict_and_exitless(void)
{
	char out[256];

	for (long mode = 0; mode < 2; mode++) {
		int status = run_child(strict_child, (void *)mode, out, sizeof(out));

		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
		      !strcmp(out, mode ? "" : "ok"), "%s: %s, output '%s'",
		      mode ? "filter refusing exit_group" : "strict mode", status_str(status), out);
	}
}

/* The image an exec starts runs natively: it must still be filtered. */
static int exec_child(void *arg)
{
	(void)arg;
	enter_dune();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (install(0, SYS_getppid, SECCOMP_RET_ERRNO | EPERM))
		return 3;
	execl("./getppid-errno", "getppid-errno", NULL);
	return 4;
}

static void check_exec(void)
{
	char out[256];
	int status = run_child(exec_child, NULL, out, sizeof(out));
	char want[64];

	snprintf(want, sizeof(want), "getppid=-1 errno=%d inside=0", EPERM);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, want),
	      "exec'd image not filtered: %s: %s", status_str(status), out);
}

/*
 * Eight filters of 4091 instructions fit the kernel's 32768 per process
 * (each counts 4 more), but not with the 5 dune puts in front of each when
 * it installs them natively before execve: then the exec must fail, not run
 * the new image with a filter missing.
 */
static int exec_too_big_child(void *arg)
{
	static struct sock_filter insns[4091];
	struct sock_fprog prog = { 4091, insns };

	(void)arg;
	for (int i = 0; i < 4090; i++)
		insns[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	insns[4090] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	enter_dune();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (int i = 0; i < 8; i++)
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			return 10 + i;
	execl("./getppid-errno", "getppid-errno", NULL);
	printf("execve: errno %d\n", errno);
	return errno == ENOMEM ? 42 : 5;
}

static void check_exec_refused(void)
{
	char out[256];
	int status = run_child(exec_too_big_child, NULL, out, sizeof(out));

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42,
	      "filters the kernel refuses at exec: %s: %s", status_str(status), out);
}

int main(void)
{
	struct winsize ws;

	check_kill();
	check_exec();
	check_exec_refused();
	check_strict_and_exitless();
	enter_dune();
	CHECK(prctl(PR_GET_SECCOMP) == 0, "seccomp mode before: %d", prctl(PR_GET_SECCOMP));
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s", strerror(errno));
	check_invalid();
	CHECK(install(0, SYS_getppid, SECCOMP_RET_ERRNO | EPERM) == 0, "seccomp(): %s",
	      strerror(errno));
	errno = 0;
	CHECK(syscall(SYS_getppid) == -1 && errno == EPERM, "getppid not denied: errno %d", errno);
	CHECK(prctl(PR_GET_SECCOMP) == SECCOMP_MODE_FILTER, "seccomp mode after: %d",
	      prctl(PR_GET_SECCOMP));
	check_still_works("after denying getppid");

	/* the seed design's killer: a filter that forbids ioctl */
	CHECK(install(1, SYS_ioctl, SECCOMP_RET_ERRNO | EACCES) == 0, "prctl filter: %s",
	      strerror(errno));
	errno = 0;
	CHECK(ioctl(1, TIOCGWINSZ, &ws) == -1 && errno == EACCES, "ioctl not denied: %d", errno);
	check_still_works("after denying ioctl");
	errno = 0;
	CHECK(syscall(SYS_getppid) == -1 && errno == EPERM, "first filter forgotten: errno %d", errno);
	return finish();
}
