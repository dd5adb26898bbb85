package dev.strait.server.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;

/**
 * The SHA-256 of some files' contents, in order, read through any symlink: what the certificate watchers compare each
 * second to see a change of content (a Kubernetes secret's {@code ..data} swap included), whatever the files' times.
 */
final class FileFingerprint {
    private FileFingerprint() {}

    /** The fingerprint of {@code files}; an unreadable file is an IllegalArgumentException naming it. */
    static String of(List<Path> files) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (Path f : files) {
            try {
                sha.update(Files.readAllBytes(f));
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "cannot read " + f + ": " + e.getClass().getSimpleName(), e);
            }
            sha.update((byte) 0);
        }
        return Arrays.toString(sha.digest());
    }
}
