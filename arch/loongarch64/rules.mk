# LoongArch64 additions to check-cross (included by the root Makefile).
CROSS_TESTS += t-la-backend t-la-entry t-la-nokvm

# The guest kernel (guest.S) bare-metal under qemu-system TCG, with the
# host's exception decoding, PTE/CSR encoding and signal frames
# (tests/loongarch64/bare).
LA_BARE_SRC := tests/loongarch64/bare/start.S tests/loongarch64/bare/bare.c \
	arch/loongarch64/trap.c arch/loongarch64/sigframe.c arch/loongarch64/guest.S
LA_BARE := $(BUILD)/tests/la-bare.elf

$(LA_BARE): $(LA_BARE_SRC) tests/loongarch64/bare/bare.h tests/loongarch64/bare/bare.ld $(ARCH_HDRS) \
	   | $(SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iarch/loongarch64 -Itests/loongarch64/bare $(WARN) -O2 -ffreestanding \
		-nostdlib -static -fno-pic -fno-pie -mno-lsx -mno-lasx \
		-Wl,-T,tests/loongarch64/bare/bare.ld -o $@ $(LA_BARE_SRC)

check-la-bare: $(LA_BARE)
	tests/loongarch64/bare/run.sh $(LA_BARE)

CROSS_CHECKS += check-la-bare
.PHONY: check-la-bare
