/* SPDX-License-Identifier: MIT */
/*
 * ipckit/bus.h - D-Bus through sd-bus (libsystemd): a thin layer, not a
 * re-implementation. Connect to the session bus, the system bus or any
 * address; own a well-known name; export objects with methods, signals and
 * properties from a static description; call methods with a timeout;
 * subscribe to signals; get and set properties; pass Unix fds (type 'h');
 * and run it all from an ipk_loop.
 *
 * Messages are read and written with D-Bus type strings, exactly as
 * sd_bus_message_read() and sd_bus_message_append() take them ("su",
 * "a{sv}", "h", ...). Failures are a negative errno; calls that go to a
 * peer also fill a struct ipk_bus_error with the D-Bus error name and
 * message, e.g. "org.freedesktop.DBus.Error.InvalidArgs" (and sd-bus maps
 * names it knows to an errno: InvalidArgs -> -EINVAL, UnknownMethod ->
 * -EBADR, UnknownProperty -> -EBADR, PropertyReadOnly -> -EROFS,
 * AccessDenied -> -EACCES, ServiceUnknown -> -EHOSTUNREACH, NoReply ->
 * -ETIMEDOUT). A bus that goes away is -ECONNRESET or -ENOTCONN, never a
 * hang.
 *
 * Timeouts are relative, in nanoseconds, as everywhere in ipckit: 0 = do not
 * wait (try once), -1 (IPK_FOREVER, any negative) = no limit.
 * IPK_BUS_DEFAULT_TIMEOUT names the limit sd-bus puts on a method call when
 * told nothing.
 *
 * Rings over the bus: ipk_bus_ring_offer() puts a memfd ring (ring.h) on
 * the bus as an object "org.ipckit.Ring1" at /org/ipckit/ring/NAME. D-Bus
 * is only the control plane: a subscriber calls its Open method, receives
 * a read-only, sealed memfd of the feed (and the doorbell) and maps it with
 * ipk_ring_open_fd(); messages then move through shared memory alone. Who
 * may subscribe is decided by the publisher from the caller's credentials
 * as the bus daemon reports them. The channel URL dbus:BUSNAME/NAME
 * (ipk_chan_open) is the subscriber's side of it.
 *
 *   interface org.ipckit.Ring1 {
 *     methods:    Open() -> (h feed, h bell)
 *     signals:    Restarted(t epoch, u pid)   emitted when offered
 *     properties: Capacity t, MaxMessage u, Published t, PublisherPid u,
 *                 Epoch t (all read-only)
 *   }
 *
 * Without libsystemd at build time (meson -Ddbus=disabled) every function
 * here returns -EOPNOTSUPP (pointers: NULL).
 *
 * Threads: an ipk_bus and everything made from it (messages, slots,
 * offers) are used by one thread at a time. Different buses are
 * independent.
 */
#ifndef IPCKIT_BUS_H
#define IPCKIT_BUS_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "loop.h"
#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_bus ipk_bus;
typedef struct ipk_bus_msg ipk_bus_msg;   /* an sd_bus_message */
typedef struct ipk_bus_slot ipk_bus_slot; /* an exported object or a match */
typedef struct ipk_bus_ring ipk_bus_ring; /* a ring offered on the bus */

/* A D-Bus error: the name ("" if none) and its message. */
struct ipk_bus_error {
	char name[128];
	char message[256];
};

/**
 * ipk_bus_open() - connect to a bus
 * @address: "session" (or NULL: $DBUS_SESSION_BUS_ADDRESS, else the user
 *           bus), "system", or a D-Bus address such as
 *           "unix:path=/run/x/bus"
 *
 * Return: 0 and *@ret; -EINVAL (malformed address); -ENOENT,
 * -ECONNREFUSED (nobody listens); -EACCES; -ENOMEM.
 * Blocking: until the bus daemon answered Hello. Threads: safe.
 */
IPK_API int ipk_bus_open(const char *address, ipk_bus **ret);

/* ipk_bus_close() - flush, disconnect and free; accepts NULL. */
IPK_API void ipk_bus_close(ipk_bus *b);

/* ipk_bus_unique_name() - ":1.42", this connection's name on the bus. */
IPK_API const char *ipk_bus_unique_name(ipk_bus *b);

/* ipk_bus_request_name() flags */
#define IPK_BUS_NAME_REPLACE 0x1u       /* take the name from its owner if it allows */
#define IPK_BUS_NAME_ALLOW_REPLACE 0x2u /* let a later owner take it from us */

