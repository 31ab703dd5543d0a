package io.lowrank.yarn;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.util.resource.ResourceUtils;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A MiniDFSCluster (one NameNode, one DataNode) and a MiniYARNCluster (one ResourceManager, one
 * NodeManager) in this JVM, from {@code hadoop-client-minicluster} at the shaded client's version,
 * set up the way Spark's own {@code BaseYarnClusterSuite} does it, plus a fake {@code yarn.io/gpu}
 * resource on the node. {@link #confDir()} is a HADOOP_CONF_DIR with the clusters' addresses, as a
 * gateway host of a real cluster has one.
 */
final class MiniYarnHdfs implements AutoCloseable {
    static final String GPU = "yarn.io/gpu";
    /** GPUs the NodeManager claims to have: YARN only counts them; the discovery script names them. */
    static final int NODE_GPUS = 4;
    static final int NODE_MEMORY_MB = 6144;

    private final MiniDFSCluster dfs;
    private final MiniYARNCluster yarn;
    private final Path confDir;
    private final Configuration conf;

    private MiniYarnHdfs(MiniDFSCluster dfs, MiniYARNCluster yarn, Path confDir, Configuration conf) {
        this.dfs = dfs;
        this.yarn = yarn;
        this.confDir = confDir;
        this.conf = conf;
    }

    /** Starts HDFS, then YARN with HDFS as its default file system; writes the client configuration to {@code baseDir/conf}. */
    static MiniYarnHdfs start(Path baseDir, Duration timeout) throws Exception {
        Files.createDirectories(baseDir);
        Configuration hdfsConf = new Configuration();
        hdfsConf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.resolve("dfs").toString());
        MiniDFSCluster dfs = new MiniDFSCluster.Builder(hdfsConf, baseDir.resolve("dfs").toFile()).numDataNodes(1).build();
        MiniYARNCluster yarn = null;
        try {
            dfs.waitActive();
            YarnConfiguration yc = new YarnConfiguration();
            yc.set("fs.defaultFS", dfs.getFileSystem().getUri().toString());
            yc.set(YarnConfiguration.RM_HOSTNAME, "localhost");
            // the test machine's disk is usually fuller than the NodeManager's default 90 % allows
            yc.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
            // MiniYARNCluster reads its node size from these keys, not yarn.nodemanager.resource.*
            yc.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", NODE_MEMORY_MB);
            yc.setInt(YarnConfiguration.NM_PMEM_MB, NODE_MEMORY_MB);
            yc.setInt(YarnConfiguration.NM_VCORES, 8);
            yc.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
            // JVMs reserve far more virtual memory than they touch; physical memory stays enforced
            yc.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
            // capacity-scheduler.xml is not in the minicluster jar: one queue, by hand
            yc.set("yarn.scheduler.capacity.root.queues", "default");
            yc.set("yarn.scheduler.capacity.root.default.capacity", "100");
            yc.set("yarn.scheduler.capacity.root.default.maximum-capacity", "100");
            yc.set("yarn.scheduler.capacity.root.default.user-limit-factor", "1");
            yc.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
            yc.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
            yc.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
            yc.set("yarn.scheduler.capacity.node-locality-delay", "-1");
            // GPUs as a countable resource: the scheduler must weigh more than memory to honour them
            yc.set(YarnConfiguration.RESOURCE_TYPES, GPU);
            yc.set("yarn.nodemanager.resource-type." + GPU, Integer.toString(NODE_GPUS));
            yc.set("yarn.scheduler.capacity.resource-calculator", "org.apache.hadoop.yarn.util.resource.DominantResourceCalculator");
            ResourceUtils.resetResourceTypes(yc);
            ResourceUtils.resetNodeResources();
            yarn = new MiniYARNCluster("lowrank-yarn-tests", 1, 1, 1);
            yarn.init(yc);
            yarn.start();
            // start() returns before the RM has bound its port: wait until the address is a real one
            long deadline = System.nanoTime() + timeout.toNanos();
            while (yarn.getConfig().get(YarnConfiguration.RM_ADDRESS, "").endsWith(":0") || yarn.getResourceManager().getRMContext()
                    .getRMNodes().isEmpty()) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("MiniYARNCluster did not come up in " + timeout);
                Thread.sleep(100);   // no callback for "RM bound and NodeManager registered": poll
            }
            Configuration clientConf = new Configuration(yarn.getConfig());
            Path confDir = baseDir.resolve("conf");
            Files.createDirectories(confDir);
            for (String file : new String[]{"core-site.xml", "hdfs-site.xml", "yarn-site.xml"}) {
                try (OutputStream out = Files.newOutputStream(confDir.resolve(file))) {
                    clientConf.writeXml(out);
                }
            }
            // clients outside this JVM (spark-submit, the AM, executors) learn the resource types from here
            Files.writeString(confDir.resolve("resource-types.xml"), "<configuration><property><name>" + YarnConfiguration.RESOURCE_TYPES
                    + "</name><value>" + GPU + "</value></property></configuration>\n");
            return new MiniYarnHdfs(dfs, yarn, confDir, clientConf);
        } catch (Exception | Error e) {
            if (yarn != null) yarn.stop();
            dfs.shutdown();
            throw e;
        }
    }

    /** HADOOP_CONF_DIR for clients of these clusters. */
    Path confDir() { return confDir; }

    Configuration conf() { return new Configuration(conf); }

    String hdfsUri() { return conf.get("fs.defaultFS"); }

    FileSystem fs() throws IOException { return dfs.getFileSystem(); }

    MiniYARNCluster yarn() { return yarn; }

    @Override
    public void close() {
        try {
            yarn.stop();
        } finally {
            dfs.shutdown();
        }
    }
}
