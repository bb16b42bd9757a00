/* SPDX-License-Identifier: MIT */
/*
 * New processes from inside dune: fork() gives a child with its own copy of
 * the memory, vfork() and posix_spawn() run programs, and the parent goes
 * on inside dune.  posix_spawn() reports a failed exec as it does natively.
 */
#include <spawn.h>

#include "check.h"

extern char **environ;

static int shared_value = 1;

static void check_fork(pid_t parent)
{
	int p[2], status = 0;
	char line[128] = "";
	ssize_t n;
	pid_t pid;

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* the child: its own memory, its own pid, the same files */
		shared_value = 2;
		dprintf(p[1], "pid-ok=%d ppid-ok=%d inside=%d",
			getpid() != parent, getppid() == parent,
			dune_is_inside());
		_exit(5);
	}
	CHECK(pid > 0, "fork: %s", strerror(errno));
	close(p[1]);
	n = read(p[0], line, sizeof(line) - 1);
	close(p[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 5, "fork child: %s", status_str(status));
	CHECK(n > 0 && !strncmp(line, "pid-ok=1 ppid-ok=1", 18),
	      "fork child said \"%s\"", line);
	printf("# fork child: %s\n", line);
	CHECK(shared_value == 1, "child's store reached the parent");
	CHECK(dune_is_inside() == 1 && getpid() == parent,
	      "parent not inside after fork");
}

static void check_vfork(void)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = vfork();
	if (pid == 0)
		_exit(3);
	CHECK(pid > 0, "vfork: %s", strerror(errno));
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 3, "vfork child: %s", status_str(status));
}

static void check_posix_spawn(void)
{
	char *argv[] = { "./ret42", NULL };
	char *bad_argv[] = { "/nonexistent/program", NULL };
	int status = 0, ret;
	pid_t pid = 0;

	ret = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
	CHECK(ret == 0, "posix_spawn %s: %s", argv[0], strerror(ret));
	CHECK(ret || (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 42),
	      "spawned ret42: %s", status_str(status));

	/* natively glibc hands the child's exec error back to the parent */
	ret = posix_spawn(&pid, bad_argv[0], NULL, NULL, bad_argv, environ);
	CHECK(ret == ENOENT, "posix_spawn of a missing program gave %d (%s), "
	      "expected ENOENT", ret, strerror(ret));
	if (ret == 0)
		waitpid(pid, NULL, 0);
}

int main(void)
{
	pid_t pid = getpid();

	enter_dune();
	check_fork(pid);
	check_vfork();
	check_posix_spawn();
	CHECK(dune_is_inside() == 1 && getpid() == pid,
	      "not inside after making children");
	return finish();
}
