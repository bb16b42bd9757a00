// SPDX-License-Identifier: MIT
/*
 * The module's generic netlink family (kmod/dune_genl.c) given bad input on
 * a raw NETLINK_GENERIC socket, with no libnl to smooth it: each request is
 * refused with the errno the kernel's strict validation gives, and none of
 * them moves the switch; the switch itself works for root and gives EPERM to
 * an unprivileged user; a dump longer than one part has every VM once; the
 * controller dumps the family's policy.  Skipped where the module is not loaded (this machine
 * cannot load it: the QEMU legs of check-vm do).
 */
#include <grp.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "check.h"
#include <linux/dune.h>

struct req {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char buf[256];
};

static int nl_fd;
static uint32_t seq;

static void start(struct req *r, uint16_t family, uint8_t cmd, uint16_t flags)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->n.nlmsg_type = family;
	r->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->n.nlmsg_seq = ++seq;
	r->g.cmd = cmd;
	r->g.version = DUNE_GENL_VERSION;
}

/* Appends an attribute whose header says len (the payload may be shorter). */
static void put_raw(struct req *r, uint16_t type, uint16_t len, const void *data, int size)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));

	a->nla_type = type;
	a->nla_len = len;
	memcpy(a + 1, data, size);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + NLA_ALIGN(NLA_HDRLEN + size);
}

static void put(struct req *r, uint16_t type, const void *data, int size)
{
	put_raw(r, type, NLA_HDRLEN + size, data, size);
}

static struct nlattr *find_attr(struct nlmsghdr *n, uint16_t type)
{
	int rem = n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(n) + GENL_HDRLEN);

	for (; rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
	     rem -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
	return NULL;
}

/* What a dump brought: messages, and the skbs (one recv() each) they came in. */
struct dump_count {
	int msgs;
	int parts;
};

/*
 * Sends r and reads up to its ack, NLMSG_DONE or error: returns the error
 * (-errno) or 0; the last other message goes to reply, and the counts to
 * *count if given.  recv() asks for RECV_SIZE bytes, so the kernel fills
 * dumps in parts of that size (netlink_dump() sizes them by the largest
 * read): a dump of a few dozen VMs needs several.
 */
#define RECV_SIZE	4096

static int transact(struct req *r, void *reply, size_t size, struct dump_count *count)
{
	static char buf[RECV_SIZE];
	struct dump_count c = { 0, 0 };
	int err = 1;

	if (send(nl_fd, r, r->n.nlmsg_len, 0) != (ssize_t)r->n.nlmsg_len)
		return -errno;
	while (err > 0) {
		ssize_t len = recv(nl_fd, buf, sizeof(buf), MSG_TRUNC);
		struct nlmsghdr *n = (struct nlmsghdr *)buf;

		if (len < 0)
			return -errno;
		if (len > (ssize_t)sizeof(buf))
			return -EMSGSIZE;
		c.parts++;
		for (; err > 0 && NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
			if (n->nlmsg_seq != r->n.nlmsg_seq)
				continue;
			if (n->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(n))->error;
			} else if (n->nlmsg_type == NLMSG_DONE) {
				err = 0;
			} else {
				c.msgs++;
				if (reply && n->nlmsg_len <= size)
					memcpy(reply, n, n->nlmsg_len);
			}
		}
	}
	if (count)
		*count = c;
	return err;
}

