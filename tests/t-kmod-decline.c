// SPDX-License-Identifier: MIT
/*
 * The module's "thread" declines that t-kmod does not make: syscall user
 * dispatch on the thread, a syscall tracepoint enabled anywhere, an audit
 * context.  Each makes the module leave every syscall to user space (counted
 * as "thread"), the call still gives the right result, and once the state is
 * gone (tracepoint off) the module serves again.  A native seccomp filter and
 * ptrace are t-kmod's cases, the global switch t-kmod-stat's.  Skipped where
 * /dev/dune is absent (it can only be loaded inside `make check-vm-kmod`).
 */
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/dune.h>

#include "kmod.h"

#define CALLS 100

/* CALLS getpids on the kernel path: all declined as "thread", all right. */
static int declined_calls(void)
{
	uint64_t before, served;
	pid_t pid = getpid();
	int wrong = 0;

	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	served = kernel_served();
	before = declined(DUNE_DECLINE_THREAD);
	for (int i = 0; i < CALLS; i++)
		wrong += RAW(SYS_getpid) != pid;
	CHECK(!wrong, "%d of %d getpids wrong", wrong, CALLS);
	CHECK(declined(DUNE_DECLINE_THREAD) >= before + CALLS, "thread declines %lu -> %lu",
	      (unsigned long)before, (unsigned long)declined(DUNE_DECLINE_THREAD));
	CHECK(kernel_served() == served, "%lu served in the kernel",
	      (unsigned long)(kernel_served() - served));
	return finish();
}

/* CALLS getpids on the kernel path, served there. */
static int served_calls(void *arg)
{
	uint64_t before;
	pid_t pid = getpid();
	int wrong = 0;

	(void)arg;
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	before = kernel_served();
	for (int i = 0; i < CALLS; i++)
		wrong += RAW(SYS_getpid) != pid;
	CHECK(!wrong, "%d of %d getpids wrong", wrong, CALLS);
	CHECK(kernel_served() >= before + CALLS, "served %lu -> %lu", (unsigned long)before,
	      (unsigned long)kernel_served());
	return finish();
}

/*
 * Syscall user dispatch, switched on natively with the selector at ALLOW:
 * every syscall still runs (dune's own too), but the thread has the work bit.
 */
static char selector = SYSCALL_DISPATCH_FILTER_ALLOW;

static int user_dispatch(void *arg)
{
	(void)arg;
	CHECK(prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &selector) == 0,
	      "PR_SET_SYSCALL_USER_DISPATCH: %s", strerror(errno));
	return declined_calls();
}

/* A thread with a work bit its parent gave it (tracepoint, audit context). */
static int thread_declined(void *arg)
{
	(void)arg;
	return declined_calls();
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -EIO;
}

static int run_case(int (*fn)(void *), const char *what)
{
	char out[4096];
	int status = run_child(fn, NULL, out, sizeof(out));

	CHECK(WIFEXITED(status) && !WEXITSTATUS(status), "%s: %s\n%s", what, status_str(status),
	      out);
	return status;
}

/*
 * raw_syscalls:sys_enter enabled in tracefs: every thread gets the
 * tracepoint work bit while it is on, and loses it when it is off.
 */
