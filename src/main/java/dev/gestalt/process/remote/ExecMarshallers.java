package dev.gestalt.process.remote;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import dev.gestalt.rpc.proto.ExecGrpc;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ExecOut;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.Marshaller;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * Parsing of the stdio messages of {@link ExecGrpc} with one copy of the bytes where the stock
 * protobuf marshaller makes two (the frame into a scratch array, then the {@code bytes} field out
 * of it): the frame is copied once, and the {@code stdin}/{@code stdout} field is a view of that
 * copy (protobuf aliasing). Messages of the in-process transport (the node's own processes) come
 * as the sender's objects and are passed on by the stock marshaller, as before.
 */
final class ExecMarshallers {

    private ExecMarshallers() {}

    /** The run/attach methods with requests parsed into an array of their own each (they are queued). */
    static ServerServiceDefinition server(ServerServiceDefinition service) {
        var b = ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            b.addMethod(withOwnArrays(m));
        }
        return b.build();
    }

    @SuppressWarnings("unchecked")
    private static <Q, R> ServerMethodDefinition<Q, R> withOwnArrays(ServerMethodDefinition<Q, R> m) {
        MethodDescriptor<Q, R> d = m.getMethodDescriptor();
        if (!d.getFullMethodName().equals(ExecGrpc.getRunMethod().getFullMethodName())
                && !d.getFullMethodName().equals(ExecGrpc.getAttachMethod().getFullMethodName())) {
            return m;
        }
        Marshaller<Q> in = (Marshaller<Q>) new OwnArray<>(ExecIn.parser(), (Marshaller<ExecIn>) d.getRequestMarshaller());
        return ServerMethodDefinition.create(d.toBuilder(in, d.getResponseMarshaller()).build(), m.getServerCallHandler());
    }

    /**
     * {@code method} with responses parsed into one direct buffer of the caller, reused for every
     * message: a response's {@code bytes} are valid only until the next one is parsed, that is
     * while the observer handles it (the stream's callbacks run one at a time), and are written to
     * a socket without the JDK's copy of a heap buffer into a direct one.
     */
    static MethodDescriptor<ExecIn, ExecOut> client(MethodDescriptor<ExecIn, ExecOut> method) {
        return method.toBuilder(method.getRequestMarshaller(), new ReusedDirect<>(ExecOut.parser(), method.getResponseMarshaller()))
            .build();
    }

    /**
     * Parses a frame copied once into a buffer that the parsed message then aliases; frames of
     * other transports (in-process: the sender's own objects) go to the stock marshaller.
     */
    private abstract static class Aliasing<T extends MessageLite> implements Marshaller<T> {
        private final Parser<T> parser;
        private final Marshaller<T> stock;

        Aliasing(Parser<T> parser, Marshaller<T> stock) {
            this.parser = parser;
            this.stock = stock;
        }

        /** Whether the stream is a frame of known length whose bytes can be reached. */
        abstract boolean copyable(InputStream stream);

        /** The frame's bytes, exactly {@code stream.available()} of them, in one buffer. */
        abstract CodedInputStream copy(InputStream stream) throws IOException;

        @Override
        public InputStream stream(T value) {
            return stock.stream(value);
        }

        @Override
        public T parse(InputStream stream) {
            if (!(stream instanceof KnownLength) || !copyable(stream)) {
                return stock.parse(stream);
            }
            try {
                CodedInputStream cis = copy(stream);
                cis.enableAliasing(true);
                return parseFrom(parser, cis);
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("invalid protobuf byte sequence").withCause(e).asRuntimeException();
            }
        }
    }

    /** The frame's bytes, copied to a fresh array that the parsed message then aliases. */
    private static final class OwnArray<T extends MessageLite> extends Aliasing<T> {
        OwnArray(Parser<T> parser, Marshaller<T> stock) {
            super(parser, stock);
        }

        @Override
        boolean copyable(InputStream stream) {
            return stream instanceof HasByteBuffer;
        }

        @Override
        CodedInputStream copy(InputStream stream) throws IOException {
            int size = stream.available();
            byte[] b = stream.readNBytes(size);
            if (b.length != size || stream.read() != -1) {
                throw new IOException("message shorter or longer than announced");
            }
            return CodedInputStream.newInstance(b);
        }
    }

    /** The frame's bytes, copied to a direct buffer that is reused for the next message. */
    private static final class ReusedDirect<T extends MessageLite> extends Aliasing<T> {
        private ByteBuffer buf = ByteBuffer.allocateDirect(0);

        ReusedDirect(Parser<T> parser, Marshaller<T> stock) {
            super(parser, stock);
        }

        @Override
        boolean copyable(InputStream stream) {
            return stream instanceof HasByteBuffer h && h.byteBufferSupported();
        }

        @Override
        CodedInputStream copy(InputStream stream) throws IOException {
            HasByteBuffer h = (HasByteBuffer) stream;
            int size = stream.available();
            if (buf.capacity() < size) {
                buf = ByteBuffer.allocateDirect(Math.max(size, Math.min(2 * buf.capacity(), 4 << 20)));
            }
            buf.clear();
            while (stream.available() > 0) {
                ByteBuffer part = h.getByteBuffer();
                if (part == null) {
                    break;
                }
                int n = part.remaining();
                if (n > buf.remaining()) {
                    throw new IOException("message longer than announced");
                }
                buf.put(part);
                stream.skip(n);
            }
            if (buf.position() != size || stream.available() > 0) {
                throw new IOException("message shorter or longer than announced");
            }
            buf.flip();
            return CodedInputStream.newInstance(buf);
        }
    }

    private static <T extends MessageLite> T parseFrom(Parser<T> parser, CodedInputStream cis) throws InvalidProtocolBufferException {
        cis.setSizeLimit(Integer.MAX_VALUE);
        T message = parser.parseFrom(cis, ExtensionRegistryLite.getEmptyRegistry());
        cis.checkLastTagWas(0);
        return message;
    }
}
