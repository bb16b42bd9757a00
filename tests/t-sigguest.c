// SPDX-License-Identifier: MIT
/*
 * Signals inside the guest, beyond t-signals: fault handlers that siglongjmp
 * (500 times), a stack overflow caught on the alternate stack, per-thread
 * masks and tgkill, FPU state across a handler, SA_RESETHAND/SA_NODEFER,
 * a timer and pause, sigsuspend, sigwaitinfo, signalfd, and killed-by-signal
 * statuses, a frame that cannot be written, a timer's overrun count and
 * msgrcv's EINTR compared with native runs.
 */
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/syscall.h>

#include "check.h"

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int hits, handler_tid, inside_in_handler;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_addr = si->si_addr;
	inside_in_handler = dune_is_inside();
	siglongjmp(env, 1);
}

static void count(int sig)
{
	(void)sig;
	hits++;
	handler_tid = syscall(SYS_gettid);
}

static void set(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa = { .sa_sigaction = fn, .sa_flags = SA_SIGINFO | flags };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void check_longjmp_loop(void)
{
	char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile int caught = 0;

	set(SIGSEGV, on_segv, 0);
	for (volatile int i = 0; i < 500; i++) {
		if (sigsetjmp(env, 1) == 0)
			*(volatile char *)(page + i) = 1;
		else if (fault_addr == page + i && inside_in_handler)
			caught++;
	}
	CHECK(caught == 500, "%d of 500 faults caught with the right si_addr inside", caught);
	CHECK(dune_is_inside(), "siglongjmp left dune");
	signal(SIGSEGV, SIG_DFL);
	munmap(page, 4096);
}

static int recurse(int n)
{
	volatile char pad[1024];

	pad[0] = n;
	return n ? recurse(n - 1) + pad[0] : 0;
}

/* A stack overflow needs the alternate stack to be caught at all. */
static void check_overflow_on_altstack(void)
{
	static char alt[64 << 10];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };
	int pid, status;

	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 256 << 10, 256 << 10 };

		setrlimit(RLIMIT_STACK, &rl);
		sigaltstack(&ss, NULL);
		set(SIGSEGV, on_segv, SA_ONSTACK);
		if (sigsetjmp(env, 1) == 0)
			recurse(1 << 20);
		_exit(inside_in_handler ? 42 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 42,
	      "stack overflow not caught on the alternate stack: %s", status_str(status));
}

static void *blocker(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	*(volatile int *)arg = syscall(SYS_gettid);
	while (hits < 2)
		usleep(1000);
	return NULL;
}

/* tgkill reaches the named thread; a mask blocks only its own thread. */
static void check_thread_masks(void)
{
	volatile int blocker_tid = 0;
	pthread_t t;

	hits = 0;
	signal(SIGUSR1, count);
	pthread_create(&t, NULL, blocker, (void *)&blocker_tid);
	while (!blocker_tid)
		usleep(1000);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	CHECK(hits == 1 && handler_tid == syscall(SYS_gettid), "tgkill to self: %d hits", hits);
	kill(getpid(), SIGUSR1);	/* only this thread may take it */
	while (hits < 2)
		usleep(1000);
	CHECK(handler_tid == syscall(SYS_gettid), "delivered to a thread that blocks it");
	pthread_join(t, NULL);
}

static void clobber_fpu(int sig)
{
	volatile double x = sig;

	(void)x;
	asm volatile("xorps %%xmm0, %%xmm0; xorps %%xmm1, %%xmm1" ::: "xmm0", "xmm1");
	hits++;
}

static void check_fpu_preserved(void)
{
	double a = 1.0 / 3.0, b;

	signal(SIGUSR2, clobber_fpu);
	asm volatile("movsd %1, %%xmm1\n"
		     "mov %2, %%edi\n mov %3, %%esi\n mov $62, %%eax\n syscall\n"	/* kill */
		     "movsd %%xmm1, %0" : "=m"(b) : "m"(a), "r"(getpid()), "r"(SIGUSR2)
		     : "rax", "rdi", "rsi", "rcx", "r11", "xmm1", "memory");
	CHECK(b == a, "xmm1 not restored after a handler clobbered it");
}