/* The family's id, or skip; checks what the controller says of it. */
static uint16_t resolve(void)
{
	static char reply[4096];
	struct nlattr *a;
	struct req r;
	int err;

	start(&r, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	r.g.version = 2;
	put(&r, CTRL_ATTR_FAMILY_NAME, DUNE_GENL_NAME, sizeof(DUNE_GENL_NAME));
	err = transact(&r, reply, sizeof(reply), NULL);
	if (err == -ENOENT)
		skip("the dune module is not loaded (no generic netlink family \"dune\")");
	CHECK(err == 0, "CTRL_CMD_GETFAMILY: %s", strerror(-err));
	a = find_attr((struct nlmsghdr *)reply, CTRL_ATTR_VERSION);
	CHECK(a && *(uint32_t *)(a + 1) == DUNE_GENL_VERSION, "family version");
	a = find_attr((struct nlmsghdr *)reply, CTRL_ATTR_MAXATTR);
	CHECK(a && *(uint32_t *)(a + 1) == DUNE_ATTR_MAX, "family maxattr");
	a = find_attr((struct nlmsghdr *)reply, CTRL_ATTR_FAMILY_ID);
	if (!a)
		skip("CTRL_CMD_GETFAMILY gave no family id");
	return *(uint16_t *)(a + 1);
}

/* The switch, or -errno. */
static int get_enabled(uint16_t family)
{
	static char reply[4096];
	struct nlattr *a;
	struct req r;
	int err;

	start(&r, family, DUNE_CMD_GET_ENABLED, 0);
	err = transact(&r, reply, sizeof(reply), NULL);
	if (err)
		return err;
	a = find_attr((struct nlmsghdr *)reply, DUNE_ATTR_ENABLED);
	CHECK(a && a->nla_len == NLA_HDRLEN + 1, "GET_ENABLED: a u8 in the reply");
	return a ? *(uint8_t *)(a + 1) : -EBADMSG;
}

static int set_enabled(uint16_t family, uint8_t on)
{
	struct req r;

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	put(&r, DUNE_ATTR_ENABLED, &on, 1);
	return transact(&r, NULL, 0, NULL);
}

#define EXPECT(r, want, what)						\
	do {								\
		int err_ = transact(r, NULL, 0, NULL);			\
		CHECK(err_ == (want), "%s: %d (%s), want %d", what, err_, \
		      strerror(-err_), want);				\
	} while (0)

static void check_bad_input(uint16_t family)
{
	uint32_t u32 = 0, pid = 1;
	uint8_t on = 0, two = 2;
	struct req r;

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	EXPECT(&r, -EINVAL, "SET_ENABLED without ENABLED");

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	put(&r, DUNE_ATTR_ENABLED, &u32, sizeof(u32));
	EXPECT(&r, -EINVAL, "ENABLED of 4 bytes");

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	put(&r, DUNE_ATTR_ENABLED, &on, 0);
	EXPECT(&r, -EINVAL, "ENABLED of 0 bytes");

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	put(&r, DUNE_ATTR_ENABLED, &two, 1);
	EXPECT(&r, -ERANGE, "ENABLED = 2");

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	put(&r, DUNE_ATTR_ENABLED, &on, 1);
	put(&r, DUNE_ATTR_PID, &pid, sizeof(pid));
	EXPECT(&r, -EINVAL, "an attribute no command takes (PID)");

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	put(&r, DUNE_ATTR_ENABLED, &on, 1);
	put(&r, DUNE_ATTR_MAX + 1, &u32, sizeof(u32));
	EXPECT(&r, -EINVAL, "an attribute type past DUNE_ATTR_MAX");

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	put_raw(&r, DUNE_ATTR_ENABLED, 200, &on, 1);
	EXPECT(&r, -EINVAL, "an attribute longer than the message");

	start(&r, family, DUNE_CMD_SET_ENABLED, 0);
	r.g.reserved = 1;
	put(&r, DUNE_ATTR_ENABLED, &on, 1);
	EXPECT(&r, -EINVAL, "reserved genl header bits");

	start(&r, family, DUNE_CMD_MAX + 1, 0);
	EXPECT(&r, -EOPNOTSUPP, "an unknown command");

	start(&r, family, DUNE_CMD_UNSPEC, 0);
	EXPECT(&r, -EOPNOTSUPP, "DUNE_CMD_UNSPEC");

	start(&r, family, DUNE_CMD_GET_STATS, 0);
	EXPECT(&r, -EOPNOTSUPP, "GET_STATS without NLM_F_DUMP");

	start(&r, family, DUNE_CMD_GET_STATS, NLM_F_DUMP);
	put(&r, DUNE_ATTR_MAX + 1, &u32, sizeof(u32));
	EXPECT(&r, -EINVAL, "a dump with an unknown attribute");
}

/* Dumps of what is attached now: returns how many VMs GET_STATS gave. */
static int check_dumps(uint16_t family, struct dump_count *stats)
{
	struct dump_count procs;
	struct req r;
	int err;

	start(&r, family, DUNE_CMD_GET_STATS, NLM_F_DUMP);
	err = transact(&r, NULL, 0, stats);
	CHECK(err == 0, "GET_STATS dump: %s", strerror(-err));
	start(&r, family, DUNE_CMD_GET_PROCS, NLM_F_DUMP);
	err = transact(&r, NULL, 0, &procs);
	CHECK(err == 0, "GET_PROCS dump: %s", strerror(-err));
	CHECK(procs.msgs == stats->msgs, "GET_PROCS %d VMs, GET_STATS %d", procs.msgs,
	      stats->msgs);
	return stats->msgs;
}

/*
 * More VMs than one part of a dump holds (each about 200 bytes): the dump
 * goes on where the last part ended, each VM exactly once.
 */
#define MANY_VMS	40

static void check_long_dump(uint16_t family)
{
	struct dump_count before, during, after;
	pid_t pids[MANY_VMS];
	int ready[2], i;
	char c;

	check_dumps(family, &before);
	if (pipe(ready))
		return;
	setenv("DUNE_MODE", "kmod", 1);
	for (i = 0; i < MANY_VMS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			/* a child that cannot enter exits: the parent sees EOF, not a hang */
			close(ready[0]);
			enter_dune();
			(void)!write(ready[1], "", 1);
			close(ready[1]);
			for (;;)
				pause();
		}
	}
	close(ready[1]);
	for (i = 0; i < MANY_VMS && read(ready[0], &c, 1) == 1; i++)
		;
	CHECK(i == MANY_VMS, "%d of %d dune processes attached", i, MANY_VMS);
	check_dumps(family, &during);
	CHECK(during.msgs == before.msgs + MANY_VMS, "the dump has %d VMs, want %d + %d",
	      during.msgs, before.msgs, MANY_VMS);
	CHECK(during.parts > 1, "%d VMs came in %d part(s)", during.msgs, during.parts);
	printf("# a dump of %d VMs in %d parts\n", during.msgs, during.parts);
	for (i = 0; i < MANY_VMS; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < MANY_VMS; i++)
		waitpid(pids[i], NULL, 0);
	close(ready[0]);
	check_dumps(family, &after);
	CHECK(after.msgs == before.msgs, "after they exited: %d VMs, want %d", after.msgs,
	      before.msgs);
}

