package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

/**
 * The live page's files ({@code GET /ui}): HTML, script, style and icon, read once from the jar at start. Only the
 * files listed here are served; no path from a request ever reaches the class loader.
 */
final class UiAssets {
    private static final String BASE = "/dev/strait/server/admin/ui/";

    /** One file: its bytes and content type. */
    record Asset(byte[] bytes, String contentType) {}

    private final Map<String, Asset> byPath;

    private UiAssets(Map<String, Asset> byPath) {
        this.byPath = byPath;
    }

    /** Reads every page file; a missing one is a packaging bug and fails the admin endpoint's start. */
    static UiAssets load() {
        return new UiAssets(Map.of(
                "/ui", read("index.html", "text/html; charset=utf-8"),
                "/ui/", read("index.html", "text/html; charset=utf-8"),
                "/ui/app.js", read("app.js", "text/javascript; charset=utf-8"),
                "/ui/app.css", read("app.css", "text/css; charset=utf-8"),
                "/ui/icon.svg", read("icon.svg", "image/svg+xml")));
    }

    /** The file at a request's path, if the page has one there. */
    Optional<Asset> get(String path) {
        return Optional.ofNullable(byPath.get(path));
    }

    private static Asset read(String name, String contentType) {
        try (InputStream in = requireNonNull(
                UiAssets.class.getResourceAsStream(BASE + name), () -> "missing resource " + BASE + name)) {
            return new Asset(in.readAllBytes(), contentType);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + BASE + name, e);
        }
    }
}
