// SPDX-License-Identifier: MIT
/*
 * Detaching from the kernel module under load; skipped where /dev/dune is
 * absent (it can only be loaded inside `make check-vm-kmod`).
 *
 * - The module alone: a bare KVM guest (real mode, no dune) whose vCPU
 *   loops `out %eax, $0x20` with RAX = getpid and checks the result, and a
 *   second vCPU blocked in a read of a pipe that the module serves, while
 *   another thread closes the module's fd (detach) and attaches the VM anew
 *   many times.  What the module declines or misses while detached exits to
 *   user space, where the test runs the syscall itself, as dune's host loop
 *   would.  The close that meets the blocked read waits for it (the module
 *   waits for the syscalls it runs); every result is right.
 * - Through dune: threads in tight loops of kernel-path getpids and one
 *   blocked in an openat of a FIFO served in the kernel, while the main
 *   thread forks children (each attaches its own VM and exits, detaching
 *   it).  Escapes under load are t-escape's (in the suite's kmod pass).
 * After each, the kernel log has no oops, BUG or WARNING.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/dune.h>
#include <linux/kvm.h>

#include "kmod.h"

static const char *device = DUNE_KMOD_DEVICE;

#define DETACHES	200
#define GUEST_MEM	0x10000
#define LOOP_CODE	0x1000
#define BLOCK_CODE	0x1100

struct vcpu {
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	long user_exits;	/* syscalls the test ran itself: the module declined */
	int failed;		/* an exit the test did not expect */
};

static int vm_fd, dev_fd;
static volatile int stop;

static void on_usr1(int sig)
{
	(void)sig;
}

/*
 * Real mode: RBX counts iterations; a getpid result other than pid halts.
 *	1: mov $SYS_getpid, %eax; out %eax, $0x20; inc %ebx; cmp $pid, %eax; je 1b; hlt
 */
static void write_loop_code(uint8_t *p, uint32_t pid)
{
	static const uint8_t code[] = {
		0x66, 0xb8, SYS_getpid, 0, 0, 0, 0x66, 0xe7, DUNE_X86_PORT_SYSCALL, 0x66, 0x43,
		0x66, 0x3d, 0, 0, 0, 0, 0x74, 0xed, 0xf4,
	};

	memcpy(p, code, sizeof(code));
	memcpy(p + 13, &pid, sizeof(pid));
}

/* out %eax, $0x20; hlt: one syscall with the registers the test set. */
static void write_block_code(uint8_t *p)
{
	static const uint8_t code[] = { 0x66, 0xe7, DUNE_X86_PORT_SYSCALL, 0xf4 };

	memcpy(p, code, sizeof(code));
}

static int vcpu_create(struct vcpu *v, int kvm, int id, uint64_t rip, const struct kvm_regs *in)
{
	struct kvm_regs regs = *in;
	struct kvm_sregs sregs;
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);

	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0 || size <= 0)
		return -1;
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED || ioctl(v->fd, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	regs.rip = rip;
	regs.rflags = 2;
	return ioctl(v->fd, KVM_SET_SREGS, &sregs) || ioctl(v->fd, KVM_SET_REGS, &regs) ? -1 : 0;
}

/*
 * KVM_RUN until the guest halts or stop: the syscall exits the module left
 * to user space are run here (getpid and read, the only ones the guests make).
 */
static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct kvm_regs regs;

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0)) {
			if (errno == EINTR && !stop)
				continue;
			v->failed |= errno != EINTR;
			return NULL;
		}
		if (v->run->exit_reason == KVM_EXIT_HLT)	/* the caller reads RAX */
			return NULL;
		if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != DUNE_X86_PORT_SYSCALL ||
		    ioctl(v->fd, KVM_GET_REGS, &regs)) {
			v->failed = 1;
			return NULL;
		}
		regs.rax = RAW(regs.rax, regs.rdi, regs.rsi, regs.rdx);
		v->user_exits++;
		if (ioctl(v->fd, KVM_SET_REGS, &regs)) {
			v->failed = 1;
			return NULL;
		}
	}
}

