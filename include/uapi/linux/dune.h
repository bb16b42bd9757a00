/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * The optional in-kernel fast path of dune: what the library (lib/), the
 * module (kmod/) and the tools share.  The module takes the same exit as the
 * user-space host loop (the guest's `out` to the syscall port, below) and
 * services the syscall in the kernel, or declines it and KVM exits to user
 * space as usual.
 *
 * A process opens DUNE_KMOD_DEVICE, checks DUNE_KMOD_IOC_ABI, then attaches
 * each of its VMs (DUNE_KMOD_IOC_ATTACH, on the fd it opened in that VM's
 * process).  Only syscalls set in the allow bitmap may be served in the
 * kernel, and the module ANDs it with its own list.  The library also gives
 * dune's own memory (ranges) and what each allowed syscall's pointer
 * arguments cover (memargs): the module declines a call whose memory would
 * reach dune's (DUNE_DECLINE_REACH), and user space then fails it as
 * natively on a hole.
 */
#ifndef _UAPI_LINUX_DUNE_H
#define _UAPI_LINUX_DUNE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * The contract between the guest and whoever services its exits (the host
 * loop in user space, or the module): one I/O port for every system call,
 * one per exception vector, and the Linux syscall register convention.
 *
 * x86-64 system call: the guest's `syscall` reaches the LSTAR stub, which
 * executes `out %eax, $DUNE_X86_PORT_SYSCALL`.  At that exit RAX = number,
 * RDI RSI RDX R10 R8 R9 = arguments, RCX = return RIP, R11 = RFLAGS; the
 * result goes to RAX.
 *
 * x86-64 exception: the IDT stub of vector v executes
 * `out %al, $(DUNE_X86_PORT_EXC + v)` on its CPL0 stack; RSP then points at
 * [error code,] RIP CS RFLAGS RSP SS.
 */
#define DUNE_X86_PORT_SYSCALL	0x20
#define DUNE_X86_PORT_PROBE	0x21	/* only while probing syscall semantics */
#define DUNE_X86_PORT_EXC	0x80	/* + vector, 32 vectors */

#define DUNE_KMOD_DEVICE	"/dev/dune"
#define DUNE_KMOD_ABI_VERSION	2
#define DUNE_KMOD_MAX_SYSCALLS	1024	/* syscall numbers the allow bitmap covers */
#define DUNE_KMOD_MAX_RANGES	8	/* of dune's own memory */
#define DUNE_KMOD_MAX_MEMARGS	256	/* memory arguments, all syscalls together */
#define DUNE_KMOD_CALL_MEMARGS	6	/* memory arguments of one syscall */

/* dune's own memory: [start, end), start < end. */
struct dune_kmod_range {
	__u64 start;
	__u64 end;
};

/*
 * What argument ptr of syscall nr covers, from the syscall's registers
 * (args[0..5] = RDI RSI RDX R10 R8 R9), as the host loop checks it.  A range
 * that wraps past the top reaches everything above its start; an empty one
 * reaches nothing.  SOCKADDR: if args[ptr] and args[len] are both non-zero,
 * the socklen_t at args[len], then that many bytes at args[ptr].  MEM_POS:
 * args[ptr] is a file offset, an address on /proc/self/mem, which only user
 * space can tell: the module declines if the bytes the BUF memargs before
 * it count, from that offset, reach dune's memory.
 */
enum dune_kmod_memarg_kind {
	DUNE_KMOD_MA_NONE,
	DUNE_KMOD_MA_BUF,	/* args[len] + size bytes (args[len] count for MEM_POS) */
	DUNE_KMOD_MA_FIXED,	/* size bytes */
	DUNE_KMOD_MA_ARRAY,	/* args[len] elements of size bytes */
	DUNE_KMOD_MA_SOCKADDR,	/* *(socklen_t *)args[len] bytes */
	DUNE_KMOD_MA_MEM_POS,	/* a file offset */
	DUNE_KMOD_MA_KINDS
};

struct dune_kmod_memarg {
	__u16 nr;		/* syscall; a syscall's memargs are consecutive, nr ascending */
	__u8 kind;		/* enum dune_kmod_memarg_kind, not NONE */
	__u8 ptr;		/* argument index, < 6 */
	__u8 len;		/* argument index, < 6 (BUF, ARRAY, SOCKADDR) */
	__u8 reserved[3];	/* 0 */
	__u32 size;
};

/*
 * ATTACH and ALLOW.  ranges (sorted, not overlapping) and memargs are fixed
 * at ATTACH: ALLOW must carry the same ones (-EINVAL otherwise), as the
 * module reads them without a lock.
 */
