/* SPDX-License-Identifier: MIT */
/*
 * Signals inside dune behave as natively: handlers run for sent signals and
 * for faults (with the right siginfo), can resume or skip the faulting
 * instruction, masks and alternate stacks work, a timer signal interrupts a
 * pure CPU loop, and blocking calls get EINTR or restart.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>

#include "check.h"

#define PAGE 4096

static volatile sig_atomic_t hits, last_signo, handler_inside;
static volatile void *last_addr;
static volatile int last_code, last_pid, alarm_fd;
static volatile uintptr_t handler_sp;
static sigjmp_buf jump_back;
static unsigned char *fix_page;		/* the page the SEGV fixer enables */

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *),
			int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction(%d): %s", sig,
	      strerror(errno));
}

static void record(int sig, siginfo_t *si, void *uc)
{
	int local;

	(void)uc;
	hits++;
	last_signo = sig;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_addr = si->si_addr;
	handler_sp = (uintptr_t)&local;
	handler_inside = dune_is_inside();
}

static void record_and_jump(int sig, siginfo_t *si, void *uc)
{
	record(sig, si, uc);
	siglongjmp(jump_back, 1);
}

/* Make the faulting page accessible and return: the access is retried. */
static void enable_page(int sig, siginfo_t *si, void *uc)
{
	record(sig, si, uc);
	if (mprotect(fix_page, PAGE, PROT_READ | PROT_WRITE) < 0)
		_exit(3);
}

/* Skip the 2-byte ud2 by moving the saved instruction pointer. */
static void skip_ud2(int sig, siginfo_t *si, void *uc)
{
	record(sig, si, uc);
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP] += 2;
}

static void check_sent_signals(void)
{
	sigset_t set, pending;

	hits = 0;
	set_handler(SIGUSR1, record, 0);
	CHECK(raise(SIGUSR1) == 0 && hits == 1 && last_signo == SIGUSR1,
	      "raise(SIGUSR1): %d handler runs, signal %d", hits, last_signo);
	CHECK(handler_inside == 1, "the handler ran outside the guest");

	hits = 0;
	set_handler(SIGUSR2, record, 0);
	CHECK(kill(getpid(), SIGUSR2) == 0 && hits == 1 &&
	      last_code == SI_USER && last_pid == getpid(),
	      "kill(SIGUSR2): %d runs, si_code %d, si_pid %d", hits, last_code,
	      last_pid);

	/* blocked: pending, not delivered, until unblocked */
	hits = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	CHECK(hits == 0, "blocked signal delivered");
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1),
	      "blocked signal not pending");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	CHECK(hits == 1, "unblocked signal not delivered (%d)", hits);
}

static volatile int rt_values[8], rt_count, rt_nested, rt_depth;

static void record_value(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rt_nested |= ++rt_depth > 1;
	if (rt_count < 8)
		rt_values[rt_count++] = si->si_value.sival_int;
	rt_depth--;
}

/* Realtime signals queue: each instance, in order, one handler at a time. */
static void check_realtime_queue(void)
{
	const int sig = SIGRTMIN + 1, n = 5;
	sigset_t set;
	int in_order = 1;

	rt_count = rt_nested = 0;
	set_handler(sig, record_value, 0);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 1; i <= n; i++)
		CHECK(sigqueue(getpid(), sig, (union sigval){ .sival_int = i }) == 0,
		      "sigqueue: %s", strerror(errno));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	for (int i = 0; i < rt_count; i++)
		in_order &= rt_values[i] == i + 1;
	CHECK(rt_count == n && in_order, "%d of %d queued signals delivered, in order: %d",
	      rt_count, n, in_order);
	CHECK(!rt_nested, "a handler ran inside another despite its own mask");
}

static void check_altstack(void)
{
	static char alt[64 * 1024];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };

	CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s", strerror(errno));
	set_handler(SIGUSR1, record, SA_ONSTACK);
	raise(SIGUSR1);
	CHECK(handler_sp >= (uintptr_t)alt &&
	      handler_sp < (uintptr_t)alt + sizeof(alt),
	      "handler ran on %#lx, not on the alternate stack",
	      (unsigned long)handler_sp);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
}

/* The faulting pages: globals, as locals are unreliable after siglongjmp. */
static volatile unsigned char *none_page, *gone_page;
static volatile unsigned zero;

static void read_none(void)
{
	(void)none_page[5];
}

static void read_gone(void)
{
	(void)gone_page[9];
}

static void divide_by_zero(void)
{
	unsigned lo = 1, hi = 0;

	asm volatile("divl %2" : "+a"(lo), "+d"(hi) : "r"(zero));
}