static void check_flags(void)
{
	struct sigaction sa = { .sa_handler = count, .sa_flags = SA_RESETHAND }, old;

	sigaction(SIGUSR2, &sa, NULL);
	hits = 0;
	raise(SIGUSR2);
	sigaction(SIGUSR2, NULL, &old);
	CHECK(hits == 1 && old.sa_handler == SIG_DFL, "SA_RESETHAND: %d hits", hits);
}

static void check_waiting(void)
{
	sigset_t set, old;
	siginfo_t si;
	struct signalfd_siginfo fsi;
	int fd;

	/*
	 * A timer that repeats: one expiry before pause() starts (a loaded
	 * machine) would leave it waiting for good, natively as inside.
	 */
	struct itimerval every = { { 0, 200000 }, { 0, 200000 } }, off = { { 0, 0 }, { 0, 0 } };

	hits = 0;
	signal(SIGALRM, count);
	setitimer(ITIMER_REAL, &every, NULL);
	pause();
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK(hits >= 1, "timer + pause: %d hits", hits);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGUSR1);
	CHECK(sigwaitinfo(&set, &si) == SIGUSR1 && si.si_pid == getpid(), "sigwaitinfo");
	raise(SIGUSR1);
	sigemptyset(&old);
	hits = 0;
	CHECK(sigsuspend(&old) == -1 && errno == EINTR && hits == 1, "sigsuspend: %d hits", hits);
	fd = signalfd(-1, &set, 0);
	raise(SIGUSR1);
	CHECK(read(fd, &fsi, sizeof(fsi)) == sizeof(fsi) && fsi.ssi_signo == SIGUSR1, "signalfd");
	close(fd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static volatile int segv_hits;

static void note_segv(int sig)
{
	(void)sig;
	segv_hits++;
}

/*
 * A handler whose frame cannot be written (its alternate stack is read-only,
 * LTP's signal06): SIGSEGV instead, which the program catches on its own
 * stack, and it goes on.  Exits 42 if so; inside dune if arg.
 */
static int frame_on_readonly_stack(void *arg)
{
	size_t size = 64 << 10;
	stack_t ss = { .ss_sp = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		       .ss_size = size };
	struct sigaction sa = { .sa_handler = count, .sa_flags = SA_ONSTACK };

	if (arg)
		enter_dune();
	sigaltstack(&ss, NULL);
	signal(SIGSEGV, note_segv);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	return segv_hits == 1 && hits == 0 ? 42 : 1;
}

static void check_frame_fails(void)
{
	char out[256];
	int native = run_child(frame_on_readonly_stack, NULL, out, sizeof(out));
	int dune = run_child(frame_on_readonly_stack, (void *)1, out, sizeof(out));

	CHECK(WIFEXITED(native) && WEXITSTATUS(native) == 42,
	      "a frame that cannot be written, natively: %s", status_str(native));
	CHECK(WIFEXITED(dune) && WEXITSTATUS(dune) == 42,
	      "a frame that cannot be written, inside dune: %s", status_str(dune));
}

static timer_t overrun_timer;
static volatile int overrun = -1;

static void read_overrun(int sig)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };

	(void)sig;
	if (overrun < 0)
		overrun = timer_getoverrun(overrun_timer);
	timer_settime(overrun_timer, 0, &off, NULL);
}

/*
 * A 10 us timer that expired a second ago (LTP's timer_settime03): the
 * handler's timer_getoverrun() is the first delivery's, about 100,000, not
 * that of a later expiry the kernel dequeued before the handler ran.
 * Exits 42 if so; inside dune if arg.
 */
static int timer_overrun(void *arg)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };
	struct itimerspec spec = { .it_interval = { 0, 10000 } };

	if (arg)
		enter_dune();
	signal(SIGUSR2, read_overrun);
	if (timer_create(CLOCK_MONOTONIC, &sev, &overrun_timer))
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &spec.it_value);
	spec.it_value.tv_sec -= 1;
	timer_settime(overrun_timer, TIMER_ABSTIME, &spec, NULL);
	while (overrun < 0)
		barrier();
	printf("overrun %d\n", overrun);
	return overrun >= 90000 ? 42 : 1;
}

