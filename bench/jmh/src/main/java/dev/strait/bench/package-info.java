/**
 * JMH microbenchmarks of the relay hot path, run from {@code bench/jmh/target/benchmarks.jar} ({@code make bench-jmh}).
 * They are never run by the build: see bench/README.md.
 */
package dev.strait.bench;
