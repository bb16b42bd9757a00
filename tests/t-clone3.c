/* SPDX-License-Identifier: MIT */
/*
 * clone3 and clone used directly, without glibc's wrappers.
 *
 * A thread-like child (CLONE_VM | CLONE_THREAD | ...) starts inside dune on
 * the stack it was given, with the parent's registers except RAX = 0, the
 * FS base it was given with CLONE_SETTLS, its thread id in the parent's
 * parent_tid and its own child_tid (CLONE_PARENT_SETTID / CHILD_SETTID),
 * makes raw system calls and exits, and the kernel clears child_tid and
 * wakes the futex (CLONE_CHILD_CLEARTID).  A CLONE_VM child that is a
 * process of its own is reaped by waitpid(), a CLONE_VFORK one keeps the
 * parent suspended until it exits, and fork-like clone3 children (without
 * CLONE_VM) run inside dune in their own memory.
 */
#include <linux/futex.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "check.h"

#define STACK_SIZE	(64 << 10)
#define WAIT_TIMEOUT	30	/* seconds */
#define NCONCURRENT	4

#define THREAD_FLAGS	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
			 CLONE_THREAD | CLONE_SYSVSEM)

/*
 * The probe: words shared by the parent and the child, indexed by P_*.
 * clone_probe(p) makes system call p[P_NR] with arguments p[P_A0..A4] (in
 * rdi, rsi, rdx, r10, r8) and known values in the other registers; the
 * child records its registers and what it sees, optionally sleeps, and
 * ends with SYS_exit(p[P_EXIT]).  The parent gets the call's result.
 */
#define P_NR		0
#define P_A0		1
#define P_A1		2
#define P_A2		3
#define P_A3		4
#define P_A4		5
#define P_EXIT		6	/* the child's exit status */
#define P_CTID		7	/* address of child_tid, or 0 */
#define P_SLEEP		8	/* struct timespec: sleep this long, if not 0 */
#define P_SLEEP_NS	9
#define P_RSP		10	/* from here on written by the child */
#define P_REGS		11	/* the registers below, in this order */
#define P_RBX		11
#define P_RBP		12
#define P_R13		13
#define P_R14		14
#define P_R15		15
#define P_R9		16
#define P_RDI		17
#define P_RSI		18
#define P_RDX		19
#define P_R10		20
#define P_R8		21
#define P_XMM0		22
#define NREGS		12
#define P_FS0		23	/* the word at %fs:0 */
#define P_CTID_SEEN	24	/* *child_tid as the child saw it */
#define P_TID		25
#define P_PID		26
#define P_INSIDE	27	/* DUNE_OP_IS_INSIDE from the child */
#define P_STACK_OK	28
#define P_DONE		29	/* set last, before exiting */
#define P_WORDS		30

#define STR_(x)		#x
#define STR(x)		STR_(x)
#define AT(i)		STR(8 * i) "(%r12)"	/* i: one number, no sums */

static const long magic[NREGS - 6] = {
	0x0b0b0b0b0b0b0b0bL, 0x0bb00bb00bb00bb0L, 0x1313131313131313L,
	0x1414141414141414L, 0x1515151515151515L, 0x0909090909090909L,
};
static const long xmm0_magic = 0x0c0ffee00c0ffeeL;

long clone_probe(long *p);

_Static_assert(DUNE_OP_IS_INSIDE == 1, "clone_probe passes 1");

