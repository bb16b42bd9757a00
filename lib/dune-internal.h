/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of lib/ (ISA-neutral). */
#ifndef DUNE_INTERNAL_H
#define DUNE_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include "kvm-compat.h"

#include "dune.h"
#include "arch.h"

#define DUNE_PAGE_SIZE		(1UL << DUNE_PAGE_SHIFT)
#define DUNE_SZ_2M		(2UL << 20)
#define DUNE_ALIGN_DOWN(x, a)	((x) & ~((uintptr_t)(a) - 1))
#define DUNE_ALIGN_UP(x, a)	DUNE_ALIGN_DOWN((x) + (a) - 1, (a))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define IS_ERR_VALUE(x)		((unsigned long)(x) >= (unsigned long)-DUNE_MAX_ERRNO)

/*
 * The dune area: one reservation holding everything dune itself needs, never
 * mapped for the guest's CPL3 code.  Its tail (guest-kernel pages and the
 * page-table pool) is one memslot, so a page-table GPA is area_gpa + offset.
 */
#define DUNE_AREA_SIZE		(512UL << 20)
#define DUNE_AREA_VM		0UL		/* struct dune_vm */
#define DUNE_AREA_VM_SIZE	(1UL << 20)
#define DUNE_AREA_STACK		DUNE_AREA_VM_SIZE	/* host-loop stack */
#define DUNE_AREA_STACK_SIZE	(1UL << 20)
#define DUNE_AREA_GUEST		(DUNE_AREA_STACK + DUNE_AREA_STACK_SIZE)

#define DUNE_MAX_SLOTS		32768	/* KVM's x86 limit is 32764 */
#define DUNE_GPA_UNITS		(1UL << 19)	/* 2 MiB units of guest-physical space: 1 TiB */
#define DUNE_MAX_VCPUS		256	/* threads inside at once (KVM may allow fewer) */
#define DUNE_THREAD_STACK	(256UL << 10)	/* host-loop stack of other threads */
#define DUNE_MAX_OWN		6
#define DUNE_MAX_KEYED		64	/* ranges with a protection key other than 0 */
#define DUNE_MAX_SHARED_FDS	(DUNE_MAX_VCPUS + 1)
#define DUNE_MAX_OWN_FDS	(DUNE_MAX_VCPUS + 7 + DUNE_MAX_SHARED_FDS)
#define DUNE_FD_TOP		65536	/* dune's fds stay below (see util.c) */
#define DUNE_FD_ROOM		(DUNE_MAX_VCPUS + 64)
#define DUNE_RUN_EAGAIN_MAX	1000
#define DUNE_MAPS_BUF		(64UL << 10)

/* Mappings up to this size get guest PTEs at once; larger ones on first touch. */
#define DUNE_EAGER_MAP		(64UL << 20)
/* A fault in a large mapping maps and registers at most this much around it. */
#define DUNE_SLOT_WINDOW	(1UL << 30)
/* Unused memslots go when those in use cover twice what they did, and this. */
#define DUNE_SLOT_BUDGET	(16UL << 30)
#define DUNE_SLOT_COUNT_MIN	1024

struct dune_slot {
	uintptr_t hva;
	size_t size;
	uint64_t gpa;
	uint32_t id;
};

struct dune_range {
	uintptr_t start, end;
};

/* A range pkey_mprotect gave a protection key other than 0. */
struct dune_keyed {
	uintptr_t start, end;
	int pkey;
};

/* One line of /proc/self/maps. */
struct dune_vma {
	uintptr_t start, end;
	int prot;
};

/*
 * Tables indexed by system call number hold DUNE_NR_SYSCALLS slots from
 * DUNE_SYSCALL_BASE (MIPS n64 numbers start at 5000).
 */
#define DUNE_NR_SYSCALLS	DUNE_SYSCALL_COUNT

/* The slot of syscall nr in such a table, or -1 if it has none. */
static inline long dune_syscall_slot(long nr)
{
	nr -= DUNE_SYSCALL_BASE;
	return nr >= 0 && nr < DUNE_NR_SYSCALLS ? nr : -1;
}

/* Is a syscall's (or a raw syscall's) return value an -errno? */
#define IS_ERR_VALUE(x)	((unsigned long)(x) >= (unsigned long)-DUNE_MAX_ERRNO)

