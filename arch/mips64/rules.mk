# MIPS64: unit tests of the backend's host-side logic under qemu-user
CROSS_TESTS += t-mips-decode t-mips-paging t-mips-sigframe t-mips-enter