struct dune_kmod_attach {
	__u32 size;		/* sizeof(struct dune_kmod_attach) */
	__s32 vm_fd;		/* the caller's KVM VM */
	__u64 allow[DUNE_KMOD_MAX_SYSCALLS / 64];	/* bit nr: may run in the kernel */
	__u32 nr_ranges;	/* at most DUNE_KMOD_MAX_RANGES */
	__u32 nr_memargs;	/* at most DUNE_KMOD_MAX_MEMARGS */
	struct dune_kmod_range ranges[DUNE_KMOD_MAX_RANGES];
	struct dune_kmod_memarg memargs[DUNE_KMOD_MAX_MEMARGS];
};

/* Why the module left a syscall to user space. */
enum dune_kmod_decline {
	DUNE_DECLINE_POLICY,	/* not in the allow bitmap or the module's list */
	DUNE_DECLINE_THREAD,	/* seccomp, ptrace, audit, tracepoints, user dispatch */
	DUNE_DECLINE_RESTART,	/* an -ERESTART* result */
	DUNE_DECLINE_STATE,	/* protected guest state, or a foreign mm */
	DUNE_DECLINE_DISABLED,	/* switched off by the administrator */
	DUNE_DECLINE_REACH,	/* a memory argument reaches dune's own memory */
	DUNE_DECLINE_KINDS
};

struct dune_kmod_counters {
	__u32 size;		/* sizeof(struct dune_kmod_counters) */
	__u32 reserved;
	__u64 served;
	__u64 declined[DUNE_DECLINE_KINDS];
};

#define DUNE_KMOD_IOC_MAGIC	0xd7
/* returns DUNE_KMOD_ABI_VERSION */
#define DUNE_KMOD_IOC_ABI	_IO(DUNE_KMOD_IOC_MAGIC, 0)
#define DUNE_KMOD_IOC_ATTACH	_IOW(DUNE_KMOD_IOC_MAGIC, 1, struct dune_kmod_attach)
/* a new allow bitmap for the attached VM (vm_fd ignored) */
#define DUNE_KMOD_IOC_ALLOW	_IOW(DUNE_KMOD_IOC_MAGIC, 2, struct dune_kmod_attach)
#define DUNE_KMOD_IOC_COUNTERS	_IOR(DUNE_KMOD_IOC_MAGIC, 3, struct dune_kmod_counters)

/*
 * The generic netlink family DUNE_GENL_NAME: what the module reports to
 * administrators (tools/dune-stat).  DUNE_CMD_GET_STATS and DUNE_CMD_GET_PROCS
 * are dumps with one message per attached VM; DUNE_CMD_GET_ENABLED and
 * DUNE_CMD_SET_ENABLED (CAP_NET_ADMIN) read and set the global switch, while
 * which is off every syscall is declined (DUNE_DECLINE_DISABLED).
 */
#define DUNE_GENL_NAME		"dune"
#define DUNE_GENL_VERSION	1

enum dune_genl_cmd {
	DUNE_CMD_UNSPEC,
	DUNE_CMD_GET_STATS,	/* dump: PID, SERVED, DECLINED, TOP per VM */
	DUNE_CMD_GET_PROCS,	/* dump: PID per VM */
	DUNE_CMD_GET_ENABLED,	/* reply: ENABLED */
	DUNE_CMD_SET_ENABLED,	/* ENABLED (admin) */

	__DUNE_CMD_MAX,
};

#define DUNE_CMD_MAX (__DUNE_CMD_MAX - 1)

enum dune_genl_attr {
	DUNE_ATTR_UNSPEC,
	DUNE_ATTR_PID,		/* u32: tgid of the process that attached the VM */
	DUNE_ATTR_SERVED,	/* u64: syscalls served in the kernel */
	DUNE_ATTR_DECLINED,	/* nested: u64 of type (enum dune_kmod_decline) + 1 */
	DUNE_ATTR_TOP,		/* nested: DUNE_ATTR_SYSCALL, most served first */
	DUNE_ATTR_ENABLED,	/* u8: 0 or 1 */
	DUNE_ATTR_PAD,

	__DUNE_ATTR_MAX,
};

#define DUNE_ATTR_MAX (__DUNE_ATTR_MAX - 1)

/* Inside DUNE_ATTR_TOP: one DUNE_ATTR_SYSCALL nest per syscall. */
enum dune_genl_syscall_attr {
	DUNE_ATTR_SYSCALL_UNSPEC,
	DUNE_ATTR_SYSCALL,	/* nested: NR and COUNT */
	DUNE_ATTR_SYSCALL_NR,	/* u32 */
	DUNE_ATTR_SYSCALL_COUNT,	/* u64 */
	DUNE_ATTR_SYSCALL_PAD,

	__DUNE_ATTR_SYSCALL_MAX,
};

#define DUNE_ATTR_SYSCALL_MAX (__DUNE_ATTR_SYSCALL_MAX - 1)

#endif /* _UAPI_LINUX_DUNE_H */
