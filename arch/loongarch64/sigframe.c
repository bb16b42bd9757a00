// SPDX-License-Identifier: MIT
/*
 * LoongArch64 signal frames, as the kernel builds them
 * (arch/loongarch/kernel/signal.c): rt_sigframe = siginfo, ucontext (whose
 * sigcontext ends in extension contexts: the FPU's, LSX's or LASX's, then
 * an end marker), below the stack pointer rounded to 16 bytes (no red
 * zone).  Pure: the unit tests and the bare-metal harness build and parse
 * frames with it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ucontext.h>

#include "dune-internal.h"
#include "la.h"

/*
 * The kernel's ucontext (asm/ucontext.h, whose sigset_t is glibc's, hence
 * ours); sigcontext, sctx_info and the contexts' magics are the UAPI's
 * (asm/sigcontext.h, through <signal.h>).
 */
struct la_ucontext {
	unsigned long uc_flags;
	uint64_t uc_link;
	stack_t uc_stack;
	uint64_t uc_sigmask;
	uint8_t unused[1024 / 8 - 8];
	struct sigcontext uc_mcontext;
};

struct la_rt_sigframe {
	siginfo_t info;
	struct la_ucontext uc;
};

_Static_assert(__builtin_offsetof(struct la_ucontext, uc_mcontext) ==
	       __builtin_offsetof(ucontext_t, uc_mcontext), "ucontext");
_Static_assert(__builtin_offsetof(struct la_ucontext, uc_sigmask) ==
	       __builtin_offsetof(ucontext_t, uc_sigmask), "ucontext");
_Static_assert(sizeof(struct sigcontext) == 272 && sizeof(struct sctx_info) == 16, "sigcontext");
_Static_assert(sizeof(struct la_rt_sigframe) % 16 == 0, "rt_sigframe");
_Static_assert(__builtin_offsetof(struct la_rt_sigframe, info) == LA_SIGFRAME_INFO &&
	       __builtin_offsetof(struct la_rt_sigframe, uc) == LA_SIGFRAME_UC &&
	       sizeof(struct la_rt_sigframe) == LA_SIGFRAME_BASE, "la.h offsets");
_Static_assert(sizeof(struct la_rt_sigframe) + sizeof(struct lasx_context) + 32 +
	       3 * sizeof(struct sctx_info) <= LA_SIGFRAME_MAX, "LA_SIGFRAME_MAX");
_Static_assert(sizeof(struct fpu_context) == 272 && sizeof(struct lsx_context) == 528 &&
	       sizeof(struct lasx_context) == 1040, "extension contexts");

/* fpu_context, lsx_context, lasx_context: 32 registers, fcc, fcsr */
static size_t ctx_size(int vec_bytes)
{
	return DUNE_ALIGN_UP(32 * vec_bytes + 8 + 4, 8);
}

static uint32_t ctx_magic(int vec_bytes)
{
	return vec_bytes == 32 ? LASX_CTX_MAGIC : vec_bytes == 16 ? LSX_CTX_MAGIC : FPU_CTX_MAGIC;
}

struct layout {
	uint64_t sp, ctx, end;		/* the frame, the vector context, the end marker */
};

/* setup_extcontext(), extframe_alloc() and get_sigframe(), from the top down */
static void frame_layout(uint64_t top, int vec_bytes, struct layout *l)
{
	uint64_t align = vec_bytes > 16 ? vec_bytes : 16;

	l->end = DUNE_ALIGN_DOWN(top, 16) - sizeof(struct sctx_info);
	l->ctx = DUNE_ALIGN_DOWN(l->end - ctx_size(vec_bytes), align) - sizeof(struct sctx_info);
	l->sp = l->ctx - sizeof(struct la_rt_sigframe);
}

/* Where a frame below top ends (top rounded down to 16 bytes). */
uint64_t la_sigframe_end(uint64_t top)
{
	return DUNE_ALIGN_DOWN(top, 16);
}

