/* SPDX-License-Identifier: MIT */
/* What start.S's user program and harness.c agree on. */
#ifndef DUNE_MIPS_BARE_H
#define DUNE_MIPS_BARE_H

#define BARE_NR_SYS1	5555
#define BARE_NR_SYS2	5556
#define BARE_NR_REPORT	5999
#define BARE_RET1	0x1234
#define BARE_ERRNO2	2		/* ENOENT */
#define BARE_STACK_VA	0x40000000
#define BARE_FAULT_VA	0x50000000
#define BARE_FAULT_WORD	0xabcd
#define BARE_RO_VA	0x60000000
#define BARE_TLS	0x7654		/* what the frame gives UserLocal */
#define BARE_UC_PC	(40 + 576)	/* uc_mcontext.sc_pc in struct ucontext */

#endif /* DUNE_MIPS_BARE_H */
