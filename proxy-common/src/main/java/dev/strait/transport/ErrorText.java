package dev.strait.transport;

import java.util.regex.Pattern;

/**
 * The words of a socket error for a user: the kernel's message, without the native call and errno that Netty's native
 * transports put in front of it ({@code bind(..) failed with error(-98): Address already in use} reads {@code Address
 * already in use}, as the JDK's own sockets say it).
 */
public final class ErrorText {
    private static final Pattern NATIVE_CALL =
            Pattern.compile("^\\w+\\(\\.\\.\\) failed(?: with error\\(-?\\d+\\))?: ");

    private ErrorText() {}

    /** The error's message without a native-call prefix; its class name when it has no message. */
    public static String of(Throwable error) {
        if (error == null) {
            return "unknown error";
        }
        String message = error.getMessage();
        return message == null
                ? error.getClass().getSimpleName()
                : NATIVE_CALL.matcher(message).replaceFirst("");
    }
}
