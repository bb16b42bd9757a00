// SPDX-License-Identifier: MIT
/*
 * Guest system calls.  Almost all are re-issued unchanged by the host loop
 * (same thread, same memory, same fds).  The ones below need care: they change
 * the address space dune mirrors, touch dune's own fds or memory, or create
 * processes.  Runs on the host stack: raw syscalls only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/times.h>
#include <sys/utsname.h>

#include "dune-internal.h"
#include "policy.h"
#include "syscalls.h"

/*
 * The program's call, on its way: not made if a host signal came first
 * (hostloop.c), and its accesses to the program's memory bound as the
 * program's own (arch_call_begin()).
 */
static long forward(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	const long *a = sys->args;
	long ret;

	arch_call_begin(vcpu);
	ret = dune_forward_call(vcpu, sys->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	arch_call_end(vcpu);
	return ret;
}

static long dune_op(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	if ((uint32_t)sys->args[0] == DUNE_OP_POLICY_CHECK)	/* a nested dune asks */
		return dune_policy_ask(vcpu->vm, (long)((uint64_t)sys->args[0] >> 32), sys->args + 1);
	switch (sys->args[0]) {
	case DUNE_OP_IS_INSIDE:
		return 1;
	case DUNE_OP_NOP:
		return 0;
	case DUNE_OP_BARE_EXITS:
		if (vcpu->vm->tools.policy)	/* it goes on at RCX: not for a policy */
			return -EPERM;
		vcpu->vm->bare_exits = 1;
		return 0;
	case DUNE_OP_ESCAPE:
		if (vcpu->vm->tools.policy)	/* natively the rules would not hold */
			return -EPERM;
		dune_escape_thread(vcpu);
	case DUNE_OP_GET_STATS:
		return dune_copy_stats_to_guest(vcpu->vm, sys->args[1], sys->args[2]);
	case DUNE_OP_POLICY:
		return vcpu->vm->tools.policy;
	case DUNE_OP_EXEC_START:
		return dune_exec_start(vcpu, sys->args[1], sys->args[2], sys->args[3]);
	default:
		return -EINVAL;
	}
}

/* ---- the mmap family: keep the guest page tables in step ------------------ */

#define PROT_RWX	(PROT_READ | PROT_WRITE | PROT_EXEC)

/*
 * PROT_EXEC alone: KVM cannot back a page whose host mapping does not let it
 * read (get_user_pages refuses), so the host maps it readable (*prot), and
 * the guest's pages get the execute-only key arch_exec_only_pkey() gives, as
 * Linux gives the host's (execute_only_pkey()).
 */
static int exec_only(long *prot)
{
	if ((*prot & PROT_RWX) != PROT_EXEC)
		return 0;
	*prot |= PROT_READ;
	return 1;
}

/* An ISA whose backend gives the guest no protection keys: no such key. */
int __attribute__((weak)) arch_exec_only_pkey(struct dune_vcpu *vcpu)
{
	(void)vcpu;
	return -1;
}

static long do_mmap(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	uintptr_t addr = sys->args[0];
	size_t len = sys->args[1];
	struct dune_syscall host = *sys;
	int xo = exec_only(&host.args[2]), pkey;
	long ret;

	/* natively dune's memory would not be there; it cannot move, so refuse */
	if ((sys->args[3] & MAP_FIXED) && dune_overlaps_own(vm, addr, addr + len))
		return -ENOMEM;
	ret = forward(vcpu, &host);
	if (!IS_ERR_VALUE(ret)) {
		pkey = xo ? arch_exec_only_pkey(vcpu) : 0;
		dune_mem_set_pkey(vm, ret, ret + len, pkey > 0 ? pkey : 0);
		dune_mem_map(vm, ret, ret + len, host.args[2]);
	}
	return ret;
}

/* munmap's part: the pages and their keys go. */
static void unmapped(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	dune_mem_set_pkey(vm, start, end, 0);
	dune_mem_unmap(vm, start, end);
}

static long do_munmap(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	uintptr_t addr = sys->args[0], end = addr + sys->args[1];
	long ret;

	if (!dune_overlaps_own(vm, addr, end)) {
		ret = forward(vcpu, sys);
		if (!ret)
			unmapped(vm, addr, end);
		return ret;
	}
	/* natively there is nothing at dune's addresses: unmap around them */
	for (int i = 0; i < vm->nr_own; i++) {
		struct dune_range *o = &vm->own[i];

		if (addr < o->start && o->start < end) {
			ret = dune_forward6(vm, SYS_munmap, addr, o->start - addr, 0, 0, 0, 0);
			if (ret)
				return ret;
			unmapped(vm, addr, o->start);
		}
		if (o->start <= addr && addr < o->end)
			addr = o->end < end ? o->end : end;
	}
	if (addr < end && !dune_overlaps_own(vm, addr, end)) {
		ret = dune_forward6(vm, SYS_munmap, addr, end - addr, 0, 0, 0, 0);
		if (ret)
			return ret;
		unmapped(vm, addr, end);
	}
	return 0;
}

/*
 * The pages' protection key, as Linux's arch_override_mprotect_pkey(): set
 * by pkey_mprotect (args[3] other than -1), else kept, except that PROT_EXEC
 * alone gives the execute-only key and leaving it gives key 0.  The guest
 * page tables get it (the guest's PKRU applies).
 */
static long do_mprotect(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	uintptr_t addr = sys->args[0], end = addr + sys->args[1];
	int pkey = sys->nr == SYS_pkey_mprotect ? (int)sys->args[3] : -1;
	struct dune_syscall host = *sys;
	int xo = exec_only(&host.args[2]);
	long ret;

	if (dune_overlaps_own(vm, addr, end))
		return -ENOMEM;		/* natively a hole */
	if ((pkey > 0 || xo) && !dune_mem_pkey_room(vm))
		return -ENOMEM;		/* as for too many mappings */
	ret = forward(vcpu, &host);
	if (ret) {
		dune_mem_unmap(vm, addr, end);	/* maybe partly applied: refault */
		return ret;
	}
	if (pkey < 0 && xo)
		pkey = arch_exec_only_pkey(vcpu);
	if (pkey < 0 && vm->exec_only_pkey)
		dune_mem_drop_pkey(vm, addr, end, vm->exec_only_pkey);
	if (pkey >= 0)
		dune_mem_set_pkey(vm, addr, end, pkey);
	dune_mem_map(vm, addr, end, host.args[2] & PROT_RWX);
	return 0;
}

static long do_mremap(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	uintptr_t old = sys->args[0];
	size_t old_len = sys->args[1], new_len = sys->args[2];
	long ret;

	if (dune_overlaps_own(vm, old, old + old_len))
		return -EFAULT;
	if ((sys->args[3] & MREMAP_FIXED) &&
	    dune_overlaps_own(vm, sys->args[4], sys->args[4] + new_len))
		return -ENOMEM;
	ret = forward(vcpu, sys);
	if (IS_ERR_VALUE(ret))
		return ret;
	dune_mem_move_pkey(vm, old, old_len, ret, new_len, sys->args[3] & MREMAP_DONTUNMAP);
	if (!(sys->args[3] & MREMAP_DONTUNMAP))
		dune_mem_unmap(vm, old, old + old_len);
	dune_mem_unmap(vm, ret, ret + new_len);		/* mapped on first touch */
	return ret;
}

static long do_brk(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	uintptr_t old = vm->brk;
	long ret = forward(vcpu, sys);

	if (ret == -DUNE_ERESTARTNOINTR)	/* not made: no new break */
		return ret;
	if ((uintptr_t)ret > old)
		dune_mem_map(vm, old, ret, PROT_READ | PROT_WRITE);
	else if ((uintptr_t)ret < old)
		unmapped(vm, DUNE_ALIGN_UP((uintptr_t)ret, DUNE_PAGE_SIZE), old);
	vm->brk = ret;
	return ret;
}

static long do_shmat(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	int prot = sys->args[2] & SHM_RDONLY ? PROT_READ : PROT_READ | PROT_WRITE;
	struct shmid_ds ds;
	long ret;

	/* at an address: not over dune's memory, as MAP_FIXED (SHM_REMAP) */
	if (sys->args[1] && !sys3(SYS_shmctl, sys->args[0], IPC_STAT, &ds) &&
	    dune_overlaps_own(vm, sys->args[1], sys->args[1] + ds.shm_segsz))
		return -EINVAL;
	ret = forward(vcpu, sys);
	if (IS_ERR_VALUE(ret))
		return ret;
	if (sys->args[2] & SHM_EXEC)
		prot |= PROT_EXEC;
	if (!sys3(SYS_shmctl, sys->args[0], IPC_STAT, &ds))
		dune_mem_map(vm, ret, ret + ds.shm_segsz, prot);
	return ret;
}

static long do_shmdt(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	struct dune_vma vma;
	int found = !dune_maps_find(vm, sys->args[0], &vma);
	long ret = forward(vcpu, sys);

	if (!ret && found)
		unmapped(vm, vma.start, vma.end);
	return ret;
}

/* sys on [start, end) instead of its range. */
static long forward_part(struct dune_vcpu *vcpu, const struct dune_syscall *sys,
			 uintptr_t start, uintptr_t end)
{
	struct dune_syscall part = *sys;

	part.args[0] = start;
	part.args[1] = end - start;
	return forward(vcpu, &part);
}

/* The lowest of dune's ranges that ends above at, or NULL. */
static const struct dune_range *next_own(const struct dune_vm *vm, uintptr_t at)
{
	const struct dune_range *next = NULL;

	for (int i = 0; i < vm->nr_own; i++)
		if (vm->own[i].end > at && (!next || vm->own[i].start < next->start))
			next = &vm->own[i];
	return next;
}

enum own_range_walk { OWN_RANGE_NONE, OWN_RANGE_BEFORE, OWN_RANGE_AROUND };

/*
 * madvise, mlock...: natively dune's memory is a hole.  The kernel checks
 * the other arguments first (flags, a kernel without mseal): the same call
 * of length 0 does those checks only.  Then it works through the range in
 * order; at a hole mseal has done nothing, mlock, munlock and mincore stop
 * after the part before it, madvise and msync go on past it.  Each says
 * ENOMEM, unless the part of the range it did failed otherwise first.
 */
static long own_range_call(struct dune_vcpu *vcpu, const struct dune_syscall *sys,
			   enum own_range_walk walk)
{
	uintptr_t at = sys->args[0], end = at + sys->args[1];
	const struct dune_range *own;
	long ret;

	if (!dune_overlaps_own(vcpu->vm, at, end > at ? end : at + 1))
		return forward(vcpu, sys);
	ret = forward_part(vcpu, sys, at, at);
	if (ret)
		return ret;
	for (; walk != OWN_RANGE_NONE && at < end; at = own->end) {
		own = next_own(vcpu->vm, at);
		if (!own || own->start >= end) {
			ret = forward_part(vcpu, sys, at, end);
			break;
		}
		if (own->start > at) {
			ret = forward_part(vcpu, sys, at, own->start);
			if ((ret && ret != -ENOMEM) || walk == OWN_RANGE_BEFORE)
				break;
		} else if (walk == OWN_RANGE_BEFORE) {
			break;
		}
	}
	return ret && ret != -ENOMEM ? ret : -ENOMEM;
}

static long refuse_own_range(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	return own_range_call(vcpu, sys, OWN_RANGE_NONE);
}

static long own_range_before(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	return own_range_call(vcpu, sys, OWN_RANGE_BEFORE);
}

static long own_range_around(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	return own_range_call(vcpu, sys, OWN_RANGE_AROUND);
}

/* ---- dune's own fds do not exist for the program ---------------------------- */

static long do_dup2(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	long err;

	if (dune_is_own_fd(vm, sys->args[0]))
		return -EBADF;
	if (dune_is_own_fd(vm, sys->args[1])) {
		err = dune_move_own_fd(vm, sys->args[1]);
		if (err)
			return -EMFILE;
	}
	return forward(vcpu, sys);
}

/* close_range(2) around dune's fds, which are not there for the program. */
static long do_close_range(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	unsigned long first = sys->args[0], last = sys->args[1], flags = sys->args[2];
	int own[DUNE_MAX_OWN_FDS], n = dune_own_fds(vm, own);
	long ret;

	if (first > last)
		return forward(vcpu, sys);	/* EINVAL */
	for (int i = 0; i < n && first <= last; i++) {
		if ((unsigned long)own[i] < first || (unsigned long)own[i] > last)
			continue;
		if ((unsigned long)own[i] > first) {
			ret = dune_forward6(vm, SYS_close_range, first, own[i] - 1, flags, 0, 0, 0);
			if (ret)
				return ret;
		}
		first = own[i] + 1;
	}
	return first <= last ? dune_forward6(vm, SYS_close_range, first, last, flags, 0, 0, 0) : 0;
}

/* Not while dune has RLIMIT_NOFILE lifted (util.c): the program never sees that. */
static long forward_fds_locked(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	long ret;

	dune_lock(&vm->fd_lock);
	ret = forward(vcpu, sys);
	dune_unlock(&vm->fd_lock);
	return ret;
}

/*
 * Nor a program it execs: wait for the window to close.  (Not holding the
 * lock across execve: a vfork child shares it with its parent.)
 */
static long do_execve(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	int own[DUNE_MAX_OWN_FDS];
	long err;

	/* the new image runs natively: it must get the filters for real */
	err = dune_seccomp_before_exec(dune_own_fds(vm, own) ? own[0] : 0);
	if (err)
		return err;
	dune_signals_unhold(vcpu);
	dune_lock(&vm->fd_lock);
	dune_unlock(&vm->fd_lock);
	return dune_execve(vm, sys);
}

/* ---- calls the kernel allows a single-threaded process only ----------------- */

/* The threads of this process (a /proc/PID/task directory has 2 + one link each). */
static long nr_threads(void)
{
	struct stat st;

	if (sys4(SYS_newfstatat, AT_FDCWD, "/proc/self/task", &st, 0))
		return -1;
	return st.st_nlink - 2;
}

#define PF_USER_WORKER	0x00004000	/* include/linux/sched.h (6.4 on) */

struct linux_dirent64 {		/* getdents64(2) */
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * Is thread NAME (of the /proc/self/task directory dir) a worker of KVM's:
 * a user worker (field 9 of its stat, the task flags) named kvm-*?  The
 * program can name a thread so, but not make it a worker.
 */
static int is_kvm_worker(int dir, const char *name)
{
	char path[32], stat[512];
	size_t len = strlen(name);
	long field = 2;
	const char *p;

	if (len + sizeof("/stat") > sizeof(path))
		return 0;
	memcpy(path, name, len);
	memcpy(path + len, "/stat", sizeof("/stat"));
	if (dune_read_small_file(dir, path, stat, sizeof(stat)) <= 0)
		return 0;
	p = strrchr(stat, ')');		/* after "TID (comm" */
	if (!p || strncmp(stat + len, " (kvm-", 6))
		return 0;
	for (; *p && field < 9; p++)
		field += *p == ' ';
	return field == 9 && (dune_parse_ulong(p, NULL) & PF_USER_WORKER);
}

/* Are all threads but the caller workers of KVM's (and is there one)? */
static int others_are_kvm_workers(void)
{
	long self = sys0(SYS_gettid), dir, n;
	int others = 0, workers = 0;
	char buf[1024];

	dir = sys4(SYS_openat, AT_FDCWD, "/proc/self/task",
		   O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dir < 0)
		return 0;
	while ((n = sys3(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);

			off += d->d_reclen;
			if (d->d_name[0] == '.' || (long)dune_parse_ulong(d->d_name, NULL) == self)
				continue;
			others++;
			workers += is_kvm_worker(dir, d->d_name);
		}
	}
	sys1(SYS_close, dir);
	return others && workers == others;
}

/*
 * unshare(CLONE_NEWUSER), setns() into a user or time namespace: the kernel
 * refuses them (EINVAL, EUSERS) to a process with several threads, and KVM's
 * worker (kvm-nx-lpage-recovery) is one of ours while we own a VM (from
 * 6.13, a user worker; before, a kernel thread outside the group).  If the
 * program has no other thread, the VM goes (and the worker with it), the call
 * is made again, and a new VM takes over, as in a fork child.
 */
static long do_single_threaded(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	struct timespec ms = { 0, 1000000 };
	long ret = forward(vcpu, sys);

	if ((ret != -EINVAL && ret != -EUSERS) || vm->nr_shared_fds || !others_are_kvm_workers() ||
	    arch_vcpu_save(vcpu))
		return ret;
	dune_vm_close_kvm(vm);
	for (int i = 0; i < 1000 && nr_threads() > 1; i++)	/* the worker is exiting */
		sys2(SYS_nanosleep, &ms, NULL);
	ret = forward(vcpu, sys);
	if (dune_vm_rebuild(vm, vcpu, 0) || arch_vcpu_restore(vcpu, vcpu, 0, 0, 0))
		dune_leave_vm_at(vcpu, dune_syscall_name(sys->nr), ret, 0);
	return ret;
}

/*
 * Made whatever signal comes: the VM's fds may be gone already.  The last
 * thread to exit gives the process's accounting record (acct(2)) its name
 * and exit status; if only KVM's worker is left besides us (from 6.13), the
 * VM goes first and takes the worker with it, so that thread is ours.
 */
static long do_exit_group(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	if (others_are_kvm_workers())
		dune_vm_close_kvm(vcpu->vm);
	else
		dune_vm_before_exit(vcpu->vm);
	return dune_forward6(vcpu->vm, sys->nr, sys->args[0], 0, 0, 0, 0, 0);
}

/* ---- the others of the table (syscalls.h) ------------------------------- */

static long do_forward(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	return forward(vcpu, sys);
}

static long refuse_own_fd(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	return dune_is_own_fd(vcpu->vm, sys->args[0]) ? -EBADF : forward(vcpu, sys);
}

/*
 * The open calls: under a policy one that may write the file goes through
 * dune_open_checked() (no /proc/PID/mem for writing), others as they are.
 */
static long open_call(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long dirfd,
		      uintptr_t path, long flags, long mode, const struct open_how *how)
{
	if (!vcpu->vm->tools.filter ||
	    ((flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC))))
		return forward(vcpu, sys);
	return dune_open_checked(vcpu, sys, dirfd, path, flags, mode, how);
}

static long do_openat(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	const long *a = sys->args;

	return open_call(vcpu, sys, a[0], a[1], a[2], a[3], NULL);
}

static long do_openat2(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	const long *a = sys->args;
	struct open_how how;

	if (!vcpu->vm->tools.filter || a[3] != sizeof(how) ||
	    dune_overlaps_own(vcpu->vm, a[2], a[2] + sizeof(how)) ||
	    dune_read_guest(&how, a[2], sizeof(how)))
		return forward(vcpu, sys);	/* the kernel's E2BIG, EINVAL, EFAULT */
	return open_call(vcpu, sys, a[0], a[1], how.flags, how.mode, &how);
}

#ifdef SYS_open
static long do_open(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	const long *a = sys->args;

	return open_call(vcpu, sys, AT_FDCWD, a[0], a[1], a[2], NULL);
}

static long do_creat(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	return open_call(vcpu, sys, AT_FDCWD, sys->args[0], O_CREAT | O_WRONLY | O_TRUNC,
			 sys->args[1], NULL);
}
#endif

/* Checked in reach.c, forwarded here as every program call is. */
static long do_pidfd_getfd(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	long err = dune_pidfd_getfd_check(vcpu->vm, sys);

	return err ? err : forward(vcpu, sys);
}

static long do_uring_register(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	long err = dune_uring_register_check(vcpu->vm, sys);

	return err ? err : forward(vcpu, sys);
}

static long do_clone(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	const long *a = sys->args;

	/* flags, stack, parent_tid, then child_tid and tls in the ISA's order */
	return dune_clone(vcpu, a[0], a[1], a[2], a[DUNE_CLONE_ARG_CTID], a[DUNE_CLONE_ARG_TLS]);
}

#ifdef SYS_fork
static long do_fork(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	(void)sys;
	return dune_clone(vcpu, SIGCHLD, 0, 0, 0, 0);
}
#endif

#ifdef SYS_vfork
static long do_vfork(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	(void)sys;
	return dune_clone(vcpu, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}
#endif

static long do_exit(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	dune_exit_thread(vcpu, sys->args[0]);
}


static long do_sigreturn(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	(void)sys;
	return dune_sigreturn(vcpu);
}

/* A new filter or strict mode: the fast path must not serve what it judges. */
static long do_seccomp(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	long ret = dune_seccomp_syscall(vcpu->vm, sys);

	dune_fastpath_update(vcpu->vm);
	return ret;
}

/* An arch intercept (the vCPU mirrors some state), or plain forwarding. */
static long do_arch_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	long ret;

	return arch_syscall(vcpu, sys, &ret) ? ret : forward(vcpu, sys);
}

static long do_prctl(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	if (sys->args[0] == PR_SET_SECCOMP || sys->args[0] == PR_GET_SECCOMP)
		return do_seccomp(vcpu, sys);
	return do_arch_syscall(vcpu, sys);
}

#define HANDLER(name, why, fn, ...)	[SYS_##name - DUNE_SYSCALL_BASE] = fn,
#define WHY(name, why, fn, ...)		[SYS_##name - DUNE_SYSCALL_BASE] = why,
#define MEMARGS(name, why, fn, ...)	[SYS_##name - DUNE_SYSCALL_BASE] = { __VA_ARGS__ },
static const syscall_fn handlers[DUNE_NR_SYSCALLS] = { DUNE_SYSCALLS(HANDLER) };
static const uint16_t whys[DUNE_NR_SYSCALLS] = { DUNE_SYSCALLS(WHY) };
static const struct dune_memarg memargs[DUNE_NR_SYSCALLS][DUNE_MAX_MEMARGS] = {
	DUNE_SYSCALLS(MEMARGS)
};

unsigned int dune_syscall_why(long nr)
{
	long slot = dune_syscall_slot(nr);

	return slot >= 0 ? whys[slot] : 0;
}

const struct dune_memarg *dune_syscall_memargs(long nr)
{
	static const struct dune_memarg none[1];
	long slot = dune_syscall_slot(nr);

	return slot >= 0 ? memargs[slot] : none;
}

/* A native syscall already judged (or an arch's translation of a compat one). */
long dune_syscall_serve(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	long slot = dune_syscall_slot(sys->nr);

	long ret;

	if (slot < 0 || !handlers[slot])
		return forward(vcpu, sys);
	/* one dune performs itself: what would the policy's filter say? */
	if ((whys[slot] & DUNE_WHY_SERVED) && (ret = dune_policy_ask(vcpu->vm, sys->nr, sys->args)))
		return ret;
	if (memargs[slot][0].kind)
		return dune_reach_call(vcpu, sys, memargs[slot], handlers[slot]);
	return handlers[slot](vcpu, sys);
}

static long handle_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	int skip;
	long ret;

	vcpu->vm->stats.syscalls++;
	if (sys->nr == DUNE_SYSCALL_NR)		/* dune's own, not the program's */
		return dune_op(vcpu, sys);
	ret = dune_seccomp_check(sys, &skip);
	return skip ? ret : dune_syscall_serve(vcpu, sys);
}

