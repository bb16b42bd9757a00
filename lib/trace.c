// SPDX-License-Identifier: MIT
/*
 * What tools ask of the host loop through the environment (read at
 * dune_enter(), so every process and exec'd program of a dune-run gets it):
 *   DUNE_TRACE=FILE       a line per forwarded syscall (strace-like)
 *   DUNE_STATS=FILE       a table per process at exit: exits, syscalls, time
 *   DUNE_STATS_JSON=FILE  the same as one JSON object per line
 *   DUNE_DENY=LIST        name[=ERRNO|=kill],...: refused by the host loop (dune-run
 *                         has the kernel refuse them instead: policy.c)
 * Files are opened O_APPEND by each process and kept among dune's own fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "policy.h"

/* By slot (dune_syscall_slot()): generated from the ISA's <asm/unistd.h>. */
static const char *const syscall_names[DUNE_NR_SYSCALLS] = {
#include "syscall-names.h"
};

const char *dune_syscall_name(long nr)
{
	long slot = dune_syscall_slot(nr);

	return slot >= 0 ? syscall_names[slot] : NULL;
}

long dune_syscall_nr(const char *name, size_t len)
{
	for (long slot = 0; slot < DUNE_NR_SYSCALLS; slot++)
		if (syscall_names[slot] && strlen(syscall_names[slot]) == len &&
		    !strncmp(syscall_names[slot], name, len))
			return DUNE_SYSCALL_BASE + slot;
	return -1;
}

