/* SPDX-License-Identifier: MIT */
/*
 * python/ipckit/_ipckit.c - the CPython extension behind `import ipckit`:
 * channels, the ring's publisher and subscriber, zero-copy views and
 * reservations, and ls(), over the public API of libipckit only.
 *
 * What it leaves to ipckit/__init__.py: URL options of rings, asyncio,
 * iteration sugar. Everything that moves a message is here.
 *
 * The GIL: a call first tries once with the GIL held (timeout 0), which
 * costs nothing when a message is already there; only when it would wait
 * does it release the GIL, and then it waits in slices of SLICE_NS so that
 * signal handlers (Ctrl-C) run and close() from another thread is noticed.
 * Copies of more than GIL_COPY bytes are made without the GIL.
 *
 * Lifetime: the C object is freed only when no call is in flight and no
 * memoryview exports its memory (a view of a ring message, a reservation):
 * close() marks the object closed and the last user frees it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <ipckit/ipckit.h>

#define SLICE_NS (100 * IPK_MSEC)     /* longest wait without looking at signals */
#define GIL_COPY ((size_t)64 * 1024)  /* larger copies release the GIL */
#define RBUF_INIT ((size_t)64 * 1024) /* first receive buffer; grows on demand */
#define BATCH_SLOT ((size_t)1024)     /* buffer of each message after a batch's first */
#define BATCH_MAX 4096u

static PyObject *StaleViewError;
/* The class of channels Listener.accept() makes: ipckit.Channel once the
 * package registered it (it adds asyncio), else this module's own. */
static PyTypeObject *accept_type;
static PyObject *PublisherDiedError;

/* ---- errors ---------------------------------------------------------- */

/* Raise the OSError subclass of -@err (TimeoutError, BrokenPipeError ...)
 * with the object's URL as filename and "strerror (ENAME)[; limit: hint]"
 * as its text, as the ipckit CLI prints it. */
static PyObject *raise_err(int err, PyObject *url, const char *hint)
{
	PyObject *type = PyExc_OSError, *msg, *exc;

	if (err < 0)
		err = -err;
	if (err == ESTALE)
		type = StaleViewError;
	else if (err == EOWNERDEAD)
		type = PublisherDiedError;
	if (hint)
		msg = PyUnicode_FromFormat("%s (%s); limit: %s", strerror(err), ipk_errname(err),
					   hint);
	else
		msg = PyUnicode_FromFormat("%s (%s)", strerror(err), ipk_errname(err));
	if (!msg)
		return NULL;
	exc = PyObject_CallFunction(type, "iOO", err, msg, url ? url : Py_None);
	Py_DECREF(msg);
	if (exc) {
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	return NULL;
}

static PyObject *raise_closed(void)
{
	PyErr_SetString(PyExc_ValueError, "I/O operation on closed ipckit object");
	return NULL;
}

/* ---- time ------------------------------------------------------------ */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

/* seconds (float or int, None = forever) -> ns (-1 = forever). */
static int timeout_arg(PyObject *o, int64_t *ret)
{
	double s;

	if (!o || o == Py_None) {
		*ret = IPK_FOREVER;
		return 0;
	}
	s = PyFloat_AsDouble(o);
	if (s == -1.0 && PyErr_Occurred())
		return -1;
	if (!(s >= 0)) {
		PyErr_SetString(PyExc_ValueError, "timeout must be >= 0 or None");
		return -1;
	}
	*ret = s > 9e9 ? IPK_FOREVER : (int64_t)(s * 1e9);
	return 0;
}

/* A wait cut into slices: next() gives the timeout of the next slice,
 * more() says whether time is left after a slice timed out. */
struct wait {
	int64_t timeout; /* as given: -1 forever, 0 once */
	int64_t deadline;
};

static void wait_init(struct wait *w, int64_t timeout)
{
	w->timeout = timeout;
	w->deadline = timeout > 0 ? now_ns() + timeout : 0;
}

static int64_t wait_next(const struct wait *w)
{
	int64_t left;

	if (w->timeout < 0)
		return SLICE_NS;
	if (w->timeout == 0)
		return 0;
	left = w->deadline - now_ns();
	if (left <= 0)
		return 0;
	return left < SLICE_NS ? left : SLICE_NS;
}

static int wait_more(const struct wait *w)
{
	return w->timeout < 0 || (w->timeout > 0 && now_ns() < w->deadline);
}

/* The result of a sliced wait that ran out: 0 means "try once" (EAGAIN). */
static int wait_err(const struct wait *w, int r)
{
	if ((r == -EAGAIN || r == -ETIMEDOUT) && w->timeout != 0)
		return -ETIMEDOUT;
	return r;
}

/* Acquire @l; wait for it without the GIL if another thread holds it. */
static void lock_take(PyThread_type_lock l)
{
	if (PyThread_acquire_lock(l, NOWAIT_LOCK))
		return;
	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(l, WAIT_LOCK);
	Py_END_ALLOW_THREADS;
}

/* A bytes object with a copy of @len bytes at @p; large copies without the GIL. */
static PyObject *bytes_copy(const void *p, size_t len)
{
	PyObject *b;

	if (len <= GIL_COPY)
		return PyBytes_FromStringAndSize(p, (Py_ssize_t)len);
	b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
	if (!b)
		return NULL;
	Py_BEGIN_ALLOW_THREADS;
	memcpy(PyBytes_AS_STRING(b), p, len);
	Py_END_ALLOW_THREADS;
	return b;
}

/* Grow a receive buffer to at least @len bytes. */
static int rbuf_grow(char **buf, size_t *cap, size_t len)
{
	char *p;

	if (*cap >= len)
		return 0;
	p = PyMem_RawRealloc(*buf, len);
	if (!p) {
		PyErr_NoMemory();
		return -1;
	}
	*buf = p;
	*cap = len;
	return 0;
}

/* ---- the objects' common part ----------------------------------------- */

/*
 * Each object counts the calls in flight without the GIL (users) and the
 * buffers exported from its memory (exports); both change only under the
 * GIL. close() sets closed and the C object is freed once both are 0.
 */
struct life {
	int users;
	int exports;
	int closed;
};

/* A memoryview target over memory an owner keeps mapped: views of ring
 * messages and publisher reservations. */
typedef struct {
	PyObject_HEAD PyObject *owner; /* keeps the mapping alive */
	struct life *life;             /* the owner's counts */
	void (*release)(PyObject *owner);
	void *p;
	Py_ssize_t len;
	int readonly;
	int nexp; /* buffers exported from this region now */
} RegionObject;

static int region_getbuffer(PyObject *o, Py_buffer *view, int flags)
{
	RegionObject *r = (RegionObject *)o;

	if (!r->p && r->len) {
		PyErr_SetString(PyExc_BufferError, "the region is gone");
		return -1;
	}
	if (PyBuffer_FillInfo(view, o, r->p, r->len, r->readonly, flags) < 0)
		return -1;
	r->life->exports++;
	r->nexp++;
	return 0;
}

static void region_releasebuffer(PyObject *o, Py_buffer *view)
{
	RegionObject *r = (RegionObject *)o;

	(void)view;
	r->life->exports--;
	r->nexp--;
	if (r->release)
		r->release(r->owner);
}

static void region_dealloc(PyObject *o)
{
	RegionObject *r = (RegionObject *)o;

	Py_XDECREF(r->owner);
	Py_TYPE(o)->tp_free(o);
}

static PyBufferProcs region_as_buffer = {
	.bf_getbuffer = region_getbuffer,
	.bf_releasebuffer = region_releasebuffer,
};

static PyTypeObject RegionType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipckit._Region",
	.tp_basicsize = sizeof(RegionObject),
	.tp_dealloc = region_dealloc,
	.tp_as_buffer = &region_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Memory of a ring that a memoryview shows (internal).",
};

/* A memoryview over @len bytes at @p that keeps @owner alive. */
static PyObject *region_view(PyObject *owner, struct life *life, void (*release)(PyObject *),
			     void *p, size_t len, int readonly)
{
	RegionObject *r = PyObject_New(RegionObject, &RegionType);
	PyObject *mv;

	if (!r)
		return NULL;
	Py_INCREF(owner);
	r->owner = owner;
	r->life = life;
	r->release = release;
	r->p = p;
	r->len = (Py_ssize_t)len;
	r->readonly = readonly;
	r->nexp = 0;
	mv = PyMemoryView_FromObject((PyObject *)r);
	Py_DECREF(r);
	return mv;
}

/* Release the memoryview @mv; 0, or -1 with BufferError if something
 * (a numpy array, another memoryview) still holds it. */
