/* SPDX-License-Identifier: MIT */
/*
 * Until dune runs several threads in one VM, a second thread is refused
 * cleanly: pthread_create, clone and clone3 with CLONE_VM (and without
 * CLONE_VFORK, see t-fork) fail with EAGAIN and the process goes on inside
 * dune as before.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "check.h"

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
		      CLONE_THREAD | CLONE_SYSVSEM)

static char child_stack[65536] __attribute__((aligned(16)));

/*
 * clone/clone3 in assembly: if the call wrongly succeeds, the child leaves
 * with exit(0) at once, before touching any memory.  Returns -errno or id.
 */
static long raw_clone(unsigned long flags)
{
	long ret = SYS_clone;

	asm volatile("xor %%r10d, %%r10d\n\t"
		     "xor %%r8d, %%r8d\n\t"
		     "syscall\n\t"
		     "test %%rax, %%rax\n\t"
		     "jnz 1f\n\t"
		     "mov $60, %%eax\n\t"	/* child: SYS_exit(0) */
		     "xor %%edi, %%edi\n\t"
		     "syscall\n\t"
		     "1:"
		     : "+a"(ret)
		     : "D"(flags), "S"(child_stack + sizeof(child_stack)),
		       "d"(0)
		     : "rcx", "r8", "r10", "r11", "memory");
	return ret;
}

static long raw_clone3(struct clone_args *args)
{
	long ret = SYS_clone3;

	asm volatile("syscall\n\t"
		     "test %%rax, %%rax\n\t"
		     "jnz 1f\n\t"
		     "mov $60, %%eax\n\t"
		     "xor %%edi, %%edi\n\t"
		     "syscall\n\t"
		     "1:"
		     : "+a"(ret)
		     : "D"(args), "S"(sizeof(*args))
		     : "rcx", "r11", "memory");
	return ret;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static void check_pthread_create(void)
{
	pthread_t t;
	int i, ret;

	for (i = 0; i < 3; i++) {
		ret = pthread_create(&t, NULL, thread_fn, NULL);
		CHECK(ret == EAGAIN, "pthread_create #%d returned %d (%s), "
		      "expected EAGAIN", i, ret, strerror(ret));
		if (ret == 0)
			pthread_join(t, NULL);
	}
}

static void check_raw_clones(void)
{
	struct clone_args args;
	long ret;

	ret = raw_clone(THREAD_FLAGS);
	CHECK(ret == -EAGAIN, "clone(thread flags) = %ld, expected -EAGAIN", ret);

	/* a thread of its own kind: shared memory but not a thread group */
	ret = raw_clone(CLONE_VM | SIGCHLD);
	CHECK(ret == -EAGAIN, "clone(CLONE_VM) = %ld, expected -EAGAIN", ret);
	if (ret > 0)
		waitpid(ret, NULL, 0);

	memset(&args, 0, sizeof(args));
	args.flags = THREAD_FLAGS;
	args.stack = (uintptr_t)child_stack;
	args.stack_size = sizeof(child_stack);
	ret = raw_clone3(&args);
	CHECK(ret == -EAGAIN, "clone3(thread flags) = %ld, expected -EAGAIN",
	      ret);
}

/* After the refusals everything still works from inside. */
static void check_still_fine(pid_t pid)
{
	char path[] = "/tmp/dune-threads.XXXXXX", buf[8] = "";
	int fd;

	CHECK(dune_is_inside() == 1, "not inside after refused clones");
	CHECK(getpid() == pid, "getpid() = %d, expected %d", getpid(), pid);
	CHECK(printf("# still printing after refused threads\n") > 0,
	      "printf failed");
	fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (fd < 0)
		return;
	CHECK(write(fd, "after", 5) == 5, "write: %s", strerror(errno));
	CHECK(pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "after", 5),
	      "read back \"%s\"", buf);
	close(fd);
	unlink(path);
}

int main(void)
{
	pid_t pid = getpid();

	enter_dune();
	CHECK(dune_is_inside() == 1, "not inside after entering");
	check_pthread_create();
	check_raw_clones();
	check_still_fine(pid);
	return finish();
}
