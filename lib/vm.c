// SPDX-License-Identifier: MIT
/* VM and vCPU lifecycle: /dev/kvm, the dune area, fds kept out of the way. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune-internal.h"

static const char *kvm_device(void)
{
	const char *path = getenv("DUNE_KVM_DEVICE");

	return path && *path ? path : "/dev/kvm";
}

static int open_kvm(void)
{
	const char *path = kvm_device();
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return dune_fail(-errno, "%s: %s", path, dune_strerror(errno));
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		return dune_fail(-ENOTSUP, "%s: unsupported KVM API version", path);
	}
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) <= 0) {
		close(fd);
		return dune_fail(-ENOTSUP, "%s: KVM lacks KVM_CAP_SYNC_REGS", path);
	}
	return fd;
}

/* KVM_CREATE_VM can be interrupted by a signal; it is safe to retry. */
static int create_vm_fd(int kvm)
{
	int fd;

	do
		fd = ioctl(kvm, KVM_CREATE_VM, 0);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return dune_fail(-errno, "KVM_CREATE_VM: %s", dune_strerror(errno));
	return fd;
}

/* Ask for the GPA of a guest access KVM could not back (SIGBUS cases). */
static void enable_memory_fault_info(int vm_fd)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MEMORY_FAULT_INFO };

	ioctl(vm_fd, KVM_ENABLE_CAP, &cap);
}

static int create_vcpu(struct dune_vm *vm, int kvm)
{
	struct dune_vcpu *vcpu = &vm->vcpu;
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	int fd;

	vcpu->vm = vm;
	vcpu->fd = -1;
	if (size <= 0)
		return dune_fail(-EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
	fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (fd < 0)
		return dune_fail(-errno, "KVM_CREATE_VCPU: %s", dune_strerror(errno));
	vcpu->fd = dune_reopen_high(fd);
	if (vcpu->fd < 0) {
		close(fd);
		return dune_fail(vcpu->fd, "cannot move the vCPU fd: %s", dune_strerror(vcpu->fd));
	}
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return dune_fail(-errno, "mmap of kvm_run: %s", dune_strerror(errno));
	}
	vcpu->run_size = size;
	vm->own[vm->nr_own++] = (struct dune_range){ (uintptr_t)vcpu->run,
						     (uintptr_t)vcpu->run + size };
	return 0;
}

/* The area is 2 MiB aligned so its memslot can use large host pages. */
static uint8_t *map_area(void)
{
	size_t len = DUNE_AREA_SIZE + DUNE_SZ_2M;
	uint8_t *raw = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *area;

	if (raw == MAP_FAILED)
		return NULL;
	area = (uint8_t *)DUNE_ALIGN_UP((uintptr_t)raw, DUNE_SZ_2M);
	if (area > raw)
		munmap(raw, area - raw);
	munmap(area + DUNE_AREA_SIZE, raw + len - (area + DUNE_AREA_SIZE));
	/* guard page below the host-loop stack */
	mprotect(area + DUNE_AREA_STACK, DUNE_PAGE_SIZE, PROT_NONE);
	return area;
}

static int vm_setup(struct dune_vm *vm, int kvm)
{
	int fd = create_vm_fd(kvm);

	if (fd < 0)
		return fd;
	vm->vm_fd = dune_reopen_high(fd);
	if (vm->vm_fd < 0) {
		close(fd);
		return dune_fail(vm->vm_fd, "cannot move the VM fd: %s", dune_strerror(vm->vm_fd));
	}
	enable_memory_fault_info(vm->vm_fd);
	vm->arch = vm->area + DUNE_AREA_VM + DUNE_ALIGN_UP(sizeof(*vm), 64);
	vm->vcpu.arch = (uint8_t *)vm->arch + DUNE_ALIGN_UP(arch_vm_size(), 64);
	if ((uint8_t *)vm->vcpu.arch + arch_vcpu_size() > vm->area + DUNE_AREA_VM_SIZE)
		return dune_fail(-EOVERFLOW, "internal: VM state larger than its area");
	return arch_vm_init(vm);
}

int dune_vm_create(struct dune_vm **vmp)
{
	uint8_t *area = map_area();
	struct dune_vm *vm;
	int kvm, err;

	if (!area)
		return dune_fail(-errno, "cannot reserve the dune area: %s", dune_strerror(errno));
	vm = (struct dune_vm *)(area + DUNE_AREA_VM);
	vm->area = area;
	vm->vm_fd = -1;
	vm->vcpu.fd = -1;
	vm->own[vm->nr_own++] = (struct dune_range){ (uintptr_t)area,
						     (uintptr_t)area + DUNE_AREA_SIZE };
	vm->stats.size = sizeof(vm->stats);
	vm->debug = getenv("DUNE_DEBUG") ? atoi(getenv("DUNE_DEBUG")) : 0;
	kvm = open_kvm();
	if (kvm < 0) {
		err = kvm;
		goto fail;
	}
	vm->kvm_fd = kvm;
	err = vm_setup(vm, kvm);
	if (!err)
		err = create_vcpu(vm, kvm);
	if (!err)
		err = dune_mem_init(vm);
	if (!err)
		err = arch_vcpu_init(&vm->vcpu);
	close(kvm);
	vm->kvm_fd = -1;
	if (err)
		goto fail;
	*vmp = vm;
	return 0;
fail:
	dune_vm_destroy(vm);
	return err;
}

void dune_vm_destroy(struct dune_vm *vm)
{
	if (vm->vcpu.run)
		munmap(vm->vcpu.run, vm->vcpu.run_size);
	if (vm->vcpu.fd >= 0)
		close(vm->vcpu.fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	munmap(vm->area, DUNE_AREA_SIZE);
}

int dune_is_own_fd(struct dune_vm *vm, long fd)
{
	return fd >= 0 && (fd == vm->vm_fd || fd == vm->vcpu.fd);
}

/* The program wants this fd number: give it up and keep working on another. */
int dune_move_own_fd(struct dune_vm *vm, long fd)
{
	int *slot = fd == vm->vm_fd ? &vm->vm_fd : &vm->vcpu.fd;
	int nfd = dune_reopen_high(*slot);

	if (nfd < 0)
		return nfd;
	*slot = nfd;
	return 0;
}