static int attach(int dev)
{
	struct dune_kmod_attach a = { .size = sizeof(a), .vm_fd = vm_fd };

	a.allow[SYS_getpid / 64] |= 1ULL << (SYS_getpid % 64);
	a.allow[SYS_read / 64] |= 1ULL << (SYS_read % 64);
	return ioctl(dev, DUNE_KMOD_IOC_ATTACH, &a) ? -errno : 0;
}

static volatile int detaches_done;
static uint64_t served_total;

/* Detach (close) and attach anew, DETACHES times. */
static void *detacher(void *arg)
{
	struct dune_kmod_counters c = { .size = sizeof(c) };
	int err;

	(void)arg;
	for (int i = 0; i < DETACHES; i++) {
		if (!ioctl(dev_fd, DUNE_KMOD_IOC_COUNTERS, &c))
			served_total += c.served;
		close(dev_fd);
		detaches_done++;
		dev_fd = open(device, O_RDWR | O_CLOEXEC);
		err = dev_fd < 0 ? -errno : attach(dev_fd);
		CHECK(!err, "attach %d: %s", i, strerror(-err));
		if (err)
			break;
	}
	return NULL;
}

static void bare_guest(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART: KVM_RUN gets EINTR */
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), pfd[2];
	struct vcpu loop = { 0 }, block = { 0 };
	struct kvm_regs regs = { 0 };
	char byte = 0;
	pthread_t t;
	uint8_t *mem;
	int waited;

	sigaction(SIGUSR1, &sa, NULL);
	CHECK(kvm >= 0 && !pipe(pfd), "set-up: %s", strerror(errno));
	do
		vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	while (vm_fd < 0 && errno == EINTR);
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(vm_fd >= 0 && mem != MAP_FAILED, "KVM_CREATE_VM: %s", strerror(errno));
	struct kvm_userspace_memory_region slot = {
		.memory_size = GUEST_MEM, .userspace_addr = (uintptr_t)mem,
	};
	CHECK(!ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot), "memslot: %s", strerror(errno));
	write_loop_code(mem + LOOP_CODE, getpid());
	write_block_code(mem + BLOCK_CODE);
	CHECK(!vcpu_create(&loop, kvm, 0, LOOP_CODE, &regs), "vCPU 0: %s", strerror(errno));
	regs = (struct kvm_regs){ .rax = SYS_read, .rdi = pfd[0], .rsi = (uintptr_t)&byte, .rdx = 1 };
	CHECK(!vcpu_create(&block, kvm, 1, BLOCK_CODE, &regs), "vCPU 1: %s", strerror(errno));
	dev_fd = open(device, O_RDWR | O_CLOEXEC);
	CHECK(dev_fd >= 0 && !attach(dev_fd), "attach: %s", strerror(errno));
	if (check_failures)
		exit(finish());

	pthread_create(&loop.thread, NULL, vcpu_thread, &loop);
	pthread_create(&block.thread, NULL, vcpu_thread, &block);
	usleep(200000);		/* the read blocks, the loop runs */
	pthread_create(&t, NULL, detacher, NULL);
	usleep(500000);
	waited = detaches_done == 0;
	CHECK(write(pfd[1], "x", 1) == 1, "write: %s", strerror(errno));
	join_within(block.thread, "the blocked vCPU", 120);
	join_within(t, "the detaching thread", 120);
	stop = 1;
	loop.run->immediate_exit = 1;
	pthread_kill(loop.thread, SIGUSR1);
	join_within(loop.thread, "the looping vCPU", 120);

	CHECK(!ioctl(block.fd, KVM_GET_REGS, &regs) && regs.rax == 1 && byte == 'x',
	      "the blocked read: %lld, byte %#x", (long long)regs.rax, byte);
	printf("# the blocked read was served %s; the first detach %s for it\n",
	       block.user_exits ? "in user space (declined)" : "in the kernel",
	       waited ? "waited" : "did not wait");
	CHECK(!ioctl(loop.fd, KVM_GET_REGS, &regs), "KVM_GET_REGS: %s", strerror(errno));
	CHECK(!loop.failed && !block.failed, "an unexpected exit: %d %d", loop.failed,
	      block.failed);
	CHECK(loop.run->exit_reason != KVM_EXIT_HLT, "getpid gave the guest a wrong result "
	      "(rax %lld)", (long long)regs.rax);
	CHECK(regs.rbx > 0 && served_total > 0, "%llu getpids, %llu served in the kernel",
	      (unsigned long long)regs.rbx, (unsigned long long)served_total);
	printf("# %d detaches under load: %llu getpids, %llu seen served in the kernel, %ld in "
	       "user space\n", DETACHES, (unsigned long long)regs.rbx,
	       (unsigned long long)served_total, loop.user_exits);
	close(dev_fd);
	close(loop.fd);
	close(block.fd);
	close(vm_fd);
	close(kvm);
	/* inside dune, a handler without SA_RESTART keeps every call in user space */
	signal(SIGUSR1, SIG_DFL);
}

