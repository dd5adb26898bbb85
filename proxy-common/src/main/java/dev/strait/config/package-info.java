/**
 * The configuration model: immutable records that validate themselves in their compact constructors.
 *
 * <p>Nothing here reads files or the environment; the server's loader builds these records. Every validation
 * error is a {@link dev.strait.config.ConfigException} naming the key and the bad value. Each record declares the
 * config keys it is read from as {@link dev.strait.config.ConfigKey} constants (name, type, default), which the loader
 * and the reference documentation follow.
 */
package dev.strait.config;