/**
 * ipk_bus_request_name() - own a well-known name ("org.example.Sensor")
 *
 * Return: 0; -EEXIST (another connection owns it); -EINVAL (not a valid
 * name); -EACCES (the bus policy refuses); -ENOTCONN.
 * Blocking: one round trip to the bus daemon.
 */
IPK_API int ipk_bus_request_name(ipk_bus *b, const char *name, unsigned flags);

/* ipk_bus_release_name() - give a name up. Return: 0; -ESRCH (not ours). */
IPK_API int ipk_bus_release_name(ipk_bus *b, const char *name);

/* --- messages ----------------------------------------------------------- */

/**
 * ipk_bus_msg_read() - read arguments of type string @types
 *
 * As sd_bus_message_read(): "s" takes a const char ** (valid while the
 * message lives), "u" a uint32_t *, "h" an int * whose fd the message
 * owns (use ipk_bus_msg_read_fd() to keep one).
 * Return: > 0 when read; 0 at the end of the message; -ENXIO (the next
 * argument is of another type); -EBADMSG.
 */
IPK_API int ipk_bus_msg_read(ipk_bus_msg *m, const char *types, ...);
IPK_API int ipk_bus_msg_readv(ipk_bus_msg *m, const char *types, va_list ap);

/* ipk_bus_msg_read_fd() - read one 'h' as a new O_CLOEXEC descriptor that
 * is the caller's. Return: 0 and *@fd; errors as ipk_bus_msg_read();
 * -EMFILE. */
IPK_API int ipk_bus_msg_read_fd(ipk_bus_msg *m, int *fd);

/* ipk_bus_msg_append() - append arguments, as sd_bus_message_append();
 * an 'h' argument is an int fd that is duplicated (the caller keeps it).
 * Return: 0; -EINVAL (bad types or values, e.g. a string not UTF-8). */
IPK_API int ipk_bus_msg_append(ipk_bus_msg *m, const char *types, ...);
IPK_API int ipk_bus_msg_appendv(ipk_bus_msg *m, const char *types, va_list ap);

/* ipk_bus_msg_append_bytes() / _read_bytes() - one "ay" argument from or
 * to plain memory (the read points into the message: valid while it
 * lives). Return: as ipk_bus_msg_append() / ipk_bus_msg_read(). */
IPK_API int ipk_bus_msg_append_bytes(ipk_bus_msg *m, const void *buf, size_t len);
IPK_API int ipk_bus_msg_read_bytes(ipk_bus_msg *m, const void **buf, size_t *len);

/* ipk_bus_msg_signature() - the body's type string ("" if none). */
IPK_API const char *ipk_bus_msg_signature(ipk_bus_msg *m);
/* ipk_bus_msg_sender() / _member() / _path(): the header fields, or NULL. */
IPK_API const char *ipk_bus_msg_sender(ipk_bus_msg *m);
IPK_API const char *ipk_bus_msg_member(ipk_bus_msg *m);
IPK_API const char *ipk_bus_msg_path(ipk_bus_msg *m);

/**
 * ipk_bus_msg_creds() - who sent @m: pid and effective uid, as the bus
 * daemon vouches for them (not as the sender claims)
 *
 * Return: 0 and *@pid, *@uid (either may be NULL); -ENODATA (the bus does
 * not know); -ENOTCONN. Blocking: may ask the bus daemon (one round trip).
 */
IPK_API int ipk_bus_msg_creds(ipk_bus_msg *m, pid_t *pid, uid_t *uid);

/* ipk_bus_msg_free() - release a message returned to the caller; NULL ok. */
IPK_API void ipk_bus_msg_free(ipk_bus_msg *m);

/* --- exporting objects --------------------------------------------------- */

/*
 * A method handler reads its arguments from @call and appends its results
 * to @reply, whose body must match the declared output signature; the
 * layer sends the reply when it returns >= 0. Returning a negative errno
 * sends an error instead: the one set in @err if it has a name, else the
 * D-Bus name sd-bus gives the errno.
 */
typedef int (*ipk_bus_method_fn)(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg,
				 struct ipk_bus_error *err);
/* A property getter appends one value of the property's type to @reply. */
typedef int (*ipk_bus_get_fn)(ipk_bus_msg *reply, const char *property, void *arg,
			      struct ipk_bus_error *err);
