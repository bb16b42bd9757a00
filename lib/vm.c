// SPDX-License-Identifier: MIT
/*
 * VM and vCPU lifecycle: /dev/kvm, the dune area, the vCPU pool, and a fork
 * child's own VM.  Raw syscalls only: a fork child runs this on the host loop
 * (its guest may hold libc locks, and errno is the guest's).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "policy.h"

static long raw_mmap(void *addr, size_t len, int prot, int flags, int fd)
{
	return arch_raw_syscall(SYS_mmap, (long)addr, len, prot, flags, fd, 0);
}

/* The KVM capability the backend cannot do without, unless arch-abi.h names another. */
#ifndef DUNE_KVM_CAP
#define DUNE_KVM_CAP		KVM_CAP_SYNC_REGS
#define DUNE_KVM_CAP_NAME	"KVM_CAP_SYNC_REGS"
#endif

static int open_kvm(const char *path)
{
	long fd = sys4(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC, 0);

	if (fd < 0)
		return dune_fail(fd, "%s: %s", path, dune_strerror(fd));
	if (dune_ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
	    dune_ioctl(fd, KVM_CHECK_EXTENSION, (void *)DUNE_KVM_CAP) <= 0) {
		sys1(SYS_close, fd);
		return dune_fail(-ENOTSUP, "%s: not a KVM with " DUNE_KVM_CAP_NAME, path);
	}
	return fd;
}

/* KVM_CREATE_VM can be interrupted by a signal; it is safe to retry. */
static int create_vm_fd(struct dune_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MEMORY_FAULT_INFO };
	long fd, max;

	do
		fd = dune_ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (fd == -EINTR);
	vm->vm_fd = dune_take_high(fd);
	if (vm->vm_fd < 0)
		return dune_fail(vm->vm_fd, "KVM_CREATE_VM: %s", dune_strerror(vm->vm_fd));
	/* informational where the kernel has it (then always on) */
	dune_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap);
	vm->run_size = dune_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	max = dune_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)KVM_CAP_MAX_VCPUS);
	vm->max_vcpus = max > 0 && max < DUNE_MAX_VCPUS ? max : DUNE_MAX_VCPUS;
	return 0;
}

/* A KVM vCPU for this pool entry, set up like every other one. */
static int vcpu_open(struct dune_vcpu *vcpu)
{
	struct dune_vm *vm = vcpu->vm;
	long run;

	vcpu->fd = dune_take_high(dune_ioctl(vm->vm_fd, KVM_CREATE_VCPU, (void *)(long)vcpu->id));
	if (vcpu->fd < 0)
		return dune_fail(vcpu->fd, "KVM_CREATE_VCPU: %s", dune_strerror(vcpu->fd));
	if (!vcpu->run)
		vcpu->run = dune_area_alloc(vm, DUNE_ALIGN_UP(vm->run_size, DUNE_PAGE_SIZE) / DUNE_PAGE_SIZE);
	if (!vcpu->run)
		return dune_fail(-ENOMEM, "dune area full");
	/* inside the dune area, hidden from the program like the rest of it */
	run = raw_mmap(vcpu->run, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, vcpu->fd);
	if (IS_ERR_VALUE(run))
		return dune_fail(run, "mmap of kvm_run: %s", dune_strerror(run));
	return arch_vcpu_init(vcpu);
}

/*
 * KVM starts the VM's worker thread at its first KVM_RUN, and fails that
 * KVM_RUN (EAGAIN) for as long as it cannot: at RLIMIT_NPROC, where the
 * thread counts.  Find out before the program depends on the VM, with a
 * run that returns at once.
 */
static int vcpu_first_run(struct dune_vcpu *vcpu)
{
	long r;

	vcpu->run->immediate_exit = 1;
	r = dune_ioctl(vcpu->fd, KVM_RUN, 0);
	vcpu->run->immediate_exit = 0;
	if (r == -EINTR)
		return 0;
	r = r < 0 ? r : -EIO;
	return dune_fail(r, "first KVM_RUN: %s%s", dune_strerror(r),
			 r == -EAGAIN ? " (KVM's worker thread counts against RLIMIT_NPROC)" : "");
}

/* An fd of the VM this process was forked from: closed, or kept for its owner. */
static void drop_parent_fd(struct dune_vm *vm, int fd, int files_shared)
{
	if (!files_shared)
		sys1(SYS_close, fd);
	else if (vm->nr_shared_fds < DUNE_MAX_SHARED_FDS)
		vm->shared_fds[vm->nr_shared_fds++] = fd;
}

