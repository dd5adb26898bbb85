package dev.strait.server;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Runs actions on signals (SIGHUP, SIGTERM, SIGINT), through the JDK's {@code sun.misc.Signal} (module
 * jdk.unsupported), reached reflectively because the compiler rejects a direct reference as internal API. Each action
 * runs on a thread of its own, since a signal handler must not block. A signal the process inherited as ignored stays
 * ignored (the JVM would silently keep it so anyway); that is logged for SIGHUP, which reloads.
 */
final class Signals {
    private static final Logger log = LogManager.getLogger(Signals.class);

    private Signals() {}

    static void onHangup(Runnable action) {
        if (ignored(1)) {
            // The JVM leaves a signal that was ignored when it started ignored, without a word (nohup does this).
            log.warn("SIGHUP is ignored in this process (inherited from its parent, e.g. nohup): SIGHUP will not "
                    + "reload; use --watch, or start it without nohup");
            return;
        }
        if (!on("HUP", action)) {
            log.warn("SIGHUP reload is not available on this JVM; use --watch");
        }
    }

    /**
     * Runs {@code action} on SIGTERM and SIGINT instead of the JVM's default (which runs the shutdown hooks once and
     * then ignores every further signal); returns false where the JVM does not allow it, and the default stays.
     */
    static boolean onTerminate(Runnable action) {
        boolean term = on("TERM", action);
        if (!ignored(2)) { // SIGINT is ignored in background jobs of non-interactive shells: keep it so
            on("INT", action);
        }
        return term;
    }

    private static boolean on(String name, Runnable action) {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object signal = signalClass.getConstructor(String.class).newInstance(name);
            InvocationHandler invocation = (Object proxy, Method method, Object[] args) -> {
                if (method.getName().equals("handle")) {
                    Thread thread = new Thread(action, "strait-sig" + name.toLowerCase(Locale.ROOT));
                    thread.setDaemon(true);
                    thread.start();
                    return null;
                }
                return switch (method.getName()) {
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> "strait SIG" + name + " handler";
                };
            };
            Object handler =
                    Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass}, invocation);
            signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("cannot handle SIG{} on this JVM: {}", name, e.toString());
            return false;
        }
    }

    /** Whether signal {@code number} is ignored (its bit in the SigIgn mask of /proc/self/status); false where unknown. */
    private static boolean ignored(int number) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    long mask = Long.parseUnsignedLong(
                            line.substring("SigIgn:".length()).strip(), 16);
                    return (mask & (1L << (number - 1))) != 0;
                }
            }
        } catch (IOException | RuntimeException notLinux) {
            // no procfs: assume the default disposition
        }
        return false;
    }
}
