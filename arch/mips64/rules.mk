# MIPS64: unit tests of the backend's host-side logic under qemu-user, and
# the guest half bare-metal under qemu-system-mips64el (tests/mips64/bare/).
CROSS_TESTS += t-mips-decode t-mips-paging t-mips-sigframe t-mips-forward t-mips-enter t-mips-msa
CROSS_CHECKS += check-mips-bare

# dune-exec-static: no rcrt1.o for a static PIE in Debian's libc6-dev-mips64el,
# so static, linked far above where static programs are (0x120000000)
LOADER_LDFLAGS := -static -Wl,-Ttext-segment=0x5550000000

MIPS_BARE := $(BUILD)/tests/mips-bare.elf
MIPS_BARE_SRC := tests/mips64/bare/start.S tests/mips64/bare/harness.c arch/mips64/guest.S \
	arch/mips64/decode.c arch/mips64/paging.c
MIPS_BARE_CFLAGS := -ffreestanding -fno-pic -mno-abicalls -msym32 -G0 -march=mips64r2 \
	-fno-builtin -nostdlib -static -Wl,-T,tests/mips64/bare/bare.ld -Wl,--build-id=none

$(MIPS_BARE): $(MIPS_BARE_SRC) tests/mips64/bare/bare.h tests/mips64/bare/bare.ld $(ARCH_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iarch/mips64 -Itests/mips64/bare $(WARN) -O2 $(MIPS_BARE_CFLAGS) \
		-o $@ $(MIPS_BARE_SRC)

all: $(MIPS_BARE)

check-mips-bare: $(MIPS_BARE)
	tests/mips64/bare/run.sh $(MIPS_BARE)

.PHONY: check-mips-bare