/* Keeps the place of kvm_run in the area for the next KVM vCPU. */
static void vcpu_close(struct dune_vcpu *vcpu, int files_shared)
{
	if (vcpu->fd < 0)
		return;
	raw_mmap(vcpu->run, vcpu->vm->run_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1);
	drop_parent_fd(vcpu->vm, vcpu->fd, files_shared);
	vcpu->fd = -1;
}

/* A new pool entry: its state, guest-kernel pages (arch) and host stack. */
static struct dune_vcpu *vcpu_alloc(struct dune_vm *vm)
{
	size_t state = DUNE_ALIGN_UP(sizeof(struct dune_vcpu), 64) + arch_vcpu_size();
	struct dune_vcpu *vcpu;
	uint8_t *stack;

	if (vm->nr_vcpus == vm->max_vcpus)
		return NULL;
	vcpu = dune_area_alloc(vm, DUNE_ALIGN_UP(state, DUNE_PAGE_SIZE) / DUNE_PAGE_SIZE);
	if (!vcpu)
		return NULL;
	if (vm->nr_vcpus == 0) {
		stack = vm->area + DUNE_AREA_STACK;
		vcpu->stack_top = stack + DUNE_AREA_STACK_SIZE;
	} else {
		stack = dune_area_alloc(vm, DUNE_THREAD_STACK / DUNE_PAGE_SIZE);
		if (!stack)
			return NULL;
		vcpu->stack_top = stack + DUNE_THREAD_STACK;
	}
	sys3(SYS_mprotect, stack, DUNE_PAGE_SIZE, PROT_NONE);	/* guard page */
	vcpu->vm = vm;
	vcpu->id = vm->nr_vcpus;
	vcpu->fd = -1;
	vcpu->arch = (uint8_t *)vcpu + DUNE_ALIGN_UP(sizeof(struct dune_vcpu), 64);
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	return vcpu;
}

/* A free vCPU for a new thread (NULL: as many threads as KVM allows). */
struct dune_vcpu *dune_vcpu_get(struct dune_vm *vm)
{
	struct dune_vcpu *vcpu = NULL;

	dune_lock(&vm->lock);
	for (int i = 0; i < vm->nr_vcpus && !vcpu; i++)
		if (!__atomic_load_n(&vm->vcpus[i]->busy, __ATOMIC_ACQUIRE))
			vcpu = vm->vcpus[i];
	if (!vcpu)
		vcpu = vcpu_alloc(vm);
	if (vcpu && vcpu->fd < 0) {
		struct rlimit program;
		int err;

		dune_fds_begin(vm, &program);
		err = vcpu_open(vcpu);
		dune_fds_end(vm, &program);
		if (err) {
			vcpu_close(vcpu, 0);
			vcpu = NULL;
		}
	}
	if (vcpu) {
		vcpu->busy = 1;
		vcpu->vfork_child = 0;
		vcpu->private_sighand = 0;
		vcpu->escaped_tid = 0;
		vcpu->flush_pending = 0;
	}
	dune_unlock(&vm->lock);
	return vcpu;
}

/* The vCPU a thread left with dune_escape() (kept for its return). */
struct dune_vcpu *dune_vcpu_of_escaped(struct dune_vm *vm, int tid)
{
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->escaped_tid == tid)
			return vm->vcpus[i];
	return NULL;
}

void dune_vcpu_put(struct dune_vcpu *vcpu)
{
	__atomic_store_n(&vcpu->busy, 0, __ATOMIC_RELEASE);
}

/*
 * The area is 2 MiB aligned so its memslot can use large host pages.  It is
 * not the program's memory: a core dump leaves it out (it would add its
 * full size).
 */
static uint8_t *map_area(void)
{
	size_t len = DUNE_AREA_SIZE + DUNE_SZ_2M;
	long raw = raw_mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	struct rlimit as;
	uintptr_t area;

	if (IS_ERR_VALUE(raw)) {
		if (raw == -ENOMEM && !sys4(SYS_prlimit64, 0, RLIMIT_AS, NULL, &as) && as.rlim_cur != RLIM_INFINITY)
			dune_fail(raw, "cannot reserve the dune area (%lu MiB): RLIMIT_AS %lu MiB "
				  "leaves too little room", (len >> 20), (unsigned long)(as.rlim_cur >> 20));
		else
			dune_fail(raw, "cannot reserve the dune area (%lu MiB): %s", (len >> 20),
				  dune_strerror(raw));
		return NULL;
	}
	area = DUNE_ALIGN_UP((uintptr_t)raw, DUNE_SZ_2M);
	if (area > (uintptr_t)raw)
		sys2(SYS_munmap, raw, area - raw);
	sys2(SYS_munmap, area + DUNE_AREA_SIZE, raw + len - (area + DUNE_AREA_SIZE));
	sys3(SYS_madvise, area, DUNE_AREA_SIZE, MADV_DONTDUMP);
	return (uint8_t *)area;
}

