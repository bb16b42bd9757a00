// SPDX-License-Identifier: GPL-2.0
/*
 * dune's optional fast path: serve a dune guest's system calls in the host
 * kernel, at the exit they already take.
 *
 * The guest's LSTAR stub executes `out %eax, $DUNE_X86_PORT_SYSCALL`
 * (include/uapi/linux/dune.h).  A process attaches its KVM VM to an open
 * /dev/dune; the module then puts a kvm_io_device on the VM's PIO bus at that
 * port.  Its write callback runs in the vCPU thread's context during
 * KVM_RUN: for a syscall that both the library's allow bitmap and the
 * module's own safe list accept, it runs the syscall and returns 0, so KVM
 * re-enters the guest without leaving the kernel.  Anything else returns
 * -EOPNOTSUPP and KVM exits to user space as usual, where dune's host loop
 * serves the call: declining is always correct.  A call whose memory
 * arguments would reach dune's own memory (the ranges and descriptors the
 * library gave at attach) is declined too: the host loop fails it as
 * natively on a hole.
 *
 * Nothing the module needs is exported: kvm_io_bus_{,un}register_dev(), the
 * syscall table and the VM file's f_op are found once through kallsyms
 * (itself found with a kprobe) and called through static calls owned by this
 * module.  A symbol that is missing makes ATTACH fail, and the library falls
 * back to user space.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/static_call.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <kvm/iodev.h>

#include "dune_kmod.h"

/*
 * The syscalls the module may ever run in the kernel.  Each was measured to
 * behave as natively when called from the exit (the pt_regs seen by the
 * syscall is not the thread's, no return-to-user work runs), and none of
 * them keeps restart state (restart_block) that a fallback would lose:
 * nanosleep, poll and futex waits with a timeout stay in user space.
 * Syscalls that dune must see (the mmap and clone families, signals, dune's
 * own fds, ...) are never allowed by the library either; ioctl is never
 * listed because an ioctl on the caller's own vCPU would deadlock on its
 * vcpu->mutex.
 */
static const unsigned short dune_safe_syscalls[] = {
	__NR_read, __NR_write, __NR_pread64, __NR_pwrite64, __NR_readv,
	__NR_writev, __NR_preadv, __NR_pwritev, __NR_preadv2, __NR_pwritev2,
	__NR_openat, __NR_fstat, __NR_newfstatat, __NR_statx, __NR_lseek,
	__NR_getdents64, __NR_pipe2, __NR_fsync, __NR_fdatasync,
	__NR_readlinkat, __NR_faccessat, __NR_getcwd, __NR_uname,
	__NR_getpid, __NR_getppid, __NR_gettid, __NR_getuid, __NR_geteuid,
	__NR_getgid, __NR_getegid, __NR_getrandom, __NR_clock_gettime,
	__NR_clock_getres, __NR_gettimeofday, __NR_time, __NR_sched_yield,
	__NR_getrusage, __NR_sysinfo, __NR_epoll_wait, __NR_epoll_ctl,
	__NR_epoll_create1, __NR_eventfd2, __NR_socket, __NR_socketpair,
	__NR_bind, __NR_listen, __NR_connect, __NR_accept, __NR_accept4,
	__NR_sendto, __NR_recvfrom, __NR_sendmsg, __NR_recvmsg,
	__NR_shutdown, __NR_getsockname, __NR_getpeername, __NR_setsockopt,
	__NR_getsockopt, __NR_wait4, __NR_kill, __NR_tgkill,
	__NR_set_robust_list, __NR_set_tid_address,
};

static DECLARE_BITMAP(dune_safe, DUNE_KMOD_MAX_SYSCALLS) __ro_after_init;

/* One attached VM: the state of an open /dev/dune after ATTACH. */
struct dune_vm {
	struct kvm_io_device dev;
	struct file *vm_file;		/* pins the VM (and kvm.ko) */
	struct kvm *kvm;
	pid_t tgid;
	bool dead;			/* being detached: serve nothing more */
	bool nested;			/* inside another attached VM: serve nothing */
	/* callbacks that dropped kvm->srcu to run a syscall; release waits for them */
	struct srcu_struct srcu;
	struct list_head node;		/* in dune_vms */
	DECLARE_BITMAP(allow, DUNE_KMOD_MAX_SYSCALLS);	/* library AND module */
	/* dune's memory and the memargs, fixed at attach (dune_check_policy) */
	u32 nr_ranges;
	u32 nr_memargs;
	struct dune_kmod_range ranges[DUNE_KMOD_MAX_RANGES];
	struct dune_kmod_memarg memargs[DUNE_KMOD_MAX_MEMARGS];
	u16 ma_first[DUNE_KMOD_MAX_SYSCALLS];	/* syscall nr's memargs, */
	u8 ma_count[DUNE_KMOD_MAX_SYSCALLS];	/* consecutive in memargs */
	atomic64_t served;
	atomic64_t declined[DUNE_DECLINE_KINDS];
	atomic64_t count[DUNE_KMOD_MAX_SYSCALLS];	/* served, per syscall */
};

