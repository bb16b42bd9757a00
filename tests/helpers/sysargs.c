/* SPDX-License-Identifier: MIT */
/*
 * Helper of t-policy: makes the system calls its arguments name, with the
 * arguments given, and prints each result, for rules with conditions on the
 * arguments (run under dune-run, it enters dune through the preload).
 *   sysargs NAME[:ARG...]...	ARG: a number (strtoull, any base)
 * prints "NAME:ARG...=RESULT" per call, RESULT the return value or -errno
 * (a clone child goes on with the next call too); then waits for children.
 * NAME "enter" is dune_enter(), which inside dune nests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dune.h"

static const struct { const char *name; long nr; } calls[] = {
	{ "personality", SYS_personality },
	{ "socket", SYS_socket },
	{ "getppid", SYS_getppid },
	{ "clone", SYS_clone },
	{ "rt_sigaction", SYS_rt_sigaction },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);	/* a clone child must not print its parent's lines */
	for (int i = 1; i < argc; i++) {
		unsigned long a[6] = { 0 };
		char *p = strchr(argv[i], ':');
		size_t len = p ? (size_t)(p - argv[i]) : strlen(argv[i]);
		long nr = -1, r;

		if (!strcmp(argv[i], "enter")) {
			printf("enter=%d\n", dune_enter());
			continue;
		}
		for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++)
			if (strlen(calls[c].name) == len && !strncmp(calls[c].name, argv[i], len))
				nr = calls[c].nr;
		if (nr < 0) {
			fprintf(stderr, "sysargs: unknown call %s\n", argv[i]);
			return 2;
		}
		for (int n = 0; p && *p == ':' && n < 6; n++)
			a[n] = strtoull(p + 1, &p, 0);
		r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		printf("%s=%ld\n", argv[i], r < 0 ? -errno : r);
	}
	while (wait(NULL) > 0)
		;
	return 0;
}
