// SPDX-License-Identifier: MIT
/*
 * A statically linked program for dune-run's tests: does it, a thread of it
 * and a signal handler of it run inside dune?  "inside ... exec PROGRAM ARGS"
 * then execs PROGRAM.  Exits 3 (so a pass-through status is visible).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune.h"

static volatile int handler_inside;

static int inside(void)
{
	return syscall(DUNE_SYSCALL_NR, DUNE_OP_IS_INSIDE) == 1;
}

static void *thread_main(void *arg)
{
	(void)arg;
	return (void *)(long)inside();
}

static void on_usr1(int sig)
{
	(void)sig;
	handler_inside = inside();
}

int main(int argc, char **argv)
{
	pthread_t t;
	void *thread_inside = NULL;

	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, &thread_inside))
		return 2;
	printf("inside=%d thread=%ld signal=%d argc=%d argv0=%s\n", inside(),
	       (long)thread_inside, handler_inside, argc, argc ? argv[0] : "");
	fflush(stdout);
	if (argc > 2 && !strcmp(argv[1], "exec")) {
		execv(argv[2], argv + 2);
		return 4;
	}
	return 3;
}