static void tracepoint(void)
{
	char dir[] = "/tmp/t-kmod-tracefs-XXXXXX", path[128];
	int err;

	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	if (mount("tracefs", dir, "tracefs", 0, NULL)) {
		printf("# tracepoint: cannot mount tracefs (%s): not checked\n", strerror(errno));
		rmdir(dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/events/raw_syscalls/sys_enter/enable", dir);
	err = write_file(path, "1");
	if (err == -ENOENT) {
		printf("# tracepoint: no raw_syscalls events in this kernel: not checked\n");
	} else {
		CHECK(!err, "enabling %s: %s", path, strerror(-err));
		if (!err)
			run_case(thread_declined, "under the sys_enter tracepoint");
		CHECK(write_file(path, "0") == 0, "disabling %s", path);
		run_case(served_calls, "after the tracepoint");
	}
	umount(dir);
	rmdir(dir);
}

/* One audit request (AUDIT_SET, AUDIT_ADD_RULE, ...) and its ack: -errno or 0. */
static int audit_request(int type, const void *data, size_t size, void *reply, size_t rsize)
{
	struct {
		struct nlmsghdr n;
		char data[1024];
	} req = { .n = { .nlmsg_len = NLMSG_LENGTH(size), .nlmsg_type = type,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 } };
	char buf[8192];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT), err = -EPROTO;

	if (fd < 0)
		return -errno;
	memcpy(req.data, data, size);
	if (send(fd, &req, req.n.nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *n = (struct nlmsghdr *)buf;

		if (len < 0) {
			err = -errno;
			break;
		}
		for (; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
			if (n->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(n))->error;
				/* AUDIT_GET: the ack comes first, then the status */
				if (err || !reply)
					goto out;
			} else if (reply && n->nlmsg_type == type) {
				memcpy(reply, NLMSG_DATA(n), rsize);
				err = 0;
				goto out;
			}
		}
	}
out:
	close(fd);
	return err;
}

static int audit_enable(unsigned int on)
{
	struct audit_status s = { .mask = AUDIT_STATUS_ENABLED, .enabled = on };

	return audit_request(AUDIT_SET, &s, sizeof(s), NULL, 0);
}

/*
 * Audit switched on makes every new task get an audit context, for good:
 * the kernel never forgets that audit was once enabled.  So this case runs
 * only where audit is off, and after its child it adds the rule Debian's
 * auditd starts with ("-a task,never": new tasks get no context) and
 * switches audit off again, so that the rest of the suite is not audited.
 * That rule, left by an earlier run in this boot, is taken out for the
 * child.
 */
static void audit(void)
{
	struct audit_rule_data never = { .flags = AUDIT_FILTER_TASK, .action = AUDIT_NEVER };
	struct audit_status s = { 0 };
	int err = audit_request(AUDIT_GET, NULL, 0, &s, sizeof(s));
	int del;

	if (err) {
		printf("# audit: AUDIT_GET: %s: not checked\n", strerror(-err));
		return;
	}
	if (s.enabled) {
		printf("# audit: already enabled here (auditd?): its configuration is left alone, "
		       "not checked\n");
		return;
	}
	del = audit_request(AUDIT_DEL_RULE, &never, sizeof(never), NULL, 0);
	CHECK(!del || del == -ENOENT, "AUDIT_DEL_RULE task,never: %s", strerror(-del));
	err = audit_enable(1);
	CHECK(!err, "AUDIT_SET enabled=1: %s", strerror(-err));
	if (!err)
		run_case(thread_declined, "an audited process");
	err = audit_request(AUDIT_ADD_RULE, &never, sizeof(never), NULL, 0);
	CHECK(!err, "AUDIT_ADD_RULE task,never: %s", strerror(-err));
	CHECK(audit_enable(0) == 0, "AUDIT_SET enabled=0");
	run_case(served_calls, "after audit");
}

int main(void)
{
	const char *device = getenv("DUNE_KMOD_DEVICE");
	struct kmsg kmsg;

	if (access(device ? device : DUNE_KMOD_DEVICE, F_OK))
		skip("no dune kernel module (/dev/dune): it is tested inside `make check-vm-kmod`");
	if (access("/dev/kvm", R_OK | W_OK))
		skip("no usable /dev/kvm");
	if (geteuid())
		skip("needs root (tracefs, the audit switch)");
	kmsg_begin(&kmsg);
	printf("syscall user dispatch\n");
	run_case(served_calls, "before");
	run_case(user_dispatch, "syscall user dispatch");
	printf("tracepoint\n");
	tracepoint();
	printf("audit\n");
	audit();
	kmsg_check(&kmsg);
	return finish();
}
