// SPDX-License-Identifier: MIT
/* Prints what getppid() gives here (a seccomp filter may refuse it). */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune.h"

int main(void)
{
	long r;

	errno = 0;
	r = syscall(SYS_getppid);	/* glibc's getppid() never sets errno */
	printf("getppid=%ld errno=%d inside=%d\n", r < 0 ? r : 1, errno, dune_is_inside());
	return 0;
}
