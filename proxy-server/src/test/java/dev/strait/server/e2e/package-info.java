/**
 * End-to-end tests: the packaged Strait jar runs as a subprocess between real clients and real servers
 * (PostgreSQL, OpenSSH, Redis), all on 127.0.0.1.
 *
 * <p>{@link dev.strait.server.support.StraitJar} starts and stops the proxy, as the other jar tests do, and fails a test class on a
 * Netty leak report; the peers' helpers start throwaway servers in temporary directories and fail loudly
 * when a peer binary is missing.
 */
package dev.strait.server.e2e;
