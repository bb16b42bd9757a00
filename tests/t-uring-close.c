// SPDX-License-Identifier: MIT
/*
 * io_uring can close an fd without a close(2) dune could refuse.  A program
 * that closes dune's vCPU fd that way has destroyed its own thread's state
 * (registers and FPU live in the vCPU): dune must stop it with SIGKILL and
 * one line saying why, never continue it natively on stale registers.
 */
#include <dirent.h>

#include "check.h"
#include "uring.h"

/* The fd whose /proc/self/fd link names a KVM vCPU, or -1. */
static int find_vcpu_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	while (d && found < 0 && (de = readdir(d))) {
		char path[300], link[128] = "";

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		if (readlink(path, link, sizeof(link) - 1) > 0 && strstr(link, "kvm-vcpu"))
			found = atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* One IORING_OP_CLOSE of fd, waited for: its result, or -errno of the setup. */
static int uring_close(int fd)
{
	struct io_uring_sqe req = { .opcode = IORING_OP_CLOSE, .fd = fd };

	return uring_one(&req);
}

static int close_own_vcpu(void *arg)
{
	int fd, ret;

	(void)arg;
	enter_dune();
	fd = find_vcpu_fd();
	if (fd < 0)
		return 10;
	ret = uring_close(fd);
	if (ret < 0 && ret != -EBADF)
		return 77;	/* no io_uring here */
	/* the vCPU is gone: dune must not get here on stale state */
	printf("still running after closing the vCPU (io_uring: %d)\n", ret);
	return 0;
}

int main(void)
{
	char out[4096];
	int status = run_child(close_own_vcpu, NULL, out, sizeof(out));

	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		skip("io_uring is not available");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "closing dune's vCPU fd with io_uring: %s, output:\n%s", status_str(status), out);
	CHECK(strstr(out, "vCPU") && strstr(out, "closed"), "no message says why:\n%s", out);
	return finish();
}
