package dev.strait.transport;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.util.concurrent.ThreadAwareExecutor;

/**
 * Works around Netty 4.2.18's epoll registration: when a channel's interest set becomes empty it is removed from epoll
 * (EPOLL_CTL_DEL) but still marked added, so re-arming it later (EPOLLOUT for a write that did not fit, EPOLLIN for a
 * read) does EPOLL_CTL_MOD, fails with ENOENT, and Netty shuts the output or closes the channel with data queued. That
 * happens to every half-closed socket: after its FIN, EPOLLIN and EPOLLRDHUP are cleared. Here an empty interest set
 * is submitted as {@code EPOLLET} alone instead: the socket stays in the set with no interest (errors and hang-ups
 * reported once, edge-triggered, not forever), so later changes are plain modifications.
 */
final class KeepRegisteredEpoll implements IoHandlerFactory {
    private final IoHandlerFactory delegate = EpollIoHandler.newFactory();

    static IoHandlerFactory newFactory() {
        return new KeepRegisteredEpoll();
    }

    @Override
    public IoHandler newHandler(ThreadAwareExecutor ioExecutor) {
        IoHandler handler = delegate.newHandler(ioExecutor);
        return new IoHandler() {
            @Override
            public void initialize() {
                handler.initialize();
            }

            @Override
            public int run(IoHandlerContext context) {
                return handler.run(context);
            }

            @Override
            public void prepareToDestroy() {
                handler.prepareToDestroy();
            }

            @Override
            public void destroy() {
                handler.destroy();
            }

            @Override
            public IoRegistration register(IoHandle handle) throws Exception {
                return new KeptRegistration(handler.register(handle));
            }

            @Override
            public void wakeup() {
                handler.wakeup();
            }

            @Override
            public boolean isCompatible(Class<? extends IoHandle> handleType) {
                return handler.isCompatible(handleType);
            }
        };
    }

    @Override
    public boolean isChangingThreadSupported() {
        return delegate.isChangingThreadSupported();
    }

    /**
     * Also skips a submission that would not change the interest set: Netty re-submits the current set once a connect
     * completes, right after clearing EPOLLOUT, which cost every backend connection an {@code epoll_ctl} that changed
     * nothing. Interest changes come from the channel's event loop, so the last set needs no lock of its own (Netty's
     * registration still takes its lock for the call it makes).
     */
    private static final class KeptRegistration implements IoRegistration {
        private static final long NOT_SUBMITTED = -1;
        private final IoRegistration delegate;
        private long submitted = NOT_SUBMITTED;

        KeptRegistration(IoRegistration delegate) {
            this.delegate = delegate;
        }

        @Override
        public <T> T attachment() {
            return delegate.attachment();
        }

        @Override
        public long submit(IoOps ops) {
            EpollIoOps wanted = ((EpollIoOps) ops).value() == 0 ? EpollIoOps.EPOLLET : (EpollIoOps) ops;
            // An edge-triggered set is always submitted: re-submitting it re-arms its edge.
            if (wanted.value() == submitted && !wanted.contains(EpollIoOps.EPOLLET)) {
                return submitted;
            }
            long result = delegate.submit(wanted);
            submitted = result < 0 ? NOT_SUBMITTED : wanted.value();
            return result;
        }

        @Override
        public boolean isValid() {
            return delegate.isValid();
        }

        @Override
        public boolean cancel() {
            submitted = NOT_SUBMITTED;
            return delegate.cancel();
        }
    }
}
