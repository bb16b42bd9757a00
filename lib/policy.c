// SPDX-License-Identifier: MIT
/*
 * dune-run's policies as a seccomp filter the kernel enforces.  dune-run
 * installs it natively, with no-new-privs, before it execs the program, so
 * it binds every thread, child and exec'd image whatever the program does to
 * dune's memory, its environment or its limits.  Inside dune the host loop
 * forwards each program syscall from one instruction at DUNE_FORWARD_PAGE
 * (arch-policy.h), and seccomp reports where a call came from: there the
 * filter applies the program's rules; elsewhere (dune itself: under a
 * policy every program starts inside, from dune-exec-static, exec.c) the
 * calls dune makes natively pass, and every other rule still holds.  Calls
 * dune performs itself (clone, the signal calls, the open calls under a
 * policy...) it asks about first, from that same instruction (emit_check()).  Rules with conditions
 * compare the call's 64-bit arguments, a 32-bit half at a time, as libseccomp
 * does (struct dune_policy says which rule wins).  A foreign ABI (another
 * AUDIT_ARCH, x32) is killed; io_uring and kernel AIO, which do work without
 * the calls it stands for, are refused unless an allow-list names them.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "arch-policy.h"
#include "policy.h"
#include "syscalls.h"

/*
 * What dune and dune-exec-static's C library start-up issue natively,
 * besides what dune services (syscalls.h): a rule on one of them binds the
 * forwarded calls, which are all the program makes.
 */
#define NATIVE_SYSCALLS(X)						\
	X(read) X(write) X(openat) X(close) X(pread64) X(newfstatat)	\
	X(fstat) X(faccessat) X(readlinkat) X(getpid) X(gettid) X(kill)	\
	X(tgkill) X(rt_tgsigqueueinfo) X(wait4) X(waitid) X(sched_yield) \
	X(futex) X(set_tid_address) X(set_robust_list) X(rseq)		\
	X(getrandom) X(madvise) X(process_vm_readv) X(shmctl)		\
	X(clock_gettime) X(sigaltstack) X(sched_getaffinity) X(uname)	\
	X(getuid) X(geteuid) X(getgid) X(getegid) X(statx) X(lseek)	\
	X(restart_syscall) X(ppoll) X(rt_sigpending) X(pipe2) X(statfs)	\
	X(fstatfs) X(dup) X(memfd_create)				\
	DUNE_ARCH_NATIVE_SYSCALLS(X)

#define NATIVE_ENTRY(name)	[SYS_##name - DUNE_SYSCALL_BASE] = 1,
static const uint8_t native[DUNE_NR_SYSCALLS] = { NATIVE_SYSCALLS(NATIVE_ENTRY) };

int dune_rule_action(const char *name, size_t len)
{
	int e;

	if (len == 4 && !strncmp(name, "kill", 4))
		return DUNE_DENY_KILL;
	for (e = 1; e < DUNE_MAX_ERRNO + 1; e++) {
		const char *n = strerrorname_np(e);

		if (n && strlen(n) == len && !strncmp(n, name, len))
			return e;
	}
	e = 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9' || (e = e * 10 + name[i] - '0') > DUNE_MAX_ERRNO)
			return 0;
	}
	return e;
}

int dune_rules_parse(int16_t table[DUNE_NR_SYSCALLS], const char *list, const char *what)
{
	while (list && *list) {
		const char *end = strchrnul(list, ','), *eq = memchr(list, '=', end - list);
		long nr = dune_syscall_nr(list, (eq ? eq : end) - list);
		int action = eq ? dune_rule_action(eq + 1, end - eq - 1) : EPERM;

		if (nr < 0)
			return dune_fail(-EINVAL, "%s: unknown system call '%.*s'", what,
					 (int)((eq ? eq : end) - list), list);
		if (action == 0)
			return dune_fail(-EINVAL, "%s: '%.*s': the action must be an errno "
					 "(a name or 1..%d) or 'kill'", what, (int)(end - list), list,
					 DUNE_MAX_ERRNO);
		table[dune_syscall_slot(nr)] = action;
		list = *end ? end + 1 : end;
	}
	return 0;
}

enum dune_policy_reach dune_policy_reach(long nr)
{
	long slot = dune_syscall_slot(nr);