static int release_view(PyObject *mv)
{
	PyObject *r = PyObject_CallMethod(mv, "release", NULL);

	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

/* ---- Channel ----------------------------------------------------------- */

typedef struct {
	PyObject_HEAD ipk_chan *ch;
	PyObject *url;
	struct life life;
	PyThread_type_lock rlock, wlock; /* one receiver and one sender at a time */
	char *rbuf;
	size_t rcap;
	PyObject *weakrefs;
} ChannelObject;

static PyTypeObject ChannelType;

static void chan_free_now(ChannelObject *c)
{
	if (c->life.users || c->life.exports)
		return;
	ipk_chan_close(c->ch);
	c->ch = NULL;
	PyMem_RawFree(c->rbuf);
	c->rbuf = NULL;
	c->rcap = 0;
}

static int chan_locks(ChannelObject *c)
{
	c->rlock = PyThread_allocate_lock();
	c->wlock = PyThread_allocate_lock();
	if (!c->rlock || !c->wlock) {
		PyErr_NoMemory();
		return -1;
	}
	return 0;
}

static ChannelObject *chan_wrap(PyTypeObject *type, ipk_chan *ch, PyObject *url)
{
	ChannelObject *c = (ChannelObject *)type->tp_alloc(type, 0);

	if (!c) {
		ipk_chan_close(ch);
		return NULL;
	}
	c->ch = ch;
	Py_INCREF(url);
	c->url = url;
	if (chan_locks(c) < 0) {
		Py_DECREF(c);
		return NULL;
	}
	return c;
}

static unsigned chan_flags(int create, int excl, int keep, int nonblock, const char *dir)
{
	unsigned f = 0;

	if (create)
		f |= IPK_CHAN_CREATE;
	if (excl)
		f |= IPK_CHAN_EXCL | IPK_CHAN_CREATE;
	if (keep)
		f |= IPK_CHAN_KEEP;
	if (nonblock)
		f |= IPK_CHAN_NONBLOCK;
	if (dir && !strcmp(dir, "r"))
		f |= IPK_CHAN_RDONLY;
	if (dir && !strcmp(dir, "w"))
		f |= IPK_CHAN_WRONLY;
	return f;
}

/* An open that failed: a malformed URL says which part; a refused name
 * says what is there and whose; a kernel limit is named. */
static PyObject *raise_open(int err, PyObject *url, const char *u)
{
	size_t where = 0;
	const char *why = NULL;
	uid_t uid;
	mode_t mode;

	if (err == -EINVAL && ipk_url_check(u, &where, &why) < 0 && why) {
		PyErr_Format(PyExc_ValueError, "%s: %s (at offset %zu)", u, why, where);
		return NULL;
	}
	if ((err == -EPERM || err == -EEXIST || err == -EPROTO || err == -EMEDIUMTYPE) &&
	    ipk_chan_name_owner(u, &uid, &mode) == 0) {
		char hint[128];

		snprintf(hint, sizeof(hint), "something is there, owned by uid %u, mode %04o",
			 (unsigned)uid, (unsigned)(mode & 07777));
		PyObject *msg =
			PyUnicode_FromFormat("%s (%s): %s", strerror(-err), ipk_errname(err), hint);
		PyObject *exc =
			msg ? PyObject_CallFunction(PyExc_OSError, "iOO", -err, msg, url) : NULL;

		Py_XDECREF(msg);
		if (exc) {
			PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
			Py_DECREF(exc);
		}
		return NULL;
	}
	return raise_err(err, url, ipk_mq_limit_hint(err, u, IPK_MQ_OP_OPEN));
}

static int chan_init(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "url",       "create",   "excl",    "keep",
				  "direction", "nonblock", "timeout", NULL };
	PyObject *url, *tmo = Py_None;
	int create = 0, excl = 0, keep = 0, nonblock = 0, r;
	const char *dir = NULL, *u;
	int64_t timeout;
	ipk_chan *ch = NULL;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$pppzpO:Channel", kwlist, &url, &create,
					 &excl, &keep, &dir, &nonblock, &tmo))
		return -1;
	if (self->ch || self->url) {
		PyErr_SetString(PyExc_RuntimeError, "Channel is already open");
		return -1;
	}
	if (dir && strcmp(dir, "r") && strcmp(dir, "w") && strcmp(dir, "rw")) {
		PyErr_SetString(PyExc_ValueError, "direction must be 'r', 'w' or 'rw'");
		return -1;
	}
	if (timeout_arg(tmo, &timeout) < 0)
		return -1;
	u = PyUnicode_AsUTF8(url);
	if (!u)
		return -1;
	if (!strncmp(u, "pipe:", 5)) {
		PyErr_SetString(PyExc_ValueError, "pipe: channels come in pairs: Channel.pipe()");
		return -1;
	}
	/* One call for the whole timeout, not slices: a listening end that
	 * stopped between slices would refuse a peer arriving in between. */
	Py_BEGIN_ALLOW_THREADS;
	r = ipk_chan_open(u, chan_flags(create, excl, keep, nonblock, dir), timeout, &ch);
	Py_END_ALLOW_THREADS;
	if (r < 0) {
		raise_open(r, url, u);
		return -1;
	}
	self->ch = ch;
	Py_INCREF(url);
	self->url = url;
	return chan_locks(self);
}

static void chan_dealloc(ChannelObject *self)
{
	if (self->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)self);
	self->life.users = 0;
	self->life.exports = 0;
	chan_free_now(self);
	if (self->rlock)
		PyThread_free_lock(self->rlock);
	if (self->wlock)
		PyThread_free_lock(self->wlock);
	Py_XDECREF(self->url);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *chan_pipe(PyObject *cls, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "url", "nonblock", NULL };
	PyObject *url = NULL, *rd = NULL, *wr = NULL, *ret = NULL;
	ipk_chan *a = NULL, *b = NULL;
	int nonblock = 0, r;
	const char *u;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|U$p:pipe", kwlist, &url, &nonblock))
		return NULL;
	if (url)
		Py_INCREF(url);
	else if (!(url = PyUnicode_FromString("pipe:")))
		return NULL;
	if (!(u = PyUnicode_AsUTF8(url)))
		goto out;
	r = ipk_chan_pipe(u, nonblock ? IPK_CHAN_NONBLOCK : 0, &a, &b);
	if (r < 0) {
		raise_open(r, url, u);
		goto out;
	}
	rd = (PyObject *)chan_wrap((PyTypeObject *)cls, a, url);
	if (!rd) {
		ipk_chan_close(b);
		goto out;
	}
	wr = (PyObject *)chan_wrap((PyTypeObject *)cls, b, url);
	if (wr)
		ret = PyTuple_Pack(2, rd, wr);
out:
	Py_XDECREF(rd);
	Py_XDECREF(wr);
	Py_DECREF(url);
	return ret;
}

static PyObject *chan_close(ChannelObject *self, PyObject *unused)
{
	(void)unused;
	self->life.closed = 1;
	chan_free_now(self);
	Py_RETURN_NONE;
}

#define CHAN_LIVE(self)                                 \
	do {                                            \
		if ((self)->life.closed || !(self)->ch) \
			return raise_closed();          \
	} while (0)

/*
 * One message from @p via the chan API, waiting up to @timeout, then (if
 * the caller may wait) until the rest of a frame a deadline cut is out
 * too: a send that returns has handed the whole message to the kernel.
 * The buffer is a Py_buffer the caller holds, so the GIL may go.
 * Returns 0, -errno, or INT_MIN with a Python error set.
 */
static int chan_send_buf(ChannelObject *self, const void *p, size_t len, long tag, int64_t timeout)
{
	struct wait w;
	int r, flushing = 0;

	r = tag ? ipk_chan_send_tag(self->ch, p, len, tag, 0) : ipk_chan_send(self->ch, p, len, 0);
	if (r == 0 && timeout != 0) {
		flushing = 1;
		r = ipk_chan_flush(self->ch, 0);
	}
	if (r != -EAGAIN || timeout == 0)
		return r;
	wait_init(&w, timeout);
	self->life.users++;
	for (;;) {
		int64_t t = wait_next(&w);

		Py_BEGIN_ALLOW_THREADS;
		if (flushing)
			r = ipk_chan_flush(self->ch, t);
		else if (tag)
			r = ipk_chan_send_tag(self->ch, p, len, tag, t);
		else
			r = ipk_chan_send(self->ch, p, len, t);
		if (r == 0 && !flushing) {
			flushing = 1;
			r = ipk_chan_flush(self->ch, 0);
		}
		Py_END_ALLOW_THREADS;
		if ((r != -EAGAIN && r != -ETIMEDOUT) || !wait_more(&w))
			break;
		if (self->life.closed) {
			r = -EBADF;
			break;
		}
		if (PyErr_CheckSignals() < 0) {
			r = INT_MIN;
			break;
		}
	}
	self->life.users--;
	if (self->life.closed)
		chan_free_now(self);
	return r == INT_MIN ? r : wait_err(&w, r);
}

static PyObject *chan_send(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "data", "tag", "timeout", NULL };
	PyObject *tmo = Py_None;
	Py_buffer b;
	long tag = 0;
	int64_t timeout;
	int r;

	CHAN_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|$lO:send", kwlist, &b, &tag, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0) {
		PyBuffer_Release(&b);
		return NULL;
	}
	lock_take(self->wlock);
	r = chan_send_buf(self, b.buf, (size_t)b.len, tag, timeout);
	PyThread_release_lock(self->wlock);
	PyBuffer_Release(&b);
	if (r == INT_MIN)
		return NULL;
	if (r < 0)
		return raise_err(r, self->url,
				 ipk_mq_limit_hint(r, PyUnicode_AsUTF8(self->url), IPK_MQ_OP_SEND));
	Py_RETURN_NONE;
}

/* Receive into @p (@len bytes), sliced. Returns the length, -errno, or
 * INT_MIN with a Python error set. */
static ssize_t chan_recv_buf(ChannelObject *self, void *p, size_t len, long select, long *tag,
			     int64_t timeout, int first_with_gil)
{
	struct wait w;
	ssize_t r = -EAGAIN;

	if (first_with_gil) {
		r = ipk_chan_recv_tag(self->ch, p, len, select, tag, 0);
		if (r != -EAGAIN || timeout == 0)
			return r;
	}
	wait_init(&w, timeout);
	self->life.users++;
	for (;;) {
		int64_t t = wait_next(&w);

		Py_BEGIN_ALLOW_THREADS;
		r = ipk_chan_recv_tag(self->ch, p, len, select, tag, t);
		Py_END_ALLOW_THREADS;
		if ((r != -EAGAIN && r != -ETIMEDOUT) || !wait_more(&w))
			break;
		if (self->life.closed) {
			r = -EBADF;
			break;
		}
		if (PyErr_CheckSignals() < 0) {
			r = INT_MIN;
			break;
		}
	}
	self->life.users--;
	if (self->life.closed)
		chan_free_now(self);
	return r == INT_MIN ? r : wait_err(&w, (int)r);
}

static PyObject *chan_raise_recv(ChannelObject *self, ssize_t r)
{
	if (r == INT_MIN)
		return NULL;
	return raise_err((int)r, self->url,
			 ipk_mq_limit_hint((int)r, PyUnicode_AsUTF8(self->url), IPK_MQ_OP_RECV));
}

static PyObject *chan_recv_common(ChannelObject *self, PyObject *args, PyObject *kw, int with_tag)
{
	static char *kwlist[] = { "timeout", "select", NULL };
	PyObject *tmo = Py_None, *ret = NULL;
	long select = 0, tag = 0;
	int64_t timeout;
	ssize_t r;

	CHAN_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$l:recv", kwlist, &tmo, &select))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0)
		return NULL;
	lock_take(self->rlock);
	if (!self->rbuf) {
		size_t max = ipk_chan_max_msg(self->ch);

		if (rbuf_grow(&self->rbuf, &self->rcap, max < RBUF_INIT ? max + 1 : RBUF_INIT) < 0)
			goto out;
	}
	for (;;) {
		r = chan_recv_buf(self, self->rbuf, self->rcap, select, &tag, timeout, 1);
		if (r != -EMSGSIZE || self->life.closed)
			break;
		/* nothing consumed: grow to what it needs and take it */
		if (rbuf_grow(&self->rbuf, &self->rcap, ipk_chan_next_len(self->ch)) < 0)
			goto out;
	}
	if (r < 0) {
		chan_raise_recv(self, r);
		goto out;
	}
	ret = bytes_copy(self->rbuf, (size_t)r);
	if (ret && with_tag) {
		PyObject *t = Py_BuildValue("(Nl)", ret, tag);

		ret = t;
	}
out:
	PyThread_release_lock(self->rlock);
	return ret;
}

static PyObject *chan_recv(ChannelObject *self, PyObject *args, PyObject *kw)
{
	return chan_recv_common(self, args, kw, 0);
}

static PyObject *chan_recv_tag(ChannelObject *self, PyObject *args, PyObject *kw)
{
	return chan_recv_common(self, args, kw, 1);
}

static PyObject *chan_recv_into(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "buffer", "timeout", NULL };
	PyObject *tmo = Py_None;
	Py_buffer b;
	int64_t timeout;
	ssize_t r;
	long tag;

	CHAN_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "w*|O:recv_into", kwlist, &b, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0) {
		PyBuffer_Release(&b);
		return NULL;
	}
	lock_take(self->rlock);
	r = chan_recv_buf(self, b.buf, (size_t)b.len, 0, &tag, timeout, (size_t)b.len <= GIL_COPY);
	PyThread_release_lock(self->rlock);
	PyBuffer_Release(&b);
	if (r < 0)
		return chan_raise_recv(self, r);
	return PyLong_FromSsize_t(r);
}

