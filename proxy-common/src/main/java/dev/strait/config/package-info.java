/**
 * The configuration model: immutable records and enums that validate themselves in their compact constructors.
 *
 * <p>Nothing here reads files or the environment, and nothing here imports another Strait package: the server's loader
 * builds these records, and the packages that act on them depend on this one. Every validation error is a
 * {@link dev.strait.config.ConfigException} naming the key and the bad value. Each record declares the config keys it
 * is read from as {@link dev.strait.config.ConfigKey} constants (name, type, default), which the loader and the
 * reference documentation follow.
 */
package dev.strait.config;