	if (dune_syscall_why(nr) & DUNE_WHY_SERVED)
		return DUNE_REACH_NONE;
	return dune_syscall_why(nr) || (slot >= 0 && native[slot]) ? DUNE_REACH_INSIDE :
								     DUNE_REACH_ALL;
}

int dune_policy_check(const struct dune_policy *p)
{
	for (const struct dune_cond_rule *r = p->cond; r < p->cond + p->nr_cond; r++) {
		if (dune_policy_reach(r->nr) != DUNE_REACH_NONE)
			continue;
		for (int c = 0; c < r->nr_cmps; c++)
			if (r->cmp[c].arg > 4)
				return dune_fail(-EINVAL, "a rule on %s compares its argument %d: "
						 "dune performs the call itself and asks the filter "
						 "with its first five only",
						 dune_syscall_name(r->nr), r->cmp[c].arg);
	}
	return 0;
}

int dune_policy_add_cond(struct dune_policy *p, const struct dune_cond_rule *rule)
{
	if (dune_syscall_slot(rule->nr) < 0 || !dune_syscall_name(rule->nr))
		return dune_fail(-EINVAL, "a rule on an unknown system call (%ld)", rule->nr);
	if (rule->nr_cmps < 1 || rule->nr_cmps > DUNE_MAX_CMPS)
		return dune_fail(-EINVAL, "a rule on %s with %d conditions (1..%d)",
				 dune_syscall_name(rule->nr), rule->nr_cmps, DUNE_MAX_CMPS);
	for (int i = 0; i < rule->nr_cmps; i++)
		if (rule->cmp[i].arg > 5 || rule->cmp[i].op > DUNE_CMP_MASKED_EQ)
			return dune_fail(-EINVAL, "a rule on %s compares argument %u with "
					 "operation %u", dune_syscall_name(rule->nr),
					 rule->cmp[i].arg, rule->cmp[i].op);
	if (rule->action != DUNE_DENY_KILL && (rule->action < 0 || rule->action > DUNE_MAX_ERRNO))
		return dune_fail(-EINVAL, "a rule on %s with action %d",
				 dune_syscall_name(rule->nr), rule->action);
	if (p->nr_cond == DUNE_MAX_COND_RULES)
		return dune_fail(-E2BIG, "more than %d rules with conditions", DUNE_MAX_COND_RULES);
	p->cond[p->nr_cond++] = *rule;
	return 0;
}

/*
 * Calls that do the work of others without them: io_uring (open, mkdir,
 * connect, write... as requests) and kernel AIO's io_submit (reads, writes,
 * fsync); and those that write another process's memory, ptrace and
 * process_vm_writev, which could change the dune state of a process under
 * the same policy (a parent, a child) so that its dune makes calls for it.
 * A deny rule on those others would not hold.
 */
static int does_others_work(long nr)
{
	return nr == SYS_io_uring_setup || nr == SYS_io_uring_enter ||
	       nr == SYS_io_uring_register || nr == SYS_io_submit ||
	       nr == SYS_ptrace || nr == SYS_process_vm_writev;
}

/* Does a rule on nr bind the calls made from the forwarding instruction, or the others? */
static int binds(long nr, int forwarded)
{
	return forwarded || dune_policy_reach(nr) == DUNE_REACH_ALL;
}

/* The action (errno, kill, or 0: run it) for nr on one side when no rule with conditions holds. */
static int verdict(const struct dune_policy *p, long nr, int forwarded)
{
	long slot = dune_syscall_slot(nr);

	if (p->deny[slot])
		return binds(nr, forwarded) ? p->deny[slot] : 0;
	if (p->allow_mode) {
		if (p->allow[slot])
			return 0;
		return binds(nr, forwarded) ? p->dflt : 0;
	}
	return does_others_work(nr) ? EPERM : 0;
}

/* Is verdict() a rule without conditions on nr for this side (not a default)? */
static int plain_rule(const struct dune_policy *p, long nr, int forwarded)
{
	long slot = dune_syscall_slot(nr);

	return p->deny[slot] ? binds(nr, forwarded) : p->allow_mode && p->allow[slot];
}

/* Kill, then an errno, then allow. */
static int rank(int action)
{
	return action == DUNE_DENY_KILL ? 2 : action != 0;
}

struct prog {
	struct sock_filter *insns;
	int len, max;
	/*
	 * Emitting the answers to DUNE_OP_POLICY_CHECK: the call's arguments
	 * are one further on, and "allow" is 0 (the check itself never runs).
	 */
	int check;
};

