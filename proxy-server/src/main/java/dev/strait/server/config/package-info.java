/**
 * Loading the configuration: the YAML file and the command line become a validated {@link dev.strait.config.ProxyConfig}.
 *
 * <p>{@link dev.strait.server.config.ConfigFile} is the only class that reads the file (within a size cap, as strict
 * UTF-8), {@link dev.strait.server.config.YamlTree} parses it within fixed limits, and
 * {@link dev.strait.server.config.ConfigLoader} turns the tree into records with the environment it is given.
 */
package dev.strait.server.config;