/* A property setter reads one value of the property's type from @value. */
typedef int (*ipk_bus_set_fn)(ipk_bus_msg *value, const char *property, void *arg,
			      struct ipk_bus_error *err);

struct ipk_bus_method {
	const char *name; /* "GetReading"; NULL ends the table */
	const char *in;   /* input signature, "" for none */
	const char *out;  /* output signature, "" for none */
	ipk_bus_method_fn fn;
	/* optional names of the arguments, then of the results, for
	 * introspection: "rate\0reading\0" (each ends with a NUL), or NULL */
	const char *names;
};

struct ipk_bus_signal {
	const char *name;  /* NULL ends the table */
	const char *sig;   /* its arguments' signature */
	const char *names; /* of its arguments, "name\0name\0", or NULL */
};

/* struct ipk_bus_property.flags */
#define IPK_BUS_PROP_EMITS_CHANGE                             \
	0x1u                    /* clients may cache it; send \
				 * ipk_bus_emit_changed() when it changes */
#define IPK_BUS_PROP_CONST 0x2u /* never changes */

struct ipk_bus_property {
	const char *name; /* NULL ends the table */
	const char *type; /* one complete type, e.g. "u" */
	ipk_bus_get_fn get;
	ipk_bus_set_fn set; /* NULL: read-only (PropertyReadOnly on Set) */
	unsigned flags;     /* IPK_BUS_PROP_* */
};

/* One interface of an object. Each table ends with an entry whose name is
 * NULL; a table pointer may be NULL for none. */
struct ipk_bus_interface {
	const char *name; /* "org.example.Sensor1" */
	const struct ipk_bus_method *methods;
	const struct ipk_bus_signal *signals;
	const struct ipk_bus_property *properties;
};

/**
 * ipk_bus_export() - serve @iface at object @path; @arg goes to every
 * handler
 *
 * The description (tables and strings) is used in place: it must stay
 * valid while exported (static tables are the intent). sd-bus answers by itself what the
 * description settles: arguments of another signature (InvalidArgs), unknown methods
 * (UnknownMethod) and properties (UnknownProperty), Set on a read-only
 * property (PropertyReadOnly), Introspect, Properties.GetAll, Peer.Ping.
 * Requests are served while the bus is processed (ipk_bus_process(),
 * ipk_bus_run_once(), ipk_bus_attach()).
 * Return: 0 and *@ret (NULL allowed: the object lives as long as the bus);
 * -EINVAL (bad path, names or signatures); -EEXIST (@iface already at
 * @path); -ENOMEM.
 */
IPK_API int ipk_bus_export(ipk_bus *b, const char *path, const struct ipk_bus_interface *iface,
			   void *arg, ipk_bus_slot **ret);

/* ipk_bus_slot_free() - remove an exported object or a match; NULL ok. */
IPK_API void ipk_bus_slot_free(ipk_bus_slot *s);

/**
 * ipk_bus_emit() - broadcast signal @member of @iface from @path
 * Return: 0; -EINVAL (arguments do not match @types); -ENOTCONN;
 * -ENOBUFS (too much queued: process or flush the bus).
 * Blocking: no (queued if the socket is full).
 */
IPK_API int ipk_bus_emit(ipk_bus *b, const char *path, const char *iface, const char *member,
			 const char *types, ...);

/* ipk_bus_emit_changed() - org.freedesktop.DBus.Properties.PropertiesChanged
 * for @property (its new value is read from the getter). Return: 0;
 * -ENOENT (no such property exported); -ENOTCONN. */
IPK_API int ipk_bus_emit_changed(ipk_bus *b, const char *path, const char *iface,
				 const char *property);

/* --- calling ------------------------------------------------------------ */

/* The timeout sd-bus gives a method call by default: 25 s. */
#define IPK_BUS_DEFAULT_TIMEOUT ((int64_t)25 * IPK_SEC)

/**
 * ipk_bus_call() - call @member and wait for the reply
 * @dest: the peer's bus name
 * @timeout_ns: how long to wait for the reply: 0 = do not wait (the call
 *              is sent marked "no reply expected": the peer runs it and
 *              sends no reply, and the result is -EAGAIN); -1 (any
 *              negative) = forever; IPK_BUS_DEFAULT_TIMEOUT = sd-bus's
 *              default
 * @err: the D-Bus error of a failed call (may be NULL)
 * @reply: the reply, to read and then ipk_bus_msg_free() (may be NULL)
 * @types: the arguments' signature, then the arguments ("" for none)
 *
 * Return: 0; -EAGAIN (timeout 0: sent, no reply to wait for; @err empty);
 * -ETIMEDOUT; -ECONNRESET/-ENOTCONN (the bus went away); the errno of the
 * peer's D-Bus error (see the top), with @err filled.
 * Blocking: until the reply or the timeout; signals and calls that arrive
 * meanwhile are queued for the next ipk_bus_process().
 */