asm(".pushsection .text\n"
    ".globl clone_probe\n"
    ".hidden clone_probe\n"
    ".type clone_probe, @function\n"
    "clone_probe:\n\t"
    "push %rbx\n\t"
    "push %rbp\n\t"
    "push %r12\n\t"
    "push %r13\n\t"
    "push %r14\n\t"
    "push %r15\n\t"
    "mov %rdi, %r12\n\t"
    "movabs $0x0b0b0b0b0b0b0b0b, %rbx\n\t"
    "movabs $0x0bb00bb00bb00bb0, %rbp\n\t"
    "movabs $0x1313131313131313, %r13\n\t"
    "movabs $0x1414141414141414, %r14\n\t"
    "movabs $0x1515151515151515, %r15\n\t"
    "movabs $0x0909090909090909, %r9\n\t"
    "movabs $0x0c0ffee00c0ffee, %rax\n\t"
    "movq %rax, %xmm0\n\t"
    "mov " AT(P_NR) ", %rax\n\t"
    "mov " AT(P_A0) ", %rdi\n\t"
    "mov " AT(P_A1) ", %rsi\n\t"
    "mov " AT(P_A2) ", %rdx\n\t"
    "mov " AT(P_A3) ", %r10\n\t"
    "mov " AT(P_A4) ", %r8\n\t"
    "syscall\n\t"
    "test %rax, %rax\n\t"
    "jz 1f\n\t"
    "pop %r15\n\t"
    "pop %r14\n\t"
    "pop %r13\n\t"
    "pop %r12\n\t"
    "pop %rbp\n\t"
    "pop %rbx\n\t"
    "ret\n"
    /* the child: record, then system calls of its own */
    "1:\n\t"
    "mov %rsp, " AT(P_RSP) "\n\t"
    "mov %rbx, " AT(P_RBX) "\n\t"
    "mov %rbp, " AT(P_RBP) "\n\t"
    "mov %r13, " AT(P_R13) "\n\t"
    "mov %r14, " AT(P_R14) "\n\t"
    "mov %r15, " AT(P_R15) "\n\t"
    "mov %r9, " AT(P_R9) "\n\t"
    "mov %rdi, " AT(P_RDI) "\n\t"
    "mov %rsi, " AT(P_RSI) "\n\t"
    "mov %rdx, " AT(P_RDX) "\n\t"
    "mov %r10, " AT(P_R10) "\n\t"
    "mov %r8, " AT(P_R8) "\n\t"
    "movq %xmm0, " AT(P_XMM0) "\n\t"
    "mov %fs:0, %rax\n\t"
    "mov %rax, " AT(P_FS0) "\n\t"
    "mov " AT(P_CTID) ", %rax\n\t"
    "test %rax, %rax\n\t"
    "jz 2f\n\t"
    "movslq (%rax), %rax\n"
    "2:\n\t"
    "mov %rax, " AT(P_CTID_SEEN) "\n\t"
    "push $42\n\t"			/* the stack works */
    "pop %rax\n\t"
    "mov %rax, " AT(P_STACK_OK) "\n\t"
    "mov $" STR(SYS_gettid) ", %eax\n\t"
    "syscall\n\t"
    "mov %rax, " AT(P_TID) "\n\t"
    "mov $" STR(SYS_getpid) ", %eax\n\t"
    "syscall\n\t"
    "mov %rax, " AT(P_PID) "\n\t"
    "mov $" STR(DUNE_SYSCALL_NR) ", %eax\n\t"
    "mov $1, %edi\n\t"		/* DUNE_OP_IS_INSIDE */
    "syscall\n\t"
    "mov %rax, " AT(P_INSIDE) "\n\t"
    "cmpq $0, " AT(P_SLEEP) "\n\t"
    "jne 3f\n\t"
    "cmpq $0, " AT(P_SLEEP_NS) "\n\t"
    "je 4f\n"
    "3:\n\t"
    "lea " AT(P_SLEEP) ", %rdi\n\t"
    "xor %esi, %esi\n\t"
    "mov $" STR(SYS_nanosleep) ", %eax\n\t"
    "syscall\n"
    "4:\n\t"
    "movq $1, " AT(P_DONE) "\n\t"
    "mov " AT(P_EXIT) ", %rdi\n\t"
    "mov $" STR(SYS_exit) ", %eax\n\t"
    "syscall\n\t"
    "ud2\n"
    ".size clone_probe, . - clone_probe\n"
    ".popsection");

static long *new_probe(long nr, char **stack)
{
	long *p = calloc(P_WORDS, sizeof(long));

	*stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (!p || *stack == MAP_FAILED) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	p[P_NR] = nr;
	return p;
}

static void free_probe(long *p, char *stack)
{
	munmap(stack, STACK_SIZE);
	free(p);
}

static long parent_fs0(void)
{
	long fs0;

	asm volatile("mov %%fs:0, %0" : "=r"(fs0));
	return fs0;
}

/* Wait until the kernel clears *tid at the child's exit (and wakes us). */
static int wait_cleartid(volatile int *tid)
{
	struct timespec ts = { 1, 0 };
	int i, v;

	for (i = 0; i < WAIT_TIMEOUT; i++) {
		v = *tid;
		if (v == 0)
			return 1;
		syscall(SYS_futex, tid, FUTEX_WAIT, v, &ts, NULL, 0);
	}
	return 0;
}

/* What every probe child must have recorded. */
static void check_child(const long *p, const char *what, long stack_top,
			long fs0)
{
	static const char *const names[NREGS] = {
		"rbx", "rbp", "r13", "r14", "r15", "r9",
		"rdi", "rsi", "rdx", "r10", "r8", "xmm0",
	};
	int i;

	CHECK(p[P_DONE] == 1, "%s: the child did not finish", what);
	CHECK(p[P_INSIDE] == 1, "%s: child's dune_is_inside() = %ld", what,
	      p[P_INSIDE]);
	CHECK(p[P_RSP] == stack_top, "%s: child RSP %#lx, expected %#lx", what,
	      p[P_RSP], stack_top);
	CHECK(p[P_STACK_OK] == 42, "%s: push/pop on the child's stack gave %ld",
	      what, p[P_STACK_OK]);
	CHECK(p[P_FS0] == fs0, "%s: child %%fs:0 = %#lx, expected %#lx", what,
	      p[P_FS0], fs0);
	for (i = 0; i < NREGS; i++) {
		long want = i < 6 ? magic[i] : i < 11 ? p[P_A0 + i - 6] :
			    xmm0_magic;

		CHECK(p[P_REGS + i] == want, "%s: child %s = %#lx, expected %#lx",
		      what, names[i], p[P_REGS + i], want);
	}
}

