// SPDX-License-Identifier: MIT
/*
 * dune's memory and fds are out of the program's reach: natively they do
 * not exist, so every class of system call aimed at them must fail as on a
 * hole (a pointer argument: EFAULT; a range: ENOMEM; /proc/self/mem: EIO)
 * or a closed fd (EBADF), and dune must keep working.  Each case runs
 * natively on a hole and inside on dune's memory (and on the same hole),
 * and the results must agree.  A write that got through would overwrite
 * dune's VM state with zeros from /dev/zero: dune would not survive it.
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>

#include "arch-syscalls.h"	/* SYS_mseal where libc's headers lack it */
#include "own.h"

#define PAGE	4096UL
#define KERNEL_SIGSET_BYTES	((_NSIG - 1) / 8)

static int zero_fd, pipe_fd[2], sock[2], mem_fd, msq;

/* The result of a raw call: its value, or -errno. */
static long ret(long r)
{
	return r < 0 ? -errno : r;
}

static long do_read(uintptr_t a, int fd)
{
	(void)fd;
	return ret(read(zero_fd, (void *)a, PAGE));
}

static long do_write(uintptr_t a, int fd)
{
	(void)fd;
	return ret(write(pipe_fd[1], (void *)a, 16));
}

static long do_readv_base(uintptr_t a, int fd)
{
	static char mine[16];
	struct iovec iov[2] = { { (void *)a, PAGE }, { mine, sizeof(mine) } };

	(void)fd;
	return ret(readv(zero_fd, iov, 2));
}

/* a negative length in a later iovec: the kernel's EINVAL comes before any buffer */
static long do_readv_negative(uintptr_t a, int fd)
{
	static char mine[16];
	struct iovec iov[2] = { { (void *)a, PAGE }, { mine, (size_t)-1 } };

	(void)fd;
	return ret(readv(zero_fd, iov, 2));
}

static long do_readv_array(uintptr_t a, int fd)
{
	(void)fd;
	return ret(readv(zero_fd, (struct iovec *)a, 1));
}

static long do_pread(uintptr_t a, int fd)
{
	(void)fd;
	return ret(pread(zero_fd, (void *)a, PAGE, 0));
}

static long do_recvmsg_iov(uintptr_t a, int fd)
{
	struct iovec iov = { (void *)a, PAGE };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	(void)fd;
	if (send(sock[1], "x", 1, 0) != 1)
		return -1000;
	return ret(recvmsg(sock[0], &msg, MSG_DONTWAIT));
}

static long do_sendmsg_hdr(uintptr_t a, int fd)
{
	(void)fd;
	return ret(sendmsg(sock[1], (struct msghdr *)a, 0));
}

static long do_recvfrom_addr(uintptr_t a, int fd)
{
	socklen_t len = sizeof(struct sockaddr_un);
	char c;

	(void)fd;
	if (send(sock[1], "y", 1, 0) != 1)
		return -1000;
	return ret(recvfrom(sock[0], &c, 1, MSG_DONTWAIT, (struct sockaddr *)a, &len));
}

static long do_fstat(uintptr_t a, int fd)
{
	(void)fd;
	return ret(fstat(0, (struct stat *)a));
}

static long do_uname(uintptr_t a, int fd)
{
	(void)fd;
	return ret(uname((struct utsname *)a));
}

static long do_ioctl(uintptr_t a, int fd)
{
	(void)fd;
	return ret(ioctl(pipe_fd[0], FIONREAD, (int *)a));
}

static long do_fcntl_getlk(uintptr_t a, int fd)
{
	(void)fd;
	return ret(fcntl(zero_fd, F_GETLK, (struct flock *)a));
}

static long do_mincore_vec(uintptr_t a, int fd)
{
	static char page[PAGE] __attribute__((aligned(PAGE)));

	(void)fd;
	return ret(mincore(page, PAGE, (unsigned char *)a));
}

/* a range past the end of user space: the kernel's ENOMEM comes before the vector */
static long do_mincore_past_top(uintptr_t a, int fd)
{
	static char page[PAGE] __attribute__((aligned(PAGE)));

	(void)fd;
	return ret(mincore(page, 1UL << 62, (unsigned char *)a));
}

/* a negative size: the kernel's EINVAL comes before the buffer */
static long do_msgsnd_negative(uintptr_t a, int fd)
{
	(void)fd;
	return ret(syscall(SYS_msgsnd, msq, a, -1L, IPC_NOWAIT));
}

static long do_msgrcv_negative(uintptr_t a, int fd)
{
	(void)fd;
	return ret(syscall(SYS_msgrcv, msq, a, -1L, 0, IPC_NOWAIT));
}

