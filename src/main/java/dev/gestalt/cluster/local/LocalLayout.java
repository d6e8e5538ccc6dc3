package dev.gestalt.cluster.local;

import java.nio.file.Path;

/**
 * Where a local cluster lives: {@code HOME/clusters/NAME/} holds the CA
 * ({@code ca/}) and one folder per node ({@code nodeN/}: node.conf,
 * credentials/, state/, node.sock, node.pid, node.log).
 */
public record LocalLayout(Path home, String name) {

    public Path dir() {
        return home.resolve("clusters").resolve(name);
    }

    public Path ca() {
        return dir().resolve("ca");
    }

    public Path node(int i) {
        return dir().resolve(nodeName(i));
    }

    public static String nodeName(int i) {
        return "node" + i;
    }

    public Path config(int i) {
        return node(i).resolve("node.conf");
    }

    public Path socket(int i) {
        return node(i).resolve("node.sock");
    }

    public Path pidFile(int i) {
        return node(i).resolve("node.pid");
    }

    public Path log(int i) {
        return node(i).resolve("node.log");
    }

    public Path pointer() {
        return home.resolve("current");
    }
}
