/* SPDX-License-Identifier: MIT */
/*
 * Many threads inside dune.  More threads than KVM has vCPUs for one VM,
 * created and joined one after the other, all work (vCPUs are recycled).
 * Creating more threads that stay alive at once than KVM allows either
 * works or fails with EAGAIN from pthread_create, never anything worse;
 * all created threads run inside and are joined, and threads work again
 * afterwards.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "check.h"

#define SEQUENTIAL	2000	/* at least; more if KVM allows more vCPUs */
#define CONCURRENT	1100
#define MIN_CONCURRENT	64	/* t-threads runs this many at once */
#define STACK_SIZE	(64 << 10)
#define WAIT_TIMEOUT	120	/* seconds */

static pid_t main_tid;
static __thread int tls_fresh = 1;

/* KVM's vCPU limit for one VM, or 0 if /dev/kvm cannot say. */
static int kvm_max_vcpus(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int max;

	if (fd < 0)
		return 0;
	max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	close(fd);
	return max > 0 ? max : 0;
}

#define join(t) join_within(t, "a thread", WAIT_TIMEOUT)

/* Bit 0: inside; bit 1: a thread id of its own; bit 2: fresh TLS. */
static void *probe_fn(void *arg)
{
	intptr_t ret = dune_is_inside() == 1;

	(void)arg;
	ret |= (syscall(SYS_gettid) != main_tid) << 1;
	ret |= tls_fresh << 2;
	tls_fresh = 0;
	return (void *)ret;
}

static void check_sequential(int n)
{
	int i, ret, bad = 0;
	pthread_t t;
	void *res;

	for (i = 0; i < n; i++) {
		ret = pthread_create(&t, NULL, probe_fn, NULL);
		if (ret) {
			CHECK(0, "pthread_create #%d of %d in sequence: %s", i, n,
			      strerror(ret));
			return;
		}
		res = join(t);
		if (res != (void *)7 && bad++ == 0)
			CHECK(0, "thread #%d: %p (bits: inside, own tid, fresh "
			      "TLS)", i, res);
	}
	CHECK(bad == 0, "%d of %d threads went wrong", bad, n);
	printf("# %d threads created and joined in sequence\n", n);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static int arrived, inside, go;		/* under lock */

/* Report in, then stay alive until main says go. */
static void *waiter_fn(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	arrived++;
	inside += dune_is_inside() == 1;
	pthread_cond_signal(&arrived_cv);
	while (!go)
		pthread_cond_wait(&go_cv, &lock);
	pthread_mutex_unlock(&lock);
	return (void *)1;
}

/* Wait until all `created` threads have reported in. */
static void wait_arrivals(int created)
{
	struct timespec deadline;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_TIMEOUT;
	pthread_mutex_lock(&lock);
	while (arrived < created && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&arrived_cv, &lock, &deadline);
	CHECK(arrived == created, "%d of %d threads ran", arrived, created);
	CHECK(inside == arrived, "%d of %d threads inside", inside, arrived);
	if (arrived < created) {
		pthread_mutex_unlock(&lock);
		exit(finish());		/* joining would hang */
	}
	go = 1;
	pthread_cond_broadcast(&go_cv);
	pthread_mutex_unlock(&lock);
}

static int create_waiters(pthread_t *t, int n)
{
	pthread_attr_t attr;
	int i, ret = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);	/* keeps memory low */
	for (i = 0; i < n; i++) {
		ret = pthread_create(&t[i], &attr, waiter_fn, NULL);
		if (ret)
			break;
	}
	pthread_attr_destroy(&attr);
	CHECK(ret == 0 || ret == EAGAIN, "pthread_create #%d: %d (%s), "
	      "expected success or EAGAIN", i, ret, strerror(ret));
	printf("# %d of %d threads alive at once%s\n", i, n,
	       ret == EAGAIN ? ", then EAGAIN" : "");
	return i;
}

static void check_concurrent(int n)
{
	pthread_t *t = calloc(n, sizeof(*t));
	int created, i, bad = 0;

	CHECK(t != NULL, "calloc");
	if (!t)
		return;
	created = create_waiters(t, n);
	CHECK(created >= MIN_CONCURRENT, "only %d threads at once", created);
	wait_arrivals(created);
	for (i = 0; i < created; i++)
		bad += join(t[i]) != (void *)1;
	CHECK(bad == 0, "%d threads returned wrong values", bad);
	free(t);
}

int main(void)
{
	int max = kvm_max_vcpus();
	int seq = max + 100 > SEQUENTIAL ? max + 100 : SEQUENTIAL;
	int conc = max + 76 > CONCURRENT ? max + 76 : CONCURRENT;

	printf("# KVM allows %d vCPUs per VM\n", max);
	enter_dune();
	main_tid = syscall(SYS_gettid);
	check_sequential(seq);
	check_concurrent(conc);
	check_sequential(16);	/* threads still work after the limit */
	CHECK(dune_is_inside() == 1, "not inside at the end");
	return finish();
}
