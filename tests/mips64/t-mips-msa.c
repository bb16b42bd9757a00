// SPDX-License-Identifier: MIT
/*
 * MSA state carried natively by entry.S, in a round trip without KVM:
 * mips_enter() notes the caller's vector registers (the FPU's registers as
 * their low halves, the high halves) and MSACSR, the host stack clobbers
 * them all, and mips_resume_native() with the noted state returns from
 * mips_enter() with every one back.  Needs a CPU with MSA (check-cross runs
 * qemu-user as a Loongson-3A4000); skipped elsewhere.
 */
#include <sys/auxv.h>

#include "check.h"
#include "mips.h"

#define HWCAP_MSA	(1UL << 1)	/* asm/hwcap.h: HWCAP_MIPS_MSA */
#define MSACSR_RM_RZ	1		/* round toward zero */

static struct dune_vcpu vcpu;
static struct mips_vcpu mc;
static uint64_t host_stack[4096] __attribute__((aligned(16)));
static uint64_t w_in[32][2] __attribute__((aligned(16)));

#define MSA_ASM(body) \
	".set push\n\t.set mips64r5\n\t.set fp=64\n\t.set msa\n\t" body ".set pop\n\t"
#define EACH_W(op) \
	op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) \
	op(13) op(14) op(15) op(16) op(17) op(18) op(19) op(20) op(21) op(22) op(23) op(24) \
	op(25) op(26) op(27) op(28) op(29) op(30) op(31)
#define LOAD_W(n)	"ld.d $w" #n ", " #n "*16(%0)\n\t"
#define STORE_W(n)	"st.d $w" #n ", " #n "*16(%1)\n\t"

/* Each $wN from w[N] (element 0 the low half), and MSACSR. */
static inline void set_msa(const uint64_t (*w)[2], uint32_t csr)
{
	asm volatile(MSA_ASM(EACH_W(LOAD_W) "ctcmsa $1, %1\n\t") :: "r"(w), "r"(csr) : "memory");
}

static inline uint32_t get_msa(uint64_t (*w)[2])
{
	uint32_t csr;

	asm volatile(MSA_ASM(EACH_W(STORE_W) "cfcmsa %0, $1\n\t") : "=r"(csr) : "r"(w) : "memory");
	return csr;
}

/* On the host stack: what mips_enter() noted, then back with another MSA state live. */
static void on_host_stack(struct dune_vcpu *v)
{
	static const uint64_t zero[32][2] __attribute__((aligned(16)));
	const struct mips_entry_ctx *ctx = &mc.ctx;
	struct mips_native *n = &mc.native;
	int same = 1;

	for (int i = 0; i < 32; i++)
		same &= ctx->fpu.fpr[i] == w_in[i][0] && ctx->fpu.wr_hi[i] == w_in[i][1];
	CHECK(v == &vcpu && same && ctx->fpu.msacsr == MSACSR_RM_RZ,
	      "mips_enter() noted the vector registers and MSACSR (%#x)", ctx->fpu.msacsr);
	set_msa(zero, 0);
	for (int i = 0; i < 8; i++)
		n->regs[16 + i] = ctx->s[i];
	n->regs[R_GP] = ctx->gp;
	n->regs[R_SP] = ctx->sp;
	n->regs[30] = ctx->fp;
	n->regs[R_RA] = ctx->ra;
	n->regs[R_V0] = 0;
	n->pc = ctx->ra;
	n->fpu = ctx->fpu;
	n->tls = ctx->tls;
	mips_resume_native(n);
}

int main(void)
{
	static uint64_t w_out[32][2] __attribute__((aligned(16)));
	uint32_t csr;
	int r, same = 1;

	if (!(getauxval(AT_HWCAP) & HWCAP_MSA))
		skip("no MSA on this CPU (check-cross runs qemu-user as a Loongson-3A4000)");
	for (int i = 0; i < 32; i++) {
		w_in[i][0] = 0x1111000000000000ULL + i;
		w_in[i][1] = 0x2222000000000000ULL + ((uint64_t)i << 8);
	}
	vcpu.arch = &mc;
	mc.ctx.fpu.msa = 1;
	set_msa(w_in, MSACSR_RM_RZ);
	r = mips_enter(&mc.ctx, &vcpu, host_stack + 4096, on_host_stack);
	csr = get_msa(w_out);
	for (int i = 0; i < 32; i++)
		same &= w_out[i][0] == w_in[i][0] && w_out[i][1] == w_in[i][1];
	CHECK(r == 0, "mips_enter() returned %d through mips_resume_native()", r);
	CHECK(same, "mips_resume_native() set every vector register ($w5: %#llx %#llx)",
	      (unsigned long long)w_out[5][0], (unsigned long long)w_out[5][1]);
	CHECK(csr == MSACSR_RM_RZ, "mips_resume_native() set MSACSR (%#x)", csr);
	return finish();
}