/* Serialises ATTACH, ALLOW and release. */
static DEFINE_MUTEX(dune_lock);
/* Protects dune_vms, which dune_kmod_for_each() walks. */
static DEFINE_SPINLOCK(dune_vms_lock);
static LIST_HEAD(dune_vms);

bool dune_kmod_enabled = true;

/* What kallsyms gave us: dune_resolve_syscall(), dune_resolve_kvm(). */
typedef long (*dune_sys_call_t)(const struct pt_regs *regs);

static const struct file_operations *dune_kvm_vm_fops;
static const dune_sys_call_t *dune_sys_call_table;
static bool dune_syscall_found;

static long dune_sys_call_by_table(const struct pt_regs *regs, unsigned int nr)
{
	return dune_sys_call_table[nr](regs);
}

DEFINE_STATIC_CALL_NULL(dune_bus_register, kvm_io_bus_register_dev);
DEFINE_STATIC_CALL_NULL(dune_bus_unregister, kvm_io_bus_unregister_dev);
DEFINE_STATIC_CALL(dune_sys_call, dune_sys_call_by_table);

static unsigned long dune_lookup(const char *name)
{
	static unsigned long (*lookup)(const char *name);
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	if (!lookup) {
		if (register_kprobe(&kp))
			return 0;
		lookup = (void *)kp.addr;
		unregister_kprobe(&kp);
	}
	return lookup ? lookup(name) : 0;
}

/* The syscall entry, once at module init: the core kernel does not move. */
static bool dune_resolve_syscall(void)
{
	unsigned long call = dune_lookup("x64_sys_call");

	if (call) {
		static_call_update(dune_sys_call, (typeof(dune_sys_call_by_table) *)call);
		return true;
	}
	dune_sys_call_table = (void *)dune_lookup("sys_call_table");
	return dune_sys_call_table;
}

/*
 * kvm.ko's pieces, at each attach (@dune_lock must be held): kvm.ko may
 * have been loaded, or reloaded elsewhere, since the last one.  A VM file
 * whose f_op is the kvm_vm_fops found here pins that kvm.ko while it is
 * attached, so every attachment sees the same kvm.ko and re-pointing the
 * static calls never changes their target under a caller.
 */
static int dune_resolve_kvm(void)
{
	unsigned long reg = dune_lookup("kvm_io_bus_register_dev");
	unsigned long unreg = dune_lookup("kvm_io_bus_unregister_dev");
	const struct file_operations *fops = (void *)dune_lookup("kvm_vm_fops");

	if (!reg || !unreg || !fops)
		return -EOPNOTSUPP;
	dune_kvm_vm_fops = fops;
	static_call_update(dune_bus_register, (typeof(kvm_io_bus_register_dev) *)reg);
	static_call_update(dune_bus_unregister, (typeof(kvm_io_bus_unregister_dev) *)unreg);
	return 0;
}

static inline struct dune_vm *to_dune_vm(struct kvm_io_device *dev)
{
	return container_of(dev, struct dune_vm, dev);
}

/*
 * SEV-ES and later keep the guest's registers encrypted: we cannot read
 * them.  Kbuild tells whether this kernel has the flag; without it, attach
 * is refused (dune_attach) rather than guessing.
 */
static bool dune_state_protected(struct kvm_vcpu *vcpu)
{
#ifdef CONFIG_DUNE_GUEST_STATE_PROTECTED
	return vcpu->arch.guest_state_protected;
#else
	return true;
#endif
}

/* Does [p, p + len) reach dune's memory?  A range past the top wraps to it. */
static bool dune_reaches(const struct dune_vm *vm, u64 p, u64 len)
{
	u64 end;
	u32 i;

	if (!len)
		return false;
	if (check_add_overflow(p, len, &end))
		end = U64_MAX;
	for (i = 0; i < vm->nr_ranges && vm->ranges[i].start < end; i++)
		if (p < vm->ranges[i].end)
			return true;
	return false;
}

