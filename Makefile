# dune: top-level build.  `make`, `make check`, `make check-vm`,
# `make check-vm-kmod`, `make check-vm-kernels`, `make check-vm-kmod-kernels`,
# `make lint`, `make ARCH=mips64|loongarch64 [check-cross]`,
# `make install PREFIX=DIR`, `make kmod [KDIR=DIR]`.
HOST_ARCH := $(shell uname -m)
ARCH	?= $(HOST_ARCH)
PREFIX	?= /usr/local
CC	?= gcc

# Cross builds (make ARCH=mips64 / ARCH=loongarch64) into build/<arch>, with
# Debian's cross toolchains (see tests/cross/README.md).
ifeq ($(ARCH),$(HOST_ARCH))
BUILD	?= build
else
BUILD	?= build/$(ARCH)
ifeq ($(origin CC),default)
ifeq ($(ARCH),mips64)
CC	:= mips64el-linux-gnuabi64-gcc
AR	:= mips64el-linux-gnuabi64-ar
endif
ifeq ($(ARCH),loongarch64)
# No LoongArch gcc or libc in Debian 12: clang-19 and sid's cross glibc.
LA_SYSROOT ?= build/sysroot-loongarch64
LA_USR	:= $(LA_SYSROOT)/usr
CC	:= clang-19 --target=loongarch64-linux-gnu --sysroot=$(LA_SYSROOT) \
	   -isystem $(LA_USR)/loongarch64-linux-gnu/include --start-no-unused-arguments \
	   -fuse-ld=lld -B$(LA_USR)/lib/gcc-cross/loongarch64-linux-gnu/14 \
	   -L$(LA_USR)/lib/gcc-cross/loongarch64-linux-gnu/14 -L$(LA_USR)/loongarch64-linux-gnu/lib \
	   --end-no-unused-arguments
