/* SPDX-License-Identifier: MIT */
/*
 * dune-stat's reading of the module's netlink messages (include/uapi/linux/
 * dune.h) and its two output formats, apart from the socket so that
 * tests/t-stat-report.c can feed them messages it made itself.
 */
#ifndef DUNE_STAT_REPORT_H
#define DUNE_STAT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/dune.h>

struct nlmsghdr;

#define STAT_TOP_MAX	16	/* top syscalls kept per process */

/* One attached VM, as one DUNE_CMD_GET_STATS (or _GET_PROCS) message says. */
struct stat_vm {
	uint32_t pid;
	char comm[32];		/* "" when /proc/PID/comm cannot be read */
	uint64_t served;
	uint64_t declined[DUNE_DECLINE_KINDS];
	unsigned int ntop;
	uint32_t top_nr[STAT_TOP_MAX];
	uint64_t top_count[STAT_TOP_MAX];
};

/* Fills *vm from one message of the family; 0 or a negative libnl error. */
int stat_parse_vm(struct nlmsghdr *nlh, struct stat_vm *vm);

/* The switch (1 on, 0 off) and the processes, as a table or as one JSON object. */
void stat_print_table(FILE *f, int enabled, const struct stat_vm *vms, size_t n);
void stat_print_json(FILE *f, int enabled, const struct stat_vm *vms, size_t n);

#endif /* DUNE_STAT_REPORT_H */