/* The policy the core dumps from the family's table (genl ctrl policy). */
static void check_policy_dump(uint16_t family)
{
	struct dump_count n;
	struct req r;
	int err;

	start(&r, GENL_ID_CTRL, CTRL_CMD_GETPOLICY, NLM_F_DUMP);
	r.g.version = 2;
	put(&r, CTRL_ATTR_FAMILY_ID, &family, sizeof(family));
	err = transact(&r, NULL, 0, &n);
	CHECK(err == 0 && n.msgs > 0, "CTRL_CMD_GETPOLICY: %d, %d messages", err, n.msgs);
}

/* An unprivileged user reads the switch but may not set it. */
static int unprivileged(void *arg)
{
	uint16_t family = *(uint16_t *)arg;
	struct dump_count seen;
	int before;

	check_failures = 0;	/* the parent's are the parent's to report */
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
		perror("setuid");
		return 2;
	}
	before = get_enabled(family);
	CHECK(before == 0 || before == 1, "GET_ENABLED as uid 65534: %d", before);
	CHECK(set_enabled(family, !before) == -EPERM, "SET_ENABLED as uid 65534: EPERM");
	CHECK(get_enabled(family) == before, "  ... the switch did not move");
	check_dumps(family, &seen);
	return finish();
}

int main(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	uint16_t family;
	int initial, status;

	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl_fd < 0 || bind(nl_fd, (struct sockaddr *)&addr, sizeof(addr)))
		skip("no NETLINK_GENERIC socket");
	family = resolve();
	if (geteuid() != 0)
		skip("needs root (the switch is admin-only)");

	initial = get_enabled(family);
	CHECK(initial == 0 || initial == 1, "GET_ENABLED: %d", initial);
	check_bad_input(family);
	CHECK(get_enabled(family) == initial, "bad requests left the switch alone");
	check_long_dump(family);
	check_policy_dump(family);

	CHECK(set_enabled(family, 0) == 0 && get_enabled(family) == 0, "disable as root");
	CHECK(set_enabled(family, 1) == 0 && get_enabled(family) == 1, "enable as root");
	status = spawn_wait(unprivileged, &family, NULL, NULL, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged: %s",
	      status_str(status));
	CHECK(set_enabled(family, initial) == 0, "the switch back as it was");
	return finish();
}
