// SPDX-License-Identifier: MIT
/*
 * dune-stat: what the dune kernel module (the in-kernel fast path) does, read
 * from its generic netlink family (include/uapi/linux/dune.h): per process,
 * the syscalls it served in the kernel, those it declined by reason and the
 * most served; or the attached processes; or switch it on and off (admin).
 * Exit status: 0, 1 (the module or netlink failed), 2 (bad usage).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "dune.h"
#include "stat-report.h"

#define EXIT_USAGE	2

static const char usage[] =
	"usage: dune-stat [--json | --list | --enable | --disable]\n"
	"Show what the dune kernel module serves for each process attached to it.\n\n"
	"  -j, --json      the same as one JSON object\n"
	"  -l, --list      only the attached processes: PID and command\n"
	"      --enable    let the module serve syscalls (needs CAP_NET_ADMIN)\n"
	"      --disable   make it decline every syscall (needs CAP_NET_ADMIN)\n"
	"  -h, --help      this help           --version  print the version\n";

static struct nl_sock *sock;
static int family;

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("dune-stat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILURE);
}

/* A failed request: say which, and why in words an administrator can act on. */
static void __attribute__((noreturn)) fail_request(const char *what, int err)
{
	if (err == -NLE_PERM)
		fail("%s: permission denied (needs CAP_NET_ADMIN)", what);
	fail("%s: %s", what, nl_geterror(err));
}

static void connect_family(void)
{
	int err;

	sock = nl_socket_alloc();
	if (!sock)
		fail("out of memory");
	err = genl_connect(sock);
	if (err)
		fail("generic netlink socket: %s", nl_geterror(err));
	family = genl_ctrl_resolve(sock, DUNE_GENL_NAME);
	/* the family is registered in the initial network namespace only */
	if (family == -NLE_OBJ_NOTFOUND && !access("/sys/module/dune", F_OK))
		fail("the dune module is loaded, but its generic netlink family \"%s\" "
		     "exists only in the initial network namespace", DUNE_GENL_NAME);
	if (family == -NLE_OBJ_NOTFOUND)
		fail("the dune module is not loaded (no generic netlink family \"%s\")",
		     DUNE_GENL_NAME);
	if (family < 0)
		fail("generic netlink family \"%s\": %s", DUNE_GENL_NAME, nl_geterror(family));
}

/* Sends cmd (a dump if flags says so) and feeds each reply to handler. */
static void request(uint8_t cmd, int flags, int (*handler)(struct nl_msg *, void *), void *arg,
		    const char *what)
{
	struct nl_msg *msg = nlmsg_alloc();
	int err;

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
				 DUNE_GENL_VERSION))
		fail("out of memory");
	err = nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, handler, arg);
	if (err >= 0)
		err = nl_send_auto(sock, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_recvmsgs_default(sock);
	/* a dump ends with NLMSG_DONE; a reply is followed by the ack asked for */
	if (err >= 0 && !(flags & NLM_F_DUMP))
		err = nl_wait_for_ack(sock);
	if (err < 0)
		fail_request(what, err);
}

static int on_enabled(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[DUNE_ATTR_MAX + 1];
	int *enabled = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, DUNE_ATTR_MAX, NULL) ||
	    !tb[DUNE_ATTR_ENABLED] || nla_len(tb[DUNE_ATTR_ENABLED]) != 1)
		fail("the module's reply has no valid switch state");
	*enabled = nla_get_u8(tb[DUNE_ATTR_ENABLED]);
	return NL_OK;
}

static void set_enabled(int on)
{
	struct nl_msg *msg = nlmsg_alloc();
	int err;

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
				 DUNE_CMD_SET_ENABLED, DUNE_GENL_VERSION) ||
	    nla_put_u8(msg, DUNE_ATTR_ENABLED, on))
		fail("out of memory");
	err = nl_send_sync(sock, msg);	/* frees msg */
	if (err)
		fail_request(on ? "--enable" : "--disable", err);
}

struct vm_list {
	struct stat_vm *vms;
	size_t n, cap;
};

static void read_comm(struct stat_vm *vm)
{
	char path[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/comm", vm->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, vm->comm, sizeof(vm->comm) - 1);
	close(fd);
	if (len <= 0)
		len = 0;
	vm->comm[len] = '\0';
	vm->comm[strcspn(vm->comm, "\n")] = '\0';
}

static int on_vm(struct nl_msg *msg, void *arg)
{
	struct vm_list *l = arg;
	int err;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->vms = realloc(l->vms, l->cap * sizeof(*l->vms));
		if (!l->vms)
			fail("out of memory");
	}
	err = stat_parse_vm(nlmsg_hdr(msg), &l->vms[l->n]);
	if (err)
		fail("a malformed message from the module: %s", nl_geterror(err));
	read_comm(&l->vms[l->n++]);
	return NL_OK;
}

int main(int argc, char **argv)
{
	enum { OPT_ENABLE = 256, OPT_DISABLE, OPT_VERSION };
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "list", no_argument, NULL, 'l' },
		{ "enable", no_argument, NULL, OPT_ENABLE },
		{ "disable", no_argument, NULL, OPT_DISABLE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct vm_list l = { NULL, 0, 0 };
	int c, mode = 0, enabled = 0;

	while ((c = getopt_long(argc, argv, "jlh", options, NULL)) != -1) {
		switch (c) {
		case 'j': case 'l': case OPT_ENABLE: case OPT_DISABLE:
			if (mode && mode != c) {
				fprintf(stderr, "dune-stat: --json, --list, --enable and --disable "
					"exclude each other\n");
				return EXIT_USAGE;
			}
			mode = c;
			break;
		case 'h': fputs(usage, stdout); return 0;
		case OPT_VERSION: printf("dune-stat %s\n", DUNE_VERSION); return 0;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dune-stat: unexpected argument '%s'\n%s", argv[optind], usage);
		return EXIT_USAGE;
	}
	connect_family();
	if (mode == OPT_ENABLE || mode == OPT_DISABLE) {
		set_enabled(mode == OPT_ENABLE);
		return 0;
	}
	if (mode == 'l') {
		request(DUNE_CMD_GET_PROCS, NLM_F_DUMP, on_vm, &l, "listing the processes");
		for (size_t i = 0; i < l.n; i++)
			printf("%u %s\n", l.vms[i].pid, *l.vms[i].comm ? l.vms[i].comm : "?");
		return 0;
	}
	request(DUNE_CMD_GET_ENABLED, 0, on_enabled, &enabled, "reading the switch");
	request(DUNE_CMD_GET_STATS, NLM_F_DUMP, on_vm, &l, "reading the counters");
	if (mode == 'j')
		stat_print_json(stdout, enabled, l.vms, l.n);
	else
		stat_print_table(stdout, enabled, l.vms, l.n);
	return fflush(stdout) ? EXIT_FAILURE : 0;
}