/* The registers of syscall arguments 0 to 5. */
static const u8 dune_arg_regs[] = {
	VCPU_REGS_RDI, VCPU_REGS_RSI, VCPU_REGS_RDX, VCPU_REGS_R10, VCPU_REGS_R8, VCPU_REGS_R9,
};

/*
 * A socket address and its socklen_t, checked where they are as the host
 * loop does: another thread may change the length after the check, which
 * only lets the program reach dune's memory on purpose (README).  The length
 * is read without faulting: kvm->srcu is held, and a fault could wait for
 * anything (userfaultfd).  So a length not in memory counts as reaching and
 * the host loop checks it.
 */
static bool dune_sockaddr_reaches(const struct dune_vm *vm, u64 p, u64 lenp)
{
	u32 len;

	if (!p || !lenp)
		return false;
	if (dune_reaches(vm, lenp, sizeof(len)) ||
	    copy_from_user_nofault(&len, (const void __user *)lenp, sizeof(len)))
		return true;
	return dune_reaches(vm, p, len);
}

/*
 * Does a memory argument of syscall nr reach dune's memory?  The same
 * lengths as the host loop's check (lib/reach.c), from the registers the
 * syscall will get: @vcpu->mutex is held, so they cannot change meanwhile.
 */
static bool dune_memargs_reach(const struct dune_vm *vm, struct kvm_vcpu *vcpu,
			       unsigned long nr)
{
	const struct dune_kmod_memarg *ma = &vm->memargs[vm->ma_first[nr]];
	const unsigned long *r = vcpu->arch.regs;
	u64 bytes = 0, len;
	u8 i;

	for (i = 0; i < vm->ma_count[nr]; i++, ma++) {
		u64 p = r[dune_arg_regs[ma->ptr]], n = r[dune_arg_regs[ma->len]];

		switch (ma->kind) {
		case DUNE_KMOD_MA_BUF:
			len = size_add(n, ma->size);
			bytes += n;
			break;
		case DUNE_KMOD_MA_FIXED:
			len = ma->size;
			break;
		case DUNE_KMOD_MA_ARRAY:
			len = size_mul(n, ma->size);
			break;
		case DUNE_KMOD_MA_SOCKADDR:
			if (dune_sockaddr_reaches(vm, p, n))
				return true;
			continue;
		default:	/* DUNE_KMOD_MA_MEM_POS: the user path tells the file */
			len = bytes;
			break;
		}
		if (dune_reaches(vm, p, len))
			return true;
	}
	return false;
}

/* Why this vCPU's syscall must go to user space, or -1 if it need not. */
static int dune_decline_reason(struct dune_vm *vm, struct kvm_vcpu *vcpu, unsigned long nr)
{
	if (!READ_ONCE(dune_kmod_enabled))
		return DUNE_DECLINE_DISABLED;
	if (vm->nested || nr >= DUNE_KMOD_MAX_SYSCALLS || !test_bit(nr, vm->allow))
		return DUNE_DECLINE_POLICY;
	/* seccomp, ptrace, audit, tracepoints, syscall user dispatch */
	if (current_thread_info()->syscall_work || current->seccomp.mode)
		return DUNE_DECLINE_THREAD;
	if (dune_state_protected(vcpu) || current->mm != vm->kvm->mm)
		return DUNE_DECLINE_STATE;
	/*
	 * A writer replacing the PIO bus holds slots_lock until the old bus is
	 * freed; while it may be at work, keep kvm->srcu (see dune_pio_write).
	 */
	if (mutex_is_locked(&vm->kvm->slots_lock))
		return DUNE_DECLINE_STATE;
	if (dune_memargs_reach(vm, vcpu, nr))
		return DUNE_DECLINE_REACH;
	return -1;
}

/*
 * Run syscall nr with the guest's arguments, kvm->srcu dropped as KVM's own
 * vcpu_block() does: the syscall may block, and a memslot update on another
 * thread waits for every srcu reader.
 */
