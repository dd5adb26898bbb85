package dev.strait.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.strait.config.ConfigException;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.server.config.ConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks that the Kubernetes manifests, the systemd unit and the Dockerfile agree with the Strait config they ship:
 * the probes ask the admin port, the drain fits in the grace period, the config is mounted where the args point.
 *
 * <p>The ConfigMap's config is read with the real {@link ConfigLoader}, so it also has to be a valid config.
 */
class DeployManifestsTest {
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Pattern SLEEP_COMMAND = Pattern.compile("(?:^|.*\\s)sleep\\s+(\\d+)\\s*$");
    private static final Pattern SYSTEMD_SPAN = Pattern.compile("(\\d+)\\s*(ms|s|sec|m|min|h|hr)?");

    private static Path repo;
    private static List<JsonNode> manifests;
    private static JsonNode deployment;
    private static JsonNode pod;
    private static JsonNode container;
    private static String configPath;
    private static ProxyConfig config;

    @BeforeAll
    static void readManifests() throws IOException {
        repo = repositoryRoot();
        manifests = new ArrayList<>();
        try (Stream<Path> files = Files.walk(repo.resolve("deploy/kubernetes"))) {
            for (Path file :
                    files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                manifests.addAll(documents(file));
            }
        }
        List<JsonNode> deployments = ofKind("Deployment");
        assertThat(deployments).as("Deployments in deploy/kubernetes").hasSize(1);
        deployment = deployments.get(0);
        pod = deployment.at("/spec/template/spec");
        assertThat(pod.path("containers")).as("the Deployment's containers").hasSize(1);
        container = pod.path("containers").get(0);
        configPath = argumentAfter("--config");
        config = new ConfigLoader(containerEnv()).parse(mountedConfigText(), "the ConfigMap mounted at " + configPath);
    }

    @Test
    void readinessProbeAsksReadyOnTheConfiguredAdminPort() {
        JsonNode probe = container.at("/readinessProbe/httpGet");
        assertThat(probe.path("path").asText()).isEqualTo("/ready");
        assertThat(containerPort(probe.path("port"))).isEqualTo(adminPort());
    }

    @Test
    void livenessProbeAsksLiveOnTheConfiguredAdminPort() {
        JsonNode probe = container.at("/livenessProbe/httpGet");
        assertThat(probe.path("path").asText()).isEqualTo("/live");
        assertThat(containerPort(probe.path("port"))).isEqualTo(adminPort());
    }

    @Test
    void preStopHookWaitsForTheServiceToDropThePodBeforeSigterm() {
        assertThat(preStopDelay()).isPositive();
    }

    @Test
    void terminationGracePeriodCoversPreStopPlusShutdownTimeout() {
        Duration grace =
                Duration.ofSeconds(pod.path("terminationGracePeriodSeconds").asLong(30));
        assertThat(grace)
                .as(
                        "terminationGracePeriodSeconds counts from the start of preStop (%s), then the drain (%s)",
                        preStopDelay(), config.shutdownTimeout())
                .isGreaterThan(preStopDelay().plus(config.shutdownTimeout()));
    }

    @Test
    void mountsTheConfigMapKeyReadOnlyAtThePathTheArgsName() {
        assertThat(configPath).isEqualTo("/etc/strait/strait.yaml");
        JsonNode mount = configMount();
        assertThat(mount.path("readOnly").asBoolean())
                .as("config mount readOnly")
                .isTrue();
        assertThat(mount.has("subPath"))
                .as("a subPath mount would never see ConfigMap updates")
                .isFalse();
        assertThat(config.routes()).isNotEmpty();
    }

    @Test
    void serviceForwardsToTheRouteListenPort() {
        JsonNode service = serviceSelectingThePods();
        List<Integer> listenPorts = config.routes().stream()
                .map(Route::listen)
                .map(HostAndPort::port)
                .toList();
        List<Integer> targets = new ArrayList<>();
        service.path("spec").path("ports").forEach(port -> {
            assertThat(port.path("protocol").asText("TCP")).isEqualTo("TCP");
            targets.add(containerPort(port.path("targetPort")));
        });
        assertThat(targets).as("Service targetPorts").containsExactlyInAnyOrderElementsOf(listenPorts);
    }

