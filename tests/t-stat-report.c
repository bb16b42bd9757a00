// SPDX-License-Identifier: MIT
/*
 * dune-stat's reading of the module's messages and its table and JSON
 * (tools/stat-report.c), fed messages built here as the module builds them
 * (kmod/dune_genl.c), so it needs no module: nested declines and top
 * syscalls, an unknown newer decline reason, a syscall number without a
 * name, a comm that JSON must escape, and malformed messages.
 */
#include <netlink/genl/genl.h>

#include "check.h"
#include "stat-report.h"

#define NR_READ		0	/* x86-64 numbers would do; any named ones will */

/* An empty DUNE_CMD_GET_STATS message (family id 42: no socket involved). */
static struct nl_msg *start_msg(void)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 42, 0, NLM_F_MULTI, DUNE_CMD_GET_STATS,
		    DUNE_GENL_VERSION);
	return msg;
}

/* A message as the module's dump sends it; top: pairs of nr, count. */
static struct nl_msg *make_vm(uint32_t pid, uint64_t served, const uint64_t *declined,
			      int kinds, const uint64_t *top, int ntop)
{
	struct nl_msg *msg = start_msg();
	struct nlattr *nest, *one;

	nla_put_u32(msg, DUNE_ATTR_PID, pid);
	nla_put_u64(msg, DUNE_ATTR_SERVED, served);
	nest = nla_nest_start(msg, DUNE_ATTR_DECLINED);
	for (int i = 0; i < kinds; i++)
		nla_put_u64(msg, i + 1, declined[i]);
	nla_nest_end(msg, nest);
	nest = nla_nest_start(msg, DUNE_ATTR_TOP);
	for (int i = 0; i < ntop; i++) {
		one = nla_nest_start(msg, DUNE_ATTR_SYSCALL);
		nla_put_u32(msg, DUNE_ATTR_SYSCALL_NR, top[2 * i]);
		nla_put_u64(msg, DUNE_ATTR_SYSCALL_COUNT, top[2 * i + 1]);
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, nest);
	return msg;
}

static char *print(void (*fn)(FILE *, int, const struct stat_vm *, size_t), int enabled,
		   const struct stat_vm *vms, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, enabled, vms, n);
	fclose(f);
	return buf;
}

static void check_parse_and_print(void)
{
	/* one reason more than this build knows: a newer module's, ignored */
	static const uint64_t declined[DUNE_DECLINE_KINDS + 1] = { 5, 0, 2, 0, 7, 4, 99 };
	static const uint64_t top[] = { NR_READ, 300, 4000, 2 };	/* 4000: no name */
	struct stat_vm vms[2];
	struct nl_msg *msg;
	char *out;

	msg = make_vm(1234, 302, declined, DUNE_DECLINE_KINDS + 1, top, 2);
	CHECK(stat_parse_vm(nlmsg_hdr(msg), &vms[0]) == 0, "a full message parses");
	nlmsg_free(msg);
	CHECK(vms[0].pid == 1234 && vms[0].served == 302, "pid %u served %lu", vms[0].pid,
	      (unsigned long)vms[0].served);
	CHECK(vms[0].declined[DUNE_DECLINE_POLICY] == 5 &&
	      vms[0].declined[DUNE_DECLINE_RESTART] == 2 &&
	      vms[0].declined[DUNE_DECLINE_DISABLED] == 7 &&
	      vms[0].declined[DUNE_DECLINE_REACH] == 4, "declined by reason");
	CHECK(vms[0].ntop == 2 && vms[0].top_nr[1] == 4000 && vms[0].top_count[0] == 300,
	      "top syscalls in order (%u)", vms[0].ntop);
	strcpy(vms[0].comm, "a\"b\\c\td\xe9");

	msg = make_vm(7, 0, declined, 0, top, 0);
	CHECK(stat_parse_vm(nlmsg_hdr(msg), &vms[1]) == 0, "no declines, no top: parses");
	nlmsg_free(msg);
	CHECK(vms[1].pid == 7 && !vms[1].ntop && !vms[1].declined[0], "empty nests give zeros");

	out = print(stat_print_json, 1, vms, 2);
	CHECK(!strcmp(out, "{\"enabled\":true,\"processes\":["
		      "{\"pid\":1234,\"comm\":\"a\\\"b\\\\c\\u0009d\\u00e9\",\"served\":302,"
		      "\"declined\":{\"policy\":5,\"thread\":0,\"restart\":2,\"state\":0,"
		      "\"disabled\":7,\"reach\":4},\"top\":[{\"nr\":0,\"name\":\"read\",\"count\":300},"
		      "{\"nr\":4000,\"name\":null,\"count\":2}]},"
		      "{\"pid\":7,\"comm\":null,\"served\":0,\"declined\":{\"policy\":0,"
		      "\"thread\":0,\"restart\":0,\"state\":0,\"disabled\":0,\"reach\":0},\"top\":[]}]}\n"),
	      "JSON: %s", out);
	free(out);

	out = print(stat_print_json, 0, vms, 0);
	CHECK(!strcmp(out, "{\"enabled\":false,\"processes\":[]}\n"), "empty JSON: %s", out);
	free(out);

	out = print(stat_print_table, 0, vms, 2);
	CHECK(!strncmp(out, "in-kernel syscalls: disabled; 2 processes attached\n", 51),
	      "table's first line: %s", out);
	CHECK(strstr(out, "\n    1234 ") && strstr(out, " read:300 #4000:2\n") &&
	      strstr(out, "\n       7 ?  "), "table rows: %s", out);
	free(out);
}

/* What a buggy or hostile sender could give: an error, never a crash. */
static void check_malformed(void)
{
	struct stat_vm vm;
	struct nlattr *nest, *one;
	struct nl_msg *msg;

	msg = start_msg();
	nla_put_u64(msg, DUNE_ATTR_SERVED, 1);
	CHECK(stat_parse_vm(nlmsg_hdr(msg), &vm) < 0, "no pid: an error");
	nlmsg_free(msg);

	msg = start_msg();
	nla_put_u8(msg, DUNE_ATTR_PID, 1);
	CHECK(stat_parse_vm(nlmsg_hdr(msg), &vm) < 0, "a pid too short: an error");
	nlmsg_free(msg);

	msg = start_msg();
	nla_put_u32(msg, DUNE_ATTR_PID, 1);
	nest = nla_nest_start(msg, DUNE_ATTR_DECLINED);
	nla_put_u32(msg, DUNE_DECLINE_STATE + 1, 3);
	nla_nest_end(msg, nest);
	CHECK(stat_parse_vm(nlmsg_hdr(msg), &vm) < 0, "a 32-bit decline count: an error");
	nlmsg_free(msg);

	msg = start_msg();
	nla_put_u32(msg, DUNE_ATTR_PID, 1);
	nest = nla_nest_start(msg, DUNE_ATTR_TOP);
	one = nla_nest_start(msg, DUNE_ATTR_SYSCALL);
	nla_put_u64(msg, DUNE_ATTR_SYSCALL_COUNT, 1);
	nla_nest_end(msg, one);
	nla_nest_end(msg, nest);
	CHECK(stat_parse_vm(nlmsg_hdr(msg), &vm) < 0, "a top syscall without nr: an error");
	nlmsg_free(msg);
}

int main(void)
{
	check_parse_and_print();
	check_malformed();
	return finish();
}
