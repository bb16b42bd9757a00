/* SPDX-License-Identifier: MIT */
/* x86-64 ways around a policy, for tests/helpers/hostile.c. */
#ifndef DUNE_TESTS_HOSTILE_ARCH_H
#define DUNE_TESTS_HOSTILE_ARCH_H

/* The ports dune's guest I/O bitmap opened besides the syscall port. */
#define HOSTILE_PORTS	{ 0x21, 0x22, 0x23 }

static inline void hostile_port_out(unsigned short port)
{
	__asm__ volatile("outb %%al, %%dx" : : "a"(0), "d"(port) : "memory");
}

/* mkdir through the i386 ABI (int $0x80, nr 39): another AUDIT_ARCH. */
static inline long hostile_mkdir_i386(const char *path)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(39L), "b"(path), "c"(0755L) : "memory");
	return ret;
}

/* mkdir through the x32 ABI (__X32_SYSCALL_BIT | 83). */
static inline long hostile_mkdir_x32(const char *path)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(0x40000000L | 83), "D"(path), "S"(0755L)
			 : "rcx", "r11", "memory");
	return ret;
}

#endif /* DUNE_TESTS_HOSTILE_ARCH_H */