/*
 * A call through the ISA's other ABI (x86-64: i386's `int $0x80`): the
 * program's seccomp filters judge it with that ABI's arch, as natively; the
 * table above and the tools' rules name native syscalls, so the arch serves
 * it (as the native call where the kernel's is the same, refusing others dune
 * would have to intercept), and under a policy it is refused: the rules
 * could not judge it.  dune-run's filter kills a foreign ABI natively, so
 * under it the call kills the process here too.
 */
static long handle_compat_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	int skip;
	long ret;

	vcpu->vm->stats.syscalls++;
	if (vcpu->vm->tools.filter)
		dune_force_signal(SIGSYS, &(siginfo_t){ .si_signo = SIGSYS, .si_code = SI_KERNEL });
	if (vcpu->vm->tools.policy)
		return -ENOSYS;
	ret = dune_seccomp_check(sys, &skip);
	return skip ? ret : arch_compat_syscall(vcpu, sys);
}

/* Tools (trace, stats, deny) wrap the syscall only if one was asked for. */
long dune_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	uint64_t start;
	int refused;
	long ret;

	if (sys->compat_arch)
		return handle_compat_syscall(vcpu, sys);
	if (!vm->tools.active || sys->nr == DUNE_SYSCALL_NR)
		return handle_syscall(vcpu, sys);
	ret = dune_tools_before(vcpu, sys, &refused);
	if (refused) {
		dune_tools_after(vcpu, sys, ret, 0);
		return ret;
	}
	if (dune_syscall_why(sys->nr) & DUNE_WHY_NORETURN) {	/* the report cannot wait */
		dune_tools_after(vcpu, sys, DUNE_NO_RETURN, 0);
		dune_tools_report(vm, dune_syscall_name(sys->nr));
	}
	start = dune_now_ns();
	ret = handle_syscall(vcpu, sys);
	dune_tools_after(vcpu, sys, ret, dune_now_ns() - start);
	return ret;
}
