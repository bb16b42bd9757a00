// SPDX-License-Identifier: MIT
/*
 * Where a LoongArch64 signal handler returns: the kernel puts the vDSO's
 * __vdso_rt_sigreturn in ra (there is no SA_RESTORER), so dune looks it up
 * in the vDSO's dynamic symbols, once, natively at dune_enter().
 */
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>

#include "dune-internal.h"
#include "la.h"

/* The symbol in the ELF image at base (as mapped), or 0. */
static uintptr_t image_symbol(const uint8_t *base, const char *name)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(base + eh->e_shoff);
	uintptr_t bias = 0;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || !eh->e_shoff)
		return 0;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
			break;
		}
	for (int i = 0; i < eh->e_shnum; i++) {
		const ElfW(Sym) *sym = (const ElfW(Sym) *)(base + sh[i].sh_offset);
		const char *strtab;

		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum)
			continue;
		strtab = (const char *)base + sh[sh[i].sh_link].sh_offset;
		for (size_t j = 0; j < sh[i].sh_size / sizeof(*sym); j++)
			if (sym[j].st_shndx != SHN_UNDEF && !strcmp(strtab + sym[j].st_name, name))
				return bias + sym[j].st_value;
	}
	return 0;
}

uintptr_t la_vdso_sigreturn(void)
{
	const uint8_t *vdso = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);

	return vdso ? image_symbol(vdso, "__vdso_rt_sigreturn") : 0;
}