static long do_clone3(long *p, struct clone_args *args)
{
	p[P_A0] = (long)args;
	p[P_A1] = sizeof(*args);
	return clone_probe(p);
}

/*
 * NCONCURRENT clone3 threads glibc-style: parent_tid and child_tid are
 * one word, set by CLONE_PARENT_SETTID, cleared by CLONE_CHILD_CLEARTID.
 */
static void check_clone3_threads(void)
{
	static long tls[NCONCURRENT][8] __attribute__((aligned(64)));
	static volatile int tid[NCONCURRENT];
	struct clone_args args[NCONCURRENT];
	char *stack[NCONCURRENT];
	long *p[NCONCURRENT], ret[NCONCURRENT];
	int i;

	for (i = 0; i < NCONCURRENT; i++) {
		p[i] = new_probe(SYS_clone3, &stack[i]);
		tls[i][0] = 0x715000L + i;	/* what %fs:0 reads */
		memset(&args[i], 0, sizeof(args[i]));
		args[i].flags = THREAD_FLAGS | CLONE_SETTLS |
				CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
		args[i].stack = (uintptr_t)stack[i];
		args[i].stack_size = STACK_SIZE;
		args[i].tls = (uintptr_t)tls[i];
		args[i].parent_tid = (uintptr_t)&tid[i];
		args[i].child_tid = (uintptr_t)&tid[i];
		ret[i] = do_clone3(p[i], &args[i]);
		CHECK(ret[i] > 0, "clone3 thread #%d: %ld (%s)", i, ret[i],
		      strerror(-ret[i]));
		if (ret[i] <= 0)
			exit(finish());
		CHECK(tid[i] == ret[i] || tid[i] == 0,
		      "CLONE_PARENT_SETTID stored %d, clone3 returned %ld",
		      tid[i], ret[i]);
	}
	for (i = 0; i < NCONCURRENT; i++) {
		if (!wait_cleartid(&tid[i])) {
			CHECK(0, "clone3 thread #%d: child_tid not cleared after "
			      "%d s", i, WAIT_TIMEOUT);
			exit(finish());		/* it may still use its stack */
		}
		check_child(p[i], "clone3 thread", (long)stack[i] + STACK_SIZE,
			    tls[i][0]);
		CHECK(p[i][P_TID] == ret[i] && p[i][P_PID] == getpid(),
		      "clone3 thread: gettid %ld getpid %ld; expected %ld %d",
		      p[i][P_TID], p[i][P_PID], ret[i], getpid());
		free_probe(p[i], stack[i]);
	}
}

/* parent_tid and child_tid apart; clone or clone3; with or without TLS. */
static void check_thread_tids(long nr, int settls)
{
	static long tls[8] __attribute__((aligned(64))) = { 0x7157L };
	static volatile int ptid, ctid;
	const char *what = nr == SYS_clone3 ? "clone3 (separate tids)" :
					      "clone (separate tids)";
	unsigned long flags = THREAD_FLAGS | CLONE_PARENT_SETTID |
			      CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID |
			      (settls ? CLONE_SETTLS : 0);
	struct clone_args args;
	char *stack;
	long *p = new_probe(nr, &stack), ret;

	ptid = 0;
	ctid = -1;	/* CLONE_CHILD_SETTID overwrites it in the child */
	p[P_CTID] = (long)&ctid;
	if (nr == SYS_clone3) {
		memset(&args, 0, sizeof(args));
		args.flags = flags;
		args.stack = (uintptr_t)stack;
		args.stack_size = STACK_SIZE;
		args.tls = (uintptr_t)tls;
		args.parent_tid = (uintptr_t)&ptid;
		args.child_tid = (uintptr_t)&ctid;
		ret = do_clone3(p, &args);
	} else {
		/* x86-64 clone: flags, stack, parent_tid, child_tid, tls */
		p[P_A0] = flags;
		p[P_A1] = (long)stack + STACK_SIZE;
		p[P_A2] = (long)&ptid;
		p[P_A3] = (long)&ctid;
		p[P_A4] = (long)tls;
		ret = clone_probe(p);
	}
	CHECK(ret > 0, "%s: %ld (%s)", what, ret, strerror(-ret));
	if (ret <= 0)
		exit(finish());
	CHECK(ptid == ret, "%s: parent_tid %d, returned %ld", what, ptid, ret);
	if (!wait_cleartid(&ctid)) {
		CHECK(0, "%s: child_tid not cleared", what);
		exit(finish());
	}
	check_child(p, what, (long)stack + STACK_SIZE,
		    settls ? tls[0] : parent_fs0());
	CHECK(p[P_CTID_SEEN] == ret && p[P_TID] == ret,
	      "%s: child saw child_tid %ld and gettid %ld, expected %ld", what,
	      p[P_CTID_SEEN], p[P_TID], ret);
	free_probe(p, stack);
}

