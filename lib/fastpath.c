// SPDX-License-Identifier: MIT
/*
 * The optional in-kernel fast path (include/uapi/linux/dune.h): which path
 * services the guest's system calls (DUNE_MODE=auto|user|kmod), the probe of
 * the module, attaching each VM to it, the policy the library pushes to it,
 * and its counters.  The module serves only syscalls the table in syscalls.h
 * leaves alone or whose memory arguments it can check against dune's own
 * memory as reach.c does (dune_fastpath_may_serve()), and none while dune
 * itself must judge every call (emulated seccomp filters or strict mode,
 * trace, stats, deny rules) or a handler without SA_RESTART is installed
 * (see dune_signals_interrupting()); whatever it declines exits to the host
 * loop as before, so the user-space path is always there.  Set-up runs
 * natively; dune_fastpath_update() in the host loop (raw syscalls only).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/dune.h>

#include "dune-internal.h"
#include "syscalls.h"

_Static_assert(DUNE_DECLINE_KINDS == DUNE_KERNEL_DECLINE_KINDS,
	       "struct dune_stats has a counter per decline reason");
_Static_assert(DUNE_MAX_MEMARGS <= DUNE_KMOD_CALL_MEMARGS && DUNE_MAX_OWN <= DUNE_KMOD_MAX_RANGES,
	       "the module takes every memory argument of a call and every range");

static int parse_mode(const char *s)
{
	if (!s || !*s || !strcmp(s, "auto"))
		return DUNE_MODE_AUTO;
	if (!strcmp(s, "user"))
		return DUNE_MODE_USER;
	if (!strcmp(s, "kmod"))
		return DUNE_MODE_KMOD;
	return -1;
}

/*
 * What the module checks of a memory argument, as reach.c does: the kinds
 * whose length comes from the registers (or a socklen_t), not what the
 * kernel reads through guest pointers (iovecs, msghdrs), which reach.c
 * checks on copies.  DUNE_KMOD_MA_NONE: it cannot.
 */
static int kmod_kind(const struct dune_memarg *ma)
{
	switch (ma->kind) {
	case DUNE_MA_BUF:
		return DUNE_KMOD_MA_BUF;
	case DUNE_MA_FIXED:
		return DUNE_KMOD_MA_FIXED;
	case DUNE_MA_ARRAY:
		return DUNE_KMOD_MA_ARRAY;
	case DUNE_MA_SOCKADDR:
		return DUNE_KMOD_MA_SOCKADDR;
	case DUNE_MA_MEM_POS:
		return DUNE_KMOD_MA_MEM_POS;
	}
	return DUNE_KMOD_MA_NONE;
}

/*
 * May the module serve nr (the table alone: no policy in force)?  Calls dune
 * need not see, and those whose only reason is their memory arguments when
 * the module can check them all.  (A DUNE_WHY_REACH entry without memargs
 * checks a range in its handler: madvise and the like.)
 */
int dune_fastpath_may_serve(long nr)
{
	const struct dune_memarg *ma = dune_syscall_memargs(nr);
	unsigned int why = dune_syscall_why(nr);

	/* (DUNE_WHY_POLICY: the module serves nothing under a policy) */
	if (!dune_syscall_name(nr) || nr >= DUNE_KMOD_MAX_SYSCALLS ||
	    (why & ~(DUNE_WHY_REACH | DUNE_WHY_POLICY)))
		return 0;
	if ((why & DUNE_WHY_REACH) && !ma[0].kind)
		return 0;
	for (int i = 0; i < DUNE_MAX_MEMARGS && ma[i].kind; i++)
		if (!kmod_kind(&ma[i]))
			return 0;
	return 1;
}

/* dune's own memory, sorted as the module wants it. */
static void fill_ranges(struct dune_vm *vm, struct dune_kmod_attach *a)
{
	a->nr_ranges = 0;
	for (int i = 0; i < vm->nr_own; i++) {
		struct dune_kmod_range r = { vm->own[i].start, vm->own[i].end }, *at = a->ranges;
		unsigned int j = a->nr_ranges++;

		while (j > 0 && at[j - 1].start > r.start) {
			at[j] = at[j - 1];
			j--;
		}
		at[j] = r;
	}
}

/*
 * Adds nr's memargs to a; 0 if there is no room (then the module must not
 * serve it).
 */
static int add_memargs(struct dune_kmod_attach *a, long nr)
{
	const struct dune_memarg *ma = dune_syscall_memargs(nr);
	unsigned int n = 0;

	while (n < DUNE_MAX_MEMARGS && ma[n].kind)
		n++;
	if (a->nr_memargs + n > DUNE_KMOD_MAX_MEMARGS)
		return 0;
	for (unsigned int i = 0; i < n; i++)
		a->memargs[a->nr_memargs++] = (struct dune_kmod_memarg){
			.nr = nr, .kind = kmod_kind(&ma[i]), .ptr = ma[i].ptr,
			.len = ma[i].len, .size = ma[i].size,
		};
	return 1;
}

/*
 * The syscalls the module may serve for this VM now (none: all bits 0),
 * dune's memory and what their memory arguments cover.  The same ranges and
 * memargs every time: the module keeps those of ATTACH.
 */