static int open_output(const char *var)
{
	const char *path = getenv(var);

	if (!path || !*path)
		return -1;
	return dune_take_high(sys4(SYS_openat, AT_FDCWD, path,
				   O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
}

int dune_tools_init(struct dune_vm *vm)
{
	struct dune_tools *t = &vm->tools;
	int err;

	t->trace_fd = open_output("DUNE_TRACE");
	t->stats_fd = open_output("DUNE_STATS");
	t->json_fd = open_output("DUNE_STATS_JSON");
	t->active = t->trace_fd >= 0 || t->stats_fd >= 0 || t->json_fd >= 0;
	err = dune_rules_parse(t->deny, getenv("DUNE_DENY"), "DUNE_DENY");
	for (int slot = 0; slot < DUNE_NR_SYSCALLS; slot++)
		if (t->deny[slot])
			t->active = t->policy = 1;
	/* dune-run's filter: the kernel enforces it, dune must not let it be left */
	t->filter = dune_policy_in_force();
	t->policy |= t->filter;
	return err;
}

/* ---- output, built in a buffer with raw syscalls ------------------------ */

struct out {
	char buf[16384];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	o->len += dune_vfmt(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (o->len >= sizeof(o->buf))
		o->len = sizeof(o->buf) - 1;
}

static void flush(struct out *o, int fd)
{
	if (fd >= 0)
		sys3(SYS_write, fd, o->buf, o->len);
	o->len = 0;
}

/* Arguments worth decoding: the path of the usual file syscalls. */
static int path_arg(long nr)
{
	switch (nr) {
#ifdef SYS_open		/* the legacy calls: none on asm-generic ISAs (LoongArch) */
	case SYS_open: case SYS_stat: case SYS_lstat: case SYS_access: case SYS_unlink:
	case SYS_mkdir: case SYS_rmdir: case SYS_readlink: case SYS_rename: case SYS_chmod:
	case SYS_creat:
#endif
	case SYS_execve: case SYS_chdir: case SYS_truncate:
		return 0;
#ifdef SYS_newfstatat
	case SYS_newfstatat:
#endif
	case SYS_openat: case SYS_faccessat: case SYS_faccessat2:
	case SYS_unlinkat: case SYS_mkdirat: case SYS_readlinkat: case SYS_statx:
	case SYS_execveat: case SYS_renameat2: case SYS_fchmodat:
		return 1;
	}
	return -1;
}

static void put_call(struct out *o, const struct dune_syscall *sys, long ret)
{
	const char *name = dune_syscall_name(sys->nr);
	int p = path_arg(sys->nr);

	put(o, "[%d] ", (int)sys0(SYS_gettid));
	if (name)
		put(o, "%s(", name);
	else
		put(o, "syscall_%ld(", sys->nr);
	for (int i = 0; i < 3; i++) {
		char s[96];
		int err = i == p ? dune_read_guest_string(s, sizeof(s), sys->args[i]) : -EFAULT;

		if (!err || err == -ENAMETOOLONG)	/* cut short: "...", as strace */
			put(o, "%s\"%s\"%s", i ? ", " : "", s, err ? "..." : "");
		else
			put(o, "%s%#lx", i ? ", " : "", (unsigned long)sys->args[i]);
	}
	if (ret == DUNE_NO_RETURN)
		put(o, ") = ?\n");
	else if (IS_ERR_VALUE(ret))
		put(o, ") = -1 %s (%s)\n", strerrorname_np(-ret) ? strerrorname_np(-ret) : "?",
		    dune_strerror(ret));
	else
		put(o, ") = %ld\n", ret);
}

/* ---- the per-syscall hooks -------------------------------------------- */

/* A policy refusal: the result the program gets (*refused set). */
long dune_tools_before(struct dune_vcpu *vcpu, const struct dune_syscall *sys, int *refused)
{
	struct dune_tools *t = &vcpu->vm->tools;
	long slot = dune_syscall_slot(sys->nr);
	int action = slot >= 0 ? t->deny[slot] : 0;

	*refused = action != 0;
	if (action == DUNE_DENY_KILL)
		dune_force_signal(SIGSYS, &(siginfo_t){ .si_signo = SIGSYS, .si_code = SI_KERNEL });
	return -action;
}

void dune_tools_after(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long ret,
		      uint64_t ns)
{
	struct dune_tools *t = &vcpu->vm->tools;
	long slot = dune_syscall_slot(sys->nr);

	if (slot >= 0) {
		__atomic_add_fetch(&t->calls[slot], 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->ns[slot], ns, __ATOMIC_RELAXED);
	}
	if (t->trace_fd >= 0) {
		struct out line;

		line.len = 0;
		put_call(&line, sys, ret);
		flush(&line, t->trace_fd);
	}
}

/* ---- the table at exit ------------------------------------------------ */

static void put_table(struct out *o, struct dune_vm *vm, const char *why)
{
	struct dune_stats *s = &vm->stats;
	struct dune_tools *t = &vm->tools;
	uint64_t done[DUNE_NR_SYSCALLS / 64 + 1] = { 0 };

	put(o, "dune stats: pid %d, %s\n", (int)sys0(SYS_getpid), why);
	put(o, "  exits: syscall %lu, fault %lu, interrupted %lu, mmio %lu, other %lu\n",
	    s->exits[0], s->exits[1], s->exits[2], s->exits[3], s->exits[4]);
	put(o, "  faults fixed %lu, faults signalled %lu, signals delivered %lu\n",
	    s->faults_fixed, s->faults_signalled, s->signals);
	dune_fastpath_counters(vm, s);
	put(o, "  syscalls served: %lu in user space, %lu in the kernel (%s)\n",
	    s->exits[DUNE_EXIT_SYSCALL], s->kernel_syscalls, vm->fast.fd >= 0 ? "module attached" : "no module");
	put(o, "  %-20s %10s %12s %10s\n", "syscall", "calls", "total us", "avg us");
	for (;;) {	/* by time spent, most first */
		long best = -1;

		for (long slot = 0; slot < DUNE_NR_SYSCALLS; slot++)
			if (t->calls[slot] && !(done[slot / 64] >> (slot % 64) & 1) &&
			    (best < 0 || t->ns[slot] > t->ns[best]))
				best = slot;
		if (best < 0)
			break;
		done[best / 64] |= 1ULL << (best % 64);
		put(o, "  %-20s %10lu %12lu %10lu\n", syscall_names[best] ? syscall_names[best] : "?",
		    t->calls[best], t->ns[best] / 1000, t->ns[best] / 1000 / t->calls[best]);
	}
}

static void put_json(struct out *o, struct dune_vm *vm, const char *why)
{
	struct dune_stats *s = &vm->stats;
	struct dune_tools *t = &vm->tools;
	const char *sep = "";

	put(o, "{\"pid\":%d,\"end\":\"%s\",\"exits\":{\"syscall\":%lu,\"fault\":%lu,"
	    "\"interrupted\":%lu,\"mmio\":%lu,\"other\":%lu},", (int)sys0(SYS_getpid), why,
	    s->exits[0], s->exits[1], s->exits[2], s->exits[3], s->exits[4]);
	dune_fastpath_counters(vm, s);
	put(o, "\"faults_fixed\":%lu,\"faults_signalled\":%lu,\"signals\":%lu,"
	    "\"served\":{\"user\":%lu,\"kernel\":%lu},\"syscalls\":{",
	    s->faults_fixed, s->faults_signalled, s->signals, s->exits[DUNE_EXIT_SYSCALL],
	    s->kernel_syscalls);
	for (long slot = 0; slot < DUNE_NR_SYSCALLS; slot++) {
		if (!t->calls[slot] || !syscall_names[slot])
			continue;
		put(o, "%s\"%s\":{\"calls\":%lu,\"ns\":%lu}", sep, syscall_names[slot],
		    t->calls[slot], t->ns[slot]);
		sep = ",";
	}
	put(o, "}}\n");
}

/* The process ends or execs: its table, if asked for. */
void dune_tools_report(struct dune_vm *vm, const char *why)
{
	static struct out o;

	if (vm->tools.stats_fd >= 0) {
		put_table(&o, vm, why);
		flush(&o, vm->tools.stats_fd);
	}
	if (vm->tools.json_fd >= 0) {
		put_json(&o, vm, why);
		flush(&o, vm->tools.json_fd);
	}
}