static void check_timer_overrun(void)
{
	char out[256] = "";
	int native = run_child(timer_overrun, NULL, out, sizeof(out));

	CHECK(WIFEXITED(native) && WEXITSTATUS(native) == 42,
	      "timer overrun, natively: %s %s", status_str(native), out);
	native = run_child(timer_overrun, (void *)1, out, sizeof(out));
	CHECK(WIFEXITED(native) && WEXITSTATUS(native) == 42,
	      "timer overrun, inside dune: %s %s", status_str(native), out);
}

static void nothing(int sig)
{
	(void)sig;
}

/*
 * msgrcv(2) interrupted by a handler installed with SA_RESTART (signal()):
 * Linux never restarts it (LTP's msgrcv05, msgsnd05); EINTR.  Inside if mode.
 */
static void check_msgrcv_not_restarted(void)
{
	for (long mode = 0; mode < 2; mode++) {
		int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600), ready[2], status = -1;
		struct { long type; char text[16]; } msg;
		pid_t pid;
		char c;

		if (q < 0 || pipe(ready)) {
			CHECK(0, "msgget/pipe: %s", strerror(errno));
			return;
		}
		pid = fork();
		if (pid == 0) {
			if (mode)
				enter_dune();
			signal(SIGHUP, nothing);
			alarm(10);	/* restarted: SIGALRM ends it */
			(void)!write(ready[1], "r", 1);
			_exit(msgrcv(q, &msg, sizeof(msg.text), 1, 0) < 0 && errno == EINTR ? 42 : 1);
		}
		CHECK(read(ready[0], &c, 1) == 1, "the child never got ready");
		usleep(300000);
		kill(pid, SIGHUP);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42,
		      "msgrcv interrupted by an SA_RESTART handler %s: %s",
		      mode ? "inside" : "natively", status_str(status));
		msgctl(q, IPC_RMID, NULL);
		close(ready[0]);
		close(ready[1]);
	}
}

static int die_by(void *arg)
{
	if (((intptr_t)arg & 0x100))
		enter_dune();
	raise((intptr_t)arg & 0xff);
	return 0;
}

/* Default actions: the same wait status as natively. */
static void check_default_actions(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGABRT, SIGUSR1, SIGALRM };
	char out[256];

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int native = run_child(die_by, (void *)(intptr_t)sigs[i], out, sizeof(out));
		int dune = run_child(die_by, (void *)(intptr_t)(sigs[i] | 0x100), out, sizeof(out));

		CHECK(native == dune, "signal %d: native %s, inside dune %s", sigs[i],
		      status_str(native), status_str(dune));
	}
}

static void __attribute__((noreturn)) spin_inside(void)
{
	enter_dune();
	for (;;)
		getpid();
}

/* SIGSTOP, SIGCONT and SIGKILL at any moment, seen by the parent's waitpid. */
static void check_stop_continue_kill(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		spin_inside();
	usleep(200000);
	kill(pid, SIGSTOP);
	CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status) &&
	      WSTOPSIG(status) == SIGSTOP, "SIGSTOP: %s", status_str(status));
	kill(pid, SIGCONT);
	CHECK(waitpid(pid, &status, WCONTINUED) == pid && WIFCONTINUED(status),
	      "SIGCONT: status %#x", status);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "SIGKILL: %s", status_str(status));
}

/*
 * posix_spawn's child (CLONE_VM|CLONE_VFORK, a signal table of its own)
 * resets handlers to SIG_DFL: ours must stay as they were.
 */
static void check_spawn_keeps_handlers(void)
{
	char *argv[] = { "true", NULL };
	extern char **environ;
	int status;
	pid_t pid;

	signal(SIGUSR1, count);
	CHECK(posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0 &&
	      waitpid(pid, &status, 0) == pid, "posix_spawn /bin/true");
	hits = 0;
	raise(SIGUSR1);
	CHECK(hits == 1, "the handler is gone after posix_spawn: %d hits", hits);
}

int main(void)
{
	check_default_actions();
	check_frame_fails();
	check_timer_overrun();
	check_msgrcv_not_restarted();
	check_stop_continue_kill();
	enter_dune();
	check_longjmp_loop();
	check_overflow_on_altstack();
	check_thread_masks();
	check_fpu_preserved();
	check_flags();
	check_spawn_keeps_handlers();
	check_waiting();
	CHECK(dune_is_inside(), "left dune");
	return finish();
}