static void emit(struct prog *b, struct sock_filter in)
{
	if (b->len < b->max)
		b->insns[b->len] = in;
	b->len++;
}

static uint32_t ret_of(const struct prog *b, int action)
{
	if (action == DUNE_DENY_KILL)
		return SECCOMP_RET_KILL_PROCESS;
	if (action)
		return SECCOMP_RET_ERRNO | (uint32_t)action;
	return b->check ? SECCOMP_RET_ERRNO : SECCOMP_RET_ALLOW;
}

#define STMT(code, k)	((struct sock_filter)BPF_STMT(code, k))
#define JEQ(k, jt, jf)	((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf))
#define LD_DATA(field)	STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(v)		STMT(BPF_RET | BPF_K, (v))
#define HALF(high)	(4 * ((high) ^ (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)))
/* the low (0) or high (1) 32 bits of the 64-bit instruction pointer, or of argument i */
#define LD_IP(high)	STMT(BPF_LD | BPF_W | BPF_ABS, \
			     offsetof(struct seccomp_data, instruction_pointer) + HALF(high))
#define LD_ARG(i, high)	STMT(BPF_LD | BPF_W | BPF_ABS, \
			     offsetof(struct seccomp_data, args) + 8 * (i) + HALF(high))
#define JMP(op, k, jt, jf) ((struct sock_filter)BPF_JUMP(BPF_JMP | (op) | BPF_K, k, jt, jf))
#define AND(k)		STMT(BPF_ALU | BPF_AND | BPF_K, (k))

/* The length of each comparison's code (emit_cmp()). */
static const uint8_t cmp_len[] = {
	[DUNE_CMP_NE] = 4, [DUNE_CMP_LT] = 5, [DUNE_CMP_LE] = 5, [DUNE_CMP_EQ] = 4,
	[DUNE_CMP_GE] = 5, [DUNE_CMP_GT] = 5, [DUNE_CMP_MASKED_EQ] = 6,
};

/*
 * A 64-bit comparison, the high halves first: when it holds it goes on to
 * the code after it, otherwise to fail instructions beyond that.
 */
static void emit_cmp(struct prog *b, const struct dune_arg_cmp *c, int fail)
{
	uint32_t hi = c->value >> 32, lo = (uint32_t)c->value;
	int len = cmp_len[c->op], arg = c->arg + b->check;
#define FAIL(i)	(len - (i) - 1 + fail)	/* from the comparison's instruction i */

	emit(b, LD_ARG(arg, 1));
	switch (c->op) {
	case DUNE_CMP_EQ:
		emit(b, JMP(BPF_JEQ, hi, 0, FAIL(1)));
		emit(b, LD_ARG(arg, 0));
		emit(b, JMP(BPF_JEQ, lo, 0, FAIL(3)));
		break;
	case DUNE_CMP_NE:
		emit(b, JMP(BPF_JEQ, hi, 0, 2));
		emit(b, LD_ARG(arg, 0));
		emit(b, JMP(BPF_JEQ, lo, FAIL(3), 0));
		break;
	case DUNE_CMP_MASKED_EQ:
		emit(b, AND(hi));
		emit(b, JMP(BPF_JEQ, (uint32_t)(c->value2 >> 32), 0, FAIL(2)));
		emit(b, LD_ARG(arg, 0));
		emit(b, AND(lo));
		emit(b, JMP(BPF_JEQ, (uint32_t)c->value2, 0, FAIL(5)));
		break;
	case DUNE_CMP_GT:
	case DUNE_CMP_GE:
		emit(b, JMP(BPF_JGT, hi, 3, 0));
		emit(b, JMP(BPF_JEQ, hi, 0, FAIL(2)));
		emit(b, LD_ARG(arg, 0));
		emit(b, JMP(c->op == DUNE_CMP_GT ? BPF_JGT : BPF_JGE, lo, 0, FAIL(4)));
		break;
	case DUNE_CMP_LT:
	case DUNE_CMP_LE:
		emit(b, JMP(BPF_JGT, hi, FAIL(1), 0));
		emit(b, JMP(BPF_JEQ, hi, 0, 2));
		emit(b, LD_ARG(arg, 0));
		emit(b, JMP(c->op == DUNE_CMP_LT ? BPF_JGE : BPF_JGT, lo, FAIL(4), 0));
		break;
	}
#undef FAIL
}

