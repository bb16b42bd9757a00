/* SPDX-License-Identifier: MIT */
/*
 * The public API of lib/dune.h: dune_is_inside, dune_get_stats,
 * dune_escape, dune_last_error, the reserved system call, entering twice,
 * and dune_enter() failing cleanly when KVM cannot be opened.
 */
#include <dirent.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "check.h"

/* Open descriptors, not counting the one that lists them. */
static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (!dir)
		return -1;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n - 3;	/* ".", ".." and the directory's own */
}

/* A failing dune_enter() leaves the process native, as it was. */
static void check_enter_fails(const char *device, int expect_err)
{
	int before, ret;
	pid_t pid = getpid();
	const char *msg;

	setenv("DUNE_KVM_DEVICE", device, 1);
	before = count_fds();
	ret = dune_enter();
	msg = dune_last_error();
	CHECK(msg != NULL, "dune_last_error() = NULL");
	if (!msg)
		msg = "";
	if (expect_err) {
		CHECK(ret == -expect_err, "dune_enter() with %s = %d, expected %d",
		      device, ret, -expect_err);
		CHECK(strstr(msg, device), "dune_last_error() = \"%s\" "
		      "does not name %s", msg, device);
	} else {
		CHECK(ret < 0, "dune_enter() with %s = %d, expected -errno",
		      device, ret);
	}
	CHECK(msg[0] && !strchr(msg, '\n'),
	      "dune_last_error() = \"%s\": not one line", msg);
	CHECK(dune_is_inside() == 0, "inside after failed dune_enter()");
	CHECK(getpid() == pid, "getpid broken after failed dune_enter()");
	CHECK(count_fds() == before, "%d descriptors before, %d after failed "
	      "dune_enter()", before, count_fds());
	errno = 0;
	CHECK(syscall(DUNE_SYSCALL_NR, DUNE_OP_IS_INSIDE) == -1 &&
	      errno == ENOSYS, "reserved syscall works after failed enter");
}

static int enter_fails_child(void *arg)
{
	(void)arg;
	check_enter_fails("/nonexistent/kvm", ENOENT);
	check_enter_fails("/dev/null", 0);	/* not a KVM device */

	/* failing left nothing behind: entering works now */
	unsetenv("DUNE_KVM_DEVICE");
	enter_dune();
	CHECK(getpid() > 0, "getpid after entering");
	return finish();
}

static void check_native(void)
{
	const char *msg = dune_last_error();

	CHECK(dune_is_inside() == 0, "inside before dune_enter()");
	CHECK(msg && msg[0] == '\0', "dune_last_error() before any error: "
	      "\"%s\"", msg ? msg : "(null)");
	errno = 0;
	CHECK(syscall(DUNE_SYSCALL_NR, DUNE_OP_IS_INSIDE) == -1 &&
	      errno == ENOSYS, "reserved system call natively: errno %d, "
	      "expected ENOSYS", errno);
}

static void check_stats(void)
{
	struct dune_stats before = { .size = sizeof(before) }, after = before;
	struct dune_stats small;
	size_t part = offsetof(struct dune_stats, syscalls);
	int i, ret;

	CHECK(dune_get_stats(&before) == 0, "dune_get_stats failed");
	for (i = 0; i < 100; i++)
		syscall(SYS_getpid);	/* not cached by libc */
	CHECK(dune_get_stats(&after) == 0, "dune_get_stats failed");
	/* served in user space (syscalls, with an exit each) or by the kernel module */
	CHECK(after.syscalls + after.kernel_syscalls >=
	      before.syscalls + before.kernel_syscalls + 100,
	      "100 getpid calls counted as %llu system calls",
	      (unsigned long long)(after.syscalls + after.kernel_syscalls - before.syscalls -
				   before.kernel_syscalls));
	CHECK(after.exits[DUNE_EXIT_SYSCALL] + after.kernel_syscalls >=
	      before.exits[DUNE_EXIT_SYSCALL] + before.kernel_syscalls + 100,
	      "100 getpid calls counted as %llu syscall exits",
	      (unsigned long long)(after.exits[DUNE_EXIT_SYSCALL] -
				   before.exits[DUNE_EXIT_SYSCALL]));
	printf("# stats: %llu syscalls, %llu faults fixed, %llu memslots, "
	       "%llu page-table pages\n", (unsigned long long)after.syscalls,
	       (unsigned long long)after.faults_fixed,
	       (unsigned long long)after.memslots,
	       (unsigned long long)after.pt_pages);

	memset(&small, 0xee, sizeof(small));
	small.size = 4;
	CHECK(dune_get_stats(&small) == -EINVAL,
	      "dune_get_stats with size 4 did not give -EINVAL");

	/* never written past .size, whatever it returns */
	memset(&small, 0xee, sizeof(small));
	small.size = part;
	ret = dune_get_stats(&small);
	for (i = part; i < (int)sizeof(small); i++)
		if (((unsigned char *)&small)[i] != 0xee)
			break;
	CHECK(i == sizeof(small), "dune_get_stats(size %zu) = %d wrote byte %d",
	      part, ret, i);
}

int main(void)
{
	char out[4096];
	pid_t pid = getpid();
	int status, ret;

	check_native();
	status = run_child(enter_fails_child, NULL, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "failing dune_enter(): %s; output:\n%s", status_str(status), out);

	enter_dune();
	CHECK(dune_is_inside() == 1, "not inside after dune_enter()");
	CHECK(syscall(DUNE_SYSCALL_NR, DUNE_OP_IS_INSIDE) == 1,
	      "reserved system call inside returned not 1");
	check_stats();

	/* escape and re-entry: t-escape; a second enter nests: t-nested */
	CHECK(dune_escape() == 0 && dune_is_inside() == 0, "dune_escape() failed");
	ret = dune_escape();
	CHECK(ret == -EINVAL, "dune_escape() while native = %d, expected -EINVAL", ret);
	CHECK(dune_enter() == 0 && dune_is_inside() == 1, "re-entering failed: %s",
	      dune_last_error());
	CHECK(getpid() == pid, "getpid() broken after re-entering");
	return finish();
}