/* The kernel's sigset_t, as rt_sigprocmask(2) and rt_sigpending(2) take it. */
#define DUNE_SIGSET_WORDS	(DUNE_SIGSET_BYTES / 8)
typedef struct {
	uint64_t sig[DUNE_SIGSET_WORDS];
} dune_ksigset_t;

#define DUNE_DENY_KILL		(-1)
#define DUNE_POLICY_EXIT	125	/* a policy that cannot hold: as dune-run's failures */
#define DUNE_NO_RETURN		(-0x7fffffffffffffffL)

/* What tools asked for through the environment (trace.c). */
struct dune_tools {
	int active;
	int policy;			/* deny rules are in force */
	int filter;			/* ... among them dune-run's filter (policy.c) */
	int trace_fd, stats_fd, json_fd;
	int16_t deny[DUNE_NR_SYSCALLS];		/* errno, or DUNE_DENY_KILL */
	uint64_t calls[DUNE_NR_SYSCALLS];
	uint64_t ns[DUNE_NR_SYSCALLS];
};

/*
 * Where the program's syscall is while the host loop serves it, for a host
 * signal that comes meanwhile: natively its handler would run before a call
 * not made yet.  The values are also in each arch's entry.S.
 */
enum dune_call {
	DUNE_CALL_IDLE,		/* not serving one, or the kernel has taken it */
	DUNE_CALL_PENDING,	/* serving one, not forwarded yet */
	DUNE_CALL_SIGNALLED,	/* a signal came first: handlers run, then the call */
};
/* Linux's "start over" code, never seen by a program: a call not made yet. */
#define DUNE_ERESTARTNOINTR	513

/*
 * Signals the host handler took for a thread, in arrival order, each with
 * its siginfo; a standard one is there at most once.  The handler adds at
 * tail, the host loop (which the handler may interrupt, never the reverse)
 * takes entries anywhere, leaving si_signo 0.  A signal arrives only while
 * the thread's mask lets it through, so it is delivered whatever the mask is
 * later (sigsuspend restores its mask first), unless a handler we started
 * for an earlier one blocks it meanwhile.  A signal stays blocked (held)
 * from its arrival until the host loop takes it, as natively from delivery
 * into the handler's mask: further instances wait in the kernel's own queue,
 * in order, up to RLIMIT_SIGPENDING, and the queue here stays short.
 */
#define DUNE_SIGQ_LEN	64
struct dune_sigqueue {
	siginfo_t info[DUNE_SIGQ_LEN];
	unsigned int head, tail;
	unsigned int seen;	/* tail when the host loop last looked */
	uint64_t standard;
	uint64_t deferred;	/* blocked by the masks of handlers we started */
	uint64_t held;		/* blocked by us, not by the program */
	uint64_t start_mask;	/* a new thread's mask: its creator's, unheld */
};

/* The in-kernel fast path (fastpath.c). */
enum { DUNE_MODE_AUTO, DUNE_MODE_USER, DUNE_MODE_KMOD };
struct dune_fastpath {
	int mode;
	int fd;				/* the module's device; -1: user-space path only */
	int detached;			/* fd closed for a while: the next VM attaches anew */
};

struct dune_vcpu {
	struct dune_vm *vm;
	int id;
	int fd;				/* -1: no KVM vCPU yet (or not in this VM) */
	struct kvm_run *run;
	int flush_pending;
	int busy;			/* a thread runs on it */
	int vfork_child;		/* released by the parent when vfork returns */
	int private_sighand;		/* CLONE_VM without CLONE_SIGHAND */
	int escaped_tid;		/* its thread left with dune_escape() */
	int tid;			/* the thread running it */
	long sys_nr;			/* the last forwarded syscall... */
	int sys_interrupted;		/* ...returned -EINTR */
	int call;			/* ...being served: enum dune_call */
	int run_eagain;			/* KVM_RUN's EAGAINs in a row */
	int native_probe;		/* retrying natively an access KVM could not back */
	struct dune_fault probe_fault;	/* and the fault that retry took */
	uintptr_t fault_page;		/* the page of its last guest page fault... */
	int fault_repeats;		/* ...and how often it faulted there in a row, */
	unsigned int fault_resets;	/* ...since the page-table reset it saw */
	struct dune_sigqueue sigq;	/* noted by the host handler, not yet delivered */
	uint8_t *stack_top;		/* its host-loop stack */
	void *arch;
};

