package dev.strait.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.balance.Backend;
import dev.strait.server.connection.ConnectionView;
import dev.strait.server.lifecycle.ConnectionState;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code GET /api/connections}'s filters: each one alone, combined, and every malformed one a 400. */
class ConnectionFilterTest {
    private final EmbeddedChannel attempt = new EmbeddedChannel();
    private final Backend pg1 = new Backend("pg-1.internal:5432", new InetSocketAddress("10.0.0.1", 5432), 1, 0, false);
    private final Backend pg2 = new Backend("10.0.0.2:5432", new InetSocketAddress("10.0.0.2", 5432), 1, 0, false);

    private final View a =
            new View("db", client("192.168.1.10", 40001), new ConnectionState.Connecting(pg1, 1, attempt));
    private final View b =
            new View("db", client("192.168.1.11", 40002), new ConnectionState.Connecting(pg2, 2, attempt));
    private final View c = new View("web", client("10.1.2.3", 50000), new ConnectionState.Staging("tls"));
    private final View d = new View("web", client("2001:db8::7", 50001), new ConnectionState.WaitingForBackend(0));
    private final List<View> all = List.of(a, b, c, d);

    @AfterEach
    void close() {
        attempt.finishAndReleaseAll();
    }

    @Test
    void withoutParametersKeepsEveryConnection() {
        assertThat(matching("")).containsExactlyElementsOf(all);
    }

    @Test
    void filtersByRouteName() {
        assertThat(matching("route=web")).containsExactly(c, d);
        assertThat(matching("route=nope")).isEmpty();
    }

    @Test
    void filtersByBackendNameOrAddress() {
        assertThat(matching("backend=pg-1.internal:5432")).containsExactly(a);
        assertThat(matching("backend=10.0.0.1:5432")).containsExactly(a);
        assertThat(matching("backend=10.0.0.2:5432")).containsExactly(b);
    }

    @Test
    void filtersByClientIpIpAndPortOrCidr() {
        assertThat(matching("client=192.168.1.10")).containsExactly(a);
        assertThat(matching("client=192.168.1.11:40002")).containsExactly(b);
        assertThat(matching("client=192.168.1.11:40003")).isEmpty();
        assertThat(matching("client=192.168.1.0/24")).containsExactly(a, b);
        assertThat(matching("client=2001:db8::/32")).containsExactly(d);
        assertThat(matching("client=[2001:db8::7]:50001")).containsExactly(d);
        assertThat(matching("client=2001:db8:0:0:0:0:0:7")).containsExactly(d);
    }

    @Test
    void filtersByStateWithStageMatchingEveryStage() {
        assertThat(matching("state=connecting")).containsExactly(a, b);
        assertThat(matching("state=stage")).containsExactly(c);
        assertThat(matching("state=waiting")).containsExactly(d);
        assertThat(matching("state=relaying")).isEmpty();
    }

    @Test
    void combinesFiltersWithAnd() {
        assertThat(matching("route=db&client=192.168.1.0/24&backend=10.0.0.2:5432&state=connecting"))
                .containsExactly(b);
    }

    @Test
    void refusesMalformedFiltersWith400() {
        Stream.of(
                        "state=dancing",
                        "client=10.0.0.0/33",
                        "client=not-an-ip",
                        "client=10.0.0.1:99999",
                        "client=host.example:80",
                        "colour=red",
                        "route=a&route=b")
                .forEach(query -> assertThatThrownBy(() -> matching(query))
                        .as(query)
                        .isInstanceOfSatisfying(
                                ApiException.class,
                                e -> assertThat(e.status().code()).isEqualTo(400)));
    }

    private List<View> matching(String query) {
        ConnectionFilter filter =
                ConnectionFilter.parse(new QueryStringDecoder("/api/connections?" + query).parameters());
        return all.stream().filter(filter).toList();
    }

    private static InetSocketAddress client(String ip, int port) {
        return new InetSocketAddress(ip, port);
    }

    /** A connection as the filter reads it. */
    private record View(String route, InetSocketAddress clientAddress, ConnectionState state)
            implements ConnectionView {
        @Override
        public Channel frontend() {
            throw new UnsupportedOperationException("the filter reads addresses, not the channel");
        }

        @Override
        public Instant started() {
            return Instant.EPOCH;
        }

        @Override
        public SocketAddress client() {
            return clientAddress;
        }

        @Override
        public SocketAddress backend() {
            return null;
        }
    }
}
