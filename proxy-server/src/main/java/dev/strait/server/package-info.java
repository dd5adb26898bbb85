/**
 * The Strait application: {@link dev.strait.server.Main} parses the command line, {@link dev.strait.server.ProxyServer}
 * owns the event loops and binds every route, and drains on shutdown.
 *
 * <p>Data flow: accept ({@code connection.FrontendInitializer}) -> connect backend ({@code connection.FrontendHandler})
 * -> relay ({@code dev.strait.relay.RelayHandler}) -> close.
 */
package dev.strait.server;
