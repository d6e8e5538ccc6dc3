package dev.gestalt.node;

import dev.gestalt.Version;
import dev.gestalt.cluster.LoadReport;
import dev.gestalt.cluster.Membership;
import dev.gestalt.cluster.MembershipConfig;
import dev.gestalt.os.Posix;
import dev.gestalt.process.GpidAllocator;
import dev.gestalt.process.Placements;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.placement.LeastLoaded;
import dev.gestalt.process.remote.ExecService;
import dev.gestalt.process.remote.ProcsService;
import dev.gestalt.process.supervisor.LoadSample;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.Peers;
import dev.gestalt.rpc.local.LocalServer;
import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.NodeCredentials;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.util.TransmitStatusRuntimeExceptionInterceptor;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * One node: wires the spaces to the engines and runs until stopped.
 * Start order: state folder (locked), supervisor, gRPC servers, membership,
 * then the CLI socket last, so a CLI never reaches a half-started node.
 * Stop order is the reverse; a graceful stop leaves the view at once.
 */
public final class NodeDaemon implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(NodeDaemon.class.getName());

    private final NodeConfig config;
    private FileChannel lockFile;
    private FileLock lock;
    private Supervisor supervisor;
    private Server grpc;
    private Server inProcess;
    private Membership membership;
    private Peers peers;
    private LocalServer local;
    private ExecService exec;

    public NodeDaemon(NodeConfig config) {
        this.config = config;
    }

    public NodeConfig config() {
        return config;
    }

    public void start() throws Exception {
        Files.createDirectories(config.stateDir());
        lockFile = FileChannel.open(config.stateDir().resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        lock = lockFile.tryLock();
        if (lock == null) {
            throw new IOException("another node daemon is using " + config.stateDir());
        }
        Identity.check(config.stateDir(), config.name(), config.id());
        var creds = new NodeCredentials(config.credentials());
        if (!creds.exists()) {
            throw new IOException("no credentials in " + config.credentials() + " (create them with 'gestalt init')");
        }
        supervisor = new Supervisor(config.stateDir());
        exec = new ExecService(config.name(), supervisor);
        var placements = new Placements();
        var procs = new ProcsService(config.name(), config.id(), supervisor, placements);
        var executor = Executors.newVirtualThreadPerTaskExecutor();
        grpc = GrpcTls.serverBuilder(new InetSocketAddress(config.bind(), config.rpcPort()), creds)
            .executor(executor)
            .addService(ServerInterceptors.intercept(exec.definition(), GrpcTls.peerInterceptor()))
            .addService(ServerInterceptors.intercept(procs, GrpcTls.peerInterceptor()))
            // a service that throws a StatusRuntimeException (permission denied, no such process)
            // answers with that status, not UNKNOWN ("Application error"), which reads as "node lost"
            .intercept(TransmitStatusRuntimeExceptionInterceptor.instance())
            .build().start();
        String inProcessName = "gestalt-" + config.name() + "-" + ProcessHandle.current().pid();
        inProcess = InProcessServerBuilder.forName(inProcessName).executor(executor)
            .addService(exec).addService(procs)
            .intercept(TransmitStatusRuntimeExceptionInterceptor.instance())
            .build().start();

        String rpcAddress = config.bind() + ":" + config.rpcPort();
        var mcfg = new MembershipConfig(config.cluster(), config.name(), config.id(), config.bind(),
            config.gossipPort(), config.seeds(), creds, rpcAddress, MembershipConfig.DEFAULT_GOSSIP);
        var spaceHolder = new ProcessSpace[1];
        membership = Membership.start(mcfg, () -> loadReport(rpcAddress), (members, joined, left) -> {
            if (!joined.isEmpty() || !left.isEmpty()) {
                LOG.info("view " + members + (joined.isEmpty() ? "" : " joined " + joined) + (left.isEmpty() ? "" : " left " + left));
            }
            if (!left.isEmpty()) {
                exec.homesLost(left);
                if (spaceHolder[0] != null) {
                    spaceHolder[0].nodesLeft(left);
                }
            }
        });
        peers = new Peers(config.name(), inProcessName, creds, node -> {
            var e = membership.loadTable().get(node);
            return e == null ? null : e.report().rpcAddress();
        });
        var space = new ProcessSpace(config.name(), config.id(), membership, peers,
            new GpidAllocator(config.id(), config.stateDir().resolve("gpid")), new LeastLoaded(), placements);
        spaceHolder[0] = space;
        local = new LocalServer(config.socket(), Posix.geteuid(), Handlers.all(space, config.stateDir().resolve("spill")));
        local.start();
        LOG.info("node " + config.name() + " (id " + config.id() + ") of cluster " + config.cluster() + " up: gossip "
            + config.bind() + ":" + config.gossipPort() + ", rpc " + rpcAddress + ", socket " + config.socket());
    }

    private LoadReport loadReport(String rpcAddress) {
        LoadSample s = supervisor.load();
        MemInfo m = MemInfo.read();
        return new LoadReport(config.name(), config.id(), rpcAddress, Version.VERSION,
            Runtime.getRuntime().availableProcessors(), s.load(), m.availableBytes(), m.totalBytes(),
            s.processes(), System.currentTimeMillis(), false);
    }

    @Override
    public void close() {
        LOG.info("stopping node " + config.name());
        quietly(() -> local.close());
        quietly(() -> membership.close());
        quietly(() -> peers.close());
        quietly(() -> supervisor.close());
        quietly(() -> {
            grpc.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
            inProcess.shutdownNow();
        });
        quietly(() -> {
            lock.release();
            lockFile.close();
        });
    }

    private interface Step {
        void run() throws Exception;
    }

    private static void quietly(Step s) {
        try {
            s.run();
        } catch (Exception | LinkageError e) {
            LOG.fine("while stopping: " + e);
        }
    }
}
