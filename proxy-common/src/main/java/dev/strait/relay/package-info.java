/**
 * Relays bytes between two connected channels: {@link dev.strait.relay.RelayHandler} on each side passes every
 * buffer to its peer untouched, applies writability-driven backpressure and propagates half-close.
 *
 * <p>Both channels of a pair run on one event loop, so the handlers share state without locks.
 */
package dev.strait.relay;
