/**
 * The Strait application: {@link dev.strait.server.Main} parses the command line, {@link dev.strait.server.ProxyServer}
 * owns the event loops, binds every route through its {@code RouteTable}, applies a reload as a pure
 * {@code ReloadPlan} worked out from the old and new config, and drains on shutdown.
 *
 * <p>Data flow: accept ({@code connection.FrontendInitializer}, admitted by {@code route.AdmissionGate}) -> connect
 * backend ({@code connection.BackendConnector}, waiting if it must) -> relay ({@code dev.strait.relay.RelayHandler})
 * -> close, each connection owned by one {@code connection.ProxiedConnection} (see {@code docs/architecture.md}).
 * Every other server package sits below this one and none imports it.
 */
package dev.strait.server;
