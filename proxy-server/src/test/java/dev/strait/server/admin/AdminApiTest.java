package dev.strait.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strait.balance.Backend;
import dev.strait.config.AdminToken;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.route.RouteMetrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The admin API's answers through {@link AdminHandler} on an {@link EmbeddedChannel}, against a fake proxy: the
 * token rules (403 without one configured, 401 without the right one, 200 with it), the JSON errors (400, 404, 405)
 * that change nothing, drain and enable, and the page's security headers.
 */
class AdminApiTest {
    private static final String TOKEN = "s3cret-token-0123456789";

    private final Backend first = backend("10.0.0.1:5432", 1);
    private final Backend second = backend("db.internal:5432 (10.0.0.2)", 2);
    private final FakeProxy proxy = new FakeProxy(Map.of("db", List.of(first, second)));

    @Test
    void refusesEveryPostWith403AndAReasonWhenNoTokenIsConfigured() throws IOException {
        EmbeddedChannel admin = admin(Optional.empty());

        Answer drain = post(admin, "/api/routes/db/backends/10.0.0.1:5432/drain", TOKEN, "");
        Answer close = post(admin, "/api/connections/abcdef01/close", TOKEN, "");

        assertThat(drain.status).isEqualTo(403);
        assertThat(drain.json().get("error").asText()).contains("no admin.token is configured");
        assertThat(close.status).isEqualTo(403);
        assertThat(first.drained()).isFalse();
        assertFalse(admin.finish());
    }

    @Test
    void refusesAMissingOrWrongTokenWith401AndChangesNothing() throws IOException {
        EmbeddedChannel admin = admin(Optional.of(new AdminToken(TOKEN)));

        Answer missing = post(admin, "/api/routes/db/backends/10.0.0.1:5432/drain", null, "");
        Answer wrong = post(admin, "/api/routes/db/backends/10.0.0.1:5432/drain", TOKEN + "x", "");
        Answer notBearer =
                request(admin, HttpMethod.POST, "/api/routes/db/backends/10.0.0.1:5432/drain", "Basic " + TOKEN, "");

        assertThat(missing.status).isEqualTo(401);
        assertThat(missing.json().get("error").asText()).contains("missing Authorization");
        assertThat(missing.headers.get("WWW-Authenticate")).startsWith("Bearer");
        assertThat(wrong.status).isEqualTo(401);
        assertThat(wrong.json().get("error").asText()).isEqualTo("wrong admin token");
        assertThat(notBearer.status).isEqualTo(401);
        assertThat(first.drained()).isFalse();
        assertThat(proxy.drainCalls).isEmpty();
        assertFalse(admin.finish());
    }

    @Test
    void drainsAndEnablesABackendByNameOrAddressWithTheRightToken() throws IOException {
        EmbeddedChannel admin = admin(Optional.of(new AdminToken(TOKEN)));

        Answer drained = post(admin, "/api/routes/db/backends/10.0.0.2:5432/drain", TOKEN, "");
        assertThat(drained.status).isEqualTo(200);
        assertThat(drained.json().get("drained").asBoolean()).isTrue();
        assertThat(drained.json().get("changed").asBoolean()).isTrue();
        assertThat(second.drained()).isTrue();
        assertThat(first.drained()).isFalse();

        Answer again = post(admin, "/api/routes/db/backends/10.0.0.2:5432/drain", TOKEN, "");
        assertThat(again.json().get("changed").asBoolean()).isFalse();

        JsonNode backends = get(admin, "/backends").json().get("db");
        assertThat(backends.get(1).get("drained").asBoolean()).isTrue();
        assertThat(backends.get(0).get("drained").asBoolean()).isFalse();

        String byName = "/api/routes/db/backends/" + "db.internal%3A5432%20%2810.0.0.2%29" + "/enable";
        Answer enabled = post(admin, byName, TOKEN, "{\"reason\": \"maintenance over\"}");
        assertThat(enabled.status).isEqualTo(200);
        assertThat(enabled.json().get("drained").asBoolean()).isFalse();
        assertThat(second.drained()).isFalse();
        assertThat(proxy.drainCalls)
                .containsExactly(
                        "db/" + second.name() + "=true",
                        "db/" + second.name() + "=true",
                        "db/" + second.name() + "=false");
        assertFalse(admin.finish());
    }

