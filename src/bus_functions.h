/* SPDX-License-Identifier: MIT */
/*
 * bus_functions.h - every public function of bus.h, one line each, in the
 * header's order, for bus_stubs.c to expand:
 *
 *   IPK_BUS_FUNCTION(return type, name, (parameters), result without sd-bus)
 *
 * The last field is what the function returns in a build without
 * libsystemd (meson -Ddbus=disabled): -EOPNOTSUPP, NULL, nothing for void,
 * or failed_call(err) for a call that also empties its struct
 * ipk_bus_error. A function added to bus.h is one line here; builds with
 * sd-bus check each line against the header's prototype, and the test
 * bus_function_list that every IPK_API function of bus.h is listed.
 *
 * No include guard: the includer defines IPK_BUS_FUNCTION and includes it.
 */
/* clang-format off */
IPK_BUS_FUNCTION(int, ipk_bus_open, (const char *address, ipk_bus **ret), -EOPNOTSUPP)
IPK_BUS_FUNCTION(void, ipk_bus_close, (ipk_bus *b), )
IPK_BUS_FUNCTION(const char *, ipk_bus_unique_name, (ipk_bus *b), NULL)
IPK_BUS_FUNCTION(int, ipk_bus_request_name, (ipk_bus *b, const char *name, unsigned flags), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_release_name, (ipk_bus *b, const char *name), -EOPNOTSUPP)

IPK_BUS_FUNCTION(int, ipk_bus_msg_read, (ipk_bus_msg *m, const char *types, ...), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_msg_readv, (ipk_bus_msg *m, const char *types, va_list ap), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_msg_read_fd, (ipk_bus_msg *m, int *fd), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_msg_append, (ipk_bus_msg *m, const char *types, ...), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_msg_appendv, (ipk_bus_msg *m, const char *types, va_list ap), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_msg_append_bytes, (ipk_bus_msg *m, const void *buf, size_t len), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_msg_read_bytes, (ipk_bus_msg *m, const void **buf, size_t *len), -EOPNOTSUPP)
IPK_BUS_FUNCTION(const char *, ipk_bus_msg_signature, (ipk_bus_msg *m), "")
IPK_BUS_FUNCTION(const char *, ipk_bus_msg_sender, (ipk_bus_msg *m), NULL)
IPK_BUS_FUNCTION(const char *, ipk_bus_msg_member, (ipk_bus_msg *m), NULL)
IPK_BUS_FUNCTION(const char *, ipk_bus_msg_path, (ipk_bus_msg *m), NULL)
IPK_BUS_FUNCTION(int, ipk_bus_msg_creds, (ipk_bus_msg *m, pid_t *pid, uid_t *uid), -EOPNOTSUPP)
IPK_BUS_FUNCTION(void, ipk_bus_msg_free, (ipk_bus_msg *m), )

IPK_BUS_FUNCTION(int, ipk_bus_export, (ipk_bus *b, const char *path, const struct ipk_bus_interface *iface, void *arg, ipk_bus_slot **ret), -EOPNOTSUPP)
IPK_BUS_FUNCTION(void, ipk_bus_slot_free, (ipk_bus_slot *s), )
IPK_BUS_FUNCTION(int, ipk_bus_emit, (ipk_bus *b, const char *path, const char *iface, const char *member, const char *types, ...), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_emit_changed, (ipk_bus *b, const char *path, const char *iface, const char *property), -EOPNOTSUPP)

IPK_BUS_FUNCTION(int, ipk_bus_call, (ipk_bus *b, const char *dest, const char *path, const char *iface, const char *member, int64_t timeout_ns, struct ipk_bus_error *err, ipk_bus_msg **reply, const char *types, ...), failed_call(err))
IPK_BUS_FUNCTION(int, ipk_bus_new_call, (ipk_bus *b, const char *dest, const char *path, const char *iface, const char *member, ipk_bus_msg **ret), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_new_signal, (ipk_bus *b, const char *path, const char *iface, const char *member, ipk_bus_msg **ret), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_call_msg, (ipk_bus *b, ipk_bus_msg *call, int64_t timeout_ns, struct ipk_bus_error *err, ipk_bus_msg **reply), failed_call(err))
IPK_BUS_FUNCTION(int, ipk_bus_send, (ipk_bus *b, ipk_bus_msg *m), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_get_property, (ipk_bus *b, const char *dest, const char *path, const char *iface, const char *property, int64_t timeout_ns, struct ipk_bus_error *err, ipk_bus_msg **reply, const char *type), failed_call(err))
IPK_BUS_FUNCTION(int, ipk_bus_set_property, (ipk_bus *b, const char *dest, const char *path, const char *iface, const char *property, int64_t timeout_ns, struct ipk_bus_error *err, const char *type, ...), failed_call(err))
IPK_BUS_FUNCTION(int, ipk_bus_match, (ipk_bus *b, const char *sender, const char *path, const char *iface, const char *member, ipk_bus_signal_fn fn, void *arg, ipk_bus_slot **ret), -EOPNOTSUPP)

IPK_BUS_FUNCTION(int, ipk_bus_process, (ipk_bus *b), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_run_once, (ipk_bus *b, int64_t timeout_ns), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_flush, (ipk_bus *b), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_fd, (ipk_bus *b), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_events, (ipk_bus *b, uint32_t *events), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_deadline, (ipk_bus *b, int64_t *deadline_ns), -EOPNOTSUPP)
IPK_BUS_FUNCTION(int, ipk_bus_attach, (ipk_bus *b, ipk_loop *l), -EOPNOTSUPP)
IPK_BUS_FUNCTION(void, ipk_bus_detach, (ipk_bus *b), )

IPK_BUS_FUNCTION(int, ipk_bus_ring_offer, (ipk_bus *b, const char *name, ipk_ring *r, const struct ipk_bus_ring_opts *opts, ipk_bus_ring **ret), -EOPNOTSUPP)
IPK_BUS_FUNCTION(void, ipk_bus_ring_withdraw, (ipk_bus_ring *offer), )
IPK_BUS_FUNCTION(int, ipk_bus_ring_open, (ipk_bus *b, const char *busname, const char *name, const struct ipk_ring_sub_opts *opts, int64_t timeout_ns, struct ipk_bus_error *err, ipk_ring_sub **ret), failed_call(err))
IPK_BUS_FUNCTION(int, ipk_bus_ring_path, (const char *name, char *buf, size_t len), -EOPNOTSUPP)
/* clang-format on */
