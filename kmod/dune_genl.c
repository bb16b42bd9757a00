// SPDX-License-Identifier: GPL-2.0
/*
 * The dune module's generic netlink family (include/uapi/linux/dune.h):
 * per-VM counters, the attached processes and the administrator's switch.
 *
 * It uses only what the genetlink API offers unchanged from 6.1 to 7.x:
 * small ops with one family-wide policy, strict validation of attributes
 * and of the header's reserved bits (resv_start_op left at 0, as a new
 * family should since 6.0), and GENL_REQ_ATTR_CHECK (6.1).  The core
 * derives the policy dump (CTRL_CMD_GETPOLICY) from the same table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "dune_kmod.h"

static const struct nla_policy dune_genl_policy[DUNE_ATTR_MAX + 1] = {
	[DUNE_ATTR_ENABLED] = NLA_POLICY_MAX(NLA_U8, 1),
};

static struct genl_family dune_genl_family;

/* Where a dump stands: VMs before @skip went into earlier messages. */
struct dune_genl_dump {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	u8 cmd;
	long skip;
	long index;
};

static int dune_genl_put_declined(struct sk_buff *skb,
				  const struct dune_kmod_snapshot *s)
{
	struct nlattr *nest;
	int i;

	nest = nla_nest_start(skb, DUNE_ATTR_DECLINED);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < DUNE_DECLINE_KINDS; i++)
		if (nla_put_u64_64bit(skb, i + 1, s->declined[i], DUNE_ATTR_PAD))
			goto cancel;
	nla_nest_end(skb, nest);
	return 0;

cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int dune_genl_put_top(struct sk_buff *skb,
			     const struct dune_kmod_snapshot *s)
{
	struct nlattr *top, *one;
	int i;

	top = nla_nest_start(skb, DUNE_ATTR_TOP);
	if (!top)
		return -EMSGSIZE;
	for (i = 0; i < DUNE_KMOD_TOP && s->top_count[i]; i++) {
		one = nla_nest_start(skb, DUNE_ATTR_SYSCALL);
		if (!one)
			goto cancel;
		if (nla_put_u32(skb, DUNE_ATTR_SYSCALL_NR, s->top_nr[i]) ||
		    nla_put_u64_64bit(skb, DUNE_ATTR_SYSCALL_COUNT,
				      s->top_count[i], DUNE_ATTR_SYSCALL_PAD))
			goto cancel;
		nla_nest_end(skb, one);
	}
	nla_nest_end(skb, top);
	return 0;

cancel:
	nla_nest_cancel(skb, top);
	return -EMSGSIZE;
}

/* Under the core's attachment lock: must not sleep (nothing here does). */
static int dune_genl_put_vm(const struct dune_kmod_snapshot *s, void *arg)
{
	struct dune_genl_dump *d = arg;
	struct sk_buff *skb = d->skb;
	void *hdr;

	if (d->index++ < d->skip)
		return 0;
	hdr = genlmsg_put(skb, NETLINK_CB(d->cb->skb).portid,
			  d->cb->nlh->nlmsg_seq, &dune_genl_family,
			  NLM_F_MULTI, d->cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, DUNE_ATTR_PID, s->pid))
		goto cancel;
	if (d->cmd == DUNE_CMD_GET_STATS &&
	    (nla_put_u64_64bit(skb, DUNE_ATTR_SERVED, s->served,
			       DUNE_ATTR_PAD) ||
	     dune_genl_put_declined(skb, s) || dune_genl_put_top(skb, s)))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/*
 * One message per attached VM, continued in the next skb where this one is
 * full.  VMs that attach or detach between two parts may shift the rest by
 * one: a dump is a sample, not a snapshot of all VMs at one instant.
 */
static int dune_genl_dump(struct sk_buff *skb, struct netlink_callback *cb,
			  u8 cmd)
{
	struct dune_genl_dump d = {
		.skb = skb,
		.cb = cb,
		.cmd = cmd,
		.skip = cb->args[0],
	};
	int err;

	err = dune_kmod_for_each(dune_genl_put_vm, &d);
	cb->args[0] = err ? d.index - 1 : d.index;
	/* a VM too big for an empty skb would otherwise end the dump silently */
	if (err && !skb->len)
		return err;
	return skb->len;
}

static int dune_genl_dump_stats(struct sk_buff *skb, struct netlink_callback *cb)
{
	return dune_genl_dump(skb, cb, DUNE_CMD_GET_STATS);
}

static int dune_genl_dump_procs(struct sk_buff *skb, struct netlink_callback *cb)
{
	return dune_genl_dump(skb, cb, DUNE_CMD_GET_PROCS);
}

static int dune_genl_get_enabled(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(nla_total_size(sizeof(u8)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &dune_genl_family, 0,
				DUNE_CMD_GET_ENABLED);
	if (!hdr)
		goto nospace;
	if (nla_put_u8(msg, DUNE_ATTR_ENABLED, READ_ONCE(dune_kmod_enabled)))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int dune_genl_set_enabled(struct sk_buff *skb, struct genl_info *info)
{
	bool on;

	if (GENL_REQ_ATTR_CHECK(info, DUNE_ATTR_ENABLED))
		return -EINVAL;
	on = nla_get_u8(info->attrs[DUNE_ATTR_ENABLED]);
	if (on != READ_ONCE(dune_kmod_enabled))
		pr_info("in-kernel syscalls %s by pid %d\n",
			on ? "enabled" : "disabled", task_tgid_nr(current));
	WRITE_ONCE(dune_kmod_enabled, on);
	return 0;
}

static const struct genl_small_ops dune_genl_ops[] = {
	{
		.cmd = DUNE_CMD_GET_STATS,
		.dumpit = dune_genl_dump_stats,
	},
	{
		.cmd = DUNE_CMD_GET_PROCS,
		.dumpit = dune_genl_dump_procs,
	},
	{
		.cmd = DUNE_CMD_GET_ENABLED,
		.doit = dune_genl_get_enabled,
	},
	{
		.cmd = DUNE_CMD_SET_ENABLED,
		.doit = dune_genl_set_enabled,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family dune_genl_family __ro_after_init = {
	.name = DUNE_GENL_NAME,
	.version = DUNE_GENL_VERSION,
	.maxattr = DUNE_ATTR_MAX,
	.policy = dune_genl_policy,
	.netnsok = false,
	.module = THIS_MODULE,
	.small_ops = dune_genl_ops,
	.n_small_ops = ARRAY_SIZE(dune_genl_ops),
	/* .resv_start_op 0: every command checks the reserved header bits */
};

/**
 * dune_genl_init() - register the "dune" generic netlink family
 *
 * Called by the module's init once the device exists.
 *
 * Return: 0 or -errno from genl_register_family().
 */
int dune_genl_init(void)
{
	return genl_register_family(&dune_genl_family);
}

/**
 * dune_genl_exit() - unregister the family
 *
 * Called by the module's exit before the device goes; waits for running
 * commands and dumps to finish.
 */
void dune_genl_exit(void)
{
	genl_unregister_family(&dune_genl_family);
}
