/**
 * A route's backends at run time: {@link dev.strait.server.backend.BackendPool} turns the configured backends into
 * {@link dev.strait.balance.Backend}s (a host name becomes one backend per address, re-resolved on a timer),
 * {@link dev.strait.server.backend.HealthChecker} probes them on a timer (each probe is a
 * {@link dev.strait.server.probe.Probe}), and passive checks take out backends that refuse
 * clients.
 */
package dev.strait.server.backend;
