package dev.strait.server.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strait.config.AccessLog;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AccessLogFormatTest {
    private static final AccessLogLine CLOSED = new AccessLogLine(
            "close",
            Instant.parse("2026-12-01T18:00:00.123Z"),
            52,
            "db",
            new InetSocketAddress("127.0.0.1", 51234),
            new InetSocketAddress("127.0.0.1", 15432),
            new InetSocketAddress("10.0.0.5", 5432),
            new InetSocketAddress("10.0.0.1", 40012),
            2,
            7,
            1,
            412,
            9120,
            true,
            "client_close",
            "client");

    private static final AccessLogLine UNSERVED = new AccessLogLine(
            "close",
            Instant.parse("2026-12-01T18:00:00Z"),
            3,
            "db",
            new InetSocketAddress("::1", 51234),
            new InetSocketAddress("::1", 15432),
            null,
            null,
            1,
            0,
            0,
            0,
            0,
            false,
            "connect_refused",
            "proxy");

    @Test
    void writesEveryFieldAsKeyValueInTheDocumentedOrderOnOneLine() {
        String line = text(CLOSED);

        assertThat(line)
                .isEqualTo("2026-12-01T18:00:00.123Z event=close durationMs=52 route=db client=127.0.0.1:51234"
                        + " listener=127.0.0.1:15432 backend=10.0.0.5:5432 backendLocal=10.0.0.1:40012 attempts=2"
                        + " waitMs=7 connectMs=1 bytesFromClient=412 bytesFromBackend=9120 spliced=true"
                        + " cause=client_close closedFirst=client peer=127.0.0.1:51234 sni=- tlsProtocol=- tlsCipher=-"
                        + " clientSubject=-\n");
        List<String> keys = new ArrayList<>();
        for (String pair : line.strip().split(" ")) {
            if (pair.contains("=")) {
                keys.add(pair.substring(0, pair.indexOf('=')));
            }
        }
        assertThat(keys).containsExactlyElementsOf(AccessLogFormat.FIELDS.subList(1, AccessLogFormat.FIELDS.size()));
    }

    @Test
    void writesADashForWhatIsNotKnownAndBracketsIpv6() {
        assertThat(text(UNSERVED))
                .contains(" client=[0:0:0:0:0:0:0:1]:51234 ")
                .contains(" backend=- backendLocal=- ")
                .contains(" cause=connect_refused closedFirst=proxy ")
                .endsWith(" sni=- tlsProtocol=- tlsCipher=- clientSubject=-\n");
    }

    @Test
    void writesOneJsonObjectPerLineWithTypedValues() throws Exception {
        String line = json(CLOSED);

        assertThat(line).endsWith("}\n").doesNotContain("\n{");
        JsonNode n = new ObjectMapper().readTree(line);
        assertThat(n.properties()).extracting(e -> e.getKey()).containsExactlyElementsOf(AccessLogFormat.FIELDS);
        assertThat(n.path("time").asText()).isEqualTo("2026-12-01T18:00:00.123Z");
        assertThat(n.path("event").asText()).isEqualTo("close");
        assertThat(n.path("durationMs").isNumber()).isTrue();
        assertThat(n.path("durationMs").asLong()).isEqualTo(52);
        assertThat(n.path("route").asText()).isEqualTo("db");
        assertThat(n.path("client").asText()).isEqualTo("127.0.0.1:51234");
        assertThat(n.path("listener").asText()).isEqualTo("127.0.0.1:15432");
        assertThat(n.path("backend").asText()).isEqualTo("10.0.0.5:5432");
        assertThat(n.path("backendLocal").asText()).isEqualTo("10.0.0.1:40012");
        assertThat(n.path("attempts").asInt()).isEqualTo(2);
        assertThat(n.path("waitMs").asLong()).isEqualTo(7);
        assertThat(n.path("connectMs").asLong()).isEqualTo(1);
        assertThat(n.path("bytesFromClient").asLong()).isEqualTo(412);
        assertThat(n.path("bytesFromBackend").asLong()).isEqualTo(9120);
        assertThat(n.path("spliced").isBoolean()).isTrue();
        assertThat(n.path("spliced").asBoolean()).isTrue();
        assertThat(n.path("cause").asText()).isEqualTo("client_close");
        assertThat(n.path("closedFirst").asText()).isEqualTo("client");
    }

    @Test
    void writesNullInJsonForWhatIsNotKnown() throws Exception {
        JsonNode n = new ObjectMapper().readTree(json(UNSERVED));

        assertThat(n.path("backend").isNull()).as("backend of %s", n).isTrue();
        assertThat(n.path("backendLocal").isNull()).isTrue();
        assertThat(n.path("client").asText()).isEqualTo("[0:0:0:0:0:0:0:1]:51234");
        assertThat(n.path("spliced").asBoolean()).isFalse();
    }

    @Test
    void carriesThePeerBehindAProxyHeaderAndTheNegotiatedTls() throws Exception {
        AccessLogLine tls = new AccessLogLine(
                "close",
                Instant.EPOCH,
                5,
                "db",
                new InetSocketAddress("203.0.113.7", 51234),
                new InetSocketAddress("10.0.0.2", 443),
                new InetSocketAddress("10.0.0.5", 5432),
                null,
                1,
                0,
                1,
                10,
                20,
                false,
                "client_close",
                "client",
                new InetSocketAddress("10.0.3.4", 40112),
                "db1.example.com",
                "TLSv1.3",
                "TLS_AES_128_GCM_SHA256",
                "CN=app \"ops\", O=Example");

        assertThat(text(tls))
                .endsWith(" peer=10.0.3.4:40112 sni=db1.example.com tlsProtocol=TLSv1.3"
                        + " tlsCipher=TLS_AES_128_GCM_SHA256 clientSubject=\"CN=app \\\"ops\\\", O=Example\"\n");
        JsonNode n = new ObjectMapper().readTree(json(tls));
        assertThat(n.path("client").asText()).isEqualTo("203.0.113.7:51234");
        assertThat(n.path("peer").asText()).isEqualTo("10.0.3.4:40112");
        assertThat(n.path("sni").asText()).isEqualTo("db1.example.com");
        assertThat(n.path("tlsProtocol").asText()).isEqualTo("TLSv1.3");
        assertThat(n.path("clientSubject").asText()).isEqualTo("CN=app \"ops\", O=Example");
    }

    @Test
    void escapesWhatCameFromOutsideInJson() throws Exception {
        AccessLogLine odd = new AccessLogLine(
                "close", Instant.EPOCH, 0, "a\"b\nc", null, null, null, null, 0, 0, 0, 0, 0, false, null, null);

        String line = json(odd);

        assertThat(line.strip()).doesNotContain("\n");
        assertThat(new ObjectMapper().readTree(line).path("route").asText()).isEqualTo("a\"b\nc");
    }

    private static String text(AccessLogLine line) {
        return new String(new AccessLogFormat(AccessLog.Format.TEXT).format(line), StandardCharsets.UTF_8);
    }

    private static String json(AccessLogLine line) {
        return new String(new AccessLogFormat(AccessLog.Format.JSON).format(line), StandardCharsets.UTF_8);
    }
}
