/* SPDX-License-Identifier: MIT */
/*
 * common.c - version and error names.
 */
#include <string.h>

#include <ipckit/common.h>

#ifndef IPK_VERSION
#define IPK_VERSION "0.0.0"
#endif

IPK_API const char *ipk_version(void)
{
	return IPK_VERSION;
}

IPK_API const char *ipk_errname(int err)
{
	const char *name;

	if (err < 0)
		err = -err;
	name = strerrorname_np(err);
	return name ? name : "E?";
}
