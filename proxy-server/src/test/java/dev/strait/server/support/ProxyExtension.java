package dev.strait.server.support;

import static java.util.Objects.requireNonNull;

import dev.strait.config.HostAndPort;
import dev.strait.config.TransportKind;
import dev.strait.server.ProxyServer;
import dev.strait.server.StartException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Serializable;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.ErrorHandler;
import org.apache.logging.log4j.core.Layout;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * An in-process Strait for each test, as a JUnit 5 extension:
 * {@code @RegisterExtension final ProxyExtension strait = new ProxyExtension();} then, in a test,
 * {@code strait.start(TransportKind.AUTO, TestRoutes.route("test").backends(backend.address()))} and
 * {@code strait.connect()}.
 *
 * <p>The route listens on 127.0.0.1, port 0; {@link #address()} says where. The extension owns the client threads
 * ({@link #submit}) and the proxy, and stops both after each test. Server-side failures are collected while the test
 * runs (any ERROR logged, any logged exception that is not an {@link IOException}, and any exception Netty reports as
 * reaching the end of a pipeline) and rethrown after it, so a test cannot pass while the proxy failed behind its back.
 */
public final class ProxyExtension implements BeforeEachCallback, AfterEachCallback {
    private final Queue<String> failures = new ConcurrentLinkedQueue<>();
    private RunningProxy proxy;
    private ExecutorService clients;
    private FailureAppender appender;

    @Override
    public void beforeEach(ExtensionContext context) {
        failures.clear();
        String owner = context.getRequiredTestClass().getSimpleName();
        clients = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, owner + "-client");
            t.setDaemon(true); // a deadlocked client fails its test, it does not keep the JVM alive
            return t;
        });
        appender = new FailureAppender(failures);
        appender.start();
        rootLogger().addAppender(appender);
    }

    /** Starts the proxy with this route, listening on 127.0.0.1, port 0 (whatever the builder said). */
    public RunningProxy start(TransportKind transport, TestRoutes.Builder route) throws StartException {
        return started(RunningProxy.start(
                transport, route.listen(new HostAndPort("127.0.0.1", 0)).build()));
    }

    /** Starts the proxy with route {@code test} to these backends, on this transport and splice mode. */
    public RunningProxy start(RelayMode mode, String... backends) throws StartException {
        return started(RunningProxy.start(mode, backends));
    }

    private RunningProxy started(RunningProxy started) {
        if (proxy != null) {
            started.close();
            throw new IllegalStateException("one proxy per test");
        }
        proxy = started;
        return started;
    }

    public RunningProxy proxy() {
        if (proxy == null) {
            throw new IllegalStateException("start() the proxy first");
        }
        return proxy;
    }

    public ProxyServer server() {
        return proxy().server();
    }

    /** Where route {@code test} listens. */
    public InetSocketAddress address() {
        return server().boundAddress("test");
    }

    /** A client socket connected to route {@code test}, with a 30s read timeout. */
    public Socket connect() throws IOException {
        return proxy().connect();
    }

    /** A client socket bound to {@code source} (e.g. 127.0.0.2), connected to route {@code test}. */
    public Socket connectFrom(InetAddress source) throws IOException {
        return proxy().connectFrom(source);
    }

    /** Runs a client task on a thread this extension stops after the test. */
    public <T> Future<T> submit(Callable<T> task) {
        return clients.submit(requireNonNull(task, "task"));
    }

    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        try {
            if (proxy != null) {
                proxy.close();
            }
            clients.shutdownNow();
            clients.awaitTermination(10, TimeUnit.SECONDS);
        } finally {
            proxy = null;
            rootLogger().removeAppender(appender);
            appender.stop();
        }
        List<String> seen = List.copyOf(failures);
        if (!seen.isEmpty()) {
            throw new AssertionError(
                    "the proxy failed during " + context.getDisplayName() + ":\n" + String.join("\n", seen));
        }
    }

    private static Logger rootLogger() {
        return (Logger) LogManager.getRootLogger();
    }

    /** Records ERROR events, exceptions that are not I/O errors, and Netty's WARN for an exception nothing handled. */
    private static final class FailureAppender implements Appender {
        private final Queue<String> failures;
        private volatile State state = State.INITIALIZED;

        FailureAppender(Queue<String> failures) {
            this.failures = failures;
        }

        @Override
        public void append(LogEvent event) {
            String message = event.getMessage().getFormattedMessage();
            boolean unhandled = message.contains("reached at the tail of the pipeline");
            // A reset or refused connect is traffic; anything else thrown in the proxy is a bug.
            boolean bug = event.getThrown() != null && !(event.getThrown() instanceof IOException);
            if (event.getLevel().isMoreSpecificThan(Level.ERROR) || unhandled || bug) {
                StringWriter text = new StringWriter();
                text.append(event.getLevel().name())
                        .append(' ')
                        .append(event.getLoggerName())
                        .append(" [")
                        .append(event.getThreadName())
                        .append("] ")
                        .append(message);
                if (event.getThrown() != null) {
                    text.append('\n');
                    event.getThrown().printStackTrace(new PrintWriter(text));
                }
                failures.add(text.toString());
            }
        }

        @Override
        public String getName() {
            return "proxy-extension-failures";
        }

        @Override
        public Layout<? extends Serializable> getLayout() {
            return null;
        }

        @Override
        public boolean ignoreExceptions() {
            return true;
        }

        @Override
        public ErrorHandler getHandler() {
            return null;
        }

        @Override
        public void setHandler(ErrorHandler handler) {}

        @Override
        public State getState() {
            return state;
        }

        @Override
        public void initialize() {}

        @Override
        public void start() {
            state = State.STARTED;
        }

        @Override
        public void stop() {
            state = State.STOPPED;
        }

        @Override
        public boolean isStarted() {
            return state == State.STARTED;
        }

        @Override
        public boolean isStopped() {
            return state == State.STOPPED;
        }
    }
}