    @Test
    void answersUnknownRouteBackendConnectionAndEndpointWith404Json() throws IOException {
        EmbeddedChannel admin = admin(Optional.of(new AdminToken(TOKEN)));

        Answer route = post(admin, "/api/routes/nope/backends/10.0.0.1:5432/drain", TOKEN, "");
        Answer backend = post(admin, "/api/routes/db/backends/10.9.9.9:1/drain", TOKEN, "");
        Answer connection = post(admin, "/api/connections/deadbeef/close", TOKEN, "");
        Answer endpoint = get(admin, "/api/nothing");

        assertThat(route.status).isEqualTo(404);
        assertThat(route.json().get("error").asText()).isEqualTo("no route named \"nope\"");
        assertThat(backend.status).isEqualTo(404);
        assertThat(backend.json().get("error").asText()).contains("has no backend \"10.9.9.9:1\"");
        assertThat(connection.status).isEqualTo(404);
        assertThat(connection.json().get("error").asText()).contains("deadbeef");
        assertThat(endpoint.status).isEqualTo(404);
        assertThat(endpoint.headers.get(HttpHeaderNames.CONTENT_TYPE)).startsWith("application/json");
        assertThat(proxy.drainCalls).isEmpty();
        assertFalse(admin.finish());
    }

    @Test
    void answersMalformedBodiesAndQueriesWith400JsonAndChangesNothing() throws IOException {
        EmbeddedChannel admin = admin(Optional.of(new AdminToken(TOKEN)));
        String drain = "/api/routes/db/backends/10.0.0.1:5432/drain";

        Answer broken = post(admin, drain, TOKEN, "{\"reason\": ");
        Answer array = post(admin, drain, TOKEN, "[1, 2]");
        Answer unknownField = post(admin, drain, TOKEN, "{\"force\": true}");
        Answer badReason = post(admin, drain, TOKEN, "{\"reason\": 3}");
        Answer badState = get(admin, "/api/connections?state=dancing");
        Answer badClient = get(admin, "/api/connections?client=10.0.0.0/99");
        Answer badParameter = get(admin, "/api/connections?colour=red");

        for (Answer a : List.of(broken, array, unknownField, badReason, badState, badClient, badParameter)) {
            assertThat(a.status).as(a.body).isEqualTo(400);
            assertThat(a.json().get("status").asInt()).isEqualTo(400);
            assertThat(a.body).doesNotContain("Exception").doesNotContain("\tat ");
        }
        assertThat(broken.json().get("error").asText()).startsWith("malformed JSON");
        assertThat(badState.json().get("error").asText()).contains("relaying");
        assertThat(badClient.json().get("error").asText()).contains("client");
        assertThat(first.drained()).isFalse();
        assertThat(proxy.drainCalls).isEmpty();
        assertFalse(admin.finish());
    }

    @Test
    void answersAWrongMethodWith405AndTheAllowedOne() throws IOException {
        EmbeddedChannel admin = admin(Optional.of(new AdminToken(TOKEN)));

        Answer postList = post(admin, "/api/connections", TOKEN, "");
        Answer getDrain = get(admin, "/api/routes/db/backends/10.0.0.1:5432/drain");

        assertThat(postList.status).isEqualTo(405);
        assertThat(postList.headers.get(HttpHeaderNames.ALLOW)).isEqualTo("GET, HEAD");
        assertThat(getDrain.status).isEqualTo(405);
        assertThat(getDrain.headers.get(HttpHeaderNames.ALLOW)).isEqualTo("POST");
        assertThat(first.drained()).isFalse();
        assertFalse(admin.finish());
    }

    @Test
    void listsRoutesWithBackendsDrainStateAndWhetherChangesAreOn() throws IOException {
        second.setDrained(true);
        second.setHealthy(false);

        JsonNode routes = get(admin(Optional.empty()), "/api/routes").json();

        assertThat(routes.get("tokenConfigured").asBoolean()).isFalse();
        JsonNode db = routes.get("routes").get(0);
        assertThat(db.get("name").asText()).isEqualTo("db");
        assertThat(db.get("backends").get(1).get("drained").asBoolean()).isTrue();
        assertThat(db.get("backends").get(1).get("healthy").asBoolean()).isFalse();
        assertThat(db.get("backends").get(1).get("address").asText()).isEqualTo("10.0.0.2:5432");
        assertThat(db.get("throughput").isArray()).isTrue();
    }