    @Test
    void containerPortsAreTheConfiguredListenAndAdminPorts() {
        List<Integer> expected = new ArrayList<>();
        config.routes().forEach(route -> expected.add(route.listen().port()));
        expected.add(adminPort());
        List<Integer> declared = new ArrayList<>();
        container
                .path("ports")
                .forEach(port -> declared.add(port.path("containerPort").asInt()));
        assertThat(declared).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void podsRunAsTheImagesNonRootUser() {
        JsonNode podSecurity = pod.path("securityContext");
        JsonNode containerSecurity = container.path("securityContext");
        boolean nonRoot = containerSecurity.has("runAsNonRoot")
                ? containerSecurity.path("runAsNonRoot").asBoolean()
                : podSecurity.path("runAsNonRoot").asBoolean();
        assertThat(nonRoot).as("runAsNonRoot").isTrue();
        long runAsUser = containerSecurity.has("runAsUser")
                ? containerSecurity.path("runAsUser").asLong()
                : podSecurity.path("runAsUser").asLong(-1);
        assertThat(runAsUser).as("runAsUser").isEqualTo(dockerfileUid()).isNotZero();
        assertThat(containerSecurity.path("allowPrivilegeEscalation").asBoolean(true))
                .as("allowPrivilegeEscalation")
                .isFalse();
    }

    @Test
    void deploymentRunsAtLeastTwoReplicasWithResourceLimits() {
        assertThat(deployment.at("/spec/replicas").asInt(1)).isGreaterThanOrEqualTo(2);
        assertThat(container.at("/resources/requests/memory").asText()).isNotEmpty();
        assertThat(container.at("/resources/limits/memory").asText()).isNotEmpty();
        assertThat(container.at("/resources/requests/cpu").asText()).isNotEmpty();
    }

    @Test
    void kustomizationListsEveryTopLevelManifest() throws IOException {
        Path dir = repo.resolve("deploy/kubernetes");
        List<String> resources = new ArrayList<>();
        documents(dir.resolve("kustomization.yaml")).get(0).path("resources").forEach(r -> resources.add(r.asText()));
        try (Stream<Path> files = Files.list(dir)) {
            List<String> manifestFiles = files.map(f -> f.getFileName().toString())
                    .filter(name -> name.endsWith(".yaml") && !name.equals("kustomization.yaml"))
                    .toList();
            assertThat(resources).containsExactlyInAnyOrderElementsOf(manifestFiles);
        }
    }

    @Test
    void systemdStopTimeoutExceedsEveryShippedShutdownTimeout() throws IOException {
        Map<String, String> unit = systemdService(repo.resolve("deploy/systemd/strait.service"));
        Duration stop = systemdSpan(unit.getOrDefault("TimeoutStopSec", unit.getOrDefault("TimeoutSec", "90s")));
        ProxyConfig imageDefault = imageDefaultConfig();
        assertThat(stop)
                .as("TimeoutStopSec")
                .isGreaterThan(imageDefault.shutdownTimeout())
                .isGreaterThan(config.shutdownTimeout());
        assertThat(unit.getOrDefault("KillSignal", "SIGTERM")).isEqualTo("SIGTERM");
        assertThat(unit.get("User")).isNotBlank().isNotEqualTo("root");
        assertThat(unit.get("ExecStart")).contains("-jar ").endsWith("--config " + configPath);
        assertThat(unit.get("LimitNOFILE")).isEqualTo("1048576");
    }

    @Test
    void systemdUnitReloadsWithSighupAndDoesNotRestartABadConfig() throws IOException {
        Map<String, String> unit = systemdService(repo.resolve("deploy/systemd/strait.service"));
        assertThat(unit.get("ExecReload")).isEqualTo("/bin/kill -HUP $MAINPID");
        assertThat(unit.get("RestartPreventExitStatus")).isEqualTo("2");
        String start = unit.get("ExecStart");
        String jarAndConfig = start.substring(start.indexOf("-jar "));
        assertThat(unit.get("ExecStartPre"))
                .as("ExecStartPre checks the config ExecStart will run")
                .contains("--check-config")
                .contains(jarAndConfig.replace(" --config " + configPath, ""))
                .contains("--config " + configPath);
    }

    @Test
    void systemdAnalyzeVerifiesTheUnitWithoutAWarning() throws Exception {
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        assertThat(Files.isExecutable(analyze))
                .as(
                        "%s is missing: install the Debian package systemd (.ci/run does)%s; this test never skips",
                        analyze, "true".equals(System.getenv("CI")) ? " - this is CI, so the CI setup is broken" : "")
                .isTrue();
        Process verify = new ProcessBuilder(
                        analyze.toString(),
                        "verify",
                        repo.resolve("deploy/systemd/strait.service").toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(verify.waitFor(60, TimeUnit.SECONDS)).isTrue();
        // Unknown keys and unparsable values are only warnings (exit 0): any output fails the test.
        assertThat(output).as("systemd-analyze verify output").isEmpty();
        assertThat(verify.exitValue()).as("systemd-analyze verify exit status").isZero();
    }

    @Test
    void jvmFlagsComeFromTheCommandLineSoNoPickedUpNoteIsPrinted() throws IOException {
        Pattern optionsVariable = Pattern.compile("\\b(JDK_JAVA_OPTIONS|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS)=");
        for (String dockerfile : List.of("docker/Dockerfile", "docker/Dockerfile.multistage")) {
            List<String> lines = Files.readAllLines(repo.resolve(dockerfile)).stream()
                    .map(String::trim)
                    .filter(line -> !line.startsWith("#"))
                    .toList();
            assertThat(lines)
                    .as("%s sets no JVM options variable", dockerfile)
                    .noneMatch(line -> optionsVariable.matcher(line).find());
            assertThat(lines)
                    .as("%s copies the argument file its entrypoint reads", dockerfile)
                    .contains("COPY docker/jvm.options /opt/strait/jvm.options")
                    .anyMatch(line -> line.startsWith("ENTRYPOINT [\"java\", \"@/opt/strait/jvm.options\", \"-jar\""));
        }
        Map<String, String> unit = systemdService(repo.resolve("deploy/systemd/strait.service"));
        assertThat(unit.getOrDefault("Environment", "")).doesNotContainPattern(optionsVariable);
        assertThat(unit.get("ExecStart")).contains("-XX:MaxRAMPercentage=40", "-XX:+ExitOnOutOfMemoryError");
    }

    @Test
    void imageExposesTheDefaultConfigsPorts() throws IOException {
        ProxyConfig imageDefault = imageDefaultConfig();
        List<Integer> exposed = new ArrayList<>();
        for (String line : dockerfileLines()) {
            if (line.startsWith("EXPOSE ")) {
                for (String port : line.substring(7).trim().split("\\s+")) {
                    exposed.add(Integer.parseInt(port.replace("/tcp", "")));
                }
            }
        }
        assertThat(exposed)
                .contains(imageDefault.routes().get(0).listen().port())
                .contains(imageDefault.admin().orElseThrow().port());
    }

    @Test
    void imageDefaultConfigHasNoDefaultBackend() {
        assertThatThrownBy(() -> new ConfigLoader(Map.of())
                        .load(repo.resolve("docker/strait.yaml")
                                .toAbsolutePath()
                                .normalize()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("routes[0].backends[0]: ")
                .hasMessageContaining("environment variable STRAIT_BACKEND is not set")
                .hasMessageNotContaining("\n");
    }

    @Test
    void networkPolicyOpensTheProxyPortsAndAdmitsOnlySelectedPeersToTheAdminPort() {
        List<JsonNode> policies = ofKind("NetworkPolicy").stream()
                .filter(p -> selects(p.at("/spec/podSelector/matchLabels")))
                .toList();
        assertThat(policies)
                .as("NetworkPolicies selecting the Deployment's pods")
                .hasSize(1);
        JsonNode spec = policies.get(0).path("spec");
        List<String> types = new ArrayList<>();
        spec.path("policyTypes").forEach(t -> types.add(t.asText()));
        assertThat(types).as("policyTypes").contains("Ingress");

        List<Integer> openToAll = new ArrayList<>();
        List<Integer> restricted = new ArrayList<>();
        for (JsonNode rule : spec.path("ingress")) {
            assertThat(rule.path("ports").isEmpty())
                    .as("an ingress rule without ports admits every port: %s", rule)
                    .isFalse();
            boolean anyone = rule.path("from").isEmpty();
            rule.path("ports").forEach(port -> {
                assertThat(port.path("protocol").asText("TCP")).isEqualTo("TCP");
                (anyone ? openToAll : restricted).add(containerPort(port.path("port")));
            });
        }
        List<Integer> listenPorts =
                config.routes().stream().map(route -> route.listen().port()).toList();
        assertThat(openToAll).as("ports open to any peer").containsExactlyInAnyOrderElementsOf(listenPorts);
        assertThat(restricted).as("ports open to selected peers only").contains(adminPort());
    }

    // ---- reading the manifests

    private static Path repositoryRoot() {
        // Surefire runs in proxy-server/; an IDE may run in the repository root.
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("deploy/kubernetes")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        throw new IllegalStateException(
                "no deploy/kubernetes above " + Path.of("").toAbsolutePath());
    }

    private static List<JsonNode> documents(Path file) {
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            List<JsonNode> result = new ArrayList<>();
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    result.add(doc);
                }
            }
            return result;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
    }

    private static List<JsonNode> ofKind(String kind) {
        return manifests.stream()
                .filter(m -> m.path("kind").asText().equals(kind))
                .toList();
    }

    private static JsonNode named(String kind, String name) {
        List<JsonNode> found = ofKind(kind).stream()
                .filter(m -> m.at("/metadata/name").asText().equals(name))
                .toList();
        assertThat(found).as("%s named %s", kind, name).hasSize(1);
        return found.get(0);
    }

    private static String argumentAfter(String flag) {
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        int i = args.indexOf(flag);
        assertThat(i)
                .as("%s in the container args %s", flag, args)
                .isNotNegative()
                .isLessThan(args.size() - 1);
        return args.get(i + 1);
    }

    private static Map<String, String> containerEnv() {
        Map<String, String> env = new HashMap<>();
        container
                .path("env")
                .forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
        return env;
    }

    /** The volume mount whose directory holds the config path. */
    private static JsonNode configMount() {
        JsonNode best = null;
        for (JsonNode mount : container.path("volumeMounts")) {
            String dir = mount.path("mountPath").asText();
            if (configPath.startsWith(dir.endsWith("/") ? dir : dir + "/")
                    && (best == null
                            || dir.length() > best.path("mountPath").asText().length())) {
                best = mount;
            }
        }
        assertThat(best).as("a volume mounted above %s", configPath).isNotNull();
        return best;
    }

    /** The text of the ConfigMap key that ends up at the config path. */
    private static String mountedConfigText() {
        JsonNode mount = configMount();
        String relative = configPath.substring(
                mount.path("mountPath").asText().replaceAll("/$", "").length() + 1);
        JsonNode volume = null;
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals(mount.path("name").asText())) {
                volume = v;
            }
        }
        assertThat(volume).as("volume %s", mount.path("name").asText()).isNotNull();
        JsonNode source = volume.path("configMap");
        assertThat(source.isObject())
                .as("volume %s is a configMap", volume.path("name"))
                .isTrue();
        String key = relative;
        if (source.has("items")) {
            key = null;
            for (JsonNode item : source.path("items")) {
                if (item.path("path").asText().equals(relative)) {
                    key = item.path("key").asText();
                }
            }
            assertThat(key).as("a configMap item with path %s", relative).isNotNull();
        }
        JsonNode data = named("ConfigMap", source.path("name").asText()).path("data");
        assertThat(data.has(key)).as("ConfigMap key %s", key).isTrue();
        return data.path(key).asText();
    }