struct looper {
	pthread_t thread;
	long calls, wrong;
};

static void *getpid_loop(void *arg)
{
	struct looper *l = arg;
	pid_t pid = getpid();

	while (!stop) {
		l->wrong += RAW(SYS_getpid) != pid;
		l->calls++;
	}
	return NULL;
}

static char fifo[64];

static void *fifo_open(void *arg)
{
	(void)arg;
	return (void *)RAW(SYS_openat, AT_FDCWD, fifo, O_RDONLY);
}

#define CYCLES 20

/* A fork child on the kernel path: its own VM, attached and detached at exit. */
static void fork_cycle(int i)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int wrong = 0;

		for (int j = 0; j < 200; j++)
			wrong += RAW(SYS_getpid) != getpid();
		_exit(wrong || !kernel_served());
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "fork child %d: %s", i, status_str(status));
}

/*
 * Under DUNE_MODE=kmod: loops and a blocked call while the main thread forks
 * CYCLES children.
 */
static int through_dune(void *arg)
{
	char dir[] = "/tmp/t-kmod-detach-XXXXXX";
	struct looper loops[2] = { 0 };
	uint64_t served;
	pthread_t opener;
	long fd;
	int wfd;

	(void)arg;
	stop = 0;
	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	served = kernel_served();
	for (int i = 0; i < 2; i++)
		pthread_create(&loops[i].thread, NULL, getpid_loop, &loops[i]);
	pthread_create(&opener, NULL, fifo_open, NULL);
	for (int i = 0; i < CYCLES; i++)
		fork_cycle(i);
	wfd = open(fifo, O_WRONLY | O_NONBLOCK);
	CHECK(wfd >= 0, "the FIFO's writer: %s", strerror(errno));
	fd = (long)join_within(opener, "the blocked openat", 120);
	CHECK(fd >= 0, "the blocked openat of the FIFO: %ld", fd);
	stop = 1;
	for (int i = 0; i < 2; i++) {
		join_within(loops[i].thread, "a getpid loop", 120);
		CHECK(!loops[i].wrong && loops[i].calls, "getpid loop %d: %ld of %ld wrong", i,
		      loops[i].wrong, loops[i].calls);
	}
	CHECK(kernel_served() > served, "nothing served in the kernel");
	printf("# through dune: %ld and %ld getpids in two threads, %d forks, %lu served in the "
	       "kernel\n", loops[0].calls, loops[1].calls, CYCLES,
	       (unsigned long)(kernel_served() - served));
	close(fd);
	close(wfd);
	unlink(fifo);
	rmdir(dir);
	return finish();
}

int main(void)
{
	struct kmsg kmsg;
	char out[8192];
	int status;

	if (getenv("DUNE_KMOD_DEVICE"))
		device = getenv("DUNE_KMOD_DEVICE");
	if (access(device, F_OK))
		skip("no dune kernel module (/dev/dune): it is tested inside `make check-vm-kmod`");
	if (access("/dev/kvm", R_OK | W_OK))
		skip("no usable /dev/kvm");
	kmsg_begin(&kmsg);
	printf("the module alone: %d detaches under load\n", DETACHES);
	bare_guest();
	printf("through dune: forks\n");
	status = run_child(through_dune, NULL, out, sizeof(out));
	fputs(out, stdout);
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status), "through dune: %s", status_str(status));
	kmsg_check(&kmsg);
	return finish();
}