/* /dev/kvm's fd is needed until the VM and its CPUID exist: one fd less after. */
static void close_kvm(struct dune_vm *vm)
{
	sys1(SYS_close, vm->kvm_fd);
	vm->kvm_fd = -1;
}

/* The VM's fds first (the first vCPU's come with dune_vcpu_get()). */
static int vm_setup(struct dune_vm *vm)
{
	struct rlimit program;
	int err;

	dune_fds_begin(vm, &program);
	vm->kvm_fd = open_kvm(vm->kvm_path);
	err = vm->kvm_fd < 0 ? vm->kvm_fd : create_vm_fd(vm);
	if (!err)
		err = arch_vm_init(vm);
	if (vm->kvm_fd >= 0)
		close_kvm(vm);
	if (!err)
		err = dune_tools_init(vm);
	dune_fds_end(vm, &program);
	if (!err)
		err = dune_fastpath_init(vm);
	if (!err)
		err = dune_fastpath_attach(vm, 0);
	if (!err)
		err = dune_mem_init(vm);
	if (!err && !dune_vcpu_get(vm))
		err = dune_fail(-ENOMEM, "cannot create the first vCPU: %s", dune_last_error());
	if (!err)
		err = vcpu_first_run(vm->vcpus[0]);
	return err;
}

int dune_own_add(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	if (vm->nr_own == DUNE_MAX_OWN)
		return dune_fail(-EOVERFLOW, "internal: more than %d ranges of dune's own memory",
				 DUNE_MAX_OWN);
	vm->own[vm->nr_own++] = (struct dune_range){ start, end };
	return 0;
}

int dune_vm_create(struct dune_vm **vmp)
{
	const char *path = getenv("DUNE_KVM_DEVICE");
	uint8_t *area = map_area();
	struct dune_vm *vm;
	int err;

	if (!area)
		return -ENOMEM;		/* map_area() said why */
	vm = (struct dune_vm *)(area + DUNE_AREA_VM);
	vm->area = area;
	vm->vm_fd = -1;
	vm->arch = area + DUNE_AREA_VM + DUNE_ALIGN_UP(sizeof(*vm), 64);
	if ((uint8_t *)vm->arch + arch_vm_size() > area + DUNE_AREA_VM_SIZE)
		return dune_fail(-EOVERFLOW, "internal: VM state larger than its area");
	vm->nr_own = 0;
	dune_own_add(vm, (uintptr_t)area, (uintptr_t)area + DUNE_AREA_SIZE);
	vm->stats.size = sizeof(vm->stats);
	vm->pid = sys0(SYS_getpid);
	vm->debug = getenv("DUNE_DEBUG") ? atoi(getenv("DUNE_DEBUG")) : 0;
	strncpy(vm->kvm_path, path && *path ? path : "/dev/kvm", sizeof(vm->kvm_path) - 1);
	dune_open_loader(vm);
	vm->tools.trace_fd = vm->tools.stats_fd = vm->tools.json_fd = vm->fast.fd = vm->exe_fd = -1;
	err = dune_guest_copy_check();
	if (!err)
		err = dune_forward_init(vm);
	if (!err)
		err = dune_fork_init(vm);
	if (!err)
		err = vm_setup(vm);
	if (err) {
		dune_vm_destroy(vm);
		return err;
	}
	*vmp = vm;
	return 0;
}

void dune_vm_destroy(struct dune_vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_close(vm->vcpus[i], 0);
	if (vm->vm_fd >= 0)
		sys1(SYS_close, vm->vm_fd);
	if (vm->fork_words)
		sys2(SYS_munmap, vm->fork_words, DUNE_PAGE_SIZE);
	sys2(SYS_munmap, vm->area, DUNE_AREA_SIZE);
}

/*
 * Close the KVM VM, its vCPUs and its attachment to the module, keeping what
 * dune_vm_rebuild() makes a new VM from (memslot records, the area, the guest
 * page tables).  KVM's worker thread then leaves our thread group.
 */
void dune_vm_close_kvm(struct dune_vm *vm)
{
	dune_fastpath_detach(vm);
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_close(vm->vcpus[i], 0);
	if (vm->vm_fd >= 0)
		sys1(SYS_close, vm->vm_fd);
	vm->vm_fd = -1;
}

/*
 * In a fork child: KVM serves a VM only to the mm that created it, so build
 * our own from the inherited state.  The memslots get the same guest-physical
 * addresses, so the inherited guest page tables stay valid.  Only `keep` (the
 * forking thread's vCPU) survives, as only that thread exists in the child.
 */
