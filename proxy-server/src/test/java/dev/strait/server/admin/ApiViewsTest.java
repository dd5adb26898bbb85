package dev.strait.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.server.connection.ConnectionView;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What a connection's entry in {@code /connections} and {@code /api/connections} says of its stages' decisions. */
class ApiViewsTest {
    @Test
    void namesTheSniTargetAndTheNegotiatedTlsSession() {
        EmbeddedChannel frontend = new EmbeddedChannel();
        frontend.attr(TlsSessionInfo.KEY)
                .set(new TlsSessionInfo("db1.test", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "CN=app", "postgresql"));
        ObjectNode n = Responses.JSON.createObjectNode();

        ApiViews.putTargetAndTls(n, new View(frontend, "db1.test"));

        assertThat(n.get("target").asText()).isEqualTo("db1.test");
        ObjectNode tls = (ObjectNode) n.get("tls");
        assertThat(tls.get("sni").asText()).isEqualTo("db1.test");
        assertThat(tls.get("protocol").asText()).isEqualTo("TLSv1.3");
        assertThat(tls.get("cipher").asText()).isEqualTo("TLS_AES_128_GCM_SHA256");
        assertThat(tls.get("clientSubject").asText()).isEqualTo("CN=app");
        assertThat(tls.get("alpn").asText()).isEqualTo("postgresql");
        frontend.finishAndReleaseAll();
    }

    @Test
    void aPlainConnectionHasANullTargetAndNoTlsObject() {
        EmbeddedChannel frontend = new EmbeddedChannel();
        ObjectNode n = Responses.JSON.createObjectNode();

        ApiViews.putTargetAndTls(n, new View(frontend, null));

        assertThat(n.has("target")).isTrue();
        assertThat(n.get("target").isNull()).isTrue();
        assertThat(n.has("tls")).isFalse();
        frontend.finishAndReleaseAll();
    }

    private record View(Channel frontend, String target) implements ConnectionView {
        @Override
        public String route() {
            return "db";
        }

        @Override
        public Instant started() {
            return Instant.EPOCH;
        }

        @Override
        public ConnectionState state() {
            return new ConnectionState.Staging("sni");
        }
    }
}
