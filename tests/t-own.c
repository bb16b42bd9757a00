// SPDX-License-Identifier: MIT
/*
 * dune's own memory does not exist for the program: unmapping it succeeds
 * (natively there is nothing there), mprotect fails with ENOMEM as on a hole,
 * and dune keeps working afterwards.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

#define MAX_RANGES 512

struct range {
	uintptr_t start, end;
};

static char maps_buf[1 << 17];

static int read_maps(struct range *r)
{
	int fd = open("/proc/self/maps", O_RDONLY), n = 0;
	size_t len = fd < 0 ? 0 : read_all(fd, maps_buf, sizeof(maps_buf));
	char *line = maps_buf;

	if (fd >= 0)
		close(fd);
	maps_buf[len] = '\0';
	while (*line && n < MAX_RANGES) {
		char *nl = strchr(line, '\n');

		r[n].start = strtoul(line, &line, 16);
		r[n].end = strtoul(line + 1, NULL, 16);
		n++;
		if (!nl)
			break;
		line = nl + 1;
	}
	return n;
}

static int covered(const struct range *r, int n, uintptr_t addr)
{
	for (int i = 0; i < n; i++)
		if (addr >= r[i].start && addr < r[i].end)
			return 1;
	return 0;
}

/* Pages mapped now that were not mapped before entering: dune's. */
static int new_ranges(const struct range *before, int nb, const struct range *after,
		      int na, struct range *out)
{
	int n = 0;

	for (int i = 0; i < na && n < MAX_RANGES; i++)
		for (uintptr_t a = after[i].start; a < after[i].end; a += 4096) {
			if (covered(before, nb, a))
				continue;
			if (n && out[n - 1].end == a)
				out[n - 1].end += 4096;
			else if (n < MAX_RANGES)
				out[n++] = (struct range){ a, a + 4096 };
		}
	return n;
}

static void check_still_works(const char *when)
{
	size_t len = 8 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q = malloc(1 << 20);

	CHECK(getpid() > 0 && dune_is_inside(), "%s: dune stopped working", when);
	CHECK(p != MAP_FAILED, "%s: mmap: %s", when, strerror(errno));
	if (p != MAP_FAILED) {
		memset(p, 0x5a, len);
		CHECK(p[len - 1] == 0x5a, "%s: fresh mapping not usable", when);
		munmap(p, len);
	}
	CHECK(q != NULL, "%s: malloc failed", when);
	free(q);
}

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
