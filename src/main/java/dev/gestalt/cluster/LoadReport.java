package dev.gestalt.cluster;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * What one node tells the others about itself at every gossip round: who it is, where its
 * gRPC server listens, and how loaded it is. Placement reads these from the
 * {@linkplain Membership#loadTable() load table}.
 *
 * @param node the node name
 * @param nodeId the node's numeric id
 * @param rpcAddress {@code host:port} of the node's gRPC server
 * @param version the Gestalt version the node runs (rolling upgrades mix versions)
 * @param cpus CPUs the node offers
 * @param load the node's load: what its own supervised processes use, not the machine's loadavg
 * @param memFreeBytes free memory
 * @param memTotalBytes total memory
 * @param processes processes the node runs
 * @param epochMillis when the node took this report, by its own clock
 * @param draining true while the node is drained ({@code gestalt drain}): it takes no new processes
 * @param migration whether the node's processes can be checkpointed and moved, and how or why not
 * @param busy how many of its jobs use a tenth of a CPU or more (what automatic balancing evens out)
 */
public record LoadReport(String node, int nodeId, String rpcAddress, String version, int cpus, double load,
        long memFreeBytes, long memTotalBytes, int processes, long epochMillis, boolean draining, Migration migration,
        int busy) {

    public LoadReport {
        Objects.requireNonNull(node, "node");
        rpcAddress = rpcAddress == null ? "" : rpcAddress;
        version = version == null ? "" : version;
        migration = migration == null ? Migration.UNKNOWN : migration;
    }

    /** A report that counts no busy job. */
    public LoadReport(String node, int nodeId, String rpcAddress, String version, int cpus, double load,
            long memFreeBytes, long memTotalBytes, int processes, long epochMillis, boolean draining, Migration migration) {
        this(node, nodeId, rpcAddress, version, cpus, load, memFreeBytes, memTotalBytes, processes, epochMillis, draining,
            migration, 0);
    }

    /** A report that says nothing of migration (not checked yet). */
    public LoadReport(String node, int nodeId, String rpcAddress, String version, int cpus, double load,
            long memFreeBytes, long memTotalBytes, int processes, long epochMillis, boolean draining) {
        this(node, nodeId, rpcAddress, version, cpus, load, memFreeBytes, memTotalBytes, processes, epochMillis, draining,
            Migration.UNKNOWN);
    }

    /** The wire form (protobuf, {@code gossip.proto}): about 60 bytes for a typical node. */
    byte[] toBytes() {
        return dev.gestalt.rpc.proto.LoadReport.newBuilder().setNode(node).setNodeId(nodeId).setRpcAddress(rpcAddress)
            .setVersion(version).setCpus(cpus).setLoad(load).setMemFreeBytes(memFreeBytes).setMemTotalBytes(memTotalBytes)
            .setProcesses(processes).setEpochMillis(epochMillis).setDraining(draining)
            .setMigratable(migration.available()).setMigration(migration.detail()).setBusy(busy).build().toByteArray();
    }

    /** Reads the wire form; fields a newer version added are ignored, a report without a node name is refused. */
    static LoadReport parse(byte[] buf, int offset, int length) throws IOException {
        var p = dev.gestalt.rpc.proto.LoadReport.parseFrom(ByteBuffer.wrap(buf, offset, length));
        if (p.getNode().isEmpty()) {
            throw new IOException("a load report without a node name");
        }
        return new LoadReport(p.getNode(), p.getNodeId(), p.getRpcAddress(), p.getVersion(), p.getCpus(), p.getLoad(),
            p.getMemFreeBytes(), p.getMemTotalBytes(), p.getProcesses(), p.getEpochMillis(), p.getDraining(),
            p.getMigration().isEmpty() ? Migration.UNKNOWN : new Migration(p.getMigratable(), p.getMigration()), p.getBusy());
    }

    /** This report with the identity fields replaced by the ones a node is configured with. */
    LoadReport withIdentity(String node, int nodeId, String rpcAddress) {
        return new LoadReport(node, nodeId, rpcAddress, version, cpus, load, memFreeBytes, memTotalBytes,
                processes, epochMillis, draining, migration, busy);
    }
}
