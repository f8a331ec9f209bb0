/* SPDX-License-Identifier: MIT */
/*
 * ipckit/ipckit.h - the whole public API of libipckit in one include.
 */
#ifndef IPCKIT_IPCKIT_H
#define IPCKIT_IPCKIT_H

#include "common.h"
#include "url.h"
#include "chan.h"
#include "mq.h"
#include "shm.h"
#include "ring.h"
#include "mpsc.h"
#include "svc.h"
#include "mutex.h"
#include "sem.h"
#include "flock.h"
#include "sig.h"
#include "notify.h"
#include "blob.h"
#include "loop.h"
#include "inspect.h"
#include "unix.h"
#include "fd.h"
#include "handoff.h"
#include "bus.h"

#endif /* IPCKIT_IPCKIT_H */
