package dev.strait.server.support;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A {@code /metrics} page read as samples: {@code value(page, "strait_backend_up", "route", "web", "backend", "...")}
 * finds a sample whatever order the exposition writes its labels in.
 */
public final class Scrape {
    private final Map<String, Double> samples = new HashMap<>();

    private Scrape(String page) {
        page.lines().filter(line -> !line.startsWith("#") && !line.isBlank()).forEach(line -> {
            int space = line.lastIndexOf(' ');
            samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        });
    }

    /** The samples of one page in the Prometheus text format. */
    public static Scrape of(String page) {
        return new Scrape(page);
    }

    /** A sample's value, if the page has it; {@code labels} are name, value pairs in any order. */
    public Optional<Double> find(String name, String... labels) {
        TreeMap<String, String> sorted = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            sorted.put(labels[i], labels[i + 1]);
        }
        StringBuilder key = new StringBuilder(name);
        if (!sorted.isEmpty()) {
            key.append('{');
            sorted.forEach((k, v) -> key.append(k).append("=\"").append(v).append("\","));
            key.setCharAt(key.length() - 1, '}');
        }
        return Optional.ofNullable(samples.get(key.toString()));
    }

    /** A sample's value as a long; fails if the page lacks it. */
    public long value(String name, String... labels) {
        return find(name, labels)
                .orElseThrow(() -> new AssertionError("no sample " + name + " " + String.join(",", labels)))
                .longValue();
    }
}
