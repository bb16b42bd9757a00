# LoongArch64 additions to check-cross (included by the root Makefile).
CROSS_TESTS += t-la-backend t-la-nokvm
