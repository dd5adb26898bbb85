/**
 * Binding listener sockets: {@link dev.strait.server.listen.Listeners} binds a bootstrap or probes an address, and
 * turns a failure into a one-line {@link dev.strait.server.listen.ListenException}; it also formats addresses for logs.
 *
 * <p>Routes and the admin endpoint both bind through it, so this package knows neither of them.
 */
package dev.strait.server.listen;
