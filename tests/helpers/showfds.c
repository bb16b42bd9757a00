/* SPDX-License-Identifier: MIT */
/*
 * Helper of t-exit: runs natively and prints its open descriptors and
 * whether it is inside dune, e.g. "fds: 0 1 2 inside=0".  Exec'ed from
 * inside dune it shows what dune left behind in the new program.
 */
#include <dirent.h>

#include "check.h"

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;
	int fds[256], n = 0, i;

	if (!dir)
		return 2;
	while ((d = readdir(dir)) != NULL && n < 256)
		if (d->d_name[0] != '.' && atoi(d->d_name) != dirfd(dir))
			fds[n++] = atoi(d->d_name);
	closedir(dir);
	qsort(fds, n, sizeof(fds[0]), cmp_int);
	printf("fds:");
	for (i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf(" inside=%d\n", dune_is_inside());
	return 0;
}