static long dune_run_syscall(struct kvm_vcpu *vcpu, unsigned long nr)
{
	unsigned long *r = vcpu->arch.regs;
	struct pt_regs regs = {
		.di = r[VCPU_REGS_RDI], .si = r[VCPU_REGS_RSI],
		.dx = r[VCPU_REGS_RDX], .r10 = r[VCPU_REGS_R10],
		.r8 = r[VCPU_REGS_R8], .r9 = r[VCPU_REGS_R9],
		.orig_ax = nr,
	};
	long ret;

	kvm_vcpu_srcu_read_unlock(vcpu);
	ret = static_call(dune_sys_call)(&regs, nr);
	kvm_vcpu_srcu_read_lock(vcpu);
	return ret;
}

static bool dune_is_restart(long ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
	       ret == -ERESTARTNOHAND || ret == -ERESTART_RESTARTBLOCK;
}

/*
 * The guest's `out` to the syscall port: RAX = number, RDI RSI RDX R10 R8 R9
 * = arguments.  Runs in the vCPU thread with vcpu->mutex and kvm->srcu held.
 * Returns 0 with the result in RAX, or -EOPNOTSUPP to exit to user space.
 *
 * KVM's caller goes on using the PIO bus it looked up under kvm->srcu when
 * we decline.  So a decline after the syscall ran (an -ERESTART* result)
 * is allowed only if that bus is still the current one; otherwise the call
 * completes with -EINTR, which only a program that changes its VM's PIO bus
 * while a syscall blocks can see.
 */
static int dune_pio_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			  gpa_t addr, int len, const void *val)
{
	struct dune_vm *vm = to_dune_vm(dev);
	unsigned long nr = vcpu->arch.regs[VCPU_REGS_RAX];
	struct kvm_io_bus *bus = NULL;
	int why, idx;
	long ret;

	if (addr != DUNE_X86_PORT_SYSCALL || len != 4)
		return -EOPNOTSUPP;
	idx = srcu_read_lock(&vm->srcu);
	why = READ_ONCE(vm->dead) ? DUNE_DECLINE_STATE : -1;
	if (why < 0) {
		bus = srcu_dereference(vm->kvm->buses[KVM_PIO_BUS], &vm->kvm->srcu);
		smp_rmb();	/* the bus, then slots_lock: pairs with its update */
		why = dune_decline_reason(vm, vcpu, nr);
	}
	if (why >= 0) {
		srcu_read_unlock(&vm->srcu, idx);
		atomic64_inc(&vm->declined[why]);
		return -EOPNOTSUPP;
	}

	ret = dune_run_syscall(vcpu, nr);
	if (dune_is_restart(ret)) {
		if (bus == srcu_dereference(vm->kvm->buses[KVM_PIO_BUS], &vm->kvm->srcu)) {
			srcu_read_unlock(&vm->srcu, idx);
			atomic64_inc(&vm->declined[DUNE_DECLINE_RESTART]);
			return -EOPNOTSUPP;
		}
		ret = -EINTR;
	}
	srcu_read_unlock(&vm->srcu, idx);
	vcpu->arch.regs[VCPU_REGS_RAX] = ret;
	atomic64_inc(&vm->served);
	atomic64_inc(&vm->count[nr]);
	return 0;
}

static const struct kvm_io_device_ops dune_pio_ops = {
	.write = dune_pio_write,
};

static void dune_set_allow(struct dune_vm *vm, const __u64 *allow)
{
	unsigned int nr;

	for (nr = 0; nr < DUNE_KMOD_MAX_SYSCALLS; nr++)
		if (test_bit(nr, dune_safe) && (allow[nr / 64] >> (nr % 64) & 1))
			set_bit(nr, vm->allow);
		else
			clear_bit(nr, vm->allow);
}

/* Ranges sorted and not wrapping; memargs valid, each syscall's together. */
static int dune_check_policy(const struct dune_kmod_attach *a)
{
	const struct dune_kmod_memarg *ma = a->memargs;
	u32 i, run = 0;

	if (a->nr_ranges > DUNE_KMOD_MAX_RANGES || a->nr_memargs > DUNE_KMOD_MAX_MEMARGS)
		return -EINVAL;
	for (i = 0; i < a->nr_ranges; i++)
		if (a->ranges[i].start >= a->ranges[i].end ||
		    (i && a->ranges[i - 1].end > a->ranges[i].start))
			return -EINVAL;
	for (i = 0; i < a->nr_memargs; i++, ma++) {
		if (ma->nr >= DUNE_KMOD_MAX_SYSCALLS || ma->kind == DUNE_KMOD_MA_NONE ||
		    ma->kind >= DUNE_KMOD_MA_KINDS || ma->ptr >= ARRAY_SIZE(dune_arg_regs) ||
		    ma->len >= ARRAY_SIZE(dune_arg_regs) || memchr_inv(ma->reserved, 0,
									sizeof(ma->reserved)))
			return -EINVAL;
		run = i && ma[-1].nr == ma->nr ? run + 1 : 1;
		if ((i && ma[-1].nr > ma->nr) || run > DUNE_KMOD_CALL_MEMARGS)
			return -EINVAL;
	}
	return 0;
}