    @Test
    void servesThePageWithAPolicyThatForbidsInlineScript() throws IOException {
        EmbeddedChannel admin = admin(Optional.empty());

        Answer page = get(admin, "/ui");
        Answer script = get(admin, "/ui/app.js");
        Answer json = get(admin, "/api/routes");
        Answer missing = get(admin, "/ui/../pom.xml");

        assertThat(page.status).isEqualTo(200);
        assertThat(page.headers.get(HttpHeaderNames.CONTENT_TYPE)).startsWith("text/html");
        assertThat(page.body).contains("<script src=\"/ui/app.js\"").doesNotContain("<script>");
        assertThat(page.headers.get("Content-Security-Policy"))
                .contains("script-src 'self'")
                .doesNotContain("unsafe-inline")
                .contains("default-src 'none'");
        assertThat(page.headers.get("X-Content-Type-Options")).isEqualTo("nosniff");
        assertThat(script.headers.get(HttpHeaderNames.CONTENT_TYPE)).startsWith("text/javascript");
        assertThat(script.body)
                .contains("textContent")
                .doesNotContain("innerHTML")
                .doesNotContain("eval(");
        assertThat(json.headers.get("X-Content-Type-Options")).isEqualTo("nosniff");
        assertThat(missing.status).isEqualTo(404);
        assertFalse(admin.finish());
    }

    private EmbeddedChannel admin(Optional<AdminToken> token) {
        return new EmbeddedChannel(new AdminHandler(
                proxy,
                new ProxyMetrics("test"),
                new AdminApi(proxy, new TrafficSampler(proxy), token),
                UiAssets.load()));
    }

    private static Backend backend(String name, int last) {
        return new Backend(name, new InetSocketAddress("10.0.0." + last, 5432), 1, 0, false);
    }

    private static Answer get(EmbeddedChannel admin, String uri) {
        return request(admin, HttpMethod.GET, uri, null, "");
    }

    private static Answer post(EmbeddedChannel admin, String uri, String token, String body) {
        return request(admin, HttpMethod.POST, uri, token == null ? null : "Bearer " + token, body);
    }

    private static Answer request(
            EmbeddedChannel admin, HttpMethod method, String uri, String authorization, String body) {
        FullHttpRequest request = new DefaultFullHttpRequest(
                HttpVersion.HTTP_1_1, method, uri, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        request.headers()
                .setInt(HttpHeaderNames.CONTENT_LENGTH, request.content().readableBytes());
        if (authorization != null) {
            request.headers().set(HttpHeaderNames.AUTHORIZATION, authorization);
        }
        admin.writeInbound(request);
        FullHttpResponse response = admin.readOutbound();
        try {
            return new Answer(
                    response.status().code(),
                    response.headers(),
                    response.content().toString(StandardCharsets.UTF_8));
        } finally {
            response.release();
        }
    }

    private record Answer(int status, io.netty.handler.codec.http.HttpHeaders headers, String body) {
        JsonNode json() throws IOException {
            return Responses.JSON.readTree(body);
        }
    }

    /** A proxy with fixed routes and backends and no connections; records drain calls. */
    private static final class FakeProxy implements ProxyView {
        private final Map<String, List<Backend>> backends;
        private final Map<String, RouteMetrics> metrics = new LinkedHashMap<>();
        final List<String> drainCalls = new ArrayList<>();

        FakeProxy(Map<String, List<Backend>> backends) {
            this.backends = backends;
            backends.keySet().forEach(name -> metrics.put(name, new RouteMetrics(new ProxyMetrics("test"), "test")));
        }

        @Override
        public Map<String, RouteMetrics> routeMetrics() {
            return metrics;
        }

        @Override
        public List<Backend> backends(String routeName) {
            List<Backend> list = backends.get(routeName);
            if (list == null) {
                throw new IllegalArgumentException("no route named " + routeName);
            }
            return list;
        }

        @Override
        public boolean activelyChecked(String routeName) {
            backends(routeName);
            return true;
        }

        @Override
        public boolean setDrained(String routeName, Backend backend, boolean drained) {
            drainCalls.add(routeName + "/" + backend.name() + "=" + drained);
            return backend.setDrained(drained);
        }

        @Override
        public List<ProxiedConnection> liveConnections() {
            return List.of();
        }

        @Override
        public dev.strait.server.capture.Captures captures() {
            throw new UnsupportedOperationException("no captures here");
        }

        @Override
        public boolean isAccepting() {
            return true;
        }
    }
}
