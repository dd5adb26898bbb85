/**
 * Choosing a backend for a new connection: the {@link dev.strait.balance.Backend} runtime state (address, weight,
 * health, live connection count) and the {@link dev.strait.balance.LoadBalancer} algorithms that pick among them, made
 * by {@link dev.strait.balance.Balancers} from a route's {@link dev.strait.config.BalanceAlgorithm}.
 *
 * <p>Balancers are called from every worker event loop at once, so they are thread-safe and never block.
 */
package dev.strait.balance;