/* A rule with conditions: its action if they all hold, else on to the code after it. */
static void emit_cond_rule(struct prog *b, const struct dune_cond_rule *r)
{
	int left = 1;	/* the instructions after the current comparison: the RET */

	for (int i = 0; i < r->nr_cmps; i++)
		left += cmp_len[r->cmp[i].op];
	for (int i = 0; i < r->nr_cmps; i++) {
		left -= cmp_len[r->cmp[i].op];
		emit_cmp(b, &r->cmp[i], left);
	}
	emit(b, RET(ret_of(b, r->action)));
}

/*
 * One call's rules on one side, if any differ from the side's default
 * dflt: with the accumulator holding the call's number, the rules with
 * conditions that a rule without them does not outrank, the most
 * restrictive first, then the verdict.
 */
static void emit_call(struct prog *b, const struct dune_policy *p, long nr, int forwarded,
		      int dflt)
{
	int v = verdict(p, nr, forwarded), plain = plain_rule(p, nr, forwarded) ? rank(v) : -1;
	int conds = 0, skip;

	for (int i = 0; i < p->nr_cond; i++)
		conds += p->cond[i].nr == nr && binds(nr, forwarded) &&
			 rank(p->cond[i].action) > plain;
	if (!conds) {
		if (v != dflt) {
			emit(b, JEQ(nr, 0, 1));
			emit(b, RET(ret_of(b, v)));
		}
		return;
	}
	emit(b, JEQ(nr, 1, 0));
	skip = b->len;
	emit(b, STMT(BPF_JMP | BPF_JA, 0));
	for (int k = 2; k > plain; k--)
		for (int i = 0; i < p->nr_cond; i++)
			if (p->cond[i].nr == nr && rank(p->cond[i].action) == k)
				emit_cond_rule(b, &p->cond[i]);
	emit(b, RET(ret_of(b, v)));
	if (skip < b->max)
		b->insns[skip].k = b->len - skip - 1;
}

/*
 * The question dune asks before it performs a call itself (dune_policy_ask()):
 * DUNE_SYSCALL_NR from the forwarding instruction, DUNE_OP_POLICY_CHECK and
 * the call's number in the halves of its first argument, the call's
 * arguments after it.  The answer is what the call would get: 0, -errno, or
 * the process killed.  Other calls go past with their number in A.
 */
static void emit_check(struct prog *b, const struct dune_policy *p, int dflt)
{
	int skip;

	emit(b, JEQ(DUNE_SYSCALL_NR, 1, 0));
	skip = b->len;
	emit(b, STMT(BPF_JMP | BPF_JA, 0));
	emit(b, LD_ARG(0, 0));
	emit(b, JEQ(DUNE_OP_POLICY_CHECK, 1, 0));
	emit(b, RET(SECCOMP_RET_ERRNO | EPERM));
	emit(b, LD_ARG(0, 1));
	b->check = 1;
	for (long nr = DUNE_SYSCALL_BASE; nr < DUNE_SYSCALL_BASE + DUNE_NR_SYSCALLS; nr++)
		if (dune_policy_reach(nr) == DUNE_REACH_NONE ||
		    (dune_syscall_why(nr) & DUNE_WHY_POLICY))
			emit_call(b, p, nr, 1, dflt);
	emit(b, RET(ret_of(b, dflt)));
	b->check = 0;
	if (skip < b->max)
		b->insns[skip].k = b->len - skip - 1;
}

/*
 * One side's rules, the side's default for the calls no rule names.  dune's
 * own operations are refused (natively, dune_policy_in_force() asks that).
 */
static void emit_side(struct prog *b, const struct dune_policy *p, int forwarded)
{
	int dflt = p->allow_mode ? p->dflt : 0;

	emit(b, LD_DATA(nr));
	if (forwarded)
		emit_check(b, p, dflt);
	emit(b, JEQ(DUNE_SYSCALL_NR, 0, 1));
	emit(b, RET(SECCOMP_RET_ERRNO | EPERM));
	for (long nr = DUNE_SYSCALL_BASE; nr < DUNE_SYSCALL_BASE + DUNE_NR_SYSCALLS; nr++)
		emit_call(b, p, nr, forwarded, dflt);
	emit(b, RET(ret_of(b, dflt)));
}

