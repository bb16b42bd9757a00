/* SPDX-License-Identifier: MIT */
/*
 * Policies enforced by the kernel (policy.c): dune-run compiles its rules
 * into a seccomp filter and installs it natively before execve, so they hold
 * for every thread, child and exec'd image of the program.
 */
#ifndef DUNE_POLICY_H
#define DUNE_POLICY_H

#include <linux/filter.h>
#include <stdint.h>

#include "dune-internal.h"

/* A comparison of a syscall argument, as libseccomp's SCMP_CMP_* (64 bits, unsigned). */
enum dune_cmp_op {
	DUNE_CMP_NE, DUNE_CMP_LT, DUNE_CMP_LE, DUNE_CMP_EQ, DUNE_CMP_GE, DUNE_CMP_GT,
	DUNE_CMP_MASKED_EQ,		/* (arg & value) == value2 */
};

struct dune_arg_cmp {
	uint8_t arg;			/* 0..5 */
	uint8_t op;			/* enum dune_cmp_op */
	uint64_t value, value2;
};

#define DUNE_MAX_CMPS		6
#define DUNE_MAX_COND_RULES	64

/* A rule that applies when every comparison holds. */
struct dune_cond_rule {
	long nr;
	int action;			/* 0 (allow), an errno, or DUNE_DENY_KILL */
	int nr_cmps;
	struct dune_arg_cmp cmp[DUNE_MAX_CMPS];
};

/*
 * When several rules on a call match, the most restrictive applies (kill,
 * then an errno, then allow; between errnos, the first given): a rule
 * without conditions always matches; dflt (or allowing, without an
 * allow-list) applies when no rule does.
 */
struct dune_policy {
	int allow_mode;			/* only allow[] may run: the rest gets dflt */
	int dflt;			/* errno, or DUNE_DENY_KILL */
	/* by slot (dune_syscall_slot()) */
	int16_t deny[DUNE_NR_SYSCALLS];	/* errno, or DUNE_DENY_KILL; 0: no rule */
	uint8_t allow[DUNE_NR_SYSCALLS];
	int nr_cond;
	struct dune_cond_rule cond[DUNE_MAX_COND_RULES];
};

/* What a rule on a syscall can bind (dune_policy_reach()). */
enum dune_policy_reach {
	DUNE_REACH_ALL,		/* every call, native or inside dune */
	DUNE_REACH_INSIDE,	/* the calls made inside dune (all the program's under
				   a policy): dune makes it natively */
	DUNE_REACH_NONE,	/* dune performs it itself, having asked (dune_policy_ask()) */
};

/* name[=ERRNO|=kill],... into table (what: the option, for messages). */
int dune_rules_parse(int16_t table[DUNE_NR_SYSCALLS], const char *list, const char *what);
/* An errno by name or number (1..4095), or 'kill' (DUNE_DENY_KILL); 0 if neither. */
int dune_rule_action(const char *name, size_t len);
enum dune_policy_reach dune_policy_reach(long nr);
/* Add a rule with conditions; -errno with dune_last_error(). */
int dune_policy_add_cond(struct dune_policy *p, const struct dune_cond_rule *rule);
/* Refuse rules a filter cannot enforce; -errno with dune_last_error(). */
int dune_policy_check(const struct dune_policy *p);
/* The filter's program into insns (max entries); its length, or -errno. */
int dune_policy_compile(const struct dune_policy *p, struct sock_filter *insns, int max);
/* no_new_privs and the filter, on the calling thread (before execve). */
int dune_policy_install(const struct dune_policy *p);
/*
 * Before dune performs the program's call nr (args: its first five) itself:
 * 0 if the policy filter in force lets it run, or the -errno it gives (the
 * kernel kills the process if that is the rule).
 */
long dune_policy_ask(struct dune_vm *vm, long nr, const long *args);
/* Is a dune-run policy filter in force (natively or inside dune)? */
int dune_policy_in_force(void);
/*
 * For dune-exec-static, before it enters: the VM's later execs go through the
 * image at path (its own /proc/self/exe), not DUNE_EXEC_STATIC, which is the
 * program's to set; this image becomes dune's own memory when it starts the
 * program (DUNE_OP_EXEC_START), and its code is sealed now.  -errno with
 * dune_last_error().
 */
int dune_set_exec_loader(const char *path);
/* Map the page program syscalls are forwarded from (see arch-policy.h). */
int dune_forward_init(struct dune_vm *vm);

#endif /* DUNE_POLICY_H */