static PyObject *chan_fileno(ChannelObject *self, PyObject *unused)
{
	int fd;

	(void)unused;
	CHAN_LIVE(self);
	fd = ipk_chan_fd(self->ch);
	if (fd < 0)
		return raise_err(fd, self->url, NULL);
	return PyLong_FromLong(fd);
}

static PyObject *chan_flush(ChannelObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *tmo = Py_None;
	int64_t timeout;
	int r;

	CHAN_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:flush", kwlist, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0)
		return NULL;
	lock_take(self->wlock);
	self->life.users++;
	Py_BEGIN_ALLOW_THREADS;
	r = ipk_chan_flush(self->ch, timeout);
	Py_END_ALLOW_THREADS;
	self->life.users--;
	PyThread_release_lock(self->wlock);
	if (self->life.closed)
		chan_free_now(self);
	if (r < 0)
		return raise_err(r, self->url, NULL);
	Py_RETURN_NONE;
}

static PyObject *chan_enter(PyObject *self, PyObject *unused)
{
	(void)unused;
	if (((ChannelObject *)self)->life.closed || !((ChannelObject *)self)->ch)
		return raise_closed();
	Py_INCREF(self);
	return self;
}

static PyObject *chan_exit(ChannelObject *self, PyObject *args)
{
	(void)args;
	return chan_close(self, NULL);
}

static PyObject *chan_get_lost(ChannelObject *self, void *closure)
{
	(void)closure;
	CHAN_LIVE(self);
	return PyLong_FromUnsignedLongLong(ipk_chan_lost(self->ch));
}

static PyObject *chan_get_skipped(ChannelObject *self, void *closure)
{
	(void)closure;
	CHAN_LIVE(self);
	return PyLong_FromUnsignedLongLong(ipk_chan_skipped(self->ch));
}

static PyObject *chan_get_max_msg(ChannelObject *self, void *closure)
{
	(void)closure;
	CHAN_LIVE(self);
	return PyLong_FromSize_t(ipk_chan_max_msg(self->ch));
}

static PyObject *chan_get_closed(ChannelObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->life.closed || !self->ch);
}

static PyObject *chan_subscribers(ChannelObject *self, PyObject *unused)
{
	int r;

	(void)unused;
	CHAN_LIVE(self);
	r = ipk_chan_subscribers(self->ch);
	if (r < 0)
		return raise_err(r, self->url, NULL);
	return PyLong_FromLong(r);
}

static PyObject *chan_repr(ChannelObject *self)
{
	return PyUnicode_FromFormat("<%s %R%s>", Py_TYPE(self)->tp_name,
				    self->url ? self->url : Py_None,
				    self->life.closed || !self->ch ? " closed" : "");
}

static PyMethodDef chan_methods[] = {
	{ "send", (PyCFunction)(void (*)(void))chan_send, METH_VARARGS | METH_KEYWORDS,
	  "send(data, *, tag=0, timeout=None)\n--\n\n"
	  "Send one whole message: any object with the buffer protocol.\n"
	  "tag is the priority on mq: (0..32767) or the type on sysvmq: (>= 1).\n"
	  "timeout in seconds: None waits for room forever, 0 tries once\n"
	  "(BlockingIOError). Raises TimeoutError, BrokenPipeError (peer gone),\n"
	  "OSError(EMSGSIZE) for a message over max_msg (nothing sent)." },
	{ "recv", (PyCFunction)(void (*)(void))chan_recv, METH_VARARGS | METH_KEYWORDS,
	  "recv(timeout=None, *, select=0)\n--\n\n"
	  "Receive one whole message as bytes. select picks a System V type\n"
	  "(msgrcv rules). Raises TimeoutError, BlockingIOError (timeout 0),\n"
	  "BrokenPipeError when the peer closed, ConnectionResetError." },
	{ "recv_tag", (PyCFunction)(void (*)(void))chan_recv_tag, METH_VARARGS | METH_KEYWORDS,
	  "recv_tag(timeout=None, *, select=0)\n--\n\n"
	  "As recv(), returning (bytes, tag): the mq: priority or sysvmq: type." },
	{ "recv_into", (PyCFunction)(void (*)(void))chan_recv_into, METH_VARARGS | METH_KEYWORDS,
	  "recv_into(buffer, timeout=None)\n--\n\n"
	  "Receive one message into a writable buffer; returns its length.\n"
	  "OSError(EMSGSIZE) if it does not fit (nothing consumed)." },
	{ "fileno", (PyCFunction)chan_fileno, METH_NOARGS,
	  "fileno()\n--\n\n"
	  "The descriptor to poll: readable when recv() may make progress.\n"
	  "Owned by the channel." },
	{ "flush", (PyCFunction)(void (*)(void))chan_flush, METH_VARARGS | METH_KEYWORDS,
	  "flush(timeout=None)\n--\n\nWrite out the rest of a frame a send's timeout cut." },
	{ "subscribers", (PyCFunction)chan_subscribers, METH_NOARGS,
	  "subscribers()\n--\n\nSubscribers attached to this shm: publisher now." },
	{ "close", (PyCFunction)chan_close, METH_NOARGS,
	  "close()\n--\n\nClose the channel (removes what this end created unless keep)." },
	{ "__enter__", chan_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)chan_exit, METH_VARARGS, NULL },
	{ "pipe", (PyCFunction)(void (*)(void))chan_pipe, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
	  "pipe(url='pipe:', *, nonblock=False)\n--\n\n"
	  "An anonymous pipe as a pair of channels (reader, writer), for fork()." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef chan_getset[] = {
	{ "lost", (getter)chan_get_lost, NULL, "Messages an shm: subscriber lost so far.", NULL },
	{ "skipped", (getter)chan_get_skipped, NULL, "Messages before an shm: subscriber's start.",
	  NULL },
	{ "max_msg", (getter)chan_get_max_msg, NULL, "The largest message of this channel.", NULL },
	{ "closed", (getter)chan_get_closed, NULL, "True once closed.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMemberDef chan_members[] = {
	{ "url", T_OBJECT, offsetof(ChannelObject, url), READONLY, "The URL it was opened with." },
	{ NULL, 0, 0, 0, NULL },
};

static PyTypeObject ChannelType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipckit._ipckit.Channel",
	.tp_basicsize = sizeof(ChannelObject),
	.tp_dealloc = (destructor)chan_dealloc,
	.tp_repr = (reprfunc)chan_repr,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Channel(url, *, create=False, excl=False, keep=False, direction='rw',\n"
		  "        nonblock=False, timeout=None)\n--\n\n"
		  "One end of a message channel, opened by URL: fifo:, unix:, unix+dgram:,\n"
		  "unix+seqpacket:, tcp:, mq:, sysvmq:, shm: (see ipk_chan(3)); pipe: through\n"
		  "Channel.pipe(). create makes the object or listens (server side);\n"
		  "without it the channel opens an existing one or connects, waiting up to\n"
		  "timeout seconds (None: forever). direction 'r' or 'w' for fifo:.\n"
		  "A context manager; messages are whole bytes objects.",
	.tp_weaklistoffset = offsetof(ChannelObject, weakrefs),
	.tp_methods = chan_methods,
	.tp_members = chan_members,
	.tp_getset = chan_getset,
	.tp_init = (initproc)chan_init,
	.tp_new = PyType_GenericNew,
};

/* ---- Listener ------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD ipk_listener *l;
	PyObject *url;
	int users, closed;
} ListenerObject;

static void listener_free_now(ListenerObject *self)
{
	if (self->users)
		return;
	ipk_listener_close(self->l);
	self->l = NULL;
}

static int listener_init(ListenerObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "url", "excl", "keep", NULL };
	PyObject *url;
	int excl = 0, keep = 0, r;
	const char *u;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$pp:Listener", kwlist, &url, &excl, &keep))
		return -1;
	if (self->l) {
		PyErr_SetString(PyExc_RuntimeError, "Listener is already open");
		return -1;
	}
	if (!(u = PyUnicode_AsUTF8(url)))
		return -1;
	r = ipk_listen(u, (excl ? IPK_CHAN_EXCL : 0) | (keep ? IPK_CHAN_KEEP : 0), &self->l);
	if (r < 0) {
		raise_open(r, url, u);
		return -1;
	}
	Py_INCREF(url);
	self->url = url;
	return 0;
}

static void listener_dealloc(ListenerObject *self)
{
	self->users = 0;
	listener_free_now(self);
	Py_XDECREF(self->url);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *listener_accept(ListenerObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *tmo = Py_None, *url;
	int64_t timeout;
	ipk_chan *ch = NULL;
	struct wait w;
	char buf[512];
	int r;

	if (self->closed || !self->l)
		return raise_closed();
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:accept", kwlist, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0)
		return NULL;
	wait_init(&w, timeout);
	self->users++;
	for (;;) {
		int64_t t = wait_next(&w);

		Py_BEGIN_ALLOW_THREADS;
		r = ipk_accept(self->l, t, &ch);
		Py_END_ALLOW_THREADS;
		if ((r != -EAGAIN && r != -ETIMEDOUT) || !wait_more(&w))
			break;
		if (self->closed) {
			r = -EBADF;
			break;
		}
		if (PyErr_CheckSignals() < 0) {
			r = INT_MIN;
			break;
		}
	}
	self->users--;
	if (self->closed)
		listener_free_now(self);
	if (r == INT_MIN)
		return NULL;
	if (r < 0)
		return raise_err(wait_err(&w, r), self->url, NULL);
	if (self->l && ipk_listener_url(self->l, buf, sizeof(buf)) >= 0)
		url = PyUnicode_FromString(buf);
	else
		url = (Py_INCREF(self->url), self->url);
	if (!url) {
		ipk_chan_close(ch);
		return NULL;
	}
	PyObject *c = (PyObject *)chan_wrap(accept_type ? accept_type : &ChannelType, ch, url);

	Py_DECREF(url);
	return c;
}

static PyObject *listener_fileno(ListenerObject *self, PyObject *unused)
{
	(void)unused;
	if (self->closed || !self->l)
		return raise_closed();
	return PyLong_FromLong(ipk_listener_fd(self->l));
}

static PyObject *listener_get_address(ListenerObject *self, void *closure)
{
	char buf[512];

	(void)closure;
	if (self->closed || !self->l)
		return raise_closed();
	if (ipk_listener_url(self->l, buf, sizeof(buf)) < 0)
		return raise_err(ENOSPC, self->url, NULL);
	return PyUnicode_FromString(buf);
}

static PyObject *listener_close(ListenerObject *self, PyObject *unused)
{
	(void)unused;
	self->closed = 1;
	listener_free_now(self);
	Py_RETURN_NONE;
}

static PyObject *listener_exit(ListenerObject *self, PyObject *args)
{
	(void)args;
	return listener_close(self, NULL);
}

static PyObject *listener_enter(PyObject *self, PyObject *unused)
{
	(void)unused;
	if (((ListenerObject *)self)->closed || !((ListenerObject *)self)->l)
		return raise_closed();
	Py_INCREF(self);
	return self;
}

static PyMethodDef listener_methods[] = {
	{ "accept", (PyCFunction)(void (*)(void))listener_accept, METH_VARARGS | METH_KEYWORDS,
	  "accept(timeout=None)\n--\n\nWait for one peer and return it as a Channel." },
	{ "fileno", (PyCFunction)listener_fileno, METH_NOARGS,
	  "fileno()\n--\n\nReadable when a peer waits to be accepted." },
	{ "close", (PyCFunction)listener_close, METH_NOARGS,
	  "close()\n--\n\nStop listening; accepted channels stay open." },
	{ "__enter__", listener_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)listener_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef listener_getset[] = {
	{ "address", (getter)listener_get_address, NULL,
	  "The URL a peer connects to (tcp:HOST:0 tells the chosen port).", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMemberDef listener_members[] = {
	{ "url", T_OBJECT, offsetof(ListenerObject, url), READONLY, "The URL it listens on." },
	{ NULL, 0, 0, 0, NULL },
};

static PyTypeObject ListenerType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipckit._ipckit.Listener",
	.tp_basicsize = sizeof(ListenerObject),
	.tp_dealloc = (destructor)listener_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Listener(url, *, excl=False, keep=False)\n--\n\n"
		  "Listen for many peers on unix:, unix+seqpacket: or tcp: (ipk_listen);\n"
		  "accept() returns each as a Channel.",
	.tp_methods = listener_methods,
	.tp_getset = listener_getset,
	.tp_members = listener_members,
	.tp_init = (initproc)listener_init,
	.tp_new = PyType_GenericNew,
};

/* ---- Publisher ------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD ipk_ring *r;
	PyObject *name;
	struct life life;
	PyThread_type_lock lock;
	PyObject *reservation; /* the memoryview of reserve(), until commit() */
	RegionObject *resv;    /* what it shows: its exports must be gone at commit() */
	size_t reserved;
	int queue;
} PublisherObject;

static void pub_free_now(PublisherObject *p)
{
	if (p->life.users || p->life.exports)
		return;
	ipk_ring_close(p->r);
	p->r = NULL;
}

static void pub_region_released(PyObject *owner)
{
	PublisherObject *p = (PublisherObject *)owner;

	if (p->life.closed)
		pub_free_now(p);
}

#define PUB_LIVE(self)                                 \
	do {                                           \
		if ((self)->life.closed || !(self)->r) \
			return raise_closed();         \
	} while (0)

static int pub_init(PublisherObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "name", "capacity", "max_msg", "queue",
				  "excl", "keep",     "mode",    NULL };
	PyObject *name;
	unsigned long long capacity = 0;
	unsigned int max_msg = 0, mode = 0;
	int queue = 0, excl = 0, keep = 0, r;
	struct ipk_ring_opts o;
	const char *n = NULL;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$KIpppI:Publisher", kwlist, &name, &capacity,
					 &max_msg, &queue, &excl, &keep, &mode))
		return -1;
	if (self->r) {
		PyErr_SetString(PyExc_RuntimeError, "Publisher is already open");
		return -1;
	}
	if (name != Py_None && !(n = PyUnicode_AsUTF8(name)))
		return -1;
	memset(&o, 0, sizeof(o));
	o.capacity = capacity;
	o.max_msg = max_msg;
	o.mode = (mode_t)mode;
	o.flags = (queue ? IPK_RING_QUEUE : 0) | (excl ? IPK_RING_EXCL : 0) |
		  (keep ? IPK_RING_KEEP : 0);
	Py_BEGIN_ALLOW_THREADS;
	r = ipk_ring_create(n, &o, &self->r);
	Py_END_ALLOW_THREADS;
	if (r < 0) {
		raise_err(r, name, ipk_shm_limit_hint(r, n ? IPK_SHM_POSIX : IPK_SHM_MEMFD, 0));
		return -1;
	}
	Py_INCREF(name);
	self->name = name;
	self->queue = queue;
	self->lock = PyThread_allocate_lock();
	if (!self->lock) {
		PyErr_NoMemory();
		return -1;
	}
	return 0;
}