struct dune_vm {
	int kvm_fd;			/* /dev/kvm, during set-up only */
	int pid;			/* the process the VM belongs to */
	int vm_fd;
	int lock;			/* memory map, page tables, vCPU pool */
	int fd_lock;			/* RLIMIT_NOFILE lifted (dune_fds_begin) */
	char kvm_path[128];
	int loader_fd;			/* dune-exec-static, or -1: see exec.c */
	struct dune_range loader_image;	/* its image, when it is this process */
	int started;			/* DUNE_OP_EXEC_START was done */
	int exe_fd;			/* the program the loader runs, or -1 */
	/*
	 * A process cloned with CLONE_FILES but not CLONE_VM shares its fd table
	 * with its parent: it must neither close the parent's VM and vCPU fds
	 * (shared_fds) nor leave its own there when it ends.
	 */
	int nr_shared_fds;
	int shared_fds[DUNE_MAX_SHARED_FDS];
	size_t run_size;
	int max_vcpus;
	int nr_vcpus;
	struct dune_vcpu *vcpus[DUNE_MAX_VCPUS];
	uint8_t *area;			/* the dune area (see above) */
	uint64_t area_gpa;
	size_t pt_next;			/* bump pointer of the page-table pool */
	size_t pt_free;			/* freed table pages that may be reused (offsets)... */
	size_t pt_freed;		/* ...and those KVM may still cache (see dune_mem_sweep) */
	unsigned int pt_resets;		/* how often dune_mem_resync() cleared them */
	size_t area_usable;		/* read-write up to here, PROT_NONE above */
	size_t gpa_next, gpa_units;	/* next-fit cursor and size of gpa_used[] */
	uintptr_t brk;
	int debug;			/* DUNE_DEBUG: 1 logs faults, 2 every exit */
	int bare_exits;			/* DUNE_OP_BARE_EXITS */
	const void *forward_insn;	/* program syscalls go out there (policy.c) */
	uint32_t *fork_words;		/* shared with fork children: their reports (process.c) */
	struct dune_range own[DUNE_MAX_OWN];
	int nr_own;
	struct dune_keyed keyed[DUNE_MAX_KEYED];	/* sorted, disjoint */
	int nr_keyed;
	int exec_only_pkey;		/* the key of PROT_EXEC-only mappings, or 0 */
	int nr_slots, max_slots;
	struct dune_slot *slots;		/* sorted by hva, in the area's pool */
	size_t slot_bytes;			/* what they cover */
	size_t sweep_bytes;			/* sweep unused ones above this... */
	int sweep_slots;			/* ...or this many */
	uint64_t slot_ids[DUNE_MAX_SLOTS / 64];	/* KVM slot ids in use */
	uint64_t gpa_used[DUNE_GPA_UNITS / 64];	/* 2 MiB units from GPA_BASE in use */
	struct dune_stats stats;
	struct dune_tools tools;
	struct dune_fastpath fast;
	void *arch;
	char maps_buf[DUNE_MAPS_BUF];
};

/* util.c: what the host loop may use instead of libc (no errno, no TLS). */
#define sys0(n)			arch_raw_syscall(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a)		arch_raw_syscall(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b)		arch_raw_syscall(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c)	arch_raw_syscall(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d)	arch_raw_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e)	arch_raw_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define sys6(n, a, b, c, d, e, f) \
	arch_raw_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
/*
 * The program's own syscall nr, from the VM's forwarding instruction; for the
 * call a vCPU serves (its first forwarded syscall), dune_forward_call().
 */
extern int dune_call_none;
#define dune_forward6(vm, n, a, b, c, d, e, f) \
	arch_forward_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f), \
			     (vm)->forward_insn, &dune_call_none)
#define dune_forward_call(vcpu, n, a, b, c, d, e, f) \
	arch_forward_syscall(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f), \
			     (vcpu)->vm->forward_insn, &(vcpu)->call)