/* The attach argument from user space (kfree it), or an ERR_PTR. */
static struct dune_kmod_attach *dune_copy_attach(void __user *arg)
{
	struct dune_kmod_attach *a = memdup_user(arg, sizeof(*a));
	int err;

	if (IS_ERR(a))
		return a;
	err = a->size == sizeof(*a) ? dune_check_policy(a) : -EINVAL;
	if (err) {
		kfree(a);
		return ERR_PTR(err);
	}
	return a;
}

/* dune's ranges and the memargs for a new attachment, from a checked @a. */
static void dune_set_memargs(struct dune_vm *vm, const struct dune_kmod_attach *a)
{
	u32 i;

	vm->nr_ranges = a->nr_ranges;
	memcpy(vm->ranges, a->ranges, a->nr_ranges * sizeof(a->ranges[0]));
	vm->nr_memargs = a->nr_memargs;
	memcpy(vm->memargs, a->memargs, a->nr_memargs * sizeof(a->memargs[0]));
	for (i = a->nr_memargs; i-- > 0;) {
		vm->ma_first[a->memargs[i].nr] = i;
		vm->ma_count[a->memargs[i].nr]++;
	}
}

/* Does @a carry the ranges and memargs @vm was attached with? */
static bool dune_same_memargs(const struct dune_vm *vm, const struct dune_kmod_attach *a)
{
	return a->nr_ranges == vm->nr_ranges && a->nr_memargs == vm->nr_memargs &&
	       !memcmp(a->ranges, vm->ranges, a->nr_ranges * sizeof(a->ranges[0])) &&
	       !memcmp(a->memargs, vm->memargs, a->nr_memargs * sizeof(a->memargs[0]));
}

/*
 * The caller's VM of vm_fd, pinned by its file, or an ERR_PTR.  The file
 * must be a KVM VM (its f_op is kvm_vm_fops) created by the caller's mm:
 * KVM serves a VM only to that mm, and another process's VM passed over a
 * unix socket must not be attached.
 */
static struct file *dune_get_vm_file(int vm_fd)
{
	struct file *file = fget(vm_fd);
	struct kvm *kvm;

	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != dune_kvm_vm_fops) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	kvm = file->private_data;
	if (kvm->mm != current->mm) {
		fput(file);
		return ERR_PTR(-EPERM);
	}
	return file;
}

/*
 * -EBUSY if @kvm is attached already: a second device at the port would
 * never be reached.  *nested says whether another VM of the caller's mm is
 * attached: then this one runs inside dune (dune_enter() inside dune), the
 * outer level's host loop runs its host loop's syscalls and must see them
 * (the outer's seccomp filters, tools and policy), so none is served here.
 * @dune_lock must be held.
 */
static int dune_check_attached(struct kvm *kvm, bool *nested)
{
	struct dune_vm *vm;
	int err = 0;

	*nested = false;
	spin_lock(&dune_vms_lock);
	list_for_each_entry(vm, &dune_vms, node) {
		if (vm->kvm == kvm)
			err = -EBUSY;
		*nested |= vm->kvm->mm == current->mm;
	}
	spin_unlock(&dune_vms_lock);
	return err;
}