static void pub_dealloc(PublisherObject *self)
{
	if (self->reservation && release_view(self->reservation) < 0)
		PyErr_Clear();
	Py_CLEAR(self->reservation);
	Py_CLEAR(self->resv);
	self->life.users = 0;
	self->life.exports = 0;
	pub_free_now(self);
	if (self->lock)
		PyThread_free_lock(self->lock);
	Py_XDECREF(self->name);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The end of a reservation: its memoryview is released and nothing made
 * from it may still write into the ring, or BufferError. */
static int pub_drop_reservation(PublisherObject *self)
{
	if (!self->resv)
		return 0;
	if (self->reservation) {
		PyMemoryViewObject *m = (PyMemoryViewObject *)self->reservation;

		/* nothing taken from it, and no other memoryview on its buffer */
		if (m->exports > 0 || m->mbuf->exports > 1 || release_view(self->reservation) < 0)
			goto busy;
		Py_CLEAR(self->reservation);
	}
	if (self->resv->nexp > 0)
		goto busy;
	Py_CLEAR(self->resv);
	return 0;
busy:
	PyErr_Clear();
	PyErr_SetString(PyExc_BufferError, "the reservation is still held: release the "
					   "memoryviews and arrays made from it first");
	return -1;
}

static PyObject *pub_close(PublisherObject *self, PyObject *unused)
{
	(void)unused;
	if (pub_drop_reservation(self) < 0)
		return NULL;
	self->life.closed = 1;
	pub_free_now(self);
	Py_RETURN_NONE;
}

static PyObject *pub_publish(PublisherObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "data", "timeout", NULL };
	PyObject *tmo = Py_None;
	Py_buffer b;
	int64_t timeout;
	int r;

	PUB_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|O:publish", kwlist, &b, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0) {
		PyBuffer_Release(&b);
		return NULL;
	}
	lock_take(self->lock);
	if ((size_t)b.len <= GIL_COPY) {
		r = ipk_ring_publish(self->r, b.buf, (size_t)b.len);
	} else {
		Py_BEGIN_ALLOW_THREADS;
		r = ipk_ring_publish(self->r, b.buf, (size_t)b.len);
		Py_END_ALLOW_THREADS;
	}
	if (r == -EAGAIN && self->queue && timeout != 0) {
		struct wait w;

		wait_init(&w, timeout);
		self->life.users++;
		for (;;) {
			int64_t t = wait_next(&w);

			Py_BEGIN_ALLOW_THREADS;
			r = ipk_ring_publish_wait(self->r, b.buf, (size_t)b.len, t);
			Py_END_ALLOW_THREADS;
			if ((r != -EAGAIN && r != -ETIMEDOUT) || !wait_more(&w))
				break;
			if (self->life.closed) {
				r = -EBADF;
				break;
			}
			if (PyErr_CheckSignals() < 0) {
				r = INT_MIN;
				break;
			}
		}
		self->life.users--;
		r = r == INT_MIN ? r : wait_err(&w, r);
	}
	PyThread_release_lock(self->lock);
	PyBuffer_Release(&b);
	if (self->life.closed)
		pub_free_now(self);
	if (r == INT_MIN)
		return NULL;
	if (r < 0)
		return raise_err(r, self->name, NULL);
	Py_RETURN_NONE;
}

#define PUB_CHUNK 256

/* Publish the buffers of @items[0..n), committed together. */
static int pub_batch_chunk(PublisherObject *self, PyObject **items, Py_ssize_t n, int *sent)
{
	struct ipk_msg msgs[PUB_CHUNK];
	Py_buffer bufs[PUB_CHUNK];
	Py_ssize_t i, nb = 0;
	int r = 0;

	for (i = 0; i < n; i++) {
		PyObject *o = items[i];

		if (PyBytes_CheckExact(o)) {
			msgs[i].buf = PyBytes_AS_STRING(o);
			msgs[i].len = (size_t)PyBytes_GET_SIZE(o);
			continue;
		}
		if (PyObject_GetBuffer(o, &bufs[nb], PyBUF_SIMPLE) < 0) {
			r = INT_MIN;
			goto out;
		}
		msgs[i].buf = bufs[nb].buf;
		msgs[i].len = (size_t)bufs[nb].len;
		nb++;
	}
	r = ipk_ring_publish_batch(self->r, msgs, (unsigned)n);
	if (r > 0)
		*sent += r;
out:
	while (nb > 0)
		PyBuffer_Release(&bufs[--nb]);
	return r;
}

static PyObject *pub_publish_batch(PublisherObject *self, PyObject *arg)
{
	PyObject *seq, **items;
	Py_ssize_t n, i;
	int sent = 0, r = 0;

	PUB_LIVE(self);
	seq = PySequence_Fast(arg, "publish_batch() takes an iterable of buffers");
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	items = PySequence_Fast_ITEMS(seq);
	lock_take(self->lock);
	for (i = 0; i < n; i += PUB_CHUNK) {
		Py_ssize_t k = n - i < PUB_CHUNK ? n - i : PUB_CHUNK;

		r = pub_batch_chunk(self, items + i, k, &sent);
		if (r < 0 || r < k)
			break;
	}
	PyThread_release_lock(self->lock);
	Py_DECREF(seq);
	if (r == INT_MIN)
		return NULL;
	if (r < 0 && sent == 0)
		return raise_err(r, self->name, NULL);
	return PyLong_FromLong(sent);
}

static PyObject *pub_reserve(PublisherObject *self, PyObject *arg)
{
	Py_ssize_t len = PyLong_AsSsize_t(arg);
	void *p;
	int r;

	PUB_LIVE(self);
	if (len < 0) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_ValueError, "reserve() needs a size >= 0");
		return NULL;
	}
	if (pub_drop_reservation(self) < 0)
		return NULL;
	r = ipk_ring_reserve(self->r, (size_t)len, &p);
	if (r < 0)
		return raise_err(r, self->name, NULL);
	self->reservation =
		region_view((PyObject *)self, &self->life, pub_region_released, p, (size_t)len, 0);
	if (!self->reservation)
		return NULL;
	self->resv = (RegionObject *)PyMemoryView_GET_BASE(self->reservation);
	Py_INCREF(self->resv);
	self->reserved = (size_t)len;
	Py_INCREF(self->reservation);
	return self->reservation;
}

static PyObject *pub_commit(PublisherObject *self, PyObject *args)
{
	Py_ssize_t len = -1;
	int r;

	PUB_LIVE(self);
	if (!PyArg_ParseTuple(args, "|n:commit", &len))
		return NULL;
	if (!self->resv) {
		PyErr_SetString(PyExc_ValueError, "commit() without reserve()");
		return NULL;
	}
	if (len < 0)
		len = (Py_ssize_t)self->reserved;
	if ((size_t)len > self->reserved) {
		PyErr_Format(PyExc_ValueError, "commit(%zd) is more than the %zu bytes reserved",
			     len, self->reserved);
		return NULL;
	}
	if (pub_drop_reservation(self) < 0)
		return NULL;
	r = ipk_ring_commit(self->r, (size_t)len);
	if (r < 0)
		return raise_err(r, self->name, NULL);
	Py_RETURN_NONE;
}

