package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.balance.Backend;
import dev.strait.balance.CheckResult;
import dev.strait.config.AdminToken;
import dev.strait.server.connection.ConnectionView;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.listen.Listeners;
import dev.strait.server.tls.TlsSessionInfo;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the admin API's {@code GET}s answer, as JSON trees: the live connections with their rates and idle time, and
 * every route's backends and throughput history. Reads only; called on the admin endpoint's event loop.
 */
final class ApiViews {
    private final ProxyView server;
    private final TrafficSampler sampler;
    private final Optional<AdminToken> token;

    ApiViews(ProxyView server, TrafficSampler sampler, Optional<AdminToken> token) {
        this.server = requireNonNull(server, "server");
        this.sampler = requireNonNull(sampler, "sampler");
        this.token = requireNonNull(token, "token");
    }

    ObjectNode connections(ConnectionFilter filter) {
        long nowNanos = System.nanoTime();
        Instant now = Instant.now();
        ObjectNode root = Responses.JSON.createObjectNode();
        ArrayNode list = Responses.JSON.createArrayNode();
        for (ProxiedConnection c : server.liveConnections()) {
            if (!filter.test(c)) {
                continue;
            }
            TrafficSampler.Traffic traffic = sampler.traffic(c, nowNanos);
            ObjectNode n = list.addObject();
            n.put("id", c.id());
            n.put("route", c.route());
            n.put("client", address(c.client()));
            n.put("peer", address(c.peer()));
            n.put("listener", address(c.listener()));
            Backend target = c.backendTarget();
            n.put("backend", c.backend() != null ? address(c.backend()) : target == null ? null : target.name());
            n.put("backendLocal", address(c.backendLocal()));
            n.put("state", c.state().name());
            n.put("startedAt", c.started().toString());
            n.put("ageSeconds", round(Duration.between(c.started(), now).toMillis() / 1000.0));
            n.put("idleSeconds", round(traffic.idleSeconds()));
            n.put("bytesFromClient", c.bytesFromClient());
            n.put("bytesFromBackend", c.bytesFromBackend());
            n.put("rateFromClient", round(traffic.rateFromClient()));
            n.put("rateFromBackend", round(traffic.rateFromBackend()));
            n.put("spliced", c.bytesSpliced() > 0);
            n.put("bytesSpliced", c.bytesSpliced());
            putTargetAndTls(n, c);
        }
        root.put("count", list.size());
        root.set("connections", list);
        return root;
    }

    ObjectNode routes() {
        ObjectNode root = Responses.JSON.createObjectNode();
        root.put("tokenConfigured", token.isPresent());
        root.put("intervalSeconds", 1);
        Map<String, List<TrafficSampler.Point>> history = sampler.history();
        ArrayNode list = root.putArray("routes");
        server.routeMetrics().forEach((name, metrics) -> {
            List<Backend> backends;
            boolean checked;
            try {
                backends = server.backends(name);
                checked = server.activelyChecked(name);
            } catch (IllegalArgumentException e) {
                return; // removed by a reload since the names were read
            }
            ObjectNode r = list.addObject();
            r.put("name", name);
            r.put("activeConnections", metrics.active());
            ArrayNode bs = r.putArray("backends");
            backends.forEach(b -> backend(bs.addObject(), b, checked));
            ArrayNode points = r.putArray("throughput");
            history.getOrDefault(name, List.of()).forEach(p -> points.addArray()
                    .add(p.epochMillis())
                    .add(round(p.fromClient()))
                    .add(round(p.fromBackend())));
        });
        return root;
    }

    /** One backend as {@code /backends} and {@code /api/routes} show it. */
    static void backend(ObjectNode n, Backend b, boolean checked) {
        n.put("name", b.name());
        n.put("address", address(b.address()));
        n.put("healthy", b.healthy());
        n.put("check", checked ? (b.healthy() ? "up" : "down") : "unchecked");
        n.put("drained", b.drained());
        Optional<CheckResult> last = checked ? b.lastCheck() : Optional.empty();
        if (last.isPresent()) {
            ObjectNode result = n.putObject("lastCheck");
            result.put("result", last.get().up() ? "up" : "down");
            result.put("reason", last.get().reason());
            result.put("at", last.get().at().toString());
        } else {
            n.putNull("lastCheck");
        }
        n.put("backup", b.backup());
        n.put("weight", b.weight());
        n.put("activeConnections", b.activeConnections());
    }

    private static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }

    /**
     * The parts of a connection a pre-relay stage decided: the {@code sni} target chosen (null: the route's own
     * backends) and, on a terminating route once its handshake finished, a {@code tls} object with the negotiated
     * server name, protocol, cipher, ALPN and the client certificate's subject.
     */
    static void putTargetAndTls(ObjectNode n, ConnectionView c) {
        n.put("target", c.target());
        TlsSessionInfo tls = c.tls();
        if (tls != null) {
            ObjectNode t = n.putObject("tls");
            t.put("sni", tls.sni());
            t.put("protocol", tls.protocol());
            t.put("cipher", tls.cipher());
            t.put("clientSubject", tls.clientSubject());
            t.put("alpn", tls.alpn());
        }
    }

    static String address(SocketAddress address) {
        return address == null ? null : Listeners.format(address);
    }
}
