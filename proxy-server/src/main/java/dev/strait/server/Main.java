package dev.strait.server;

import dev.strait.config.BackendSpec;
import dev.strait.config.ConfigException;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.TransportKind;
import dev.strait.server.config.ConfigLoader;
import dev.strait.transport.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The command line: builds the config from {@code --config} or from {@code --listen}/{@code --backend}, starts the
 * proxy and drains it on SIGTERM.
 *
 * <p>Exit status: 0 after a clean shutdown or a good {@code --check-config}; 2 for bad input (a usage error or an
 * invalid config, with one line naming the key and value); 1 when the proxy cannot start (a port in use).
 */
@Command(
        name = "strait",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Strait: a high-throughput TCP (layer 4) proxy.",
            "",
            "One route from flags:  strait --listen 127.0.0.1:15432 --backend 127.0.0.1:5432",
            "Many routes from YAML: strait --config config/strait.yaml",
            ""
        },
        footer = {
            "",
            "Config values may use $${VAR} and $${VAR:-default} from the environment.",
            "Exit status: 0 ok, 1 cannot start (e.g. port in use), 2 bad arguments or config.",
            "SIGTERM stops accepting, drains live connections up to shutdownTimeout (30s), then exits 0.",
            "SIGHUP re-reads --config (an invalid file is rejected and the running config stays) and reopens access log"
                    + " files."
        })
public final class Main implements Callable<Integer> {
    private static final Logger log = LogManager.getLogger(Main.class);

    @Spec
    private CommandSpec spec;

    @Option(
            names = "--listen",
            paramLabel = "HOST:PORT",
            description = "Accept clients here (one route; port 0 picks a free port).")
    private String listen;

    @Option(
            names = "--backend",
            paramLabel = "HOST:PORT",
            split = ",",
            splitSynopsisLabel = ",",
            description = "Backends for the --listen route. Each new connection goes to the backend with the fewest"
                    + " live connections (equals take turns); a failed connect tries another, up to 2 more. Other"
                    + " balancing (round-robin, random, source-hash) and health checks need --config.")
    private List<String> backends;

    @Option(names = "--config", paramLabel = "FILE", description = "A YAML config file with one or more routes.")
    private Path config;

    @Option(
            names = "--admin",
            paramLabel = "HOST:PORT",
            description =
                    "Serve /ui, /live, /ready, /connections, /metrics and /api/ over HTTP here (overrides admin.listen).")
    private String admin;

    @Option(
            names = "--transport",
            paramLabel = "KIND",
            description = "auto, epoll, io_uring or nio (overrides the config).")
    private String transport;

    @Option(
            names = "--watch",
            description = "Reload --config when the file changes (checked every 2s); SIGHUP always reloads.")
    private boolean watch;

    @Option(
            names = "--check-config",
            description =
                    "Validate the config and exit (0 valid, 2 invalid, e.g. two listeners on one port); binds nothing."
                            + " Warns about backend host names that do not resolve here.")
    private boolean checkConfig;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * The usage error on one line. For a mistyped option, only the options (not the values after them, which picocli
     * counts as unmatched too), with the nearest real ones: {@code Unknown option: '--listne' (did you mean
     * --listen?)}.
     */
    private static String usageError(CommandLine.ParameterException e) {
        if (!(e instanceof CommandLine.UnmatchedArgumentException unmatched)) {
            return e.getMessage();
        }
        List<String> unknown = unmatched.getUnmatched().stream()
                .filter(arg -> arg.startsWith("-"))
                .map(arg -> "'" + arg + "'")
                .toList();
        if (unknown.isEmpty()) {
            return e.getMessage();
        }
        List<String> nearest = unmatched.getSuggestions().stream()
                .filter(option -> option.startsWith("--"))
                .limit(2)
                .toList();
        return (unknown.size() == 1 ? "Unknown option: " : "Unknown options: ")
                + String.join(", ", unknown)
                + (nearest.isEmpty() ? "" : " (did you mean " + String.join(" or ", nearest) + "?)");
    }

