// SPDX-License-Identifier: MIT
/*
 * The module's per-VM messages into struct stat_vm, and dune-stat's table
 * and JSON.  Syscall names are the library's (dune_syscall_name()).
 */
#include <inttypes.h>
#include <string.h>
#include <netlink/genl/genl.h>

#include "dune-internal.h"
#include "stat-report.h"

static const char *const decline_names[DUNE_DECLINE_KINDS] = {
	[DUNE_DECLINE_POLICY] = "policy",
	[DUNE_DECLINE_THREAD] = "thread",
	[DUNE_DECLINE_RESTART] = "restart",
	[DUNE_DECLINE_STATE] = "state",
	[DUNE_DECLINE_DISABLED] = "disabled",
	[DUNE_DECLINE_REACH] = "reach",
};

static struct nla_policy vm_policy[DUNE_ATTR_MAX + 1] = {
	[DUNE_ATTR_PID] = { .type = NLA_U32 },
	[DUNE_ATTR_SERVED] = { .type = NLA_U64 },
	[DUNE_ATTR_DECLINED] = { .type = NLA_NESTED },
	[DUNE_ATTR_TOP] = { .type = NLA_NESTED },
};

static struct nla_policy syscall_policy[DUNE_ATTR_SYSCALL_MAX + 1] = {
	[DUNE_ATTR_SYSCALL_NR] = { .type = NLA_U32 },
	[DUNE_ATTR_SYSCALL_COUNT] = { .type = NLA_U64 },
};

/* DUNE_ATTR_DECLINED: a u64 of type reason + 1 each; newer reasons are ignored. */
static int parse_declined(struct nlattr *nest, struct stat_vm *vm)
{
	struct nlattr *tb[DUNE_DECLINE_KINDS + 1];
	int err = nla_parse_nested(tb, DUNE_DECLINE_KINDS, nest, NULL);

	for (int i = 0; !err && i < DUNE_DECLINE_KINDS; i++) {
		if (!tb[i + 1])
			continue;
		if (nla_len(tb[i + 1]) != sizeof(uint64_t))
			return -NLE_INVAL;
		vm->declined[i] = nla_get_u64(tb[i + 1]);
	}
	return err;
}

static int parse_top(struct nlattr *nest, struct stat_vm *vm)
{
	struct nlattr *one, *tb[DUNE_ATTR_SYSCALL_MAX + 1];
	int rem, err;

	nla_for_each_nested(one, nest, rem) {
		if (nla_type(one) != DUNE_ATTR_SYSCALL || vm->ntop == STAT_TOP_MAX)
			continue;
		err = nla_parse_nested(tb, DUNE_ATTR_SYSCALL_MAX, one, syscall_policy);
		if (err)
			return err;
		if (!tb[DUNE_ATTR_SYSCALL_NR] || !tb[DUNE_ATTR_SYSCALL_COUNT])
			return -NLE_MISSING_ATTR;
		vm->top_nr[vm->ntop] = nla_get_u32(tb[DUNE_ATTR_SYSCALL_NR]);
		vm->top_count[vm->ntop++] = nla_get_u64(tb[DUNE_ATTR_SYSCALL_COUNT]);
	}
	return 0;
}

int stat_parse_vm(struct nlmsghdr *nlh, struct stat_vm *vm)
{
	struct nlattr *tb[DUNE_ATTR_MAX + 1];
	int err;

	memset(vm, 0, sizeof(*vm));
	err = genlmsg_parse(nlh, 0, tb, DUNE_ATTR_MAX, vm_policy);
	if (err)
		return err;
	if (!tb[DUNE_ATTR_PID])
		return -NLE_MISSING_ATTR;
	vm->pid = nla_get_u32(tb[DUNE_ATTR_PID]);
	if (tb[DUNE_ATTR_SERVED])
		vm->served = nla_get_u64(tb[DUNE_ATTR_SERVED]);
	if (tb[DUNE_ATTR_DECLINED])
		err = parse_declined(tb[DUNE_ATTR_DECLINED], vm);
	if (!err && tb[DUNE_ATTR_TOP])
		err = parse_top(tb[DUNE_ATTR_TOP], vm);
	return err;
}

void stat_print_table(FILE *f, int enabled, const struct stat_vm *vms, size_t n)
{
	fprintf(f, "in-kernel syscalls: %s; %zu process%s attached\n",
		enabled ? "enabled" : "disabled", n, n == 1 ? "" : "es");
	if (!n)
		return;
	fprintf(f, "%8s %-16s %12s", "PID", "COMM", "SERVED");
	for (int i = 0; i < DUNE_DECLINE_KINDS; i++)
		fprintf(f, " %9s", decline_names[i]);
	fprintf(f, "  TOP SYSCALLS\n");
	for (size_t v = 0; v < n; v++) {
		fprintf(f, "%8" PRIu32 " %-16s %12" PRIu64, vms[v].pid,
			*vms[v].comm ? vms[v].comm : "?", vms[v].served);
		for (int i = 0; i < DUNE_DECLINE_KINDS; i++)
			fprintf(f, " %9" PRIu64, vms[v].declined[i]);
		fputc(' ', f);
		for (unsigned int t = 0; t < vms[v].ntop; t++) {
			const char *name = dune_syscall_name(vms[v].top_nr[t]);

			if (name)
				fprintf(f, " %s:%" PRIu64, name, vms[v].top_count[t]);
			else
				fprintf(f, " #%" PRIu32 ":%" PRIu64, vms[v].top_nr[t],
					vms[v].top_count[t]);
		}
		fputc('\n', f);
	}
}

/* A JSON string; bytes that are not printable ASCII as \u00XX, so any comm is valid. */
static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void put_json_vm(FILE *f, const struct stat_vm *vm)
{
	fprintf(f, "{\"pid\":%" PRIu32 ",\"comm\":", vm->pid);
	if (*vm->comm)
		put_json_string(f, vm->comm);
	else
		fputs("null", f);
	fprintf(f, ",\"served\":%" PRIu64 ",\"declined\":{", vm->served);
	for (int i = 0; i < DUNE_DECLINE_KINDS; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", decline_names[i], vm->declined[i]);
	fputs("},\"top\":[", f);
	for (unsigned int t = 0; t < vm->ntop; t++) {
		const char *name = dune_syscall_name(vm->top_nr[t]);

		fprintf(f, "%s{\"nr\":%" PRIu32 ",\"name\":", t ? "," : "", vm->top_nr[t]);
		if (name)
			put_json_string(f, name);
		else
			fputs("null", f);
		fprintf(f, ",\"count\":%" PRIu64 "}", vm->top_count[t]);
	}
	fputs("]}", f);
}

void stat_print_json(FILE *f, int enabled, const struct stat_vm *vms, size_t n)
{
	fprintf(f, "{\"enabled\":%s,\"processes\":[", enabled ? "true" : "false");
	for (size_t v = 0; v < n; v++) {
		if (v)
			fputc(',', f);
		put_json_vm(f, &vms[v]);
	}
	fputs("]}\n", f);
}
