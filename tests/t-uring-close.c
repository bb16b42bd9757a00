// SPDX-License-Identifier: MIT
/*
 * io_uring can close an fd without a close(2) dune could refuse.  A program
 * that closes dune's vCPU fd that way has destroyed its own thread's state
 * (registers and FPU live in the vCPU): dune must stop it with SIGKILL and
 * one line saying why, never continue it natively on stale registers.
 */
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "own.h"

/* One IORING_OP_CLOSE of fd, waited for: its result, or -errno of the setup. */
static int uring_close(int fd)
{
	struct io_uring_params p = { 0 };
	int ring = syscall(SYS_io_uring_setup, 1, &p);
	uint8_t *sq, *cq;
	struct io_uring_sqe *sqes;
	size_t sq_len, cq_len;
	unsigned int *tail, *array;
	struct io_uring_cqe *cqe;

	if (ring < 0)
		return -errno;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED, ring,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return -ENOMEM;
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_CLOSE;
	sqes[0].fd = fd;
	tail = (unsigned int *)(sq + p.sq_off.tail);
	array = (unsigned int *)(sq + p.sq_off.array);
	array[*tail & *(unsigned int *)(sq + p.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return cqe[*(unsigned int *)(cq + p.cq_off.head) & *(unsigned int *)(cq + p.cq_off.ring_mask)].res;
}

static int close_own_vcpu(void *arg)
{
	int fd, ret;

	(void)arg;
	enter_dune();
	fd = find_fd_named("kvm-vcpu");
	if (fd < 0)
		return 10;
	ret = uring_close(fd);
	if (ret < 0 && ret != -EBADF)
		return 77;	/* no io_uring here */
	/* the vCPU is gone: dune must not get here on stale state */
	printf("still running after closing the vCPU (io_uring: %d)\n", ret);
	return 0;
}

int main(void)
{
	char out[4096];
	int status = run_child(close_own_vcpu, NULL, out, sizeof(out));

	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		skip("io_uring is not available");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "closing dune's vCPU fd with io_uring: %s, output:\n%s", status_str(status), out);
	CHECK(strstr(out, "vCPU") && strstr(out, "closed"), "no message says why:\n%s", out);
	return finish();
}