int dune_vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int dune_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
unsigned long dune_parse_ulong(const char *p, const char **end);
long dune_read_small_file(int dir, const char *path, char *buf, size_t size);
void dune_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int dune_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *dune_strerror(int err);
void dune_fds_begin(struct dune_vm *vm, struct rlimit *program);
void dune_fds_end(struct dune_vm *vm, const struct rlimit *program);
int dune_reopen_high(int fd);
int dune_take_high(long fd);
long dune_ioctl(int fd, unsigned long request, void *arg);
void dune_lock(int *lock);
int dune_guest_copy_check(void);
int dune_read_guest(void *dst, uintptr_t src, size_t len);
int dune_read_guest_string(char *buf, size_t size, uintptr_t p);
uint64_t dune_now_ns(void);
int dune_write_guest(struct dune_vm *vm, uintptr_t dst, const void *src, size_t len);
void dune_unlock(int *lock);

/* vm.c */
int dune_vm_create(struct dune_vm **vmp);
void dune_vm_destroy(struct dune_vm *vm);
int dune_vm_rebuild(struct dune_vm *vm, struct dune_vcpu *keep, int files_shared);
void dune_vm_close_kvm(struct dune_vm *vm);
void dune_vm_before_exit(struct dune_vm *vm);
struct dune_vcpu *dune_vcpu_get(struct dune_vm *vm);
struct dune_vcpu *dune_vcpu_of_escaped(struct dune_vm *vm, int tid);
void dune_vcpu_put(struct dune_vcpu *vcpu);
int dune_is_own_fd(struct dune_vm *vm, long fd);
int dune_own_fds(struct dune_vm *vm, int *fds);
int dune_move_own_fd(struct dune_vm *vm, long fd);

/* mem.c */
int dune_mem_init(struct dune_vm *vm);
void *dune_area_alloc(struct dune_vm *vm, size_t pages);
int dune_mem_replay_slots(struct dune_vm *vm);
int dune_mem_resync(struct dune_vm *vm);
void *dune_pt_alloc(struct dune_vm *vm, uint64_t *gpa);
void *dune_pt_hva(struct dune_vm *vm, uint64_t gpa);
void dune_pt_free(struct dune_vm *vm, uint64_t gpa);
int dune_mem_map(struct dune_vm *vm, uintptr_t start, uintptr_t end, int prot);
void dune_mem_unmap(struct dune_vm *vm, uintptr_t start, uintptr_t end);
int dune_mem_pkey_room(struct dune_vm *vm);
void dune_mem_set_pkey(struct dune_vm *vm, uintptr_t start, uintptr_t end, int pkey);
void dune_mem_drop_pkey(struct dune_vm *vm, uintptr_t start, uintptr_t end, int pkey);
void dune_mem_move_pkey(struct dune_vm *vm, uintptr_t old, size_t old_len, uintptr_t new,
			size_t new_len, int keep_old);
int dune_mem_fix_fault(struct dune_vcpu *vcpu, struct dune_fault *f);
int dune_mem_hva_of_gpa(struct dune_vm *vm, uint64_t gpa, uintptr_t *hva);
int dune_maps_find(struct dune_vm *vm, uintptr_t addr, struct dune_vma *vma);

/* Notes [start, end) as dune's own memory, out of the program's reach. */
int dune_own_add(struct dune_vm *vm, uintptr_t start, uintptr_t end);

/* Does [start, end) overlap dune's own memory?  (Inline: checked on most syscalls.) */
static inline int dune_overlaps_own(const struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	for (int i = 0; i < vm->nr_own; i++)
		if (start < vm->own[i].end && vm->own[i].start < end)
			return 1;
	return 0;
}

/* syscall.c */
typedef long (*syscall_fn)(struct dune_vcpu *vcpu, const struct dune_syscall *sys);
long dune_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys);
long dune_syscall_serve(struct dune_vcpu *vcpu, const struct dune_syscall *sys);

/* reach.c */
struct dune_memarg;
struct open_how;
long dune_open_checked(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long dirfd,
		       uintptr_t path, long flags, long mode, const struct open_how *how);
long dune_reach_call(struct dune_vcpu *vcpu, const struct dune_syscall *sys,
		     const struct dune_memarg *ma, syscall_fn fn);
long dune_pidfd_getfd_check(struct dune_vm *vm, const struct dune_syscall *sys);
long dune_uring_register_check(struct dune_vm *vm, const struct dune_syscall *sys);