static long do_poll(uintptr_t a, int fd)
{
	(void)fd;
	return ret(poll((struct pollfd *)a, 1, 0));
}

static long do_sigaction_old(uintptr_t a, int fd)
{
	(void)fd;
	return ret(syscall(SYS_rt_sigaction, SIGUSR1, NULL, a, KERNEL_SIGSET_BYTES));
}

static long do_sigprocmask_old(uintptr_t a, int fd)
{
	(void)fd;
	return ret(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, a, KERNEL_SIGSET_BYTES));
}

static long do_sigaltstack_old(uintptr_t a, int fd)
{
	(void)fd;
	return ret(syscall(SYS_sigaltstack, NULL, a));
}

static long do_madvise(uintptr_t a, int fd)
{
	(void)fd;
	return ret(madvise((void *)a, PAGE, MADV_DONTNEED));
}

static long do_mlock(uintptr_t a, int fd)
{
	(void)fd;
	return ret(mlock((void *)a, PAGE));
}

static long do_munlock(uintptr_t a, int fd)
{
	(void)fd;
	return ret(munlock((void *)a, PAGE));
}

static long do_msync(uintptr_t a, int fd)
{
	(void)fd;
	return ret(msync((void *)a, PAGE, MS_SYNC));
}

static long do_mseal(uintptr_t a, int fd)
{
	(void)fd;
	return ret(syscall(SYS_mseal, a, PAGE, 0));
}

static long do_mem_pwrite(uintptr_t a, int fd)
{
	static const char zeros[PAGE];

	(void)fd;
	return ret(pwrite(mem_fd, zeros, sizeof(zeros), a));
}

static long do_mem_pread(uintptr_t a, int fd)
{
	static char buf[16];

	(void)fd;
	return ret(pread(mem_fd, buf, sizeof(buf), a));
}

static long do_vm_writev(uintptr_t a, int fd)
{
	static const char zeros[PAGE];
	struct iovec local = { (void *)zeros, sizeof(zeros) }, remote = { (void *)a, PAGE };

	(void)fd;
	return ret(process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
}

static long do_vm_readv(uintptr_t a, int fd)
{
	static char buf[16];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)a, sizeof(buf) };

	(void)fd;
	return ret(process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
}

