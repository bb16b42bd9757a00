/* SPDX-License-Identifier: MIT */
/*
 * The contract between the guest and whoever services its exits (the host
 * loop in user space, or the optional kernel module): one I/O port for every
 * system call, one per exception vector, and the Linux syscall register
 * convention.  Keep it in this one place.
 *
 * System call: the guest's `syscall` reaches the LSTAR stub, which executes
 * `out %eax, $DUNE_PORT_SYSCALL`.  At that exit RAX = number, RDI RSI RDX R10
 * R8 R9 = arguments, RCX = return RIP, R11 = RFLAGS; the result goes to RAX.
 *
 * Exception: the IDT stub of vector v executes `out %al, $(DUNE_PORT_EXC + v)`
 * on its CPL0 stack; RSP then points at [error code,] RIP CS RFLAGS RSP SS.
 */
#ifndef DUNE_X86_GUEST_ABI_H
#define DUNE_X86_GUEST_ABI_H

#define DUNE_PORT_SYSCALL	0x20
#define DUNE_PORT_PROBE		0x21	/* only while probing syscall semantics */
#define DUNE_PORT_EXC		0x80	/* + vector, 32 vectors */

#endif
