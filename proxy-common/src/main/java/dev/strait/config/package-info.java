/**
 * The configuration model: immutable records that validate themselves in their compact constructors.
 *
 * <p>Nothing here reads files or the environment; the server's loader builds these records. Every validation
 * error is a {@link dev.strait.config.ConfigException} naming the key and the bad value.
 */
package dev.strait.config;
