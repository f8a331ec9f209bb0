/* SPDX-License-Identifier: MIT */
/*
 * owner.c - may an end that creates a named object adopt the one it finds
 * already at the name? Callers fstat (or IPC_STAT) what they found and ask
 * here; they choose what to do with a refusal.
 */
#include <unistd.h>
#include <sys/stat.h>

#include "internal.h"

/* The bits that let someone besides the owner read or write. */
#define OTHERS_RW (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)

int ipk__owner_check(uid_t uid, mode_t mode, mode_t want)
{
	if (uid != geteuid())
		return -EPERM; /* its owner can read, write, chmod or remove it */
	if (mode & OTHERS_RW & ~want)
		return -EPERM; /* someone else may hold it open already */
	return 0;
}
