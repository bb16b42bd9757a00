/* SPDX-License-Identifier: MIT */
/*
 * How threads inside dune end.  pthread_exit() and a raw SYS_exit end one
 * thread while the others keep running, and the VM stays usable (memory,
 * files, new threads).  exit(), _exit() or a return from main in any thread
 * end the whole process with that status, a fault in a thread kills it with
 * the signal, and a thread that dies holding a robust mutex hands
 * EOWNERDEAD to the next locker (a fork child holding a process-shared one,
 * likewise).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "check.h"

#define NBUSY		4
#define JOIN_TIMEOUT	60

struct busy {
	int stop;		/* atomic */
	long calls;		/* atomic */
	int not_inside;
};

#define join(t, what) join_within(t, what, JOIN_TIMEOUT)

/* pthread_create or give up: nothing after this could be checked. */
static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, fn, arg);

	if (err) {
		CHECK(0, "pthread_create: %s", strerror(err));
		exit(finish());
	}
	return t;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* System calls in a loop until told to stop. */
static void *busy_fn(void *arg)
{
	struct busy *b = arg;

	b->not_inside = dune_is_inside() != 1;
	while (!__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST)) {
		if (getppid() > 0)
			__atomic_fetch_add(&b->calls, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static int start_busy(pthread_t *t, struct busy *b)
{
	int i, ret;

	for (i = 0; i < NBUSY; i++) {
		ret = pthread_create(&t[i], NULL, busy_fn, b);
		if (ret)
			return ret;
	}
	return 0;
}

/* The busy threads still make system calls. */
static long calls_in(struct busy *b, long ms)
{
	long before = __atomic_load_n(&b->calls, __ATOMIC_SEQ_CST);

	sleep_ms(ms);
	return __atomic_load_n(&b->calls, __ATOMIC_SEQ_CST) - before;
}

static volatile int do_exit = 1;	/* the compiler must not see through */

static __attribute__((noinline)) int leave_deep(int depth)
{
	if (depth == 0) {
		if (do_exit)
			pthread_exit((void *)0xdead);
		return 0;
	}
	return leave_deep(depth - 1) + getppid();	/* not a tail call */
}

static void *pthread_exit_fn(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)leave_deep(5);
}

static void *raw_exit_fn(void *arg)
{
	int *reached = arg;

	*reached = dune_is_inside();
	syscall(SYS_exit, 0);	/* ends this thread only, bypassing glibc */
	*reached = -1;
	return NULL;
}

static void *inside_fn(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)dune_is_inside();
}

/* After threads ended: memory, files and new threads still work. */
static void check_vm_usable(const char *after)
{
	char buf[4] = "", *mem;
	int p[2], i;

	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED, "%s: mmap: %s", after, strerror(errno));
	if (mem != MAP_FAILED) {
		for (i = 0; i < 256; i++)
			mem[i << 12] = (char)i;
		for (i = 0; i < 256 && mem[i << 12] == (char)i; i++)
			;
		CHECK(i == 256, "%s: new memory wrong at page %d", after, i);
		munmap(mem, 1 << 20);
	}
	CHECK(pipe(p) == 0 && write(p[1], "ok", 2) == 2 &&
	      read(p[0], buf, 2) == 2 && !memcmp(buf, "ok", 2),
	      "%s: pipe round trip failed", after);
	close(p[0]);
	close(p[1]);
	for (i = 0; i < 8; i++)
		CHECK(join(start(inside_fn, NULL), "a new thread") == (void *)1,
		      "%s: new thread not inside", after);
}

static void check_one_thread_exits(void)
{
	struct busy b = { 0, 0, 0 };
	pthread_t busy[NBUSY], t;
	int reached = 0, ret;

	ret = start_busy(busy, &b);
	CHECK(ret == 0, "pthread_create: %s", strerror(ret));
	if (ret)
		exit(finish());
	CHECK(calls_in(&b, 50) > 0, "busy threads make no progress");

	t = start(pthread_exit_fn, NULL);
	CHECK(join(t, "a thread after pthread_exit") == (void *)0xdead,
	      "pthread_exit value lost");
	CHECK(calls_in(&b, 50) > 0, "others stopped after a pthread_exit");

	t = start(raw_exit_fn, &reached);
	join(t, "a thread after SYS_exit");	/* the kernel clears its tid */
	CHECK(reached == 1, "raw SYS_exit thread: %d (1: inside, then gone)",
	      reached);
	CHECK(calls_in(&b, 50) > 0, "others stopped after a raw SYS_exit");

	check_vm_usable("after threads exited");
	CHECK(calls_in(&b, 50) > 0, "busy threads stopped");
	__atomic_store_n(&b.stop, 1, __ATOMIC_SEQ_CST);
	for (ret = 0; ret < NBUSY; ret++)
		join(busy[ret], "a busy thread");
	CHECK(!b.not_inside, "a busy thread was not inside");
	check_vm_usable("after all threads exited");
}

enum ending { EXIT_IN_THREAD, UNDERSCORE_EXIT_IN_THREAD, RETURN_FROM_MAIN,
	      FAULT_IN_THREAD, NENDINGS };

static const char *const ending_name[] = {
	"exit(7) in a thread", "_exit(9) in a thread",
	"return 3 from main", "a fault in a thread",
};

static int *volatile unmapped = (int *)16;