static PyObject *pub_subscribers(PublisherObject *self, PyObject *unused)
{
	int r;

	(void)unused;
	PUB_LIVE(self);
	r = ipk_ring_subscribers(self->r);
	if (r < 0)
		return raise_err(r, self->name, NULL);
	return PyLong_FromLong(r);
}

static PyObject *pub_stats(PublisherObject *self, PyObject *unused)
{
	struct ipk_ring_stats st;

	(void)unused;
	PUB_LIVE(self);
	ipk_ring_stats(self->r, &st);
	return Py_BuildValue("{sKsKsKsKsK}", "published", (unsigned long long)st.published, "wakes",
			     (unsigned long long)st.wakes, "epoch", (unsigned long long)st.epoch,
			     "max_msg", (unsigned long long)st.max_msg, "capacity",
			     (unsigned long long)st.capacity);
}

static PyObject *pub_fds(PublisherObject *self, PyObject *unused)
{
	int rf, bf;

	(void)unused;
	PUB_LIVE(self);
	ipk_ring_fds(self->r, &rf, &bf);
	return Py_BuildValue("(ii)", rf, bf);
}

static PyObject *pub_enter(PyObject *self, PyObject *unused)
{
	(void)unused;
	if (((PublisherObject *)self)->life.closed || !((PublisherObject *)self)->r)
		return raise_closed();
	Py_INCREF(self);
	return self;
}

static PyObject *pub_exit(PublisherObject *self, PyObject *args)
{
	(void)args;
	return pub_close(self, NULL);
}

static PyObject *pub_get_max_msg(PublisherObject *self, void *closure)
{
	struct ipk_ring_stats st;

	(void)closure;
	PUB_LIVE(self);
	ipk_ring_stats(self->r, &st);
	return PyLong_FromUnsignedLongLong(st.max_msg);
}

static PyObject *pub_get_closed(PublisherObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->life.closed || !self->r);
}

static PyMethodDef pub_methods[] = {
	{ "publish", (PyCFunction)(void (*)(void))pub_publish, METH_VARARGS | METH_KEYWORDS,
	  "publish(data, timeout=None)\n--\n\n"
	  "Copy one message (any buffer) into the ring. A ring never waits: the\n"
	  "oldest messages are overwritten. A queue waits up to timeout for room\n"
	  "(0: BlockingIOError when full). OSError(EMSGSIZE) over max_msg." },
	{ "publish_batch", (PyCFunction)pub_publish_batch, METH_O,
	  "publish_batch(iterable)\n--\n\n"
	  "Publish many messages, committed together; returns how many (fewer\n"
	  "than given only when a queue fills)." },
	{ "reserve", (PyCFunction)pub_reserve, METH_O,
	  "reserve(n)\n--\n\n"
	  "Zero-copy publish, step 1: a writable memoryview of n bytes in the\n"
	  "ring. Subscribers see nothing until commit()." },
	{ "commit", (PyCFunction)pub_commit, METH_VARARGS,
	  "commit(n=None)\n--\n\n"
	  "Zero-copy publish, step 2: publish the first n bytes reserved (all by\n"
	  "default). Releases the reservation's memoryview (BufferError while\n"
	  "something made from it still holds it)." },
	{ "subscribers", (PyCFunction)pub_subscribers, METH_NOARGS,
	  "subscribers()\n--\n\nSubscribers attached now (those that can sleep)." },
	{ "stats", (PyCFunction)pub_stats, METH_NOARGS,
	  "stats()\n--\n\nThis publisher's counters as a dict." },
	{ "fds", (PyCFunction)pub_fds, METH_NOARGS,
	  "fds()\n--\n\n"
	  "(ring_fd, bell_fd) of an anonymous ring, for Subscriber(None, fds=...)\n"
	  "in a child process. They stay owned by the publisher." },
	{ "close", (PyCFunction)pub_close, METH_NOARGS,
	  "close()\n--\n\nStop publishing: subscribers get BrokenPipeError once drained." },
	{ "__enter__", pub_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)pub_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef pub_getset[] = {
	{ "max_msg", (getter)pub_get_max_msg, NULL, "The largest message.", NULL },
	{ "closed", (getter)pub_get_closed, NULL, "True once closed.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMemberDef pub_members[] = {
	{ "name", T_OBJECT, offsetof(PublisherObject, name), READONLY,
	  "The ring's name (None: anonymous)." },
	{ NULL, 0, 0, 0, NULL },
};

static PyTypeObject PublisherType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipckit._ipckit.Publisher",
	.tp_basicsize = sizeof(PublisherObject),
	.tp_dealloc = (destructor)pub_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Publisher(name, *, capacity=0, max_msg=0, queue=False, excl=False,\n"
		  "          keep=False, mode=0o600)\n--\n\n"
		  "Create the ring '/name' (None: an anonymous memfd ring) and publish to\n"
		  "it (ipk_ring(3)). capacity: data bytes, a power of two >= 4096 (0: 1\n"
		  "MiB); queue=True: a lossless queue for one consumer.",
	.tp_methods = pub_methods,
	.tp_getset = pub_getset,
	.tp_members = pub_members,
	.tp_init = (initproc)pub_init,
	.tp_new = PyType_GenericNew,
};

/* ---- Subscriber and View ------------------------------------------------- */

typedef struct {
	PyObject_HEAD ipk_ring_sub *s;
	PyObject *name;
	struct life life;
	PyThread_type_lock lock;
	char *rbuf; /* a receive's buffer; a batch's first message */
	size_t rcap;
	char *bbuf; /* the other messages of a batch */
	size_t bcap;
	struct ipk_msg *msgs;
	unsigned nmsgs;
	size_t b0len, blen; /* sizes of a batch's first buffer and of the others */
	int spin;
} SubscriberObject;

typedef struct {
	PyObject_HEAD SubscriberObject *sub;
	struct ipk_ring_view v;
	PyObject *mv;
	int state; /* 0 taken, 1 entered, 2 finished */
} ViewObject;

static PyTypeObject ViewType;

static void sub_free_now(SubscriberObject *s)
{
	if (s->life.users || s->life.exports)
		return;
	ipk_ring_sub_close(s->s);
	s->s = NULL;
	PyMem_RawFree(s->rbuf);
	PyMem_RawFree(s->bbuf);
	PyMem_RawFree(s->msgs);
	s->rbuf = s->bbuf = NULL;
	s->msgs = NULL;
	s->rcap = s->bcap = 0;
	s->nmsgs = 0;
}

static void sub_region_released(PyObject *owner)
{
	SubscriberObject *s = (SubscriberObject *)owner;

	if (s->life.closed)
		sub_free_now(s);
}

#define SUB_LIVE(self)                                 \
	do {                                           \
		if ((self)->life.closed || !(self)->s) \
			return raise_closed();         \
	} while (0)

static int sub_from_arg(PyObject *from, struct ipk_ring_sub_opts *o)
{
	if (!from || from == Py_None)
		return 0;
	if (PyUnicode_Check(from)) {
		if (PyUnicode_CompareWithASCIIString(from, "end") == 0) {
			o->from = IPK_RING_FROM_END;
			return 0;
		}
		if (PyUnicode_CompareWithASCIIString(from, "oldest") == 0) {
			o->from = IPK_RING_FROM_OLDEST;
			return 0;
		}
	} else if (PyLong_Check(from)) {
		unsigned long long seq = PyLong_AsUnsignedLongLong(from);

		if (PyErr_Occurred())
			return -1;
		o->from = IPK_RING_FROM_SEQ;
		o->from_seq = seq;
		return 0;
	}
	PyErr_SetString(PyExc_ValueError, "from_ must be 'end', 'oldest' or a sequence number");
	return -1;
}

static int sub_init(SubscriberObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "name",     "from_",   "spin", "spin_ns",
				  "consumer", "timeout", "fds",  NULL };
	PyObject *name, *from = NULL, *tmo = NULL, *fds = NULL;
	int spin = 0, consumer = 0, r, rfd = -1, bfd = -1;
	long long spin_ns = 0;
	struct ipk_ring_sub_opts o;
	int64_t timeout;
	const char *n = NULL;
	struct wait w;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$OpLpOO:Subscriber", kwlist, &name, &from,
					 &spin, &spin_ns, &consumer, &tmo, &fds))
		return -1;
	if (self->s) {
		PyErr_SetString(PyExc_RuntimeError, "Subscriber is already open");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	if (sub_from_arg(from, &o) < 0)
		return -1;
	o.flags = (spin ? IPK_RING_SPIN : 0) | (consumer ? IPK_RING_CONSUMER : 0);
	o.spin_ns = spin_ns;
	/* an open does not wait unless asked to: a missing ring is FileNotFoundError */
	if (!tmo)
		timeout = 0;
	else if (timeout_arg(tmo, &timeout) < 0)
		return -1;
	if (name == Py_None) {
		if (!fds || !PyArg_ParseTuple(fds, "ii", &rfd, &bfd)) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_ValueError,
						"an anonymous ring needs fds=(ring_fd, bell_fd)");
			return -1;
		}
	} else if (!(n = PyUnicode_AsUTF8(name))) {
		return -1;
	}
	wait_init(&w, timeout);
	for (;;) {
		Py_BEGIN_ALLOW_THREADS;
		r = n ? ipk_ring_open(n, &o, &self->s) : ipk_ring_open_fd(rfd, bfd, &o, &self->s);
		Py_END_ALLOW_THREADS;
		if ((r != -ENOENT && r != -EAGAIN) || !wait_more(&w))
			break;
		/* as ipk_chan_open(): an open that had to wait for the ring
		 * starts at its first message, unless told where */
		if (!from || from == Py_None)
			o.from = IPK_RING_FROM_OLDEST;
		/* the ring is not there yet: look again in a millisecond */
		Py_BEGIN_ALLOW_THREADS;
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		Py_END_ALLOW_THREADS;
		if (PyErr_CheckSignals() < 0)
			return -1;
	}
	if (r < 0) {
		if (r == -ENOENT && timeout != 0)
			r = -ETIMEDOUT;
		raise_err(r, name, NULL);
		return -1;
	}
	Py_INCREF(name);
	self->name = name;
	self->spin = spin;
	self->lock = PyThread_allocate_lock();
	if (!self->lock) {
		PyErr_NoMemory();
		return -1;
	}
	return 0;
}

