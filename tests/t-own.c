// SPDX-License-Identifier: MIT
/*
 * dune's own memory does not exist for the program: unmapping it succeeds
 * (natively there is nothing there), mprotect fails with ENOMEM as on a hole,
 * and dune keeps working afterwards.
 */
#include <fcntl.h>

#include "own.h"

int main(void)
{
	static struct range before[MAX_RANGES], after[MAX_RANGES], own[MAX_RANGES];
	int nb, na, n;

	nb = read_maps(before);
	enter_dune();
	na = read_maps(after);
	n = new_ranges(before, nb, after, na, own);
	CHECK(n > 0, "entering mapped nothing new?");
	printf("# dune owns %d new range(s)\n", n);
	for (int i = 0; i < n; i++) {
		size_t len = own[i].end - own[i].start;

		errno = 0;
		CHECK(mprotect((void *)own[i].start, len, PROT_READ) == -1 && errno == ENOMEM,
		      "mprotect of dune's %#lx+%#zx: errno %d", (unsigned long)own[i].start, len, errno);
		CHECK(munmap((void *)own[i].start, len) == 0,
		      "munmap of dune's %#lx+%#zx: %s", (unsigned long)own[i].start, len, strerror(errno));
		check_still_works("after munmap of dune's memory");
	}
	/* one munmap over a page of the program's right below dune's memory, and dune's */
	if (n) {
		char *mine = mmap((void *)(own[0].start - 4096), 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (mine != MAP_FAILED) {
			CHECK(munmap(mine, own[0].end - (uintptr_t)mine) == 0, "wide munmap: %s",
			      strerror(errno));
			check_still_works("after a munmap spanning dune's memory");
		}
	}
	return finish();
}
