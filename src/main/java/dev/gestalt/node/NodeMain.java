package dev.gestalt.node;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;

/** {@code gestalt node --config FILE}: runs a node in the foreground until SIGTERM or SIGINT. */
public final class NodeMain {

    private NodeMain() {}

    public static int run(Path configFile, PrintStream err) {
        // Netty's leak detector samples buffers with stack traces: a cost on every stream, no use in production
        System.setProperty("io.grpc.netty.shaded.io.netty.leakDetection.level",
            System.getProperty("gestalt.leakDetection", "disabled"));
        NodeConfig config;
        try {
            config = NodeConfig.load(configFile);
        } catch (Exception e) {
            err.println("gestalt node: " + e.getMessage());
            return 1;
        }
        LogFormat.install(config.name(), Level.parse(System.getenv().getOrDefault("GESTALT_LOG", "INFO")));
        var daemon = new NodeDaemon(config);
        var stopped = new CountDownLatch(1);
        try {
            daemon.start();
        } catch (Exception e) {
            err.println("gestalt node: cannot start " + config.name() + ": " + e.getMessage());
            daemon.close();
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.close();
            stopped.countDown();
        }, "shutdown"));
        int[] code = {0};
        daemon.refused().thenAccept(reason -> {
            err.println("gestalt node: " + reason);
            code[0] = 1;
            stopped.countDown();
        });
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        daemon.close();
        return code[0];
    }
}