static void sub_dealloc(SubscriberObject *self)
{
	self->life.users = 0;
	self->life.exports = 0;
	sub_free_now(self);
	if (self->lock)
		PyThread_free_lock(self->lock);
	Py_XDECREF(self->name);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *sub_close(SubscriberObject *self, PyObject *unused)
{
	(void)unused;
	self->life.closed = 1;
	sub_free_now(self);
	Py_RETURN_NONE;
}

enum sub_op { OP_RECV, OP_BATCH, OP_VIEW };

/*
 * One receive of @op, with the GIL held for the first try (unless the
 * subscriber spins or a big copy may follow), then sliced without it.
 * Returns what the C call returned, or INT_MIN with a Python error set.
 */
static ssize_t sub_wait(SubscriberObject *self, enum sub_op op, void *buf, size_t len, unsigned n,
			struct ipk_ring_view *v, int64_t timeout)
{
	struct wait w;
	ssize_t r = -EAGAIN;

#define SUB_CALL(t)                                                                   \
	(op == OP_RECV    ? ipk_ring_recv(self->s, buf, len, (t))                     \
	 : op == OP_BATCH ? (ssize_t)ipk_ring_recv_batch(self->s, self->msgs, n, (t)) \
			  : (ssize_t)ipk_ring_view(self->s, v, (t)))

	if (!(op == OP_RECV && len > GIL_COPY)) {
		r = SUB_CALL(0);
		if (r != -EAGAIN || timeout == 0)
			return r;
	}
	wait_init(&w, timeout);
	self->life.users++;
	for (;;) {
		int64_t t = wait_next(&w);

		if (op == OP_BATCH) { /* a failed try may have left lengths in them */
			self->msgs[0].len = self->b0len;
			for (unsigned i = 1; i < n; i++)
				self->msgs[i].len = self->blen;
		}
		Py_BEGIN_ALLOW_THREADS;
		r = SUB_CALL(t);
		Py_END_ALLOW_THREADS;
		if ((r != -EAGAIN && r != -ETIMEDOUT) || !wait_more(&w))
			break;
		if (self->life.closed) {
			r = -EBADF;
			break;
		}
		if (PyErr_CheckSignals() < 0) {
			r = INT_MIN;
			break;
		}
	}
#undef SUB_CALL
	self->life.users--;
	return r == INT_MIN ? r : wait_err(&w, (int)r);
}

static PyObject *sub_raise(SubscriberObject *self, ssize_t r)
{
	if (r == INT_MIN)
		return NULL;
	return raise_err((int)r, self->name, NULL);
}

static int sub_rbuf(SubscriberObject *self)
{
	size_t max = ipk_ring_sub_max_msg(self->s);

	if (self->rbuf)
		return 0;
	return rbuf_grow(&self->rbuf, &self->rcap, max < RBUF_INIT ? max : RBUF_INIT);
}

static PyObject *sub_recv(SubscriberObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *tmo = Py_None, *ret = NULL;
	int64_t timeout;
	ssize_t r;

	SUB_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:recv", kwlist, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0)
		return NULL;
	lock_take(self->lock);
	if (sub_rbuf(self) < 0)
		goto out;
	for (;;) {
		r = sub_wait(self, OP_RECV, self->rbuf, self->rcap, 0, NULL, timeout);
		if (r != -EMSGSIZE || self->life.closed)
			break;
		if (rbuf_grow(&self->rbuf, &self->rcap, ipk_ring_sub_max_msg(self->s)) < 0)
			goto out;
	}
	if (r < 0)
		sub_raise(self, r);
	else
		ret = bytes_copy(self->rbuf, (size_t)r);
out:
	PyThread_release_lock(self->lock);
	if (self->life.closed)
		sub_free_now(self);
	return ret;
}

static PyObject *sub_recv_into(SubscriberObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "buffer", "timeout", NULL };
	PyObject *tmo = Py_None;
	Py_buffer b;
	int64_t timeout;
	ssize_t r;

	SUB_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "w*|O:recv_into", kwlist, &b, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0) {
		PyBuffer_Release(&b);
		return NULL;
	}
	lock_take(self->lock);
	r = sub_wait(self, OP_RECV, b.buf, (size_t)b.len, 0, NULL, timeout);
	PyThread_release_lock(self->lock);
	PyBuffer_Release(&b);
	if (self->life.closed)
		sub_free_now(self);
	if (r < 0)
		return sub_raise(self, r);
	return PyLong_FromSsize_t(r);
}

/* Point the batch's @n buffers: the first at @first (@len0 bytes), the
 * others @step bytes apart from @rest, @len bytes each. */
static int sub_batch_set(SubscriberObject *self, unsigned n, char *first, size_t len0, char *rest,
			 size_t step, size_t len)
{
	if (n > self->nmsgs) {
		struct ipk_msg *m = PyMem_RawRealloc(self->msgs, n * sizeof(*m));

		if (!m) {
			PyErr_NoMemory();
			return -1;
		}
		self->msgs = m;
		self->nmsgs = n;
	}
	self->b0len = len0;
	self->blen = len;
	self->msgs[0].buf = first;
	self->msgs[0].len = len0;
	for (unsigned i = 1; i < n; i++) {
		self->msgs[i].buf = rest + (size_t)(i - 1) * step;
		self->msgs[i].len = len;
	}
	return 0;
}

static int sub_batch_bufs(SubscriberObject *self, unsigned n)
{
	size_t need = (size_t)(n - 1) * BATCH_SLOT;

	if (sub_rbuf(self) < 0)
		return -1;
	if (rbuf_grow(&self->bbuf, &self->bcap, need ? need : 1) < 0)
		return -1;
	return sub_batch_set(self, n, self->rbuf, self->rcap, self->bbuf, BATCH_SLOT, BATCH_SLOT);
}

static PyObject *sub_recv_batch(SubscriberObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "max", "timeout", NULL };
	PyObject *tmo = Py_None, *list = NULL;
	unsigned int n = 64;
	int64_t timeout;
	ssize_t r;

	SUB_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|IO:recv_batch", kwlist, &n, &tmo))
		return NULL;
	if (n < 1 || n > BATCH_MAX) {
		PyErr_Format(PyExc_ValueError, "max must be 1..%u", BATCH_MAX);
		return NULL;
	}
	if (timeout_arg(tmo, &timeout) < 0)
		return NULL;
	lock_take(self->lock);
	if (sub_batch_bufs(self, n) < 0)
		goto out;
	for (;;) {
		r = sub_wait(self, OP_BATCH, NULL, 0, n, NULL, timeout);
		if (r != -EMSGSIZE || self->life.closed)
			break;
		if (rbuf_grow(&self->rbuf, &self->rcap, ipk_ring_sub_max_msg(self->s)) < 0)
			goto out;
		self->msgs[0].buf = self->rbuf;
		self->msgs[0].len = self->b0len = self->rcap;
	}
	if (r < 0) {
		sub_raise(self, r);
		goto out;
	}
	list = PyList_New(r);
	if (!list)
		goto out;
	for (ssize_t i = 0; i < r; i++) {
		PyObject *b = bytes_copy(self->msgs[i].buf, self->msgs[i].len);

		if (!b) {
			Py_CLEAR(list);
			goto out;
		}
		PyList_SET_ITEM(list, i, b);
	}
out:
	PyThread_release_lock(self->lock);
	if (self->life.closed)
		sub_free_now(self);
	return list;
}

/* recv_batch_into()'s @offsets: a writable C-contiguous 1-D buffer of at
 * least two native 8-byte integers. */
static int offsets_arg(PyObject *obj, Py_buffer *o)
{
	const char *f;

	if (PyObject_GetBuffer(obj, o, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_ND) < 0)
		return -1;
	f = o->format ? o->format : "B";
	if (*f == '@')
		f++;
	if (o->ndim == 1 && o->itemsize == 8 && *f && !f[1] && strchr("qQlLnN", *f) && o->len >= 16)
		return 0;
	PyBuffer_Release(o);
	PyErr_SetString(PyExc_TypeError, "offsets must be a writable 1-D array of at least two "
					 "8-byte integers (array('Q'), numpy.uint64)");
	return -1;
}

/*
 * The batch straight into the caller's buffer: each message gets an equal
 * share of it, then they are moved down to lie one after another (no move
 * at all when every message fills its share exactly), so no Python object
 * is made per message. A first message larger than its share is taken
 * alone into the whole buffer.
 */
static PyObject *sub_recv_batch_into(SubscriberObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "buffer", "offsets", "timeout", NULL };
	PyObject *tmo = Py_None, *ret = NULL, *offsets;
	Py_buffer b, o;
	int64_t timeout;
	uint64_t *off;
	unsigned n;
	size_t step, at = 0;
	ssize_t r;

	SUB_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "w*O|O:recv_batch_into", kwlist, &b, &offsets,
					 &tmo))
		return NULL;
	if (offsets_arg(offsets, &o) < 0) {
		PyBuffer_Release(&b);
		return NULL;
	}
	if (timeout_arg(tmo, &timeout) < 0)
		goto release;
	off = o.buf;
	n = (size_t)o.len / 8 - 1 < BATCH_MAX ? (unsigned)((size_t)o.len / 8 - 1) : BATCH_MAX;
	step = (size_t)b.len / n & ~(size_t)7; /* 8-aligned shares: messages copy faster */
	if (step == 0)
		n = 1;
	lock_take(self->lock);
	if (sub_batch_set(self, n, b.buf, n == 1 ? (size_t)b.len : step, (char *)b.buf + step, step,
			  step) < 0)
		goto out;
	r = sub_wait(self, OP_BATCH, NULL, 0, n, NULL, timeout);
	if (r == -EMSGSIZE && n > 1 && !self->life.closed) {
		/* the first is larger than a share: alone, into the whole buffer */
		n = 1;
		if (sub_batch_set(self, 1, b.buf, (size_t)b.len, NULL, 0, 0) < 0)
			goto out;
		r = sub_wait(self, OP_BATCH, NULL, 0, 1, NULL, 0);
	}
	if (r < 0) {
		sub_raise(self, r);
		goto out;
	}
	for (ssize_t i = 0; i < r; i++) {
		const char *src = self->msgs[i].buf;

		if (src != (char *)b.buf + at)
			memmove((char *)b.buf + at, src, self->msgs[i].len);
		off[i] = at;
		at += self->msgs[i].len;
	}
	off[r] = at;
	ret = PyLong_FromSsize_t(r);
out:
	PyThread_release_lock(self->lock);
	if (self->life.closed)
		sub_free_now(self);
release:
	PyBuffer_Release(&o);
	PyBuffer_Release(&b);
	return ret;
}

static PyObject *sub_view(SubscriberObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *tmo = Py_None;
	ViewObject *v;
	int64_t timeout;
	ssize_t r;

	SUB_LIVE(self);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:view", kwlist, &tmo))
		return NULL;
	if (timeout_arg(tmo, &timeout) < 0)
		return NULL;
	v = PyObject_New(ViewObject, &ViewType);
	if (!v)
		return NULL;
	Py_INCREF(self);
	v->sub = self;
	v->mv = NULL;
	v->state = 0;
	lock_take(self->lock);
	r = sub_wait(self, OP_VIEW, NULL, 0, 0, &v->v, timeout);
	PyThread_release_lock(self->lock);
	if (r < 0) {
		v->state = 2;
		Py_DECREF(v);
		if (self->life.closed)
			sub_free_now(self);
		return sub_raise(self, r);
	}
	return (PyObject *)v;
}

static PyObject *sub_fileno(SubscriberObject *self, PyObject *unused)
{
	int fd;

	(void)unused;
	SUB_LIVE(self);
	fd = ipk_ring_fd(self->s);
	if (fd < 0)
		return raise_err(fd, self->name, NULL);
	return PyLong_FromLong(fd);
}

