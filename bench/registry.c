/* SPDX-License-Identifier: MIT */
/*
 * bench/registry.c - every row of every module in bench/modules.h, by index
 * and by name. Adding a module never touches this file.
 */
#include <string.h>

#include "bench.h"

static const struct bench_module *const modules[] = {
#define BENCH_MODULE(mod) &bench_module_##mod,
#include "modules.h"
#undef BENCH_MODULE
};

const struct bench_mech *bench_mech_at(size_t i)
{
	size_t m;

	for (m = 0; m < sizeof(modules) / sizeof(modules[0]); m++) {
		if (i < modules[m]->n)
			return &modules[m]->mechs[i];
		i -= modules[m]->n;
	}
	return NULL;
}

const struct bench_mech *bench_mech_find(const char *name)
{
	const struct bench_mech *m;
	size_t i;

	for (i = 0; (m = bench_mech_at(i)); i++)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}
