package dev.strait.server;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Runs an action on SIGHUP, through the JDK's {@code sun.misc.Signal} (module jdk.unsupported), reached reflectively
 * because the compiler rejects a direct reference as internal API. Where it is missing, reload by file watch instead.
 */
final class Signals {
    private static final Logger log = LogManager.getLogger(Signals.class);

    private Signals() {}

    static void onHangup(Runnable action) {
        if (hangupIgnored()) {
            // The JVM leaves a signal that was ignored when it started ignored, without a word (nohup does this).
            log.warn("SIGHUP is ignored in this process (inherited from its parent, e.g. nohup): SIGHUP will not "
                    + "reload; use --watch, or start it without nohup");
            return;
        }
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object signal = signalClass.getConstructor(String.class).newInstance("HUP");
            InvocationHandler invocation = (Object proxy, Method method, Object[] args) -> {
                if (method.getName().equals("handle")) {
                    // Signal handlers run on a JVM thread that must not block for long: reload on a thread of its own.
                    Thread reload = new Thread(action, "strait-reload");
                    reload.setDaemon(true);
                    reload.start();
                    return null;
                }
                return switch (method.getName()) {
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> "strait SIGHUP handler";
                };
            };
            Object handler =
                    Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass}, invocation);
            signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("SIGHUP reload is not available on this JVM ({}); use --watch", e.toString());
        }
    }

    /** Whether SIGHUP (signal 1, bit 0 of the SigIgn mask in /proc/self/status) is ignored; false where unknown. */
    private static boolean hangupIgnored() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    return (Long.parseUnsignedLong(
                                            line.substring("SigIgn:".length()).strip(), 16)
                                    & 1L)
                            != 0;
                }
            }
        } catch (IOException | RuntimeException notLinux) {
            // no procfs: assume the default disposition
        }
        return false;
    }
}
