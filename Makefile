# dune: top-level build.  `make`, `make check`, `make check-vm`,
# `make check-vm-kernels`, `make check-vm-kmod-kernels`, `make lint`,
# `make install PREFIX=DIR`, `make kmod [KDIR=DIR]`.
ARCH	?= $(shell uname -m)
BUILD	?= build
PREFIX	?= /usr/local
CC	?= gcc

CFLAGS	?= -O2 -g
WARN	:= -Wall -Wextra -Werror
CPPFLAGS += -Ilib -I$(ARCH_DIR)/include -Iinclude/uapi -D_GNU_SOURCE
ALL_CFLAGS = $(WARN) $(CFLAGS) -fPIC -fno-strict-aliasing -fvisibility=hidden

ARCH_DIR := arch/$(ARCH)
ifeq ($(wildcard $(ARCH_DIR)),)
$(error unsupported architecture $(ARCH): no $(ARCH_DIR))
endif

LIB_SRC	:= $(wildcard lib/*.c) $(wildcard $(ARCH_DIR)/*.c) $(wildcard $(ARCH_DIR)/*.S)
LIB_OBJ	:= $(patsubst %,$(BUILD)/obj/%.o,$(LIB_SRC))
TESTS	:= $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/t-*.c))
ARCH_TESTS := $(patsubst tests/$(ARCH)/%.c,$(BUILD)/tests/%,$(wildcard tests/$(ARCH)/t-*.c))
HELPERS	:= $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(wildcard tests/helpers/*.c))
SCRIPTS	:= $(BUILD)/tests/t-programs $(BUILD)/tests/t-dune-run
STATIC	:= $(BUILD)/tests/static-inside $(BUILD)/tests/static-pie-inside
TOOLS	:= $(patsubst tools/%.c,$(BUILD)/%,$(filter-out tools/dune-run-preload.c,$(wildcard tools/dune-*.c)))

all: $(BUILD)/libdune.a $(BUILD)/libdune.so $(BUILD)/libdune-run.so $(TOOLS) $(TESTS) $(ARCH_TESTS) \
	$(HELPERS) $(SCRIPTS) \
	$(STATIC)

$(BUILD)/obj/%.c.o: %.c $(wildcard lib/*.h) $(wildcard $(ARCH_DIR)/*.h) $(BUILD)/gen/syscall-names.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BUILD)/gen $(ALL_CFLAGS) -c -o $@ $<

# [nr] = "name", for every system call of this architecture
$(BUILD)/gen/syscall-names.h:
	@mkdir -p $(dir $@)
	echo '#include <asm/unistd.h>' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$$/[\2] = "\1",/p' > $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/libdune.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libdune.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libdune.so -o $@ $^

# dune-run's preload: the library and a constructor that enters dune
$(BUILD)/libdune-run.so: tools/dune-run-preload.c $(LIB_OBJ)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -fPIC -shared -o $@ $^

$(BUILD)/tests/%: tests/%.c tests/check.h lib/dune.h $(BUILD)/libdune.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a -lpthread

# unit tests of the ISA backend's host-side logic (no /dev/kvm needed)
$(BUILD)/tests/%: tests/$(ARCH)/%.c tests/check.h $(wildcard lib/*.h) $(wildcard $(ARCH_DIR)/*.h) \
		$(BUILD)/libdune.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests -I$(ARCH_DIR) $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a -lpthread

$(BUILD)/tests/%: tests/helpers/%.c tests/check.h lib/dune.h $(BUILD)/libdune.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a -lpthread

# statically linked programs for dune-run (dune-exec-static)
$(BUILD)/tests/static-inside: tests/static/inside.c lib/dune.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -static -o $@ $< -lpthread

$(BUILD)/tests/static-pie-inside: tests/static/inside.c lib/dune.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -static-pie -fPIE -o $@ $< -lpthread

$(BUILD)/tests/t-programs: tests/programs/run.sh
	@mkdir -p $(dir $@)
	install -m 755 $< $@

$(BUILD)/tests/t-dune-run: tests/programs/options.sh
	@mkdir -p $(dir $@)
	install -m 755 $< $@

$(BUILD)/%: tools/%.c lib/dune.h $(BUILD)/libdune.a
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a -lpthread -lm

check: all
	tests/run-tests.sh $(BUILD)

check-vm: all
	tests/vm/check-vm.sh $(BUILD)

# check-vm with the kernel module: built for the booted kernel (KMOD_BUILD=
# kbuild or dkms), loaded, and the suite run with DUNE_MODE=user and
# DUNE_MODE=kmod (tests/vm/README.md)
KMOD_BUILD ?= kbuild

check-vm-kmod: all
	DUNE_VM_KMOD=$(KMOD_BUILD) tests/vm/check-vm.sh $(BUILD)

# dune-bench --paths inside the check-vm guest, with the module loaded
# (after a short suite: t-kmod); the table is in the output
bench-vm-paths: all
	DUNE_VM_KMOD=$(KMOD_BUILD) DUNE_VM_BENCH=--paths DUNE_VM_TESTS=t-kmod \
		tests/vm/check-vm.sh $(BUILD)

# The same on Debian 12's 6.1, trixie's 6.12 and the newest Debian kernel
# (downloaded into $(BUILD)/vm/kernels; KERNELS="installed newest" for fewer)
check-vm-kernels: all
	tests/vm/check-vm-kernels.sh $(BUILD) $(KERNELS)

# The same with the kernel module built for each kernel (KMOD_BUILD; in a
# debootstrap'd chroot for trixie's kernels), loaded, DUNE_MODE=user and kmod
check-vm-kmod-kernels: all
	DUNE_VM_KMOD=$(KMOD_BUILD) tests/vm/check-vm-kernels.sh $(BUILD) $(KERNELS)

# LTP's syscall tests natively and inside dune (slow; not part of CI).
# LTP_TESTS='REGEX' picks runtest names; see tests/conformance/run-ltp.sh.
conformance: all
	tests/conformance/run-ltp.sh $(BUILD) '$(LTP_TESTS)'

# Warnings are errors with both compilers; cppcheck must be silent.
lint:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/clang CC=clang all
	cppcheck --quiet --inline-suppr --enable=warning,performance,portability --error-exitcode=1 \
		--suppress=missingIncludeSystem -D__x86_64__ -Ilib -I$(ARCH_DIR) -I$(ARCH_DIR)/include -Iinclude/uapi -I$(BUILD)/gen \
		lib $(ARCH_DIR) tools tests

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 lib/dune.h $(DESTDIR)$(PREFIX)/include/dune.h
	install -m 644 $(BUILD)/libdune.a $(DESTDIR)$(PREFIX)/lib/libdune.a
	install -m 755 $(BUILD)/libdune.so $(DESTDIR)$(PREFIX)/lib/libdune.so
	install -m 755 $(BUILD)/libdune-run.so $(DESTDIR)$(PREFIX)/lib/libdune-run.so
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 tools/dune-run.1 $(DESTDIR)$(PREFIX)/share/man/man1/dune-run.1
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*DUNE_VERSION "\(.*\)"/\1/p' lib/dune.h)|' \
		lib/libdune.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libdune.pc

# The kernel module (kmod/, optional): against the kernel build tree KDIR
# (default: the running kernel's).  Also what dkms.conf runs.
KDIR	?= /lib/modules/$(shell uname -r)/build

kmod:
	$(MAKE) -C kmod KDIR=$(KDIR)

kmod-clean:
	$(MAKE) -C kmod KDIR=$(KDIR) clean

clean:
	rm -rf $(BUILD)

.PHONY: all check check-vm check-vm-kmod bench-vm-paths check-vm-kernels check-vm-kmod-kernels conformance lint install clean kmod kmod-clean
.SECONDARY:
