/**
 * Relays bytes between two connected channels: {@link dev.strait.relay.RelayHandler} on each side passes every
 * buffer to its peer untouched, applies writability-driven backpressure and propagates half-close; on epoll a
 * {@link dev.strait.relay.SpliceReader} moves a bulk direction with splice(2) instead.
 *
 * <p>Both channels of a pair run on one event loop, so the handlers share state without locks.
 *
 * <h2>Netty 4.2.18 behaviour this package works around</h2>
 *
 * <ul>
 *   <li><b>{@code AbstractEpollStreamChannel.spliceTo} is not used.</b> Symptoms: (a) a splice pass that ends in an
 *       error (a reset) leaves the bytes it already moved in the pipe with no task to write them, so the other side
 *       got a FIN after a silent gap of up to 64 KiB; (b) a {@code pipe()} that fails (EMFILE) fails the splice
 *       promise, which closed established sessions; (c) the FIN of a spliced channel is reported after one bounded
 *       pass while the socket still holds data. Code at fault: {@code SpliceInTask.spliceIn} and
 *       {@code SpliceInChannelTask.spliceIn} in {@code AbstractEpollStreamChannel}. Instead {@code SpliceReader}
 *       splices from the read allocator and {@code PipeRegion} writes the pipe out as a {@code FileRegion}. Tests:
 *       {@code ResetDeliveryIT}, {@code DescriptorExhaustionIT}, {@code SpliceIT}. This is a design choice, not
 *       a stop-gap: it needs no change when Netty changes {@code spliceTo}.
 *   <li><b>{@code dev.strait.transport.KeepRegisteredEpoll}</b>: after a FIN, once a socket's interest set empties,
 *       {@code EpollIoHandler} deletes it from epoll but keeps it marked registered; the next interest change fails
 *       with ENOENT and Netty closes the channel with data still queued. Test:
 *       {@code RelayIT.deliversABulkResponseToALateReaderThatHalfClosedFirst}. Remove once that test passes with
 *       the plain {@code EpollIoHandler}.
 *   <li><b>io_uring misses a reset that arrives while a side is not being read</b> (backpressure): no read
 *       completes on that socket after reading resumes, so the connection stays open until a timeout. Not worked
 *       around; documented in docs/configuration.md (Teardown semantics) with {@code timeouts.idle} as the remedy,
 *       and {@code ResetDeliveryIT} runs io_uring with an idle timeout.
 * </ul>
 */
package dev.strait.relay;
