// SPDX-License-Identifier: MIT
/* Tries dune_escape(), then a getppid(): prints where it ran and what it got. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune.h"

int main(void)
{
	int ret = dune_escape();
	long r;

	errno = 0;
	r = syscall(SYS_getppid);
	printf("escape=%d inside=%d getppid=%ld errno=%d\n", ret, dune_is_inside(),
	       r < 0 ? r : 1, errno);
	return 0;
}
