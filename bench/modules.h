/* SPDX-License-Identifier: MIT */
/*
 * bench/modules.h - the registry of benchmark modules: one line per module,
 * in the order their rows appear. See bench/bench.h for how to add one.
 * (Included twice, with different BENCH_MODULE definitions.)
 */
BENCH_MODULE(ref)
BENCH_MODULE(ring)
BENCH_MODULE(mpsc)
BENCH_MODULE(chan)
BENCH_MODULE(rawchan)
BENCH_MODULE(wake)
BENCH_MODULE(notify)
BENCH_MODULE(sync)
BENCH_MODULE(fdpass)
BENCH_MODULE(nats)
BENCH_MODULE(bus)
BENCH_MODULE(zmq)
BENCH_MODULE(nng)
BENCH_MODULE(svc)
BENCH_MODULE(iceoryx)
BENCH_MODULE(boost)
