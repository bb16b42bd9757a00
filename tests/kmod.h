/* SPDX-License-Identifier: MIT */
/*
 * What the kernel module's tests (tests/t-kmod*.c) share: this process's
 * counters of the module as dune_get_stats() merges them (0 outside dune).
 */
#ifndef KMOD_H
#define KMOD_H

#include <fcntl.h>

#include "check.h"

/* A raw syscall's result as the kernel gives it: -errno on failure. */
#define RAW(...) ({ long _r = syscall(__VA_ARGS__); _r == -1 ? -errno : _r; })

static inline uint64_t kernel_served(void)
{
	struct dune_stats st = { .size = sizeof(st) };

	if (!dune_is_inside() || dune_get_stats(&st))
		return 0;
	return st.kernel_syscalls;
}

/* Declined for reason why (enum dune_kmod_decline). */
static inline uint64_t declined(int why)
{
	struct dune_stats st = { .size = sizeof(st) };

	if (!dune_is_inside() || dune_get_stats(&st))
		return 0;
	return st.kernel_declined[why];
}

/* The kernel log from kmsg_begin() on: /dev/kmsg, its end. */
struct kmsg {
	int fd;
};

static inline void kmsg_begin(struct kmsg *k)
{
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd >= 0)
		lseek(k->fd, 0, SEEK_END);
	else
		printf("# /dev/kmsg: %s: the kernel log is not checked\n", strerror(errno));
}

/* No oops, BUG or WARNING in the kernel log since kmsg_begin(). */
static inline void kmsg_check(struct kmsg *k)
{
	char rec[2048];
	ssize_t n;

	if (k->fd < 0)
		return;
	/* one record per read; EPIPE: records were overwritten, read on */
	while ((n = read(k->fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		CHECK(!strstr(rec, "BUG") && !strstr(rec, "Oops") && !strstr(rec, "WARNING"),
		      "kernel log: %s", rec);
	}
	close(k->fd);
}

#endif /* KMOD_H */