int dune_policy_compile(const struct dune_policy *p, struct sock_filter *insns, int max)
{
	struct prog b = { .insns = insns, .max = max };
	int native_side;

	emit(&b, LD_DATA(arch));
	emit(&b, JEQ(arch_audit_arch(), 1, 0));
	emit(&b, RET(SECCOMP_RET_KILL_PROCESS));
#ifdef DUNE_FOREIGN_NR_MIN
	emit(&b, LD_DATA(nr));
	emit(&b, ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, DUNE_FOREIGN_NR_MIN, 0, 1)));
	emit(&b, RET(SECCOMP_RET_KILL_PROCESS));
#endif
	emit(&b, LD_IP(1));
	emit(&b, JEQ((uint32_t)(DUNE_FORWARD_IP >> 32), 0, 2));
	emit(&b, LD_IP(0));
	emit(&b, JEQ((uint32_t)DUNE_FORWARD_IP, 1, 0));
	native_side = b.len;
	emit(&b, STMT(BPF_JMP | BPF_JA, 0));
	emit_side(&b, p, 1);
	if (native_side < b.max)
		b.insns[native_side].k = b.len - native_side - 1;
	emit_side(&b, p, 0);
	if (b.len > b.max)
		return dune_fail(-E2BIG, "the policy needs %d BPF instructions, more than %d",
				 b.len, b.max);
	return b.len;
}

int dune_policy_install(const struct dune_policy *p)
{
	static struct sock_filter insns[BPF_MAXINSNS];
	struct sock_fprog prog;
	int len = dune_policy_check(p);
	long err;

	if (!len)
		len = dune_policy_compile(p, insns, BPF_MAXINSNS);
	if (len < 0)
		return len;
	prog = (struct sock_fprog){ (unsigned short)len, insns };
	err = sys5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (err)
		return dune_fail(err, "PR_SET_NO_NEW_PRIVS: %s", dune_strerror(err));
	err = sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	if (err)
		return dune_fail(err, "installing the policy's seccomp filter: %s", dune_strerror(err));
	return 0;
}

long dune_policy_ask(struct dune_vm *vm, long nr, const long *args)
{
	if (!vm->tools.filter)
		return 0;
	return dune_forward6(vm, DUNE_SYSCALL_NR, DUNE_OP_POLICY_CHECK | (uint64_t)nr << 32,
			     args[0], args[1], args[2], args[3], args[4]);
}

int dune_policy_in_force(void)
{
	long r = arch_raw_syscall(DUNE_SYSCALL_NR, DUNE_OP_POLICY, 0, 0, 0, 0, 0);

	return dune_is_inside() ? r == 1 : r == -EPERM;
}

/*
 * Natively, the forwarding instruction goes to DUNE_FORWARD_PAGE, among
 * dune's own memory.  Nested inside dune, the outer host loop forwards the
 * calls: the library's own instruction does.  A program that holds the
 * address cannot be run under a policy, and the filter refuses what it
 * would forward from there all the same.
 */
static int forward_page_mapped;	/* by this process image (fork children inherit it) */

int dune_forward_init(struct dune_vm *vm)
{
	long page, err;

	vm->forward_insn = arch_forward_template;
	if (dune_is_inside())
		return 0;
	if (!forward_page_mapped) {
		page = sys6(SYS_mmap, DUNE_FORWARD_PAGE, DUNE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (page > 0 && page != (long)DUNE_FORWARD_PAGE)	/* no MAP_FIXED_NOREPLACE */
			sys2(SYS_munmap, page, DUNE_PAGE_SIZE);
		if (page != (long)DUNE_FORWARD_PAGE)
			return dune_fail(page < 0 ? page : -EEXIST, "cannot map the forwarding page "
					 "at %#lx: %s", DUNE_FORWARD_PAGE,
					 dune_strerror(page < 0 ? page : -EEXIST));
		memcpy((void *)page, arch_forward_template, arch_forward_template_size);
		err = sys3(SYS_mprotect, page, DUNE_PAGE_SIZE, PROT_READ | PROT_EXEC);
		if (err)
			return dune_fail(err, "mprotect of the forwarding page: %s", dune_strerror(err));
		forward_page_mapped = 1;
	}
	vm->forward_insn = (void *)DUNE_FORWARD_PAGE;
	return dune_own_add(vm, DUNE_FORWARD_PAGE, DUNE_FORWARD_PAGE + DUNE_PAGE_SIZE);
}