    private static int adminPort() {
        return config.admin()
                .orElseThrow(() -> new AssertionError("the ConfigMap's config has no admin.listen"))
                .port();
    }

    /** A probe or Service port: a number, or the name of one of the container's ports. */
    private static int containerPort(JsonNode port) {
        if (port.isInt()) {
            return port.asInt();
        }
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(port.asText())) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError("no container port named " + port);
    }

    private static Duration preStopDelay() {
        JsonNode preStop = container.at("/lifecycle/preStop");
        assertThat(preStop.isObject()).as("lifecycle.preStop").isTrue();
        if (preStop.has("sleep")) {
            return Duration.ofSeconds(preStop.at("/sleep/seconds").asLong());
        }
        List<String> command = new ArrayList<>();
        preStop.at("/exec/command").forEach(c -> command.add(c.asText()));
        Matcher m = SLEEP_COMMAND.matcher(String.join(" ", command));
        assertThat(m.matches())
                .as("preStop command %s ends in `sleep N`", command)
                .isTrue();
        return Duration.ofSeconds(Long.parseLong(m.group(1)));
    }

    /** Whether a label selector's matchLabels select the Deployment's pods. */
    private static boolean selects(JsonNode matchLabels) {
        JsonNode labels = deployment.at("/spec/template/metadata/labels");
        var selector = matchLabels.properties();
        return !selector.isEmpty()
                && selector.stream().allMatch(e -> labels.path(e.getKey())
                        .asText()
                        .equals(e.getValue().asText()));
    }

    /** docker/strait.yaml as the image runs it with STRAIT_BACKEND set (it has no default). */
    private static ProxyConfig imageDefaultConfig() {
        return new ConfigLoader(Map.of("STRAIT_BACKEND", "db.example:5432"))
                .load(repo.resolve("docker/strait.yaml").toAbsolutePath().normalize());
    }

    private static JsonNode serviceSelectingThePods() {
        JsonNode labels = deployment.at("/spec/template/metadata/labels");
        List<JsonNode> services = ofKind("Service").stream()
                .filter(s -> s.at("/spec/selector").isObject())
                .filter(s -> {
                    var selector = s.at("/spec/selector").properties();
                    return !selector.isEmpty()
                            && selector.stream().allMatch(e -> labels.path(e.getKey())
                                    .asText()
                                    .equals(e.getValue().asText()));
                })
                .toList();
        assertThat(services).as("Services selecting the Deployment's pods").hasSize(1);
        return services.get(0);
    }

    // ---- the Dockerfile and the systemd unit

    private static List<String> dockerfileLines() throws IOException {
        return Files.readAllLines(repo.resolve("docker/Dockerfile")).stream()
                .map(String::trim)
                .toList();
    }

    /** The numeric UID of the Dockerfile's USER, with ARG defaults substituted. */
    private static long dockerfileUid() {
        try {
            Map<String, String> args = new HashMap<>();
            String user = null;
            for (String line : dockerfileLines()) {
                Matcher arg = Pattern.compile("ARG (\\w+)=(\\S+)").matcher(line);
                if (arg.matches()) {
                    args.put(arg.group(1), arg.group(2));
                } else if (line.startsWith("USER ")) {
                    user = line.substring(5).trim();
                }
            }
            assertThat(user).as("USER in docker/Dockerfile").isNotNull();
            for (Map.Entry<String, String> a : args.entrySet()) {
                user = user.replace("${" + a.getKey() + "}", a.getValue()).replace("$" + a.getKey(), a.getValue());
            }
            String uid = user.split(":")[0];
            assertThat(uid).as("USER in docker/Dockerfile is numeric").matches("\\d+");
            return Long.parseLong(uid);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The [Service] section of a unit file; later assignments win, as in systemd. */
    private static Map<String, String> systemdService(Path unitFile) throws IOException {
        Map<String, String> service = new LinkedHashMap<>();
        String section = "";
        for (String raw : Files.readAllLines(unitFile)) {
            String line = raw.trim();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[")) {
                section = line;
            } else if (section.equals("[Service]") && line.contains("=")) {
                int eq = line.indexOf('=');
                service.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return service;
    }

    /** A systemd time span such as {@code 45}, {@code 45s} or {@code 1min 30s}; a bare number is seconds. */
    private static Duration systemdSpan(String text) {
        Duration total = Duration.ZERO;
        for (String part : text.trim().split("\\s+")) {
            Matcher m = SYSTEMD_SPAN.matcher(part);
            assertThat(m.matches()).as("systemd time span %s", text).isTrue();
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            total = total.plus(
                    switch (unit) {
                        case "ms" -> Duration.ofMillis(n);
                        case "s", "sec" -> Duration.ofSeconds(n);
                        case "m", "min" -> Duration.ofMinutes(n);
                        default -> Duration.ofHours(n);
                    });
        }
        return total;
    }
}
