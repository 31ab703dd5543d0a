package io.lowrank.spark.train;

import io.lowrank.worker.comm.AeronRingAllReduce;
import io.lowrank.worker.comm.RingConfig;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Rendezvous of a chunk's workers: each publishes its Aeron endpoint with
 * {@link BarrierTaskContext#allGather}, which returns every task's message in partition order, so
 * ring position = partition id and nobody needs a registry. The ring's session token comes from the
 * run, the chunk and the stage attempt, so frames of an earlier (failed) attempt are rejected.
 */
final class WorkerRing {
    private WorkerRing() {}

    static AeronRingAllReduce join(BarrierTaskContext ctx, ChunkSpec spec) throws IOException {
        int rank = ctx.partitionId();
        String host = hostOf(ctx.getTaskInfos(), rank);
        int port = freeUdpPort(host);
        String endpoint = host + ":" + port;
        String[] all = ctx.allGather(endpoint);
        if (all.length != spec.worldSize()) {
            throw new IllegalStateException("rendezvous returned " + all.length + " endpoints for " + spec.worldSize() + " workers");
        }
        List<String> endpoints = new ArrayList<>(List.of(all));
        RingConfig config = RingConfig.builder()
                .rank(rank)
                .endpoints(endpoints)
                .sessionToken(spec.sessionToken(ctx.stageAttemptNumber()))
                .mtu(RingConfig.MAX_MTU)
                .peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(spec.peerTimeoutMs()))
                .build();
        String sharedDriver = ExecutorMediaDriver.directoryFor(config);
        return sharedDriver != null ? new AeronRingAllReduce(config, sharedDriver) : AeronRingAllReduce.launchWithEmbeddedDriver(config);
    }

    /** The executor's host as Spark knows it (the address its peers reach it at). */
    private static String hostOf(BarrierTaskInfo[] infos, int rank) throws IOException {
        String address = infos[rank].address();
        int colon = address.lastIndexOf(':');
        String host = colon > 0 ? address.substring(0, colon) : address;
        return host.isEmpty() ? InetAddress.getLocalHost().getHostAddress() : host;
    }

    private static int freeUdpPort(String host) throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(host), 0))) {
            return s.getLocalPort();
        }
    }
}
