/* SPDX-License-Identifier: MIT */
/*
 * exec from inside dune, in every way a process can get there: execve and
 * execveat (relative to a directory fd, and of an fd with AT_EMPTY_PATH),
 * from a fork child (a VM of its own), from a thread and from the main
 * thread of a process with other threads (several vCPUs), from vfork and
 * posix_spawn children.  The new program runs natively and sees exactly
 * the descriptors it sees when started natively (helper ./showfds); its
 * arguments, environment and exit status arrive (helper ./ret42, which
 * enters dune itself).
 */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "check.h"

extern char **environ;

enum how { EXECVE, EXECVEAT_DIRFD, EXECVEAT_EMPTY_PATH, FORK_CHILD,
	   FROM_THREAD, MAIN_WITH_THREADS, VFORK_CHILD, POSIX_SPAWN, NHOW };

static const char *const how_name[NHOW] = {
	"execve", "execveat(dirfd, \"showfds\")",
	"execveat(fd, \"\", AT_EMPTY_PATH)", "execve in a fork child",
	"execve in a second thread", "execve in main with 3 other threads",
	"execve in a vfork child", "posix_spawn",
};

static char *showfds_argv[] = { "./showfds", NULL };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

/* Threads that sit in a futex wait until the exec ends them. */
static void *sleeper_fn(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return NULL;
}

static void *exec_fn(void *arg)
{
	(void)arg;
	execv(showfds_argv[0], showfds_argv);
	printf("execv from a thread: %s\n", strerror(errno));
	exit(1);
}

static int start_sleepers(int n)
{
	pthread_t t;

	while (n-- > 0)
		if (pthread_create(&t, NULL, sleeper_fn, NULL))
			return -1;
	return 0;
}

/* Wait for pid; return its exit status as ours. */
static int pass_on(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

static int run_showfds(enum how how)
{
	pthread_t t;
	pid_t pid;
	int fd;

	switch (how) {
	case EXECVEAT_DIRFD:
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		syscall(SYS_execveat, fd, "showfds", showfds_argv, environ, 0);
		break;
	case EXECVEAT_EMPTY_PATH:
		fd = open("./showfds", O_PATH | O_CLOEXEC);
		syscall(SYS_execveat, fd, "", showfds_argv, environ,
			AT_EMPTY_PATH);
		break;
	case FORK_CHILD:
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			break;
		return pass_on(pid);
	case FROM_THREAD:
		if (start_sleepers(2) || pthread_create(&t, NULL, exec_fn, NULL))
			return 4;
		pthread_join(t, NULL);	/* the exec ends us */
		return 5;
	case MAIN_WITH_THREADS:
		if (start_sleepers(3))
			return 4;
		break;
	case VFORK_CHILD:
		pid = vfork();
		if (pid == 0) {
			execv(showfds_argv[0], showfds_argv);
			_exit(127);
		}
		return pass_on(pid);
	case POSIX_SPAWN:
		if (posix_spawn(&pid, showfds_argv[0], NULL, NULL, showfds_argv,
				environ))
			return 6;
		return pass_on(pid);
	default:
		break;
	}
	execv(showfds_argv[0], showfds_argv);
	printf("%s from inside dune: %s\n", how_name[how], strerror(errno));
	return 1;
}

static int exec_child(void *arg)
{
	enter_dune();
	return run_showfds((enum how)(intptr_t)arg);
}

static void check_showfds(void)
{
	char native[4096], inside[4096];
	int status, how;

	status = run_helper(showfds_argv, native, sizeof(native));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	      strstr(native, "inside=0\n"),
	      "showfds natively: %s; output:\n%s", status_str(status), native);
	printf("# natively: %s", native);
	for (how = 0; how < NHOW; how++) {
		status = run_child(exec_child, (void *)(intptr_t)how, inside,
				   sizeof(inside));
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: %s; output:\n%s", how_name[how], status_str(status),
		      inside);
		CHECK(strcmp(native, inside) == 0,
		      "%s: showfds printed \"%s\", natively \"%s\"",
		      how_name[how], inside, native);
	}
}

/* Arguments and environment arrive; the new image can enter dune itself. */
static int exec_ret42_child(void *arg)
{
	char *argv[] = { "./ret42", "args", "two words", NULL };

	(void)arg;
	enter_dune();
	setenv("DUNE_TEST_VAR", "set inside", 1);
	execv(argv[0], argv);
	printf("execv: %s\n", strerror(errno));
	return 1;
}

static int exec_status_child(void *arg)
{
	char *argv[] = { "./ret42", NULL };

	(void)arg;
	enter_dune();
	execv(argv[0], argv);
	return 1;
}

static void check_ret42(void)
{
	const char *want = "argc=3 [./ret42] [args] [two words] var=set inside\n";
	char out[4096];
	int status;

	status = run_child(exec_ret42_child, NULL, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !strcmp(out, want),
	      "ret42 args exec'ed from dune: %s, printed \"%s\", expected \"%s\"",
	      status_str(status), out, want);
	status = run_child(exec_status_child, NULL, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42,
	      "ret42 exec'ed from dune: %s, expected exit 42; output:\n%s",
	      status_str(status), out);
}

int main(void)
{
	check_showfds();
	check_ret42();
	return finish();
}
