/* SPDX-License-Identifier: MIT */
/*
 * Threads inside dune, as natively: every pthread runs inside dune with its
 * own thread id and its own __thread variables (CLONE_SETTLS), pthread_join
 * returns the thread's value (CLONE_CHILD_CLEARTID), 64 threads doing 1,000
 * system calls each share a mutex, hand a token round with condition
 * variables and meet at barriers, and a thread blocked in read() does not
 * hold up the others.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include "check.h"

#define NTHREADS	64
#define NCALLS		1000	/* system calls per thread */
#define ROUNDS		20	/* token rounds through all threads */
#define BARRIERS	10
#define TLS_INIT	12345L
#define JOIN_TIMEOUT	60	/* seconds: a lost wake-up fails, not hangs */

static __thread long tls_value = TLS_INIT;

struct worker {
	int idx;
	int inside;
	pid_t tid;
	int wrong_tid;		/* gettid() answers that were not ours */
	int tls_ok;
	long *tls_addr;
};

static struct worker workers[NTHREADS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cv[NTHREADS];
static pthread_barrier_t barrier;
static long counter;		/* under lock */
static int turn;		/* under lock: whose go it is */
static int ring_order_bad;	/* under lock */
static int arrived[BARRIERS];	/* atomic */
static int barrier_bad;		/* atomic */

static pid_t sys_gettid(void)
{
	return syscall(SYS_gettid);
}

#define join(t, what) join_within(t, what, JOIN_TIMEOUT)

/* Wait for the token, pass it to the next thread. */
static void pass_token(struct worker *w, int round)
{
	int mine = round * NTHREADS + w->idx;

	pthread_mutex_lock(&lock);
	while (turn < mine)
		pthread_cond_wait(&turn_cv[w->idx], &lock);
	ring_order_bad += turn != mine;
	turn++;
	pthread_cond_signal(&turn_cv[(w->idx + 1) % NTHREADS]);
	pthread_mutex_unlock(&lock);
}

static void meet(int i)
{
	__atomic_fetch_add(&arrived[i], 1, __ATOMIC_SEQ_CST);
	pthread_barrier_wait(&barrier);
	/* all have arrived, none has left for the next barrier */
	if (__atomic_load_n(&arrived[i], __ATOMIC_SEQ_CST) != NTHREADS)
		__atomic_fetch_add(&barrier_bad, 1, __ATOMIC_SEQ_CST);
	pthread_barrier_wait(&barrier);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	int i;

	w->inside = dune_is_inside();
	w->tid = sys_gettid();
	w->tls_ok = tls_value == TLS_INIT;	/* a fresh copy of the init image */
	tls_value = w->idx;
	w->tls_addr = &tls_value;
	for (i = 0; i < NCALLS; i++) {
		if (sys_gettid() != w->tid)
			w->wrong_tid++;
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		if (i % (NCALLS / ROUNDS) == 0)
			pass_token(w, i / (NCALLS / ROUNDS));
	}
	for (i = 0; i < BARRIERS; i++)
		meet(i);
	w->tls_ok &= tls_value == w->idx;	/* nobody else wrote ours */
	return (void *)(intptr_t)(w->idx + 1);
}

static void check_worker(const struct worker *w, pid_t main_tid)
{
	int i;

	CHECK(w->inside == 1, "thread %d: dune_is_inside() = %d", w->idx,
	      w->inside);
	CHECK(w->tid > 0 && w->tid != main_tid && w->wrong_tid == 0,
	      "thread %d: tid %d, %d wrong gettid() answers", w->idx, w->tid,
	      w->wrong_tid);
	CHECK(w->tls_ok, "thread %d: __thread variable not its own", w->idx);
	for (i = 0; i < w->idx; i++)
		CHECK(workers[i].tid != w->tid && workers[i].tls_addr != w->tls_addr,
		      "threads %d and %d share tid %d or TLS %p", i, w->idx,
		      w->tid, (void *)w->tls_addr);
}

static void check_many_threads(void)
{
	pthread_t t[NTHREADS];
	pid_t main_tid = sys_gettid();
	int i, ret, started = 0;

	for (i = 0; i < NTHREADS; i++)
		pthread_cond_init(&turn_cv[i], NULL);
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	tls_value = -1;
	for (i = 0; i < NTHREADS; i++) {
		workers[i].idx = i;
		ret = pthread_create(&t[i], NULL, worker_fn, &workers[i]);
		CHECK(ret == 0, "pthread_create #%d: %s", i, strerror(ret));
		if (ret)
			break;
		started++;
	}
	if (started < NTHREADS) {
		/* the others would wait for the token forever */
		exit(finish());
	}
	for (i = 0; i < NTHREADS; i++) {
		void *ret_val = join(t[i], "a worker");

		CHECK(ret_val == (void *)(intptr_t)(i + 1),
		      "thread %d returned %p", i, ret_val);
		check_worker(&workers[i], main_tid);
	}
	CHECK(counter == (long)NTHREADS * NCALLS, "counter %ld, expected %ld",
	      counter, (long)NTHREADS * NCALLS);
	CHECK(turn == NTHREADS * ROUNDS && ring_order_bad == 0,
	      "token turn %d (expected %d), %d out of order", turn,
	      NTHREADS * ROUNDS, ring_order_bad);
	CHECK(barrier_bad == 0, "%d threads left a barrier early", barrier_bad);
	CHECK(tls_value == -1, "main's __thread variable became %ld", tls_value);
	CHECK(sys_gettid() == main_tid && dune_is_inside() == 1,
	      "main thread changed: tid %d", sys_gettid());
	pthread_barrier_destroy(&barrier);
}

struct blocked {
	int fd;
	int started;		/* atomic */
	int done;		/* atomic */
	char got;
};

static void *reader_fn(void *arg)
{
	struct blocked *b = arg;

	__atomic_store_n(&b->started, 1, __ATOMIC_SEQ_CST);
	if (read(b->fd, &b->got, 1) != 1)
		b->got = '?';
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *busy_fn(void *arg)
{
	long i;

	(void)arg;
	for (i = 0; i < 200; i++)
		if (getppid() <= 0)
			break;
	return (void *)i;
}

/* Others go on while a thread sits in read() on an empty pipe. */
static void check_blocked_syscall(void)
{
	const struct timespec ms50 = { 0, 50 * 1000 * 1000 };
	struct blocked b = { -1, 0, 0, 0 };
	pthread_t reader, busy;
	int p[2], i;

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	b.fd = p[0];
	if (pthread_create(&reader, NULL, reader_fn, &b)) {
		CHECK(0, "pthread_create reader failed");
		return;
	}
	while (!__atomic_load_n(&b.started, __ATOMIC_SEQ_CST))
		sched_yield();
	nanosleep(&ms50, NULL);		/* now it is in read() */

	CHECK(pthread_create(&busy, NULL, busy_fn, NULL) == 0,
	      "pthread_create busy");
	CHECK(join(busy, "a thread busy while another is blocked") ==
	      (void *)200L, "busy thread did not make its 200 calls");
	for (i = 0; i < 200; i++)
		getppid();	/* and so does the main thread */
	CHECK(!__atomic_load_n(&b.done, __ATOMIC_SEQ_CST),
	      "read() on an empty pipe returned");

	CHECK(write(p[1], "!", 1) == 1, "write: %s", strerror(errno));
	join(reader, "the reader after the write");
	CHECK(b.got == '!', "reader got '%c'", b.got);
	close(p[0]);
	close(p[1]);
}

static void *slow_fn(void *arg)
{
	const struct timespec ms100 = { 0, 100 * 1000 * 1000 };

	nanosleep(&ms100, NULL);
	return arg;
}

/* pthread_join waits for a thread that is still running (CLEARTID futex). */
static void check_join_waits(void)
{
	pthread_t t;
	void *ret = NULL;

	if (pthread_create(&t, NULL, slow_fn, (void *)0x5eed)) {
		CHECK(0, "pthread_create failed");
		return;
	}
	ret = join(t, "a sleeping thread");
	CHECK(ret == (void *)0x5eed, "join returned %p, expected 0x5eed", ret);
}

int main(void)
{
	enter_dune();
	check_join_waits();
	check_blocked_syscall();
	check_many_threads();
	CHECK(dune_is_inside() == 1, "main thread not inside at the end");
	return finish();
}
