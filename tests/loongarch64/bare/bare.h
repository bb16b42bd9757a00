/* SPDX-License-Identifier: MIT */
/* Addresses and numbers shared by the harness's C and assembly. */
#ifndef BARE_H
#define BARE_H

#define BARE_EXIT_VA		0x3f00000000	/* never mapped: the exit store traps */
#define BARE_DATA_VA		0x40000000
#define BARE_RO_VA		0x40004000
#define BARE_UNMAPPED_VA	0x50000000
#define BARE_KERNEL_VA		0x40008000	/* mapped PLV0 only */

#define BARE_NR_FIRST		64	/* write, as a test pattern */
#define BARE_NR_REPORT		172	/* getpid */
#define BARE_NR_SIGRETURN	139	/* rt_sigreturn */
#define BARE_NR_EXIT		93

#endif