static int wait_status(pid_t pid, int options)
{
	int status = -1;

	while (waitpid(pid, &status, options) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A CLONE_VM child that is a process of its own (no CLONE_THREAD) and,
 * with CLONE_VFORK, one the parent waits for: the child sleeps 50 ms
 * before it exits, and the parent must not run meanwhile.
 */
static void check_vm_process(int vfork)
{
	const char *what = vfork ? "clone3(CLONE_VM | CLONE_VFORK)" :
				   "clone3(CLONE_VM)";
	struct clone_args args;
	int status, code = vfork ? 44 : 33;
	double t0;
	char *stack;
	long *p = new_probe(SYS_clone3, &stack), ret;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_VM | (vfork ? CLONE_VFORK : 0);
	args.exit_signal = SIGCHLD;
	args.stack = (uintptr_t)stack;
	args.stack_size = STACK_SIZE;
	p[P_EXIT] = code;
	p[P_SLEEP_NS] = vfork ? 50 * 1000 * 1000 : 0;
	t0 = now();
	ret = do_clone3(p, &args);
	CHECK(ret > 0, "%s: %ld (%s)", what, ret, strerror(-ret));
	if (ret <= 0)
		return;
	if (vfork)
		CHECK(p[P_DONE] == 1 && now() - t0 >= 0.05,
		      "%s: the parent ran on while the child slept", what);
	status = wait_status(ret, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == code,
	      "%s child: %s, expected exit %d", what, status_str(status), code);
	check_child(p, what, (long)stack + STACK_SIZE, parent_fs0());
	CHECK(p[P_PID] == ret && p[P_TID] == ret,
	      "%s: child's getpid %ld gettid %ld, expected %ld", what,
	      p[P_PID], p[P_TID], ret);
	free_probe(p, stack);
}

static int forked_value = 1;

/* In a fork-like clone3 child: 0 if all is as it should be. */
static int fork_child_checks(pid_t parent, volatile int *ctid)
{
	forked_value = 2;	/* in its own memory */
	if (dune_is_inside() != 1)
		return 10;
	if (getppid() != parent)
		return 11;
	if (ctid && *ctid != getpid())
		return 12;	/* CLONE_CHILD_SETTID in the child's memory */
	return 0;
}

/* clone3 without CLONE_VM, by glibc's syscall(): fork-like. */
static void check_fork_like(int exit_signal)
{
	static volatile int ptid, ctid;
	struct clone_args args;
	pid_t parent = getpid();
	int status;
	long ret;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PARENT_SETTID | CLONE_CHILD_SETTID;
	args.exit_signal = exit_signal;
	args.parent_tid = (uintptr_t)&ptid;
	args.child_tid = (uintptr_t)&ctid;
	ptid = ctid = 0;
	fflush(stdout);
	ret = syscall(SYS_clone3, &args, sizeof(args));
	if (ret == 0)
		_exit(fork_child_checks(parent, &ctid));
	CHECK(ret > 0, "fork-like clone3: %s", strerror(errno));
	if (ret <= 0)
		return;
	CHECK(ptid == ret, "fork-like clone3: parent_tid %d, returned %ld",
	      ptid, ret);
	/* without an exit signal only __WALL finds the child, as natively */
	status = wait_status(ret, exit_signal ? 0 : __WALL);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork-like clone3 (exit signal %d) child: %s (10: not inside, "
	      "11: wrong parent, 12: child_tid)", exit_signal,
	      status_str(status));
	CHECK(ctid == 0 && forked_value == 1,
	      "the fork-like child wrote into the parent's memory");
}

int main(void)
{
	enter_dune();
	check_clone3_threads();
	check_thread_tids(SYS_clone3, 1);
	check_thread_tids(SYS_clone3, 0);
	check_thread_tids(SYS_clone, 1);
	check_vm_process(0);
	check_vm_process(1);
	check_fork_like(SIGCHLD);
	check_fork_like(0);
	CHECK(dune_is_inside() == 1, "not inside at the end");
	return finish();
}
