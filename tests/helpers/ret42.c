/* SPDX-License-Identifier: MIT */
/*
 * Helper of t-exit: enters dune, then ends in the way argv[1] says.
 *   (none)	return 42 from main
 *   exit7	exit(7) from a nested function
 *   _exit9	_exit(9) with unflushed stdio (which must be lost)
 *   atexit	printf without newline, an atexit handler, return 3
 *   args A..	print argc, argv and $DUNE_TEST_VAR, return 0
 */
#include "check.h"

static volatile int do_exit = 1;	/* the compiler must not see through */

static __attribute__((noinline)) int leave_deep(int depth)
{
	if (depth == 0) {
		if (do_exit)
			exit(7);
		return 0;
	}
	return leave_deep(depth - 1) + depth;	/* not a tail call */
}

static void at_exit_handler(void)
{
	printf("atexit ran\n");
}

int main(int argc, char **argv)
{
	const char *var;
	int i;

	enter_dune();
	if (argc < 2)
		return 42;
	if (!strcmp(argv[1], "exit7")) {
		printf("exit() returned %d\n", leave_deep(10));
	} else if (!strcmp(argv[1], "_exit9")) {
		printf("lost");
		_exit(9);
	} else if (!strcmp(argv[1], "atexit")) {
		atexit(at_exit_handler);
		printf("buffered ");
		return 3;
	} else if (!strcmp(argv[1], "args")) {
		var = getenv("DUNE_TEST_VAR");
		printf("argc=%d", argc);
		for (i = 0; i < argc; i++)
			printf(" [%s]", argv[i]);
		printf(" var=%s\n", var ? var : "(unset)");
		return 0;
	}
	return 100;	/* unknown mode */
}
