/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_KMOD_H
#define _DUNE_KMOD_H

#include <linux/types.h>
#include <uapi/linux/dune.h>	/* or <linux/dune.h> via ccflags -I$(src)/../include/uapi */

#define DUNE_KMOD_TOP	8	/* syscalls per VM that the netlink family reports */

/* What the netlink family reports of one attached VM. */
struct dune_kmod_snapshot {
	pid_t pid;			/* tgid of the process that attached it */
	u64 served;
	u64 declined[DUNE_DECLINE_KINDS];
	u32 top_nr[DUNE_KMOD_TOP];	/* most served syscalls first */
	u64 top_count[DUNE_KMOD_TOP];	/* 0 ends the list */
};

/*
 * Calls fn for each attached VM (under the core's attachment lock, so fn
 * must not sleep) until it returns non-zero, which is returned.
 */
int dune_kmod_for_each(int (*fn)(const struct dune_kmod_snapshot *s, void *arg),
		       void *arg);

/* Administrator switch: while false, every syscall is declined (DUNE_DECLINE_DISABLED). */
extern bool dune_kmod_enabled;	/* READ_ONCE / WRITE_ONCE */

int dune_genl_init(void);	/* called by the core's module init, after the device */
void dune_genl_exit(void);	/* called by the core's module exit, before the device */

#endif