/* DUNE_KMOD_IOC_ATTACH: @dune_lock must be held. */
static int dune_attach(struct file *filp, void __user *arg)
{
	struct dune_kmod_attach *a;
	struct dune_vm *vm;
	struct file *vm_file;
	bool nested;
	int err;

	if (!dune_syscall_found || !IS_ENABLED(CONFIG_DUNE_GUEST_STATE_PROTECTED))
		return -EOPNOTSUPP;
	err = dune_resolve_kvm();
	if (err)
		return err;
	if (filp->private_data)
		return -EBUSY;
	a = dune_copy_attach(arg);
	if (IS_ERR(a))
		return PTR_ERR(a);
	vm_file = dune_get_vm_file(a->vm_fd);
	if (IS_ERR(vm_file)) {
		err = PTR_ERR(vm_file);
		goto out_kfree;
	}
	err = dune_check_attached(vm_file->private_data, &nested);
	if (err)
		goto out_fput;

	vm = kvzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm) {
		err = -ENOMEM;
		goto out_fput;
	}
	err = init_srcu_struct(&vm->srcu);
	if (err)
		goto out_free;
	vm->vm_file = vm_file;
	vm->kvm = vm_file->private_data;
	vm->tgid = task_tgid_nr(current);
	vm->nested = nested;
	dune_set_allow(vm, a->allow);
	dune_set_memargs(vm, a);
	kvm_iodevice_init(&vm->dev, &dune_pio_ops);

	mutex_lock(&vm->kvm->slots_lock);
	err = static_call(dune_bus_register)(vm->kvm, KVM_PIO_BUS, DUNE_X86_PORT_SYSCALL,
					     4, &vm->dev);
	mutex_unlock(&vm->kvm->slots_lock);
	if (err)
		goto out_cleanup;

	spin_lock(&dune_vms_lock);
	list_add_tail(&vm->node, &dune_vms);
	spin_unlock(&dune_vms_lock);
	/* dune_own_vm() may read it without dune_lock */
	smp_store_release(&filp->private_data, vm);
	kfree(a);
	return 0;

out_cleanup:
	cleanup_srcu_struct(&vm->srcu);
out_free:
	kvfree(vm);
out_fput:
	fput(vm_file);
out_kfree:
	kfree(a);
	return err;
}

/* The attached VM of filp if the caller is the process that attached it. */
static struct dune_vm *dune_own_vm(struct file *filp)
{
	/* pairs with dune_attach(): ioctls other than ATTACH run without dune_lock */
	struct dune_vm *vm = smp_load_acquire(&filp->private_data);

	if (!vm)
		return ERR_PTR(-ENXIO);
	/* a fork child shares our file until it opens its own */
	if (vm->kvm->mm != current->mm)
		return ERR_PTR(-EPERM);
	return vm;
}

/* DUNE_KMOD_IOC_ALLOW: @dune_lock must be held. */
static int dune_allow(struct file *filp, void __user *arg)
{
	struct dune_vm *vm = dune_own_vm(filp);
	struct dune_kmod_attach *a;
	int err = 0;

	if (IS_ERR(vm))
		return PTR_ERR(vm);
	a = dune_copy_attach(arg);
	if (IS_ERR(a))
		return PTR_ERR(a);
	if (dune_same_memargs(vm, a))
		dune_set_allow(vm, a->allow);
	else
		err = -EINVAL;
	kfree(a);
	return err;
}

static int dune_counters(struct file *filp, void __user *arg)
{
	struct dune_vm *vm = dune_own_vm(filp);
	struct dune_kmod_counters c = { .size = sizeof(c) };
	__u32 size;
	int i;

	if (IS_ERR(vm))
		return PTR_ERR(vm);
	if (get_user(size, (__u32 __user *)arg))
		return -EFAULT;
	if (size != sizeof(c))
		return -EINVAL;
	c.served = atomic64_read(&vm->served);
	for (i = 0; i < DUNE_DECLINE_KINDS; i++)
		c.declined[i] = atomic64_read(&vm->declined[i]);
	return copy_to_user(arg, &c, sizeof(c)) ? -EFAULT : 0;
}

static long dune_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long ret;

	switch (cmd) {
	case DUNE_KMOD_IOC_ABI:
		return DUNE_KMOD_ABI_VERSION;
	case DUNE_KMOD_IOC_COUNTERS:
		return dune_counters(filp, uarg);
	case DUNE_KMOD_IOC_ATTACH:
	case DUNE_KMOD_IOC_ALLOW:
		mutex_lock(&dune_lock);
		ret = cmd == DUNE_KMOD_IOC_ATTACH ? dune_attach(filp, uarg) :
						    dune_allow(filp, uarg);
		mutex_unlock(&dune_lock);
		return ret;
	default:
		return -ENOTTY;
	}
}

/*
 * Detach: no new syscall starts in the kernel (dead), the ones running with
 * kvm->srcu dropped finish (vm->srcu: per VM, as another process's exit
 * may wait for ours, e.g. a blocking wait4 for it), the device leaves the bus (whose
 * update waits for every kvm->srcu reader, so for every callback), then the
 * VM is let go.
 */