int dune_vm_rebuild(struct dune_vm *vm, struct dune_vcpu *keep, int files_shared)
{
	uint64_t t0 = dune_now_ns(), t1, t2;
	struct rlimit program;
	int err, reattach;

	if (!files_shared) {	/* our copies of fds shared further up the tree */
		for (int i = 0; i < vm->nr_shared_fds; i++)
			sys1(SYS_close, vm->shared_fds[i]);
		vm->nr_shared_fds = 0;
	}
	for (int i = 0; i < vm->nr_vcpus; i++) {
		vcpu_close(vm->vcpus[i], files_shared);
		vm->vcpus[i]->busy = vm->vcpus[i] == keep;
		vm->vcpus[i]->escaped_tid = 0;
	}
	if (vm->vm_fd >= 0)
		drop_parent_fd(vm, vm->vm_fd, files_shared);
	vm->vm_fd = -1;
	reattach = vm->fast.fd >= 0 || vm->fast.detached;
	if (vm->fast.fd >= 0)
		drop_parent_fd(vm, vm->fast.fd, files_shared);
	vm->fast.detached = 0;
	vm->lock = vm->fd_lock = 0;	/* held by our parent's threads, not by us */
	vm->pid = sys0(SYS_getpid);
	dune_fds_begin(vm, &program);
	vm->kvm_fd = open_kvm(vm->kvm_path);
	err = vm->kvm_fd < 0 ? vm->kvm_fd : create_vm_fd(vm);
	if (vm->kvm_fd >= 0)
		close_kvm(vm);
	t1 = dune_now_ns();
	if (!err)
		err = dune_mem_replay_slots(vm);
	t2 = dune_now_ns();
	if (!err)
		err = vcpu_open(keep);
	dune_fds_end(vm, &program);
	if (!err)
		err = dune_fastpath_attach(vm, reattach);
	if (!err)
		err = vcpu_first_run(keep);
	vm->stats.fork_vm_ns = t1 - t0;
	vm->stats.fork_memslots_ns = t2 - t1;
	vm->stats.fork_vcpu_ns = dune_now_ns() - t2;
	return err;
}

/* A process sharing its fd table with us ends: its VM must not stay alive there. */
void dune_vm_before_exit(struct dune_vm *vm)
{
	if (!vm->nr_shared_fds)
		return;
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->fd >= 0)
			sys1(SYS_close, vm->vcpus[i]->fd);
	sys1(SYS_close, vm->vm_fd);
	if (vm->fast.fd >= 0)
		sys1(SYS_close, vm->fast.fd);
}

/* The n-th of dune's fd variables (NULL past the last). */
static int *own_fd_slot(struct dune_vm *vm, int n)
{
	int *tools[] = { &vm->vm_fd, &vm->tools.trace_fd, &vm->tools.stats_fd, &vm->tools.json_fd,
			 &vm->fast.fd, &vm->exe_fd, &vm->loader_fd };
	int nr_tools = sizeof(tools) / sizeof(tools[0]);

	if (n < nr_tools)
		return tools[n];
	n -= nr_tools;
	if (n < vm->nr_vcpus)
		return &vm->vcpus[n]->fd;
	n -= vm->nr_vcpus;
	return n < vm->nr_shared_fds ? &vm->shared_fds[n] : NULL;
}

int dune_is_own_fd(struct dune_vm *vm, long fd)
{
	int *slot;

	for (int n = 0; fd >= 0 && (slot = own_fd_slot(vm, n)); n++)
		if (*slot == fd)
			return 1;
	return 0;
}

/* dune's fds in increasing order (at most DUNE_MAX_OWN_FDS). */
int dune_own_fds(struct dune_vm *vm, int *fds)
{
	int *slot, n = 0;

	for (int i = 0; (slot = own_fd_slot(vm, i)); i++) {
		int at = n;

		if (*slot < 0)
			continue;
		for (; at > 0 && fds[at - 1] > *slot; at--)
			fds[at] = fds[at - 1];
		fds[at] = *slot;
		n++;
	}
	return n;
}

/* The program wants this fd number: give it up and keep working on another. */
int dune_move_own_fd(struct dune_vm *vm, long fd)
{
	struct rlimit program;
	int *slot, err = 0;

	dune_fds_begin(vm, &program);
	for (int n = 0; !err && (slot = own_fd_slot(vm, n)); n++) {
		if (*slot == fd) {
			int nfd = -EBUSY;	/* another process's: it cannot move */

			if (slot < vm->shared_fds || slot >= vm->shared_fds + DUNE_MAX_SHARED_FDS)
				nfd = dune_reopen_high(*slot);
			if (nfd < 0)
				err = nfd;
			else
				*slot = nfd;
		}
	}
	dune_fds_end(vm, &program);
	return err;
}