static PyObject *sub_counts(SubscriberObject *self, PyObject *unused)
{
	struct ipk_ring_counts c;

	(void)unused;
	SUB_LIVE(self);
	ipk_ring_counts(self->s, &c);
	return Py_BuildValue("{sKsKsKsK}", "start", (unsigned long long)c.start, "delivered",
			     (unsigned long long)c.delivered, "lost", (unsigned long long)c.lost,
			     "skipped", (unsigned long long)c.skipped);
}

static PyObject *sub_get_lost(SubscriberObject *self, void *closure)
{
	(void)closure;
	SUB_LIVE(self);
	return PyLong_FromUnsignedLongLong(ipk_ring_lost(self->s));
}

static PyObject *sub_get_max_msg(SubscriberObject *self, void *closure)
{
	(void)closure;
	SUB_LIVE(self);
	return PyLong_FromSize_t(ipk_ring_sub_max_msg(self->s));
}

static PyObject *sub_get_closed(SubscriberObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->life.closed || !self->s);
}

static PyObject *sub_enter(PyObject *self, PyObject *unused)
{
	(void)unused;
	if (((SubscriberObject *)self)->life.closed || !((SubscriberObject *)self)->s)
		return raise_closed();
	Py_INCREF(self);
	return self;
}

static PyObject *sub_exit(SubscriberObject *self, PyObject *args)
{
	(void)args;
	return sub_close(self, NULL);
}

static PyMethodDef sub_methods[] = {
	{ "recv", (PyCFunction)(void (*)(void))sub_recv, METH_VARARGS | METH_KEYWORDS,
	  "recv(timeout=None)\n--\n\n"
	  "The next message as bytes (whole, validated). Raises TimeoutError,\n"
	  "BlockingIOError (timeout 0), BrokenPipeError when the publisher closed,\n"
	  "PublisherDiedError once when it died, ConnectionResetError once when a\n"
	  "new publisher took over (then receive again)." },
	{ "recv_into", (PyCFunction)(void (*)(void))sub_recv_into, METH_VARARGS | METH_KEYWORDS,
	  "recv_into(buffer, timeout=None)\n--\n\n"
	  "Copy the next message into a writable buffer; returns its length.\n"
	  "OSError(EMSGSIZE) if it does not fit (nothing consumed)." },
	{ "recv_batch", (PyCFunction)(void (*)(void))sub_recv_batch, METH_VARARGS | METH_KEYWORDS,
	  "recv_batch(max=64, timeout=None)\n--\n\n"
	  "A list of 1..max messages: waits for the first, then takes what is\n"
	  "already there, validated together." },
	{ "recv_batch_into", (PyCFunction)(void (*)(void))sub_recv_batch_into,
	  METH_VARARGS | METH_KEYWORDS,
	  "recv_batch_into(buffer, offsets, timeout=None)\n--\n\n"
	  "recv_batch() without a Python object per message: up to len(offsets) - 1\n"
	  "messages (at most 4096) are copied one after another into the writable\n"
	  "buffer, message i being buffer[offsets[i]:offsets[i + 1]]; returns their\n"
	  "number. offsets: a writable array of 8-byte integers (array('Q'),\n"
	  "numpy.uint64). Each message gets len(buffer) // (len(offsets) - 1)\n"
	  "bytes (rounded down to 8), a larger first one the whole buffer;\n"
	  "OSError(EMSGSIZE) if the first does not fit (nothing consumed)." },
	{ "view", (PyCFunction)(void (*)(void))sub_view, METH_VARARGS | METH_KEYWORDS,
	  "view(timeout=None)\n--\n\n"
	  "Zero-copy receive: a View of the next message in the ring. Use it as\n"
	  "`with sub.view() as mv:` (a read-only memoryview); leaving the block\n"
	  "validates it and raises StaleViewError if the publisher overwrote it\n"
	  "meanwhile (then it counts as lost)." },
	{ "fileno", (PyCFunction)sub_fileno, METH_NOARGS,
	  "fileno()\n--\n\n"
	  "A descriptor readable while a receive would not wait (an eventfd fed\n"
	  "by the library's helper thread, started by the first call)." },
	{ "counts", (PyCFunction)sub_counts, METH_NOARGS,
	  "counts()\n--\n\n"
	  "{'start', 'delivered', 'lost', 'skipped'}: skipped + lost + delivered\n"
	  "is the sequence number of the next message." },
	{ "close", (PyCFunction)sub_close, METH_NOARGS, "close()\n--\n\nUnsubscribe." },
	{ "__enter__", sub_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)sub_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef sub_getset[] = {
	{ "lost", (getter)sub_get_lost, NULL, "Messages overwritten before they could be read.",
	  NULL },
	{ "max_msg", (getter)sub_get_max_msg, NULL, "The largest message of the ring.", NULL },
	{ "closed", (getter)sub_get_closed, NULL, "True once closed.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMemberDef sub_members[] = {
	{ "name", T_OBJECT, offsetof(SubscriberObject, name), READONLY, "The ring's name." },
	{ NULL, 0, 0, 0, NULL },
};

static PyTypeObject SubscriberType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipckit._ipckit.Subscriber",
	.tp_basicsize = sizeof(SubscriberObject),
	.tp_dealloc = (destructor)sub_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Subscriber(name, *, from_='end', spin=False, spin_ns=0, consumer=False,\n"
		  "           timeout=0, fds=None)\n--\n\n"
		  "Subscribe to the ring '/name' (read-only; ipk_ring(3)). from_: 'end'\n"
		  "(new messages), 'oldest', or a sequence number. spin: busy-wait (without\n"
		  "the GIL) instead of sleeping; spin_ns: spin that long, then sleep.\n"
		  "consumer: the one lossless consumer of a queue. timeout: how long to\n"
		  "wait for the ring to appear (0: FileNotFoundError at once).",
	.tp_methods = sub_methods,
	.tp_getset = sub_getset,
	.tp_members = sub_members,
	.tp_init = (initproc)sub_init,
	.tp_new = PyType_GenericNew,
};

/* View: the message stays where the publisher wrote it. */

static void view_dealloc(ViewObject *self)
{
	SubscriberObject *s = self->sub;

	if (self->mv && release_view(self->mv) < 0)
		PyErr_Clear();
	Py_CLEAR(self->mv);
	Py_DECREF(s);
	PyObject_Free(self);
}

static PyObject *view_enter(ViewObject *self, PyObject *unused)
{
	(void)unused;
	if (self->state != 0) {
		PyErr_SetString(PyExc_RuntimeError, "a View is entered once");
		return NULL;
	}
	self->mv = region_view((PyObject *)self->sub, &self->sub->life, sub_region_released,
			       (void *)self->v.data, self->v.len, 1);
	if (!self->mv)
		return NULL;
	self->state = 1;
	Py_INCREF(self->mv);
	return self->mv;
}

/* Validate the view: 0 intact, else the error is raised. */
static PyObject *view_validate(ViewObject *self, PyObject *unused)
{
	SubscriberObject *s = self->sub;
	int r;

	(void)unused;
	if (self->state == 2) {
		PyErr_SetString(PyExc_RuntimeError, "this View was validated already");
		return NULL;
	}
	self->state = 2;
	if (self->mv) {
		/* released if nothing else holds it; otherwise the mapping stays
		 * until the last holder lets go, but is no longer vouched for */
		if (release_view(self->mv) < 0)
			PyErr_Clear();
		Py_CLEAR(self->mv);
	}
	if (s->life.closed || !s->s)
		return raise_closed();
	r = ipk_ring_validate(s->s, &self->v);
	if (r < 0)
		return raise_err(r, s->name, NULL);
	Py_RETURN_NONE;
}

static PyObject *view_exit(ViewObject *self, PyObject *args)
{
	PyObject *r;

	(void)args;
	if (self->state == 2)
		Py_RETURN_FALSE;
	r = view_validate(self, NULL);
	if (!r)
		return NULL;
	Py_DECREF(r);
	Py_RETURN_FALSE;
}

static PyObject *view_get_seq(ViewObject *self, void *closure)
{
	(void)closure;
	return PyLong_FromUnsignedLongLong(self->v.seq);
}

static PyObject *view_bytes(ViewObject *self, PyObject *unused)
{
	(void)unused;
	if (self->state == 2) {
		PyErr_SetString(PyExc_RuntimeError, "this View was validated already");
		return NULL;
	}
	return bytes_copy(self->v.data, self->v.len);
}

static Py_ssize_t view_len(ViewObject *self)
{
	return (Py_ssize_t)self->v.len;
}

static PySequenceMethods view_as_sequence = {
	.sq_length = (lenfunc)view_len,
};

static PyMethodDef view_methods[] = {
	{ "__enter__", (PyCFunction)view_enter, METH_NOARGS,
	  "A read-only memoryview of the message in the ring." },
	{ "__exit__", (PyCFunction)view_exit, METH_VARARGS,
	  "Validate: raises StaleViewError if the message was overwritten." },
	{ "validate", (PyCFunction)view_validate, METH_NOARGS,
	  "validate()\n--\n\n"
	  "Finish the view: None if no byte was overwritten, else StaleViewError.\n"
	  "Trust what you derived from the bytes only after it returns." },
	{ "tobytes", (PyCFunction)view_bytes, METH_NOARGS,
	  "tobytes()\n--\n\nA copy of the bytes (validate afterwards)." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef view_getset[] = {
	{ "seq", (getter)view_get_seq, NULL, "The message's sequence number.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject ViewType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipckit._ipckit.View",
	.tp_basicsize = sizeof(ViewObject),
	.tp_dealloc = (destructor)view_dealloc,
	.tp_as_sequence = &view_as_sequence,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A message seen in place in the ring (Subscriber.view()).\n\n"
		  "with sub.view() as mv: ...  -- mv is a read-only memoryview; the block's\n"
		  "end validates it (StaleViewError if the publisher overwrote it).",
	.tp_methods = view_methods,
	.tp_getset = view_getset,
};

/* ---- ls() ------------------------------------------------------------------ */

static const char *sock_type_name(int t)
{
	switch (t) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	default:
		return "other";
	}
}

static const char *sock_state_name(const struct ipk_inspect_obj *o)
{
	static const char *const names[] = { "unknown", "unconnected", "connecting", "connected",
					     "disconnecting" };

	if (o->listening)
		return "listening";
	return o->sock_state >= 1 && o->sock_state <= 4 ? names[o->sock_state] : names[0];
}

static PyObject *holders_list(const struct ipk_holder *hs, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);

	for (size_t i = 0; l && i < n; i++) {
		const struct ipk_holder *h = &hs[i];
		PyObject *d = Py_BuildValue("{sisIsssisO}", "pid", (int)h->pid, "uid",
					    (unsigned)h->uid, "comm", h->comm, "fd", h->fd,
					    "mapped", (h->how & IPK_HOLD_MAP) ? Py_True : Py_False);

		if (!d) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, d);
	}
	return l;
}

static int set_item(PyObject *d, const char *k, PyObject *v)
{
	int r;

	if (!v)
		return -1;
	r = PyDict_SetItemString(d, k, v);
	Py_DECREF(v);
	return r;
}

/* One object as `ipckit ls --json` prints it (docs/ls-schema.json). */
static PyObject *obj_dict(const struct ipk_inspect_obj *o)
{
	PyObject *d = PyDict_New();
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024], user[64], mode[8];

	if (!d)
		return NULL;
	if (getpwuid_r(o->uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp)
		snprintf(user, sizeof(user), "%s", pw.pw_name);
	else
		snprintf(user, sizeof(user), "%u", (unsigned)o->uid);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)o->mode);
	if (set_item(d, "kind", PyUnicode_FromString(ipk_inspect_kind_name(o->kind))) < 0 ||
	    set_item(d, "name", PyUnicode_DecodeFSDefault(o->name)) < 0)
		goto fail;
	if (o->kind <= IPK_INSPECT_SYSV_SEM &&
	    (set_item(d, "key", PyLong_FromLongLong(o->key)) < 0 ||
	     set_item(d, "id", PyLong_FromLongLong(o->id)) < 0))
		goto fail;
	if (set_item(d, "uid", PyLong_FromUnsignedLong(o->uid)) < 0 ||
	    set_item(d, "user", PyUnicode_FromString(user)) < 0 ||
	    set_item(d, "gid", PyLong_FromUnsignedLong(o->gid)) < 0 ||
	    set_item(d, "mode", PyUnicode_FromString(mode)) < 0 ||
	    set_item(d, "size", PyLong_FromUnsignedLongLong(o->size)) < 0 ||
	    set_item(d, "count", PyLong_FromUnsignedLongLong(o->count)) < 0 ||
	    set_item(d, "cpid", PyLong_FromLong(o->cpid)) < 0 ||
	    set_item(d, "lpid", PyLong_FromLong(o->lpid)) < 0)
		goto fail;
	if (o->kind == IPK_INSPECT_SYSV_MSG && set_item(d, "lrpid", PyLong_FromLong(o->lrpid)) < 0)
		goto fail;
	if (o->kind == IPK_INSPECT_MQ &&
	    (set_item(d, "max_msg", PyLong_FromUnsignedLongLong(o->max_msg)) < 0 ||
	     set_item(d, "msg_size", PyLong_FromUnsignedLongLong(o->msg_size)) < 0))
		goto fail;
	if (o->kind == IPK_INSPECT_RING) {
		const struct ipk_ring_info *r = &o->ring;
		PyObject *rd;

		if (o->ring_err)
			rd = Py_BuildValue("{ss}", "error", ipk_errname(o->ring_err));
		else
			rd = Py_BuildValue("{sisOsOsOsKsKsKsKsKsL}", "publisher_pid", (int)r->pid,
					   "publisher_alive", r->alive ? Py_True : Py_False,
					   "closed", r->closed ? Py_True : Py_False, "queue",
					   r->queue ? Py_True : Py_False, "epoch",
					   (unsigned long long)r->epoch, "published",
					   (unsigned long long)r->published, "capacity",
					   (unsigned long long)r->capacity, "max_msg",
					   (unsigned long long)r->max_msg, "bytes_written",
					   (unsigned long long)r->head, "consumer_lag_bytes",
					   r->has_consumer_lag ? (long long)r->consumer_lag : -1LL);
		if (set_item(d, "ring", rd) < 0)
			goto fail;
	}
	if (o->kind == IPK_INSPECT_UNIX &&
	    set_item(d, "socket",
		     Py_BuildValue("{sssssKsi}", "type", sock_type_name(o->sock_type), "state",
				   sock_state_name(o), "inode", (unsigned long long)o->ino,
				   "connections", o->sock_conns)) < 0)
		goto fail;
	if (set_item(d, "orphan", PyBool_FromLong(ipk_inspect_orphan(o))) < 0 ||
	    set_item(d, "gc",
		     PyUnicode_FromString(o->gc == IPK_GC_ORPHAN    ? "orphan"
					  : o->gc == IPK_GC_UNKNOWN ? "unknown"
								    : "in-use")) < 0 ||
	    set_item(d, "gc_reason", PyUnicode_FromString(o->gc_why)) < 0 ||
	    set_item(d, "holders", holders_list(o->holders, o->nholders)) < 0)
		goto fail;
	if (o->kind == IPK_INSPECT_UNIX &&
	    set_item(d, "peers", holders_list(o->peers, o->npeers)) < 0)
		goto fail;
	return d;
fail:
	Py_DECREF(d);
	return NULL;
}