IPK_API int ipk_bus_call(ipk_bus *b, const char *dest, const char *path, const char *iface,
			 const char *member, int64_t timeout_ns, struct ipk_bus_error *err,
			 ipk_bus_msg **reply, const char *types, ...);

/**
 * ipk_bus_new_call() / ipk_bus_new_signal() - a message to fill with
 * ipk_bus_msg_append*() and then pass to ipk_bus_call_msg() / ipk_bus_send(),
 * for arguments that do not fit a type string (byte arrays)
 * Return: 0 and *@ret (free it with ipk_bus_msg_free()); -EINVAL;
 * -ENOTCONN.
 */
IPK_API int ipk_bus_new_call(ipk_bus *b, const char *dest, const char *path, const char *iface,
			     const char *member, ipk_bus_msg **ret);
IPK_API int ipk_bus_new_signal(ipk_bus *b, const char *path, const char *iface, const char *member,
			       ipk_bus_msg **ret);

/* ipk_bus_call_msg() - ipk_bus_call() of a message made by
 * ipk_bus_new_call(); @call stays the caller's. Timeout and return: as
 * ipk_bus_call(). */
IPK_API int ipk_bus_call_msg(ipk_bus *b, ipk_bus_msg *call, int64_t timeout_ns,
			     struct ipk_bus_error *err, ipk_bus_msg **reply);

/* ipk_bus_send() - send a signal (or a call whose reply nobody waits
 * for); queued if the socket is full (ipk_bus_flush()). Return: 0;
 * -ENOTCONN; -ENOBUFS. */
IPK_API int ipk_bus_send(ipk_bus *b, ipk_bus_msg *m);

/**
 * ipk_bus_get_property() - org.freedesktop.DBus.Properties.Get
 * @type: the property's type; the value is then read from *@reply with
 *        ipk_bus_msg_read(*@reply, @type, ...)
 * Timeout and return: as ipk_bus_call(); -ENXIO if the value has another
 * type.
 */
IPK_API int ipk_bus_get_property(ipk_bus *b, const char *dest, const char *path, const char *iface,
				 const char *property, int64_t timeout_ns,
				 struct ipk_bus_error *err, ipk_bus_msg **reply, const char *type);

/* ipk_bus_set_property() - org.freedesktop.DBus.Properties.Set of one value
 * of @type. Timeout and return: as ipk_bus_call(). */
IPK_API int ipk_bus_set_property(ipk_bus *b, const char *dest, const char *path, const char *iface,
				 const char *property, int64_t timeout_ns,
				 struct ipk_bus_error *err, const char *type, ...);

/* A signal handler: return < 0 to report it (the bus goes on). */
typedef int (*ipk_bus_signal_fn)(ipk_bus_msg *m, void *arg);

/**
 * ipk_bus_match() - call @fn for each signal that matches; NULL fields
 * match anything (@sender: a well-known or unique name)
 * Return: 0 and *@ret (NULL allowed: the match lives as long as the bus);
 * -EINVAL; -ENOTCONN. Blocking: one round trip (AddMatch), so a signal
 * emitted after the return is seen.
 */
IPK_API int ipk_bus_match(ipk_bus *b, const char *sender, const char *path, const char *iface,
			  const char *member, ipk_bus_signal_fn fn, void *arg, ipk_bus_slot **ret);

/* --- running the bus ---------------------------------------------------- */

/**
 * ipk_bus_process() - handle everything that has arrived, without waiting
 * Return: the number of steps taken (>= 0; at most 1024 a call: call again
 * while it returns > 0); -ECONNRESET or -ENOTCONN
 * once the bus is gone. Blocking: no (handlers run in this call).
 */
IPK_API int ipk_bus_process(ipk_bus *b);

/**
 * ipk_bus_run_once() - ipk_bus_process(), and when nothing was there,
 * wait up to @timeout_ns (0: do not wait; -1, any negative: forever) for
 * something and process it
 * Return: messages handled (> 0); -EAGAIN (timeout 0, nothing);
 * -ETIMEDOUT; -ECONNRESET/-ENOTCONN.
 */
