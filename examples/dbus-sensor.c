/* SPDX-License-Identifier: MIT */
/*
 * examples/dbus-sensor.c - a sensor service on D-Bus (ipk_bus): the seed's
 * "desktop service" scenario.
 *
 *   dbus-sensor [--address ADDR] [--name BUSNAME] [--count N]
 *
 * Owns BUSNAME (default org.ipckit.Sensor) and serves, at /org/ipckit/Sensor,
 * the interface org.ipckit.Sensor1:
 *   property SamplingRate u  read/write, 1..1000 readings per second;
 *                            changes are announced (PropertiesChanged)
 *   property Readings     t  read-only: readings taken so far
 *   method   GetReading() -> (d value, t seq)   the latest reading
 *   signal   NewReading(d value, t seq)         one per reading
 * ADDR is a D-Bus address (unix:path=...), "session" (the default) or
 * "system". Everything runs in one ipk_loop: the bus (ipk_bus_attach), the
 * sampling timer and SIGINT/SIGTERM. Stops after N readings if --count.
 * Try it: busctl --user introspect org.ipckit.Sensor /org/ipckit/Sensor
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipckit/ipckit.h>

#define PATH "/org/ipckit/Sensor"
#define IFACE "org.ipckit.Sensor1"

struct sensor {
	ipk_bus *bus;
	ipk_loop *loop;
	ipk_loop_timer *timer;
	uint32_t rate;  /* readings per second */
	uint64_t seq;   /* readings taken */
	double value;   /* the latest */
	uint64_t count; /* stop after this many; 0 = never */
};

static void sample(ipk_loop *l, ipk_loop_timer *t, uint64_t exp, void *arg);

static int start_timer(struct sensor *s)
{
	ipk_loop_timer_cancel(s->timer);
	s->timer = NULL;
	return ipk_loop_timer_every(s->loop, IPK_SEC / s->rate, sample, s, &s->timer);
}

/* A made-up temperature: a slow saw-tooth around 21 degrees. */
static void sample(ipk_loop *l, ipk_loop_timer *t, uint64_t exp, void *arg)
{
	struct sensor *s = arg;
	int r;

	(void)t;
	(void)exp;
	s->seq++;
	s->value = 19.0 + (double)(s->seq % 40) / 10.0;
	r = ipk_bus_emit(s->bus, PATH, IFACE, "NewReading", "dt", s->value, s->seq);
	if (r < 0) {
		fprintf(stderr, "dbus-sensor: emit: %s\n", strerror(-r));
		ipk_loop_stop(l);
	}
	if (s->count && s->seq >= s->count)
		ipk_loop_stop(l);
}

static int get_reading(ipk_bus_msg *call, ipk_bus_msg *reply, void *arg, struct ipk_bus_error *err)
{
	struct sensor *s = arg;

	(void)call;
	(void)err;
	return ipk_bus_msg_append(reply, "dt", s->value, s->seq);
}

static int get_prop(ipk_bus_msg *reply, const char *prop, void *arg, struct ipk_bus_error *err)
{
	struct sensor *s = arg;

	(void)err;
	if (!strcmp(prop, "SamplingRate"))
		return ipk_bus_msg_append(reply, "u", s->rate);
	return ipk_bus_msg_append(reply, "t", s->seq);
}

static int set_rate(ipk_bus_msg *value, const char *prop, void *arg, struct ipk_bus_error *err)
{
	struct sensor *s = arg;
	uint32_t rate;
	int r;

	(void)prop;
	r = ipk_bus_msg_read(value, "u", &rate);
	if (r < 0)
		return r;
	if (rate < 1 || rate > 1000) {
		snprintf(err->name, sizeof(err->name), "org.freedesktop.DBus.Error.InvalidArgs");
		snprintf(err->message, sizeof(err->message),
			 "SamplingRate must be 1 to 1000, not %u", (unsigned)rate);
		return -EINVAL;
	}
	if (rate != s->rate) {
		s->rate = rate;
		r = start_timer(s);
		if (r < 0)
			return r;
		return ipk_bus_emit_changed(s->bus, PATH, IFACE, "SamplingRate");
	}
	return 0;
}

static const struct ipk_bus_method methods[] = {
	{ "GetReading", "", "dt", get_reading, "value\0seq\0" },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const struct ipk_bus_signal signals[] = {
	{ "NewReading", "dt", "value\0seq\0" },
	{ NULL, NULL, NULL },
};

static const struct ipk_bus_property props[] = {
	{ "SamplingRate", "u", get_prop, set_rate, IPK_BUS_PROP_EMITS_CHANGE },
	{ "Readings", "t", get_prop, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const struct ipk_bus_interface sensor_iface = { IFACE, methods, signals, props };

static void on_stop(ipk_loop *l, const struct ipk_siginfo *si, void *arg)
{
	(void)si;
	(void)arg;
	ipk_loop_stop(l);
}

static int usage(void)
{
	fprintf(stderr, "usage: dbus-sensor [--address ADDR] [--name BUSNAME] [--count N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sensor s = { .rate = 10 };
	const char *addr = "session", *name = "org.ipckit.Sensor";
	int r;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--address"))
			addr = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--name"))
			name = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--count"))
			s.count = strtoull(argv[++i], NULL, 10);
		else
			return usage();
	}
	r = ipk_bus_open(addr, &s.bus);
	if (r < 0) {
		fprintf(stderr, "dbus-sensor: connect to %s: %s\n", addr, strerror(-r));
		return 1;
	}
	r = ipk_bus_request_name(s.bus, name, 0);
	if (r < 0) {
		fprintf(stderr, "dbus-sensor: own %s: %s\n", name, strerror(-r));
		goto out;
	}
	r = ipk_loop_new(&s.loop);
	if (r == 0)
		r = ipk_bus_export(s.bus, PATH, &sensor_iface, &s, NULL);
	if (r == 0)
		r = ipk_bus_attach(s.bus, s.loop);
	if (r == 0)
		r = start_timer(&s);
	if (r == 0)
		r = ipk_loop_add_signal(s.loop, SIGINT, on_stop, NULL);
	if (r == 0)
		r = ipk_loop_add_signal(s.loop, SIGTERM, on_stop, NULL);
	if (r < 0) {
		fprintf(stderr, "dbus-sensor: %s\n", strerror(-r));
		goto out;
	}
	printf("dbus-sensor: %s serves %s at %s\n", name, IFACE, PATH);
	fflush(stdout);
	r = ipk_loop_run(s.loop);
	if (r < 0)
		fprintf(stderr, "dbus-sensor: loop: %s\n", strerror(-r));
	printf("dbus-sensor: %llu readings\n", (unsigned long long)s.seq);
out:
	ipk_bus_detach(s.bus);
	ipk_loop_free(s.loop);
	ipk_bus_close(s.bus);
	return r < 0 ? 1 : 0;
}
