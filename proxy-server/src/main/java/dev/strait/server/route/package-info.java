/**
 * What one route's new connections share: its {@link dev.strait.server.route.RouteRuntime} (config, backend pool,
 * balancer, backend bootstrap), its {@link dev.strait.server.route.AdmissionGate} (allow/deny lists, limits, accept
 * rate), its {@link dev.strait.server.route.RouteMetrics} counters and its {@link dev.strait.server.route.WaitList} of
 * clients waiting for a slot or a backend.
 *
 * <p>A reload swaps in a new runtime that carries the gate's counts, the metrics and the waiters over; live
 * connections keep the runtime they started with. Nothing here knows about a single connection: {@code connection}
 * depends on this package.
 */
package dev.strait.server.route;