/* Run fn, whose fault comes back here through record_and_jump. */
static void catch_fault(const char *what, void (*fn)(void), int sig, int code,
			volatile void *addr)
{
	hits = 0;
	if (!sigsetjmp(jump_back, 1))
		fn();
	CHECK(hits == 1 && last_signo == sig && last_code == code &&
	      (!addr || last_addr == addr),
	      "%s: %d runs, signal %d, si_code %d, si_addr %p", what, hits,
	      last_signo, last_code, last_addr);
}

static void check_fault_handlers(void)
{
	void *ud2_addr;

	none_page = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	CHECK(none_page != MAP_FAILED, "mmap: %s", strerror(errno));
	if (none_page == MAP_FAILED)
		return;
	gone_page = none_page + PAGE;
	munmap((void *)gone_page, PAGE);

	set_handler(SIGSEGV, record_and_jump, 0);
	set_handler(SIGFPE, record_and_jump, 0);
	catch_fault("read of PROT_NONE", read_none, SIGSEGV, SEGV_ACCERR,
		    none_page + 5);
	catch_fault("read of unmapped", read_gone, SIGSEGV, SEGV_MAPERR,
		    gone_page + 9);
	catch_fault("divide by zero", divide_by_zero, SIGFPE, FPE_INTDIV, NULL);
	CHECK(last_addr != NULL, "SIGFPE without si_addr");

	/* the handler fixes the page; the faulting store then completes */
	fix_page = (unsigned char *)none_page;
	set_handler(SIGSEGV, enable_page, 0);
	hits = 0;
	none_page[100] = 42;
	CHECK(hits == 1 && none_page[100] == 42 && last_addr == none_page + 100,
	      "store after fix-up: %d runs, value %d, si_addr %p", hits,
	      none_page[100], last_addr);

	/* the handler moves past ud2 and returns */
	set_handler(SIGILL, skip_ud2, 0);
	hits = 0;
	asm volatile("1: ud2\n\t"
		     "lea 1b(%%rip), %0" : "=r"(ud2_addr));
	CHECK(hits == 1 && last_code == ILL_ILLOPN && last_addr == ud2_addr,
	      "ud2 at %p: %d runs, si_code %d, si_addr %p", ud2_addr, hits,
	      last_code, last_addr);
	munmap((void *)none_page, PAGE);
	signal(SIGSEGV, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGILL, SIG_DFL);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A timer signal must get into a loop that makes no system calls. */
static void check_timer_in_loop(void)
{
	struct itimerval it = { .it_value = { 0, 20000 } };
	int64_t give_up = now_ns() + 10 * 1000000000LL;
	uint64_t x = 1;

	hits = 0;
	set_handler(SIGALRM, record, 0);
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer: %s",
	      strerror(errno));
	while (!hits && now_ns() < give_up) {
		x = x * 6364136223846793005ULL + 1;
		asm volatile("" : "+r"(x));
	}
	CHECK(hits == 1 && last_signo == SIGALRM,
	      "SIGALRM not delivered to a CPU loop within 10 s");
}

static void write_byte(int sig, siginfo_t *si, void *uc)
{
	record(sig, si, uc);
	if (write(alarm_fd, "!", 1) != 1)
		_exit(4);
}

/* A blocking read is interrupted (EINTR) or restarted (SA_RESTART). */
static void check_eintr(void)
{
	struct itimerval it = { .it_value = { 0, 20000 } };
	char c = 0;
	int p[2];

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	set_handler(SIGALRM, record, 0);
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	CHECK(read(p[0], &c, 1) == -1 && errno == EINTR,
	      "blocked read not interrupted: errno %d", errno);

	/* the handler writes a byte to the pipe; the restarted read gets it */
	set_handler(SIGALRM, write_byte, SA_RESTART);
	alarm_fd = p[1];
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(read(p[0], &c, 1) == 1 && c == '!',
	      "SA_RESTART read gave '%c' (%s)", c, strerror(errno));
	signal(SIGALRM, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

/* In a child, so that a fault nobody catches cannot end the whole test. */
static int fault_handlers_child(void *arg)
{
	(void)arg;
	enter_dune();
	check_fault_handlers();
	return finish();
}

int main(void)
{
	char out[4096];
	int status;

	status = run_child(fault_handlers_child, NULL, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fault handlers inside dune: %s; output:\n%s", status_str(status),
	      out);
	enter_dune();
	check_sent_signals();
	check_realtime_queue();
	check_altstack();
	check_timer_in_loop();
	check_eintr();
	return finish();
}