static int dune_release(struct inode *inode, struct file *filp)
{
	struct dune_vm *vm = filp->private_data;
	int err;

	if (!vm)
		return 0;
	WRITE_ONCE(vm->dead, true);
	synchronize_srcu(&vm->srcu);

	mutex_lock(&vm->kvm->slots_lock);
	err = static_call(dune_bus_unregister)(vm->kvm, KVM_PIO_BUS, &vm->dev);
	mutex_unlock(&vm->kvm->slots_lock);
	/* -ENOMEM: KVM dropped the whole bus, our device with it */
	WARN_ON_ONCE(err && err != -ENOMEM);

	spin_lock(&dune_vms_lock);
	list_del(&vm->node);
	spin_unlock(&dune_vms_lock);
	cleanup_srcu_struct(&vm->srcu);
	fput(vm->vm_file);
	kvfree(vm);
	return 0;
}

/* misc_open() left our miscdevice in private_data: it holds the attachment. */
static int dune_open(struct inode *inode, struct file *filp)
{
	filp->private_data = NULL;
	return 0;
}

static const struct file_operations dune_fops = {
	.owner = THIS_MODULE,
	.open = dune_open,
	.unlocked_ioctl = dune_ioctl,
	.release = dune_release,
	.llseek = noop_llseek,
};

static struct miscdevice dune_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dune",
	.fops = &dune_fops,
	.mode = 0660,
};

/* Fills snapshot s of vm: its served counter's top DUNE_KMOD_TOP syscalls. */
static void dune_snapshot(struct dune_vm *vm, struct dune_kmod_snapshot *s)
{
	unsigned int nr, i, j;

	memset(s, 0, sizeof(*s));
	s->pid = vm->tgid;
	s->served = atomic64_read(&vm->served);
	for (i = 0; i < DUNE_DECLINE_KINDS; i++)
		s->declined[i] = atomic64_read(&vm->declined[i]);
	for (nr = 0; nr < DUNE_KMOD_MAX_SYSCALLS; nr++) {
		u64 n = atomic64_read(&vm->count[nr]);

		for (i = 0; i < DUNE_KMOD_TOP && s->top_count[i] >= n; i++)
			;
		if (!n || i == DUNE_KMOD_TOP)
			continue;
		for (j = DUNE_KMOD_TOP - 1; j > i; j--) {
			s->top_nr[j] = s->top_nr[j - 1];
			s->top_count[j] = s->top_count[j - 1];
		}
		s->top_nr[i] = nr;
		s->top_count[i] = n;
	}
}

/**
 * dune_kmod_for_each() - report every attached VM
 * @fn: called with a snapshot of each VM, under a spinlock: must not sleep
 * @arg: passed to @fn
 *
 * Return: the first non-zero value @fn returns, or 0.
 */
int dune_kmod_for_each(int (*fn)(const struct dune_kmod_snapshot *s, void *arg), void *arg)
{
	struct dune_kmod_snapshot s;
	struct dune_vm *vm;
	int ret = 0;

	spin_lock(&dune_vms_lock);
	list_for_each_entry(vm, &dune_vms, node) {
		dune_snapshot(vm, &s);
		ret = fn(&s, arg);
		if (ret)
			break;
	}
	spin_unlock(&dune_vms_lock);
	return ret;
}

static int __init dune_init(void)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(dune_safe_syscalls); i++)
		__set_bit(dune_safe_syscalls[i], dune_safe);
	dune_syscall_found = dune_resolve_syscall();
	if (!dune_syscall_found)
		pr_warn("no syscall entry (x64_sys_call, sys_call_table): attach is refused\n");

	err = misc_register(&dune_dev);
	if (err)
		return err;
	/* the netlink family, when this tree has it (Kbuild) */
	err = IS_ENABLED(CONFIG_DUNE_GENL) ? dune_genl_init() : 0;
	if (err)
		goto out_deregister;
	return 0;

out_deregister:
	misc_deregister(&dune_dev);
	return err;
}

static void __exit dune_exit(void)
{
	if (IS_ENABLED(CONFIG_DUNE_GENL))
		dune_genl_exit();
	misc_deregister(&dune_dev);
}

module_init(dune_init);
module_exit(dune_exit);

MODULE_DESCRIPTION("dune: serve KVM guests' system calls in the host kernel");
MODULE_LICENSE("GPL");
