/* SPDX-License-Identifier: MIT */
/*
 * bus_stubs.c - ipk_bus (bus.h) in a build without libsystemd (meson
 * -Ddbus=disabled): every function of bus_functions.h, returning
 * -EOPNOTSUPP (NULL for pointers, nothing for void). In a build with sd-bus
 * it compiles to no code: it only checks that each line of the list matches
 * the header's prototype, so the list cannot drift from bus.h unseen.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <ipckit/bus.h>

#include "internal.h"

#ifdef IPK_HAVE_SDBUS

#define IPK_BUS_FUNCTION(type, name, params, result)                                \
	_Static_assert(__builtin_types_compatible_p(__typeof__(name), type params), \
		       #name ": its line in bus_functions.h does not match bus.h");
#include "bus_functions.h"
#undef IPK_BUS_FUNCTION

#else /* !IPK_HAVE_SDBUS */

/* The result of a call that reports its D-Bus error in @err: none. */
static int failed_call(struct ipk_bus_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
	return -EOPNOTSUPP;
}

/* Without sd-bus each function fails the same way, whatever its
 * arguments: none of them is read. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#define IPK_BUS_FUNCTION(type, name, params, result) \
	IPK_API type name params                     \
	{                                            \
		return result;                       \
	}
#include "bus_functions.h"
#undef IPK_BUS_FUNCTION

#endif /* IPK_HAVE_SDBUS */
