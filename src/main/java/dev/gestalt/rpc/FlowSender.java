package dev.gestalt.rpc;

import io.grpc.stub.CallStreamObserver;
import java.io.IOException;
import java.io.InterruptedIOException;

/**
 * Sends on a gRPC stream from a blocking thread, honouring gRPC flow control:
 * {@link #send} waits while the transport is not ready, so a slow receiver
 * slows the sender instead of growing a buffer. Wire {@link #onReady} as the
 * stream's on-ready handler and {@link #fail} into its cancel/error path.
 */
public final class FlowSender<T> {

    private final CallStreamObserver<T> stream;
    private final Object lock = new Object();
    private volatile String failure;
    private boolean done;

    public FlowSender(CallStreamObserver<T> stream) {
        this.stream = stream;
    }

    /** Call from the stream's on-ready handler. */
    public void onReady() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    /** The stream is gone (cancelled, failed): wake and fail every waiting sender. */
    public void fail(String why) {
        synchronized (lock) {
            failure = why;
            lock.notifyAll();
        }
    }

    public boolean failed() {
        return failure != null;
    }

    public void send(T message) throws IOException {
        synchronized (lock) {
            while (!stream.isReady() && failure == null && !done) {
                try {
                    lock.wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while sending");
                }
            }
            if (failure != null) {
                throw new IOException(failure);
            }
            if (done) {
                throw new IOException("stream already completed");
            }
            stream.onNext(message);
        }
    }

    /**
     * Sends without waiting for readiness: for the first, small message of a stream. A new
     * stream is not ready until the transport has created it (and, in-process, until the server
     * has asked for a message); gRPC buffers the message meanwhile, and not waiting spares the
     * start of every remote process a wake-up through the on-ready handler.
     */
    public void sendFirst(T message) throws IOException {
        synchronized (lock) {
            if (failure != null) {
                throw new IOException(failure);
            }
            if (done) {
                throw new IOException("stream already completed");
            }
            stream.onNext(message);
        }
    }

    /** Sends without waiting for readiness: for the last, small message of a stream. */
    public void sendLast(T message) {
        synchronized (lock) {
            if (failure == null && !done) {
                stream.onNext(message);
                done = true;
                stream.onCompleted();
            }
        }
    }

    public void complete() {
        synchronized (lock) {
            if (failure == null && !done) {
                done = true;
                stream.onCompleted();
            }
        }
    }

    public void error(Throwable t) {
        synchronized (lock) {
            if (failure == null && !done) {
                done = true;
                stream.onError(t);
            }
        }
    }
}
