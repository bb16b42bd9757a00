// SPDX-License-Identifier: MIT
/*
 * A dune process for t-kmod-stat, which compares dune-stat with what the
 * process itself reads with dune_get_stats():
 *   kmod-counters hold FILE N   N getpids inside dune, then the counters as
 *                               "ready PID SERVED DECLINED..." into FILE's
 *                               shared mapping (a store, not a syscall the
 *                               module would count), then pause() forever
 *   kmod-counters run N         N getpids; prints "served S", each
 *                               "declined[i] D" the N calls added and
 *                               "wrong W", how many did not give our pid
 *   kmod-counters nobody PROG ARGS...   exec PROG as uid/gid 65534
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "check.h"

/* n getpids: how many gave another pid than pid */
static long getpids(long n, pid_t pid)
{
	long wrong = 0;

	for (long i = 0; i < n; i++)
		wrong += syscall(SYS_getpid) != pid;
	return wrong;
}

static int hold(const char *path, long n)
{
	struct dune_stats s = { .size = sizeof(s) };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t pid = getpid();
	char *map, *line;
	int len;

	if (fd < 0 || ftruncate(fd, 4096))
		return 2;
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 2;
	map[0] = '\n';	/* mapped now, not on a fault after the counters */
	enter_dune();
	(void)getpids(n, pid);	/* t-kmod-stat compares the counters only */
	dune_get_stats(&s);
	line = map + 6;
	len = snprintf(line, 256, "%d %llu", pid, (unsigned long long)s.kernel_syscalls);
	for (int i = 0; i < DUNE_KERNEL_DECLINE_KINDS; i++)
		len += snprintf(line + len, 256 - len, " %llu",
				(unsigned long long)s.kernel_declined[i]);
	line[len] = '\n';
	barrier();
	memcpy(map, "ready ", 6);	/* ... then the line is complete */
	for (;;)
		pause();
}

static int run(long n)
{
	struct dune_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	pid_t pid = getpid();
	long wrong;

	enter_dune();
	dune_get_stats(&a);
	wrong = getpids(n, pid);
	dune_get_stats(&b);
	printf("served %llu\n", (unsigned long long)(b.kernel_syscalls - a.kernel_syscalls));
	for (int i = 0; i < DUNE_KERNEL_DECLINE_KINDS; i++)
		printf("declined[%d] %llu\n", i,
		       (unsigned long long)(b.kernel_declined[i] - a.kernel_declined[i]));
	printf("wrong %ld\n", wrong);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "run"))
		return run(atol(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "nobody")) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			return 2;
		execv(argv[2], argv + 2);
		return 127;
	}
	fprintf(stderr, "usage: kmod-counters hold FILE N | run N | nobody PROG ARGS...\n");
	return 2;
}