static long do_scm_rights(uintptr_t a, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct iovec iov = { "z", 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	(void)a;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return ret(sendmsg(sock[1], &msg, 0));
}

static long do_pidfd_getfd(uintptr_t a, int fd)
{
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	long r;

	(void)a;
	if (pidfd < 0)
		return -1000 - errno;
	r = ret(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
	if (r >= 0)
		close(r);
	close(pidfd);
	return r;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* The SIGSEGV for a frame the kernel could not write says SI_KERNEL. */
static void on_segv(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	_exit(info->si_code == SI_KERNEL ? 4 : 5);
}

/*
 * A signal frame on an alternate stack in it: the child's wait status.
 * Natively the frame cannot be written and SIGSEGV comes from the kernel
 * (its handler runs on the normal stack); a frame dune wrote into its own
 * memory would instead start the handler there, and fault.
 */
static long do_altstack_frame(uintptr_t a, int fd)
{
	int status = -1;
	pid_t pid = fork();

	(void)fd;
	if (pid == 0) {
		stack_t ss = { .ss_sp = (void *)a, .ss_size = 1 << 16 };
		struct sigaction usr1 = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK };
		struct sigaction segv = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };

		if (sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &usr1, NULL) ||
		    sigaction(SIGSEGV, &segv, NULL))
			_exit(2);
		raise(SIGUSR1);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1000;
	return status;
}

/* io_uring_register(op, arg, n) on a fresh ring. */
static long uring_register(unsigned int op, void *arg, unsigned int n)
{
	struct io_uring_params p = { 0 };
	int ring = syscall(SYS_io_uring_setup, 1, &p);
	long r;

	if (ring < 0)
		return -1000 - errno;	/* the same natively and inside */
	r = ret(syscall(SYS_io_uring_register, ring, op, arg, n));
	close(ring);
	return r;
}

static long do_uring_files(uintptr_t a, int fd)
{
	(void)a;
	return uring_register(IORING_REGISTER_FILES, &fd, 1);
}

static long do_uring_buffers(uintptr_t a, int fd)
{
	struct iovec iov = { (void *)a, PAGE };

	(void)fd;
	return uring_register(IORING_REGISTER_BUFFERS, &iov, 1);
}

struct reach_case {
	const char *name;
	long (*fn)(uintptr_t addr, int fd);
};

static const struct reach_case cases[] = {
	{ "read into it", do_read },
	{ "write from it", do_write },
	{ "readv, an iov_base in it", do_readv_base },
	{ "readv, the iovec array in it", do_readv_array },
	{ "readv, an iov_base in it and a negative length", do_readv_negative },
	{ "pread into it", do_pread },
	{ "recvmsg, an iov_base in it", do_recvmsg_iov },
	{ "sendmsg, the msghdr in it", do_sendmsg_hdr },
	{ "recvfrom, the address in it", do_recvfrom_addr },
	{ "fstat into it", do_fstat },
	{ "uname into it", do_uname },
	{ "ioctl(FIONREAD) into it", do_ioctl },
	{ "fcntl(F_GETLK) into it", do_fcntl_getlk },
	{ "mincore's vector in it", do_mincore_vec },
	{ "mincore's vector in it, a range past user space", do_mincore_past_top },
	{ "msgsnd from it, size -1", do_msgsnd_negative },
	{ "msgrcv into it, size -1", do_msgrcv_negative },
	{ "poll on it", do_poll },
	{ "rt_sigaction, old action in it", do_sigaction_old },
	{ "rt_sigprocmask, old set in it", do_sigprocmask_old },
	{ "sigaltstack, old stack in it", do_sigaltstack_old },
	{ "madvise(MADV_DONTNEED) of it", do_madvise },
	{ "mlock of it", do_mlock },
	{ "munlock of it", do_munlock },
	{ "msync of it", do_msync },
	{ "mseal of it", do_mseal },
	{ "pwrite to /proc/self/mem at it", do_mem_pwrite },
	{ "pread from /proc/self/mem at it", do_mem_pread },
	{ "process_vm_writev to it", do_vm_writev },
	{ "process_vm_readv from it", do_vm_readv },
	{ "sendmsg SCM_RIGHTS of a dune fd", do_scm_rights },
	{ "pidfd_getfd of a dune fd", do_pidfd_getfd },
	{ "io_uring_register FILES of a dune fd", do_uring_files },
	{ "io_uring_register BUFFERS in it", do_uring_buffers },
	{ "a signal frame on an alternate stack in it", do_altstack_frame },
};

#define NR_CASES	(sizeof(cases) / sizeof(cases[0]))

/* An address where nothing is mapped, natively and inside. */
static uintptr_t make_hole(void)
{
	void *p = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, PAGE))
		return 0;
	return (uintptr_t)p;
}

