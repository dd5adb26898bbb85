/**
 * Loading the configuration: the YAML file and the command line become a validated {@link dev.strait.config.ProxyConfig}.
 *
 * <p>{@link dev.strait.server.config.ConfigLoader} is the only class that reads files or the environment.
 */
package dev.strait.server.config;