IPK_API int ipk_bus_run_once(ipk_bus *b, int64_t timeout_ns);

/* ipk_bus_flush() - write out everything queued. Return: 0; -ENOTCONN.
 * Blocking: until written. */
IPK_API int ipk_bus_flush(ipk_bus *b);

/* For an event loop of your own: the fd to poll, the IPK_LOOP_IN/OUT
 * events it needs now, and the absolute CLOCK_MONOTONIC deadline (ns) at
 * which ipk_bus_process() must run anyway (INT64_MAX: none). Call
 * ipk_bus_process() when the fd reports or the deadline passes, and ask
 * for events and deadline again after each call into the bus. */
IPK_API int ipk_bus_fd(ipk_bus *b);
IPK_API int ipk_bus_events(ipk_bus *b, uint32_t *events);
IPK_API int ipk_bus_deadline(ipk_bus *b, int64_t *deadline_ns);

/**
 * ipk_bus_attach() - serve the bus from @l: its fd and its timeout
 *
 * The bus is then processed by the loop's thread; a bus that goes away is
 * detached (and further calls on it fail with -ENOTCONN).
 * Return: 0; -EBUSY (already attached); -ENOMEM; errors of ipk_loop_add_fd().
 */
IPK_API int ipk_bus_attach(ipk_bus *b, ipk_loop *l);

/* ipk_bus_detach() - the reverse; also done by ipk_bus_close(). Call it
 * from the loop's thread before freeing the loop. */
IPK_API void ipk_bus_detach(ipk_bus *b);

/* --- rings over the bus ---------------------------------------------------- */

struct ipk_bus_ring_opts {
	/* who may open the ring, besides root and the publisher's own user:
	 * one more uid, or (uid_t)-1 for nobody else */
	uid_t allow_uid;
	unsigned flags; /* IPK_BUS_RING_ANY_UID: anyone may subscribe */
};
#define IPK_BUS_RING_ANY_UID 0x1u

/**
 * ipk_bus_ring_offer() - offer memfd ring @r (ipk_ring_create(NULL, ...))
 * as /org/ipckit/ring/@name, and emit Restarted
 * @name: [A-Za-z0-9_], 1 to 200 characters
 * @opts: NULL: only root and the publisher's user
 *
 * @r must outlive the offer. Open checks the caller's credentials and
 * answers org.freedesktop.DBus.Error.AccessDenied to others. The Published
 * property is read when asked for.
 * Return: 0 and *@ret; -EINVAL (bad name; @r is not a sealed memfd ring);
 * -EEXIST (the name is already offered on @b); -ENOMEM; -ENOTCONN.
 */
IPK_API int ipk_bus_ring_offer(ipk_bus *b, const char *name, ipk_ring *r,
			       const struct ipk_bus_ring_opts *opts, ipk_bus_ring **ret);

/* ipk_bus_ring_withdraw() - remove the object; subscribers keep their
 * mapping. Accepts NULL. */
IPK_API void ipk_bus_ring_withdraw(ipk_bus_ring *offer);

/**
 * ipk_bus_ring_open() - subscribe to ring @name offered by @busname
 * @timeout_ns: how long to wait for the ring to be offered (ServiceUnknown
 *              and UnknownObject are retried): 0 = do not wait for it: ask
 *              once (one Open call and its answer, at most 5 s), no retry;
 *              -1 (any negative) = forever
 *
 * The returned feed must be a sealed memfd (shrink, grow and seal sealed),
 * open read-only; anything else is refused before it is mapped.
 * Return: 0 and *@ret; -EPROTO (the peer returned no ring, or an fd that
 * is not a sealed read-only memfd); -EACCES (the publisher refused us);
 * -EHOSTUNREACH / -ENOENT (no such service / ring, after the timeout);
 * -ETIMEDOUT; errors of ipk_ring_open_fd().
 */
IPK_API int ipk_bus_ring_open(ipk_bus *b, const char *busname, const char *name,
			      const struct ipk_ring_sub_opts *opts, int64_t timeout_ns,
			      struct ipk_bus_error *err, ipk_ring_sub **ret);

/* ipk_bus_ring_path() - "/org/ipckit/ring/NAME" into @buf (@len bytes).
 * Return: 0; -EINVAL (bad name); -ENAMETOOLONG. */
IPK_API int ipk_bus_ring_path(const char *name, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_BUS_H */