AR	:= llvm-ar-19
SYSROOT_DEP := $(LA_SYSROOT)/.complete
endif
endif
endif

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
HELPERS	:= $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(wildcard tests/helpers/*.c))
ifneq ($(ARCH),x86_64)
# Still written with x86-64 registers or syscalls: to move into tests/x86_64/
# (the kernel module, its tests and dune-stat are x86-64 only)
X86_BOUND := $(patsubst %,$(BUILD)/tests/%,t-sigguest t-signals t-clone3 fault hostile t-kmod \
	t-kmod-genl t-kmod-decline t-kmod-detach t-stat-report kmod-counters)
TESTS	:= $(filter-out $(X86_BOUND),$(TESTS))
HELPERS	:= $(filter-out $(X86_BOUND),$(HELPERS))
endif
ARCH_TESTS := $(patsubst tests/$(ARCH)/%.c,$(BUILD)/tests/%,$(wildcard tests/$(ARCH)/t-*.c))
SCRIPTS	:= $(BUILD)/tests/t-programs $(BUILD)/tests/t-dune-run $(BUILD)/tests/t-policy \
	$(BUILD)/tests/t-loader \
	$(BUILD)/tests/check.sh
# t-policy's seccomp profiles: its own, and the default one of Podman and the
# other containers tools (Debian's golang-github-containers-common; Docker's
# has the same format and conditions) when it is installed, here and so in
# check-vm's guest
CONTAINERS_PROFILE := $(wildcard /usr/share/containers/seccomp.json)
PROFILES := $(BUILD)/tests/seccomp-profile.json \
	$(if $(CONTAINERS_PROFILE),$(BUILD)/tests/containers-seccomp.json)
ifeq ($(ARCH),x86_64)
SCRIPTS	+= $(BUILD)/tests/t-dune-stat $(BUILD)/tests/t-kmod-stat $(BUILD)/tests/t-bench-paths
endif
STATIC	:= $(BUILD)/tests/static-inside
# Debian 12's MIPS glibc has no static-pie start file (rcrt1.o)
ifneq ($(ARCH),mips64)
STATIC	+= $(BUILD)/tests/static-pie-inside
endif
ifeq ($(ARCH),x86_64)
STATIC	+= $(BUILD)/tests/hostile-static
endif
TOOLS	:= $(patsubst tools/%.c,$(BUILD)/%,$(filter-out tools/dune-run-preload.c,$(wildcard tools/dune-*.c)))
ifneq ($(ARCH),x86_64)
TOOLS	:= $(filter-out $(BUILD)/dune-stat,$(TOOLS))
endif

all: $(BUILD)/libdune.a $(BUILD)/libdune.so $(BUILD)/libdune-run.so $(TOOLS) $(TESTS) $(ARCH_TESTS) \
	$(HELPERS) $(SCRIPTS) $(PROFILES) \
	$(STATIC)

ARCH_HDRS := $(wildcard lib/*.h) $(wildcard $(ARCH_DIR)/*.h) $(wildcard $(ARCH_DIR)/include/*.h)

$(BUILD)/obj/%.c.o: %.c $(ARCH_HDRS) $(BUILD)/gen/syscall-names.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BUILD)/gen $(ALL_CFLAGS) -c -o $@ $<

# [slot] = "name", for every system call of this ISA (lib/trace.c): the
# compiler evaluates __NR_x (MIPS: __NR_Linux + n) and rejects a slot twice.
$(BUILD)/gen/syscall-names.h: $(SYSROOT_DEP)
	@mkdir -p $(dir $@)
	echo '#include <asm/unistd.h>' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z_][a-z0-9_]*\) .*/\1/p' | \
		grep -vx 'syscalls\|arch_specific_syscall' | \
		sed 's/.*/[__NR_& - DUNE_SYSCALL_BASE] = "&",/' > $@

ifdef LA_SYSROOT
$(LA_SYSROOT)/.complete: tests/cross/sysroot-loongarch64.sh
	tests/cross/sysroot-loongarch64.sh $(LA_SYSROOT)
endif

$(BUILD)/obj/%.S.o: %.S | $(SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/libdune.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libdune.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libdune.so -o $@ $^

# dune-run's preload: the library and a constructor that enters dune
$(BUILD)/libdune-run.so: tools/dune-run-preload.c tools/run-enter.h lib/policy.h $(LIB_OBJ)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -fPIC -shared -o $@ $(filter-out %.h,$^)

$(BUILD)/tests/%: tests/%.c tests/check.h tests/own.h tests/kmod.h lib/dune.h $(BUILD)/libdune.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a -lpthread

# unit tests of the ISA backend's host-side logic (no /dev/kvm needed)
$(BUILD)/tests/%: tests/$(ARCH)/%.c tests/check.h $(ARCH_HDRS) $(BUILD)/libdune.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests -I$(ARCH_DIR) $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a -lpthread

$(BUILD)/tests/%: tests/helpers/%.c tests/check.h lib/dune.h $(BUILD)/libdune.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests -Itests/$(ARCH) $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a -lpthread

# the hostile helper once more, static: what execveat starts natively
$(BUILD)/tests/hostile-static: tests/helpers/hostile.c $(wildcard tests/*.h tests/$(ARCH)/*.h lib/*.h) \
		$(BUILD)/libdune.a
	$(CC) $(CPPFLAGS) -Itests -Itests/$(ARCH) $(WARN) $(CFLAGS) -static -o $@ $< $(BUILD)/libdune.a -lpthread

# statically linked programs for dune-run (dune-exec-static)
$(BUILD)/tests/static-inside: tests/static/inside.c lib/dune.h | $(SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -static -o $@ $< -lpthread

$(BUILD)/tests/static-pie-inside: tests/static/inside.c lib/dune.h | $(SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -static-pie -fPIE -o $@ $< -lpthread

$(BUILD)/tests/containers-seccomp.json: $(CONTAINERS_PROFILE)
	@mkdir -p $(dir $@)
	install -m 644 $< $@

# test scripts, installed as test programs
$(BUILD)/tests/t-programs: tests/programs/run.sh
$(BUILD)/tests/t-dune-run: tests/programs/options.sh
$(BUILD)/tests/t-dune-stat: tests/programs/stat.sh
$(BUILD)/tests/t-kmod-stat: tests/programs/kmod-stat.sh
$(BUILD)/tests/t-bench-paths: tests/programs/bench-paths.sh
$(BUILD)/tests/check.sh: tests/programs/check.sh
$(BUILD)/tests/t-policy: tests/programs/policy.sh $(PROFILES)
$(BUILD)/tests/t-loader: tests/programs/loader.sh
$(SCRIPTS):
	@mkdir -p $(dir $@)
	install -m 755 $< $@

# dune-stat talks generic netlink through libnl-genl-3 (a build dependency)
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS	:= $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null)
NL_CHECK = @test -n "$(NL_LIBS)" || { echo "libnl-genl-3 not found (pkg-config libnl-genl-3.0):" \
	"apt-get install -y libnl-3-dev libnl-genl-3-dev"; exit 1; }
STAT_OBJ := $(BUILD)/obj/tools/stat-report.c.o

$(STAT_OBJ): CPPFLAGS += $(NL_CFLAGS)
$(STAT_OBJ): tools/stat-report.h

$(BUILD)/dune-stat: tools/dune-stat.c tools/stat-report.h $(STAT_OBJ) $(BUILD)/libdune.a
	$(NL_CHECK)
	$(CC) $(CPPFLAGS) $(NL_CFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(STAT_OBJ) $(BUILD)/libdune.a \
		$(NL_LIBS)

# the reading and formatting of dune-stat, fed messages the test makes
$(BUILD)/tests/t-stat-report: tests/t-stat-report.c tests/check.h tools/stat-report.h $(STAT_OBJ) \
		$(BUILD)/libdune.a
	$(NL_CHECK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(NL_CFLAGS) -Itests -Itools $(WARN) $(CFLAGS) -o $@ $< $(STAT_OBJ) \
		$(BUILD)/libdune.a $(NL_LIBS)

$(BUILD)/tests/seccomp-profile.json: tests/programs/seccomp-profile.json
	@mkdir -p $(dir $@)
	install -m 644 $< $@

# dune-run reads seccomp profiles with json-c (libjson-c-dev) and the
# capabilities their conditions name with libcap (libcap-dev); cross builds
# have no json-c for the target, and their dune-run refuses profiles.
ifeq ($(ARCH),$(HOST_ARCH))
$(BUILD)/dune-run: TOOL_CFLAGS = $(shell pkg-config --cflags json-c libcap) -DDUNE_HAVE_JSON_C
$(BUILD)/dune-run: TOOL_LIBS = $(shell pkg-config --libs json-c libcap)
endif

# static, so that nothing in the environment runs in it natively (its comment);
# arch/<isa>/rules.mk may set LOADER_LDFLAGS (Debian's MIPS libc has no static PIE)
$(BUILD)/dune-exec-static: TOOL_CFLAGS = $(or $(LOADER_LDFLAGS),-static-pie)
$(BUILD)/dune-exec-static: tools/run-enter.h

$(BUILD)/%: tools/%.c lib/dune.h lib/policy.h $(wildcard tools/$(ARCH)/*.h) $(BUILD)/libdune.a
	$(CC) $(CPPFLAGS) -Itools/$(ARCH) $(TOOL_CFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(BUILD)/libdune.a \
		$(TOOL_LIBS) -lpthread -lm

# the suite here, then on the host each port's check-cross (tests/check-all.sh)
ifeq ($(ARCH),$(HOST_ARCH))
CHECK_PORTS ?= mips64 loongarch64
endif
check: all
	tests/check-all.sh $(BUILD) $(CHECK_PORTS)

# A cross build's unit tests under qemu-user (QEMU=... overrides the emulator).
ifeq ($(ARCH),loongarch64)
QEMU	?= $(abspath $(LA_SYSROOT))/qemu/usr/bin/qemu-loongarch64 \
	   -L $(abspath $(LA_USR))/loongarch64-linux-gnu
else
# as the Loongson-3A4000, the VZ CPU the port is for: it has MSA (t-mips-msa)
QEMU	?= qemu-$(ARCH)el-static -cpu Loongson-3A4000 -L /usr/$(ARCH)el-linux-gnuabi64
endif
# arch/<isa>/rules.mk may add unit tests to CROSS_TESTS, and to CROSS_CHECKS
# targets of its own (each printing TAP and a count line), run after them.
CROSS_TESTS := t-syscall-names
CROSS_CHECKS :=
-include $(ARCH_DIR)/rules.mk
check-cross: all
	DUNE_TEST_RUNNER="$(QEMU)" tests/run-tests.sh $(BUILD) $(CROSS_TESTS)
	$(if $(CROSS_CHECKS),$(MAKE) $(CROSS_CHECKS))

check-vm: all
	tests/vm/check-vm.sh $(BUILD)

# check-vm with the kernel module: built for the booted kernel (KMOD_BUILD=
# kbuild or dkms), loaded, and the suite run with DUNE_MODE=user and
# DUNE_MODE=kmod (tests/vm/README.md)
KMOD_BUILD ?= kbuild

check-vm-kmod: all
	DUNE_VM_KMOD=$(KMOD_BUILD) tests/vm/check-vm.sh $(BUILD)

# dune-bench --paths inside the check-vm guest, with the module loaded
# (after a short suite: t-hello, or DUNE_VM_TESTS); the table is in the output and, with
# paths.dat and paths.png (gnuplot), in $(BUILD)/vm/bench
bench-vm-paths: all
	DUNE_VM_KMOD=$(KMOD_BUILD) DUNE_VM_BENCH=--paths=. DUNE_VM_TESTS="$(or $(DUNE_VM_TESTS),t-hello)" \
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

# LTP's syscall tests in the check-vm guest with the module loaded, inside
# dune with DUNE_MODE=user and kmod (slow; not part of CI; results in
# $(BUILD)/vm/ltp).  LTP_TESTS='REGEX' picks them; by default the tests of
# the syscalls the module may serve (kmod/dune_main.c, dune_safe_syscalls).
KMOD_LTP_SYSCALLS := read write pread pwrite readv writev preadv pwritev open openat fstat stat \
	statx lseek getdents pipe2 fsync fdatasync readlink readlinkat faccessat faccessat2 access \
	getcwd uname getpid getppid gettid getuid geteuid getgid getegid getrandom clock_gettime \
	clock_getres gettimeofday time sched_yield getrusage sysinfo epoll_wait epoll_ctl \
	epoll_create epoll_create1 eventfd eventfd2 socket socketpair bind listen connect accept \
	accept4 send sendto sendmsg recv recvfrom recvmsg shutdown getsockname getpeername \
	setsockopt getsockopt wait4 kill tgkill set_robust_list set_tid_address
space := $() $()
KMOD_LTP_TESTS = ($(subst $(space),|,$(strip $(KMOD_LTP_SYSCALLS))))_?[0-9]+(_64)?

conformance-vm-kmod: all
	tests/conformance/run-ltp.sh --list $(BUILD) getpid01 >/dev/null
	DUNE_VM_KMOD=$(KMOD_BUILD) DUNE_VM_LTP='$(or $(LTP_TESTS),$(KMOD_LTP_TESTS))' \
		DUNE_VM_TESTS="$(or $(DUNE_VM_TESTS),t-hello)" tests/vm/check-vm.sh $(BUILD)

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
	install -m 644 tools/dune-run.1 tools/dune-stat.1 $(DESTDIR)$(PREFIX)/share/man/man1/
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

.PHONY: all check check-cross check-vm check-vm-kmod bench-vm-paths check-vm-kernels \
	check-vm-kmod-kernels conformance conformance-vm-kmod lint install clean kmod kmod-clean
.SECONDARY:
