/**
 * One active health probe of one backend: {@link dev.strait.server.probe.Probe} connects, runs the check's dialog (a
 * bare connect, a request and reply, HTTP, or PostgreSQL's startup handshake) within the timeout and reports a
 * {@link dev.strait.server.probe.Verdict}, then closes in order so that the backend logs nothing. Scheduling and
 * rise/fall counting live in {@code dev.strait.server.backend}.
 */
package dev.strait.server.probe;