static void fill_allow(struct dune_vm *vm, struct dune_kmod_attach *a)
{
	int none = vm->tools.active || dune_seccomp_active() || dune_signals_interrupting();

	memset(a->allow, 0, sizeof(a->allow));
	a->nr_memargs = 0;
	fill_ranges(vm, a);
	for (long nr = DUNE_SYSCALL_BASE; nr < DUNE_SYSCALL_BASE + DUNE_NR_SYSCALLS; nr++)
		if (dune_fastpath_may_serve(nr) && add_memargs(a, nr) && !none)
			a->allow[nr / 64] |= 1ULL << (nr % 64);
}

/* Not usable: close it; auto goes on without it (returns 1), kmod must fail. */
static int fall_back(struct dune_vm *vm)
{
	if (vm->fast.fd >= 0)
		sys1(SYS_close, vm->fast.fd);
	vm->fast.fd = -1;
	return vm->fast.mode != DUNE_MODE_KMOD;
}

/* Open and check the module's device (dune's own fd, moved high). */
static int probe(struct dune_vm *vm)
{
	const char *path = getenv("DUNE_KMOD_DEVICE");
	struct rlimit program;
	long fd, abi;

	if (!path || !*path)
		path = DUNE_KMOD_DEVICE;
	dune_fds_begin(vm, &program);
	fd = dune_take_high(sys4(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC, 0));
	dune_fds_end(vm, &program);
	if (fd < 0)
		return fall_back(vm) ? 0 : dune_fail(fd, "DUNE_MODE=kmod: the dune kernel module "
						     "is not available (%s: %s)", path,
						     dune_strerror(fd));
	vm->fast.fd = fd;
	abi = sys3(SYS_ioctl, fd, DUNE_KMOD_IOC_ABI, 0);
	if (abi == DUNE_KMOD_ABI_VERSION || fall_back(vm))
		return 0;
	if (abi < 0)
		return dune_fail(abi, "DUNE_MODE=kmod: %s is not the dune module's device (%s)",
				 path, dune_strerror(abi));
	return dune_fail(-EPROTO, "DUNE_MODE=kmod: %s speaks ABI %ld, this library %d", path,
			 abi, DUNE_KMOD_ABI_VERSION);
}

/* At dune_vm_create(), after the tools: DUNE_MODE, and the module if wanted. */
int dune_fastpath_init(struct dune_vm *vm)
{
	const char *mode = getenv("DUNE_MODE");

	vm->fast.fd = -1;
	vm->fast.mode = parse_mode(mode);
	if (vm->fast.mode < 0)
		return dune_fail(-EINVAL, "DUNE_MODE=%s: expected auto, user or kmod", mode);
	if (vm->fast.mode == DUNE_MODE_USER)
		return 0;
	return probe(vm);
}

/*
 * Attach this process's VM (the first one, or with reopen a fork child's new
 * one: the module serves a VM only to the mm that made it, and the device fd
 * the child inherited is its parent's attachment, which vm.c has dropped).
 */
int dune_fastpath_attach(struct dune_vm *vm, int reopen)
{
	struct dune_kmod_attach a = { .size = sizeof(a), .vm_fd = vm->vm_fd };
	long err;

	if (reopen) {
		vm->fast.fd = -1;
		err = probe(vm);
		if (err)
			return err;
	}
	if (vm->fast.fd < 0)
		return 0;
	fill_allow(vm, &a);
	err = sys3(SYS_ioctl, vm->fast.fd, DUNE_KMOD_IOC_ATTACH, &a);
	if (!err || fall_back(vm))
		return 0;
	return dune_fail(err, "DUNE_MODE=kmod: the dune kernel module refused this VM: %s",
			 dune_strerror(err));
}

/*
 * The module pins an attached VM by its file: closing the VM's fds alone
 * does not end it (nor KVM's worker thread with it).  Host loop only.
 */
void dune_fastpath_detach(struct dune_vm *vm)
{
	if (vm->fast.fd < 0)
		return;
	sys1(SYS_close, vm->fast.fd);
	vm->fast.fd = -1;
	vm->fast.detached = 1;
}

/* Host loop: after a change of policy (a seccomp filter, strict mode, handlers). */
void dune_fastpath_update(struct dune_vm *vm)
{
	struct dune_kmod_attach a = { .size = sizeof(a), .vm_fd = vm->vm_fd };

	if (vm->fast.fd < 0)
		return;
	fill_allow(vm, &a);
	/* a module that cannot take the new policy must serve nothing more */
	if (sys3(SYS_ioctl, vm->fast.fd, DUNE_KMOD_IOC_ALLOW, &a)) {
		sys1(SYS_close, vm->fast.fd);
		vm->fast.fd = -1;
	}
}

/* The module's counters into stats (zero without it). */
void dune_fastpath_counters(struct dune_vm *vm, struct dune_stats *stats)
{
	struct dune_kmod_counters c = { .size = sizeof(c) };

	if (vm->fast.fd < 0 || sys3(SYS_ioctl, vm->fast.fd, DUNE_KMOD_IOC_COUNTERS, &c))
		return;
	stats->kernel_syscalls = c.served;
	for (int i = 0; i < DUNE_DECLINE_KINDS; i++)
		stats->kernel_declined[i] = c.declined[i];
}