/* signal.c */
long dune_sigaction(struct dune_vcpu *vcpu, const struct dune_syscall *sys);
long dune_sigreturn(struct dune_vcpu *vcpu);
void dune_signals_init(void);
void dune_signals_restore(void);
void dune_force_signal(int sig, const siginfo_t *info) __attribute__((noreturn));
void dune_signals_deliver(struct dune_vcpu *vcpu);
long dune_sigprocmask(struct dune_vcpu *vcpu, const struct dune_syscall *sys);
long dune_sigmask_raw(int how, uint64_t set, uint64_t *old);
uint64_t dune_signals_mask(struct dune_vcpu *vcpu);
void dune_signals_reset(struct dune_vcpu *vcpu, uint64_t mask);
void dune_signals_unhold(struct dune_vcpu *vcpu);

/* trace.c */
int dune_tools_init(struct dune_vm *vm);
long dune_tools_before(struct dune_vcpu *vcpu, const struct dune_syscall *sys, int *refused);
void dune_tools_after(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long ret,
		      uint64_t ns);
void dune_tools_report(struct dune_vm *vm, const char *why);
const char *dune_syscall_name(long nr);
long dune_syscall_nr(const char *name, size_t len);	/* -1: no such syscall */

/* seccomp.c */
long dune_seccomp_check(const struct dune_syscall *sys, int *skip);
long dune_seccomp_syscall(struct dune_vm *vm, const struct dune_syscall *sys);
int dune_seccomp_active(void);
int dune_signals_interrupting(void);
long dune_seccomp_before_exec(int own_fd_min);

/* fastpath.c */
int dune_fastpath_init(struct dune_vm *vm);
int dune_fastpath_attach(struct dune_vm *vm, int reopen);
void dune_fastpath_detach(struct dune_vm *vm);
void dune_fastpath_update(struct dune_vm *vm);
void dune_fastpath_counters(struct dune_vm *vm, struct dune_stats *stats);
int dune_fastpath_may_serve(long nr);

/* exec.c */
long dune_execve(struct dune_vm *vm, const struct dune_syscall *sys);
/* vm->loader_fd and loader_image, from dune_set_exec_loader() or DUNE_EXEC_STATIC. */
void dune_open_loader(struct dune_vm *vm);
/* [start, end) becomes dune's own memory, no longer mapped for the guest. */
int dune_mem_make_own(struct dune_vm *vm, uintptr_t start, uintptr_t end);
long dune_exec_start(struct dune_vcpu *vcpu, long fd, uintptr_t entry, uintptr_t sp);

/* api.c */
void dune_copy_stats(struct dune_stats *stats, size_t size);
long dune_copy_stats_to_guest(struct dune_vm *vm, uintptr_t dst, size_t size);

/* process.c */
int dune_fork_init(struct dune_vm *vm);
long dune_clone(struct dune_vcpu *vcpu, unsigned long flags, uintptr_t stack,
		long ptid, long ctid, long tls);
long dune_clone3(struct dune_vcpu *vcpu, const struct dune_syscall *sys);
void dune_exit_thread(struct dune_vcpu *vcpu, long status) __attribute__((noreturn));
void dune_escape_thread(struct dune_vcpu *vcpu) __attribute__((noreturn));
void dune_vcpu_leave(struct dune_vcpu *vcpu);
void dune_thread_main(struct dune_vcpu *vcpu) __attribute__((noreturn));

/* hostloop.c */
void dune_host_start(struct dune_vcpu *vcpu) __attribute__((noreturn));
void dune_host_loop(struct dune_vcpu *vcpu) __attribute__((noreturn));
void dune_policy_stop(struct dune_vm *vm, const char *what, const char *why);
/*
 * At a syscall exit, its VM unable to go on (dune_last_error() says why):
 * the thread continues natively, the syscall returning ret (sp: a new stack
 * pointer, or 0); under a policy the program stops instead.
 */
void dune_leave_vm_at(struct dune_vcpu *vcpu, const char *what, long ret, uintptr_t sp)
	__attribute__((noreturn));
void dune_probe_faulted(struct dune_vcpu *vcpu, const siginfo_t *info, const sigset_t *mask)
	__attribute__((noreturn));
void dune_deliver_fault(struct dune_vcpu *vcpu, const struct dune_fault *f);

extern struct dune_vm *dune_current_vm;

#endif /* DUNE_INTERNAL_H */