static void *ender_fn(void *arg)
{
	enum ending how = (enum ending)(intptr_t)arg;

	sleep_ms(20);	/* the others are busy or blocked by now */
	if (how == EXIT_IN_THREAD)
		exit(7);
	if (how == UNDERSCORE_EXIT_IN_THREAD)
		_exit(9);
	*unmapped = 1;
	return NULL;
}

/* In a child: busy threads, main blocked in read(), then `how`. */
static int ending_child(void *arg)
{
	enum ending how = (enum ending)(intptr_t)arg;
	static struct busy b;
	pthread_t busy[NBUSY], t;
	char c;
	int p[2];

	enter_dune();
	if (pipe(p) < 0 || start_busy(busy, &b) != 0)
		return 100;
	if (how == RETURN_FROM_MAIN) {
		sleep_ms(20);
		return 3;
	}
	if (pthread_create(&t, NULL, ender_fn, (void *)(intptr_t)how))
		return 101;
	if (read(p[0], &c, 1) < 0)	/* nobody writes */
		return 102;
	return 103;
}

static void check_process_endings(void)
{
	static const int expect[NENDINGS] = { 7, 9, 3, SIGSEGV };
	char out[4096];
	int how, status, ok;

	for (how = 0; how < NENDINGS; how++) {
		status = run_child(ending_child, (void *)(intptr_t)how, out,
				   sizeof(out));
		if (how == FAULT_IN_THREAD)
			ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
		else
			ok = WIFEXITED(status) &&
			     WEXITSTATUS(status) == expect[how];
		/* the ending itself, not dune giving up first (issue 9) */
		ok &= !strstr(out, "continuing natively");
		CHECK(ok, "%s: %s; output:\n%s", ending_name[how],
		      status_str(status), out);
	}
}

static pthread_mutex_t robust;

struct owner {
	long hold_ms;
	int raw_exit;		/* end with SYS_exit: the kernel cleans up */
	int locked;		/* atomic */
};

static void *die_holding(void *arg)
{
	struct owner *o = arg;

	if (pthread_mutex_lock(&robust) != 0)
		return (void *)1;
	__atomic_store_n(&o->locked, 1, __ATOMIC_SEQ_CST);
	sleep_ms(o->hold_ms);
	if (o->raw_exit)
		syscall(SYS_exit, 0);
	return NULL;	/* ends without unlocking */
}

/* Lock, but give up after a while: a lost owner-died would hang us. */
static int lock_or_time_out(pthread_mutex_t *m)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	return pthread_mutex_timedlock(m, &deadline);
}

static void lock_after_owner_died(const char *when)
{
	int ret = lock_or_time_out(&robust);

	CHECK(ret == EOWNERDEAD, "robust mutex %s: %d (%s), expected EOWNERDEAD",
	      when, ret, strerror(ret));
	if (ret == ETIMEDOUT)
		exit(finish());		/* its owner is gone for good */
	if (ret == EOWNERDEAD)
		CHECK(pthread_mutex_consistent(&robust) == 0, "consistent");
	pthread_mutex_unlock(&robust);
	CHECK(lock_or_time_out(&robust) == 0, "relock after recovery");
	pthread_mutex_unlock(&robust);
}

static void init_robust(pthread_mutex_t *m, int pshared)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&attr, pshared);
	CHECK(pthread_mutex_init(m, &attr) == 0, "pthread_mutex_init");
	pthread_mutexattr_destroy(&attr);
}

/* An owner thread dies holding the mutex; we lock it after or during. */
static void robust_round(long hold_ms, int raw_exit, int wait_first,
			 const char *when)
{
	struct owner o = { hold_ms, raw_exit, 0 };
	pthread_t t = start(die_holding, &o);

	if (!wait_first)
		join(t, "the robust owner");
	while (!__atomic_load_n(&o.locked, __ATOMIC_SEQ_CST))
		sched_yield();
	lock_after_owner_died(when);
	if (wait_first)
		join(t, "the robust owner");
}

static void check_robust_threads(void)
{
	init_robust(&robust, PTHREAD_PROCESS_PRIVATE);
	robust_round(0, 0, 0, "after its owner thread returned");
	robust_round(0, 1, 0, "after its owner thread did SYS_exit");
	/* we are already waiting when the owner dies: the kernel wakes us */
	robust_round(100, 1, 1, "whose owner did SYS_exit while we waited");
	pthread_mutex_destroy(&robust);
}

static void check_robust_process(void)
{
	pthread_mutex_t *m;
	int status, ret;
	pid_t pid;

	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	if (m == MAP_FAILED)
		return;
	init_robust(m, PTHREAD_PROCESS_SHARED);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(pthread_mutex_lock(m) == 0 && dune_is_inside() == 1 ? 0 : 1);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "locking child: %s", status_str(status));
	ret = lock_or_time_out(m);
	CHECK(ret == EOWNERDEAD, "shared robust mutex after its owner process "
	      "exited: %d (%s), expected EOWNERDEAD", ret, strerror(ret));
	if (ret == EOWNERDEAD)
		pthread_mutex_consistent(m);
	if (ret == 0 || ret == EOWNERDEAD)
		pthread_mutex_unlock(m);
	munmap(m, sizeof(*m));
}

int main(void)
{
	check_process_endings();
	enter_dune();
	check_one_thread_exits();
	check_robust_threads();
	check_robust_process();
	CHECK(dune_is_inside() == 1, "not inside at the end");
	return finish();
}