static void drain(void)
{
	char buf[64];

	while (recv(sock[0], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	while (read(pipe_fd[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		;
}

static void remove_msq(void)
{
	msgctl(msq, IPC_RMID, NULL);
}

static void setup(void)
{
	struct sockaddr_un autobind = { .sun_family = AF_UNIX };

	zero_fd = open("/dev/zero", O_RDONLY);
	mem_fd = open("/proc/self/mem", O_RDWR);
	msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	atexit(remove_msq);
	/* the sender gets a name, so that recvfrom has an address to write */
	if (zero_fd < 0 || mem_fd < 0 || msq < 0 || pipe2(pipe_fd, O_NONBLOCK) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, sock) ||
	    bind(sock[1], (struct sockaddr *)&autobind, sizeof(sa_family_t))) {
		printf("cannot set up: %s\n", strerror(errno));
		exit(1);
	}
}

/* The fd numbers dune owns: natively one that is closed (and stays so). */
static int closed_fd(void)
{
	int fd = 1000;

	while (fcntl(fd, F_GETFD) != -1)
		fd++;
	return fd;
}

/*
 * shmat(SHM_REMAP) at dune's memory: natively it would map there, which
 * dune cannot give (its memory cannot move), so it fails as MAP_FIXED does.
 */
static void check_shmat(uintptr_t own)
{
	int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
	void *p;

	if (id < 0)
		return;
	errno = 0;
	p = shmat(id, (void *)own, SHM_REMAP);
	CHECK(p == (void *)-1 && errno == EINVAL, "shmat(SHM_REMAP) over dune's memory: %p, errno %d",
	      p, errno);
	check_still_works("after shmat over dune's memory");
	shmctl(id, IPC_RMID, NULL);
}

/*
 * A buffer of the program's right below dune's memory: up to it is fine,
 * running into it is not.
 */
static void check_across(uintptr_t own)
{
	char *mine = mmap((void *)(own - PAGE), PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (mine == MAP_FAILED)
		return;
	CHECK(read(zero_fd, mine, PAGE) == (ssize_t)PAGE, "read right up to dune's memory: %s",
	      strerror(errno));
	CHECK(write(pipe_fd[1], mine, 16) == 16, "write from right up to dune's memory: %s",
	      strerror(errno));
	drain();
	errno = 0;
	CHECK(read(zero_fd, mine, 2 * PAGE) == -1 && errno == EFAULT,
	      "read across into dune's memory: errno %d", errno);
	check_still_works("after a read across into dune's memory");
	munmap(mine, PAGE);
}

/*
 * A range from a page of the program's right below a hole [lo, hi) to one
 * right above it.  What the calls on it did, natively on a hole and inside
 * on dune's memory: madvise goes on past a hole, mlock and mincore stop at
 * it, each having done the part before it; the flags are checked first.
 */
struct across {
	long mincore, vec0, mlock, locked_kb, remove, dontneed, low, high;
};

static long locked_kb(void)
{
	char buf[4096], *at;
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	at = strstr(buf, "VmLck:");
	return at ? strtol(at + 6, NULL, 10) : -1;
}

static int across_hole(uintptr_t lo, uintptr_t hi, struct across *r)
{
	char *low = mmap((void *)(lo - PAGE), PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char *high = mmap((void *)hi, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	size_t span = hi + PAGE - (lo - PAGE);
	unsigned char vec = 0xff;
	long before;

	if (low != (char *)(lo - PAGE) || high != (char *)hi)
		return 0;
	*low = *high = 'x';
	r->mincore = ret(mincore(low, span, &vec));
	r->vec0 = vec;
	before = locked_kb();
	r->mlock = ret(mlock(low, span));
	r->locked_kb = locked_kb() - before;
	munlock(low, PAGE);
	r->remove = ret(madvise(low, span, MADV_REMOVE));
	r->dontneed = ret(madvise(low, span, MADV_DONTNEED));
	r->low = *low;
	r->high = *high;
	munmap(low, PAGE);
	munmap(high, PAGE);
	return 1;
}

static void check_across_hole(const struct across *native, uintptr_t lo, uintptr_t hi)
{
	struct across in;
	int mapped = across_hole(lo, hi, &in);

	CHECK(mapped, "cannot map pages around dune's memory %#lx-%#lx", (unsigned long)lo,
	      (unsigned long)hi);
	if (!mapped)
		return;
#define SAME(f, what) \
	CHECK(in.f == native->f, "across dune's memory: %s: %ld inside, %ld natively", what, \
	      in.f, native->f)
	SAME(mincore, "mincore");
	SAME(vec0, "mincore's vector, first page");
	SAME(mlock, "mlock");
	SAME(locked_kb, "kB locked by mlock");
	SAME(remove, "madvise(MADV_REMOVE) on private memory");
	SAME(dontneed, "madvise(MADV_DONTNEED)");
	SAME(low, "the page below after MADV_DONTNEED");
	SAME(high, "the page above after MADV_DONTNEED");
#undef SAME
	check_still_works("after calls across dune's memory");
}

int main(void)
{
	static struct range before[MAX_RANGES], after[MAX_RANGES], own[MAX_RANGES];
	long native[NR_CASES];
	int nb, na, n, vm_fd, closed = closed_fd();
	uintptr_t hole, three;
	struct across native_across;

	setup();
	hole = make_hole();
	CHECK(hole, "no hole");
	three = (uintptr_t)mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(three != (uintptr_t)MAP_FAILED && !munmap((void *)three, 3 * PAGE) &&
	      across_hole(three + PAGE, three + 2 * PAGE, &native_across),
	      "cannot map pages around a hole natively");
	for (size_t i = 0; i < NR_CASES; i++) {
		native[i] = cases[i].fn(hole, closed);
		drain();
	}
	nb = read_maps(before);
	enter_dune();
	na = read_maps(after);
	n = new_ranges(before, nb, after, na, own);
	vm_fd = find_fd_named("kvm-vm");
	CHECK(n > 0 && vm_fd >= 0, "no dune memory (%d ranges) or VM fd (%d) found", n, vm_fd);
	for (size_t i = 0; i < NR_CASES && n > 0; i++) {
		uintptr_t at[] = { own[0].start, own[0].start + (1UL << 20), hole };

		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			long r = cases[i].fn(at[k], vm_fd);

			drain();
			CHECK(r == native[i], "%s (%#lx): %ld inside, %ld natively on a hole",
			      cases[i].name, (unsigned long)at[k], r, native[i]);
			check_still_works(cases[i].name);
		}
	}
	if (n > 0) {
		check_shmat(own[0].start);
		check_across(own[0].start);
		check_across_hole(&native_across, own[0].start, own[0].end);
	}
	printf("# %zu cases natively on a hole and inside on dune's memory\n", NR_CASES);
	return finish();
}