    /** Runs the command line and returns the exit status; blocks while the proxy runs. */
    public static int run(String... args) {
        return run(
                new PrintWriter(System.out, true, Charset.defaultCharset()),
                new PrintWriter(System.err, true, Charset.defaultCharset()),
                args);
    }

    /** As {@link #run(String...)}, with the given output and error streams. */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, rest) -> {
            PrintWriter usageErr = e.getCommandLine().getErr();
            usageErr.println("strait: " + usageError(e) + " (see --help)");
            usageErr.flush();
            return CommandLine.ExitCode.USAGE;
        });
        cli.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            PrintWriter runErr = cmd.getErr();
            if (e instanceof ConfigException) {
                runErr.println("strait: invalid config: " + e.getMessage());
                runErr.flush();
                return CommandLine.ExitCode.USAGE;
            }
            if (e instanceof StartException) {
                runErr.println("strait: " + e.getMessage());
                runErr.flush();
                return CommandLine.ExitCode.SOFTWARE;
            }
            throw e;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() throws StartException {
        ProxyConfig proxyConfig = buildConfig();
        if (checkConfig) {
            PrintWriter out = spec.commandLine().getOut();
            // Only a warning: the proxy re-resolves backends while it runs, and DNS here may differ from production.
            for (String warning : unresolvedBackends(proxyConfig)) {
                out.println("warning: " + warning);
            }
            out.println("config ok: " + proxyConfig.routes().size() + " route(s)");
            out.flush();
            return CommandLine.ExitCode.OK;
        }
        CompletableFuture<ProxyServer> running = new CompletableFuture<>();
        // Installed before the listeners bind, so an early SIGHUP never falls to the JVM's default (exit). One that
        // arrives while start is still running (the listening lines are out already) waits for it on the handler's
        // own thread instead of being dropped; if start fails, the process exits and it never runs. Without --config
        // there is nothing to reload, but SIGHUP must still not stop the proxy.
        if (config != null) {
            Signals.onHangup(() -> {
                running.join().reopenAccessLogs();
                reload(running.join(), "SIGHUP");
            });
        } else {
            Signals.onHangup(() -> {
                running.join().reopenAccessLogs();
                log.info("SIGHUP: nothing to reload (no --config); access log files reopened");
            });
        }
        // Also before the bind: a SIGTERM that comes as soon as the listening lines are out must drain, not find
        // the JVM's default handler (or a shutdown hook not yet added). It waits for start like SIGHUP does; the
        // hook runs only for a server that started (a failed start exits without one).
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            ProxyServer started = running.getNow(null);
                            if (started != null) {
                                stop(started);
                            }
                        },
                        "strait-shutdown"));
        AtomicBoolean stopRequested = new AtomicBoolean();
        Signals.onTerminate(() -> {
            ProxyServer started = running.join();
            if (stopRequested.compareAndSet(false, true)) {
                stop(started); // graceful: drain up to shutdownTimeout
            } else {
                log.info("second stop signal: closing every connection now");
                started.closeAllConnections();
            }
        });
        ProxyServer server = ProxyServer.start(proxyConfig);
        running.complete(server);
        log.info(
                "strait {} started: pid {}, {}, {} worker(s), transport {}, splice {}",
                Version.describe(),
                ProcessHandle.current().pid(),
                config != null ? "config " + config : "--listen " + listen + " --backend " + String.join(",", backends),
                server.workerThreads(),
                server.transport().name(),
                server.transport().equals(Transport.EPOLL)
                        ? proxyConfig.splice().configName()
                        : proxyConfig.splice().configName() + " (always copies: splice needs epoll)");
        if (watch) {
            ConfigWatcher.start(config, () -> reload(server, "file changed"));
        }
        server.awaitTermination();
        return CommandLine.ExitCode.OK;
    }

    /** One line per backend host name that does not resolve from here, naming its key. */
    private static List<String> unresolvedBackends(ProxyConfig proxyConfig) {
        List<String> warnings = new ArrayList<>();
        for (int i = 0; i < proxyConfig.routes().size(); i++) {
            List<BackendSpec> specs = proxyConfig.routes().get(i).backends();
            for (int j = 0; j < specs.size(); j++) {
                String host = specs.get(j).address().host();
                try {
                    InetAddress.getAllByName(host);
                } catch (UnknownHostException e) {
                    warnings.add("routes[" + i + "].backends[" + j + "]: host \"" + host
                            + "\" does not resolve here; the proxy will keep trying at run time");
                }
            }
        }
        return warnings;
    }

    /** The shutdown hook: drain, flush the logs last, and end with status 0 rather than the signal's 143. */
    private static void stop(ProxyServer server) {
        log.info("shutdown requested; no longer accepting");
        server.shutdown(server.config().shutdownTimeout());
        LogManager.shutdown();
        Runtime.getRuntime().halt(CommandLine.ExitCode.OK);
    }

    private ProxyConfig buildConfig() {
        boolean oneRoute = listen != null || backends != null;
        if (config != null && oneRoute) {
            throw new ConfigException("--config", "use either --config or --listen/--backend, not both");
        }
        if (watch && config == null) {
            throw new ConfigException("--watch", "needs --config FILE to watch");
        }
        ProxyConfig base;
        if (config != null) {
            base = new ConfigLoader(System.getenv()).load(config);
        } else if (oneRoute) {
            if (listen == null) {
                throw new ConfigException("--listen", "is required with --backend");
            }
            if (backends == null || backends.isEmpty()) {
                throw new ConfigException("--backend", "is required with --listen");
            }
            List<HostAndPort> parsed = new ArrayList<>();
            for (String b : backends) {
                parsed.add(HostAndPort.parse("--backend", b).requireRealPort("--backend"));
            }
            base = ProxyConfig.of(List.of(Route.of("default", HostAndPort.parse("--listen", listen), parsed)));
        } else {
            throw new ConfigException("--config", "nothing to do: give --config FILE, or --listen and --backend");
        }
        return withOverrides(base);
    }

    /** Applies --admin and --transport, which win over the file at start and on every reload. */
    private ProxyConfig withOverrides(ProxyConfig base) {
        Optional<HostAndPort> adminAddress =
                admin == null ? base.admin() : Optional.of(HostAndPort.parse("--admin", admin));
        return base.with(
                transport == null ? base.transport() : TransportKind.parse("--transport", transport), adminAddress);
    }

    /** Re-reads the config file and applies it; an invalid file or a failed bind keeps the running config. */
    private void reload(ProxyServer server, String why) {
        try {
            ProxyConfig next = withOverrides(new ConfigLoader(System.getenv()).load(config));
            server.reload(next);
            log.info("reloaded {} ({})", config, why);
        } catch (ConfigException e) {
            log.error("reload rejected, keeping the running config: invalid config: {}", e.getMessage());
        } catch (StartException e) {
            log.error("reload rejected, keeping the running config: {}", e.getMessage());
        } catch (RuntimeException e) {
            log.error("reload failed, keeping the running config: {}", e.toString());
        }
    }

    /** Reads the version, commit and build date Maven wrote into the jar. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"strait " + describe()};
        }

        /** {@code 0.1.0 (commit 8b2303e0aa9e, built 2026-12-01T17:04:07Z)}; "unknown" for what the build lacked. */
        static String describe() {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/strait-version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                // A jar without its own resource is broken anyway; say "unknown" rather than fail --version.
            }
            return p.getProperty("version", "unknown") + " (commit " + p.getProperty("commit", "unknown") + ", built "
                    + p.getProperty("built", "unknown") + ")";
        }
    }
}