static PyObject *mod_scan(PyObject *mod, PyObject *args)
{
	unsigned int kinds = 0;
	ipk_inspect *in = NULL;
	PyObject *objs = NULL, *denied = NULL, *ret = NULL;
	const pid_t *pids;
	const char *mq;
	size_t n, nd;
	int r;

	(void)mod;
	if (!PyArg_ParseTuple(args, "|I:_scan", &kinds))
		return NULL;
	Py_BEGIN_ALLOW_THREADS;
	r = ipk_inspect_scan(kinds, &in);
	Py_END_ALLOW_THREADS;
	if (r < 0)
		return raise_err(r, NULL, NULL);
	n = ipk_inspect_count(in);
	objs = PyList_New((Py_ssize_t)n);
	if (!objs)
		goto out;
	for (size_t i = 0; i < n; i++) {
		PyObject *d = obj_dict(ipk_inspect_obj(in, i));

		if (!d)
			goto out;
		PyList_SET_ITEM(objs, (Py_ssize_t)i, d);
	}
	nd = ipk_inspect_denied(in, &pids);
	denied = PyList_New((Py_ssize_t)nd);
	if (!denied)
		goto out;
	for (size_t i = 0; i < nd; i++) {
		PyObject *p = PyLong_FromLong(pids[i]);

		if (!p)
			goto out;
		PyList_SET_ITEM(denied, (Py_ssize_t)i, p);
	}
	mq = ipk_inspect_mqueue(in);
	ret = Py_BuildValue("{sisnszsOsO}", "version", 1, "procs_scanned",
			    (Py_ssize_t)ipk_inspect_procs(in), "mqueue_mount", mq, "denied_pids",
			    denied, "objects", objs);
out:
	Py_XDECREF(objs);
	Py_XDECREF(denied);
	ipk_inspect_free(in);
	return ret;
}

static PyObject *mod_kind_parse(PyObject *mod, PyObject *arg)
{
	const char *s = PyUnicode_AsUTF8(arg);
	int k;

	(void)mod;
	if (!s)
		return NULL;
	k = ipk_inspect_kind_parse(s);
	if (k < 0) {
		PyErr_Format(PyExc_ValueError,
			     "unknown kind '%s' (one of: sysv-msg sysv-shm sysv-sem mq shm sem "
			     "ring unix fifo memfd)",
			     s);
		return NULL;
	}
	return PyLong_FromLong(k);
}

static PyObject *mod_errname(PyObject *mod, PyObject *arg)
{
	long e = PyLong_AsLong(arg);

	(void)mod;
	if (e == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(ipk_errname((int)e));
}

static PyObject *mod_set_channel_type(PyObject *mod, PyObject *arg)
{
	(void)mod;
	if (!PyType_Check(arg) || !PyType_IsSubtype((PyTypeObject *)arg, &ChannelType)) {
		PyErr_SetString(PyExc_TypeError, "a subclass of Channel");
		return NULL;
	}
	Py_INCREF(arg);
	Py_XSETREF(accept_type, (PyTypeObject *)arg);
	Py_RETURN_NONE;
}

static PyObject *mod_version(PyObject *mod, PyObject *unused)
{
	(void)mod;
	(void)unused;
	return PyUnicode_FromString(ipk_version());
}

static PyObject *mod_url_check(PyObject *mod, PyObject *arg)
{
	const char *s = PyUnicode_AsUTF8(arg), *why = NULL;
	size_t where = 0;

	(void)mod;
	if (!s)
		return NULL;
	if (ipk_url_check(s, &where, &why) == 0)
		Py_RETURN_NONE;
	PyErr_Format(PyExc_ValueError, "%s: %s (at offset %zu)", s, why ? why : "malformed", where);
	return NULL;
}

static PyMethodDef mod_methods[] = {
	{ "_scan", mod_scan, METH_VARARGS,
	  "_scan(kinds=0)\n--\n\nThe `ipckit ls --json` document of this host as a dict." },
	{ "_kind_parse", mod_kind_parse, METH_O, NULL },
	{ "_set_channel_type", mod_set_channel_type, METH_O, NULL },
	{ "errname", mod_errname, METH_O,
	  "errname(err)\n--\n\nThe symbolic name of an errno value ('EMSGSIZE')." },
	{ "lib_version", mod_version, METH_NOARGS,
	  "lib_version()\n--\n\nThe version of the libipckit this was built with." },
	{ "url_check", mod_url_check, METH_O,
	  "url_check(url)\n--\n\nNone if url is well-formed, else ValueError saying which part "
	  "is wrong." },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef ipckit_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "ipckit._ipckit",
	.m_doc = "The C extension of the ipckit package over libipckit; import ipckit instead.",
	.m_size = -1,
	.m_methods = mod_methods,
};

static int add_type(PyObject *m, PyTypeObject *t, const char *name)
{
	if (PyType_Ready(t) < 0)
		return -1;
	Py_INCREF(t);
	if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
		Py_DECREF(t);
		return -1;
	}
	return 0;
}

PyMODINIT_FUNC PyInit__ipckit(void);

PyMODINIT_FUNC PyInit__ipckit(void)
{
	PyObject *m = PyModule_Create(&ipckit_module);

	if (!m)
		return NULL;
	if (PyType_Ready(&RegionType) < 0 || add_type(m, &ChannelType, "Channel") < 0 ||
	    add_type(m, &ListenerType, "Listener") < 0 ||
	    add_type(m, &PublisherType, "Publisher") < 0 ||
	    add_type(m, &SubscriberType, "Subscriber") < 0 || add_type(m, &ViewType, "View") < 0)
		goto fail;
	StaleViewError = PyErr_NewExceptionWithDoc(
		"ipckit.StaleViewError",
		"A zero-copy view was overwritten by the publisher before it was validated\n"
		"(errno ESTALE); the message counts as lost.",
		PyExc_OSError, NULL);
	PublisherDiedError = PyErr_NewExceptionWithDoc(
		"ipckit.PublisherDiedError",
		"The ring's publisher died without closing (errno EOWNERDEAD); receive\n"
		"again to wait for a successor.",
		PyExc_ConnectionError, NULL);
	if (!StaleViewError || !PublisherDiedError)
		goto fail;
	Py_INCREF(StaleViewError);
	Py_INCREF(PublisherDiedError);
	if (PyModule_AddObject(m, "StaleViewError", StaleViewError) < 0 ||
	    PyModule_AddObject(m, "PublisherDiedError", PublisherDiedError) < 0)
		goto fail;
	if (PyModule_AddIntConstant(m, "FROM_END", IPK_RING_FROM_END) < 0 ||
	    PyModule_AddIntConstant(m, "FROM_OLDEST", IPK_RING_FROM_OLDEST) < 0)
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
