/**
 * The access log: one line per connection at close (and, when asked, at connect and periodically), handed by the
 * event loop to a bounded queue and formatted and written by one thread per target, so that writing never blocks an
 * event loop; a full queue drops the line and counts it ({@code strait_access_log_dropped_total}).
 */
package dev.strait.server.accesslog;
