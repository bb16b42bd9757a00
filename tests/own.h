/* SPDX-License-Identifier: MIT */
/*
 * What dune owns in a test's process: the ranges entering mapped (from
 * /proc/self/maps before and after) and its fds (from /proc/self/fd), and a
 * check that dune still works after the program tried to reach them.
 */
#ifndef OWN_H
#define OWN_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

#define MAX_RANGES 512

struct range {
	uintptr_t start, end;
};

static char maps_buf[1 << 17] __attribute__((unused));

static inline int read_maps(struct range *r)
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

static inline int covered(const struct range *r, int n, uintptr_t addr)
{
	for (int i = 0; i < n; i++)
		if (addr >= r[i].start && addr < r[i].end)
			return 1;
	return 0;
}

/* Pages mapped now that were not mapped before entering: dune's. */
static inline int new_ranges(const struct range *before, int nb,
			     const struct range *after, int na, struct range *out)
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

static inline void check_still_works(const char *when)
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

/* The first fd whose /proc/self/fd link contains what (e.g. "kvm-vcpu"), or -1. */
static inline int find_fd_named(const char *what)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	while (d && found < 0 && (de = readdir(d))) {
		char path[300], link[128] = "";

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		if (readlink(path, link, sizeof(link) - 1) > 0 && strstr(link, what))
			found = atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

#endif /* OWN_H */