/* The most a frame with vec_bytes per vector register takes. */
size_t la_sigframe_size(int vec_bytes)
{
	return sizeof(struct la_rt_sigframe) + ctx_size(vec_bytes) + 32 + 3 * sizeof(struct sctx_info);
}

/*
 * Build the frame for a handler below top into buf (la_sigframe_size()
 * bytes); returns its address (the handler's sp).  It ends at top rounded
 * down to 16 bytes.
 */
size_t la_sigframe_build(uint8_t *buf, uint64_t top, const struct la_sigframe_in *in)
{
	struct la_rt_sigframe *frame = (struct la_rt_sigframe *)buf;
	struct sctx_info info = { .magic = ctx_magic(in->vec_bytes) };
	struct layout l;
	uint8_t *ctx;

	frame_layout(top, in->vec_bytes, &l);
	memset(buf, 0, l.end + sizeof(info) - l.sp);
	frame->info = *in->info;
	frame->uc.uc_stack = in->stack;
	frame->uc.uc_sigmask = in->mask;
	frame->uc.uc_mcontext.sc_pc = in->pc;
	memcpy(frame->uc.uc_mcontext.sc_regs, in->regs, sizeof(frame->uc.uc_mcontext.sc_regs));
	frame->uc.uc_mcontext.sc_regs[0] = 0;
	frame->uc.uc_mcontext.sc_flags = SC_USED_FP;
	info.size = l.end - l.ctx;
	memcpy(buf + (l.ctx - l.sp), &info, sizeof(info));
	ctx = buf + (l.ctx - l.sp) + sizeof(info);
	for (int i = 0; i < 32; i++)
		memcpy(ctx + i * in->vec_bytes, in->fpu->fpr[i].val64, in->vec_bytes);
	memcpy(ctx + 32 * in->vec_bytes, &in->fpu->fcc, 8);
	memcpy(ctx + 32 * in->vec_bytes + 8, &in->fpu->fcsr, 4);
	/* the end marker stays zero */
	return l.sp;
}

/* The vector state of one extension context into fpu. */
static void read_vec_ctx(const uint8_t *ctx, int vec_bytes, struct la_kvm_fpu *fpu)
{
	for (int i = 0; i < 32; i++)
		memcpy(fpu->fpr[i].val64, ctx + i * vec_bytes, vec_bytes);
	memcpy(&fpu->fcc, ctx + 32 * vec_bytes, 8);
	memcpy(&fpu->fcsr, ctx + 32 * vec_bytes + 8, 4);
}

/*
 * rt_sigreturn's view of the len bytes at the frame: the registers, pc and
 * mask, and the FPU state if an extension context holds it (1; 0 without,
 * -EINVAL for a malformed chain).
 */
int la_sigframe_parse(const uint8_t *buf, size_t len, uint64_t regs[32], uint64_t *pc,
		      struct la_kvm_fpu *fpu, uint64_t *mask)
{
	const struct la_rt_sigframe *frame = (const struct la_rt_sigframe *)buf;
	size_t off = sizeof(*frame);

	if (len < sizeof(*frame))
		return -EINVAL;
	memcpy(regs, frame->uc.uc_mcontext.sc_regs, 32 * 8);
	regs[0] = 0;
	*pc = frame->uc.uc_mcontext.sc_pc;
	*mask = frame->uc.uc_sigmask;
	while (off + sizeof(struct sctx_info) <= len) {
		struct sctx_info info;
		int vec = 0;

		memcpy(&info, buf + off, sizeof(info));
		if (!info.magic)
			return 0;
		if (info.magic == FPU_CTX_MAGIC)
			vec = 8;
		else if (info.magic == LSX_CTX_MAGIC)
			vec = 16;
		else if (info.magic == LASX_CTX_MAGIC)
			vec = 32;
		if (info.size < sizeof(info) || off + info.size > len ||
		    (vec && info.size < sizeof(info) + ctx_size(vec)))
			return -EINVAL;
		if (vec) {
			read_vec_ctx(buf + off + sizeof(info), vec, fpu);
			return 1;
		}
		off += info.size;	/* a context dune does not know (LBT) */
	}
	return -EINVAL;
}

