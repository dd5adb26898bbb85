/**
 * Traffic capture on demand: an operator asks for a route's new connections (optionally from one client network)
 * for some seconds and up to some bytes; their bytes are copied, capped, into a bounded queue that one writer thread
 * turns into a pcap file (one TCP stream per connection side, real addresses, both directions), never slowing the
 * relay: when the queue is full bytes are dropped and counted. A captured connection copies instead of splicing while
 * its capture lasts. With no capture running, no connection gets a handler.
 */
package dev.strait.server.capture;
