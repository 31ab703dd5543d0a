package io.lowrank.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * deploy/kubernetes/submit.sh against a mock Kubernetes API server (no real cluster can run here):
 * Spark 4.2's own Kubernetes submission client (spark-kubernetes) talks to it, and the test reads
 * what Spark created. Cluster mode: the driver pod and the ConfigMaps that carry the executors'
 * settings (the driver itself never runs: no kubelet). Client mode: the driver runs in the
 * submitting JVM, and the executor pods it asks for are checked field by field.
 */
class KubernetesSubmitTest {
    private static final String IMAGE = "registry.example/lowrank-worker:0.1.0-cuda";
    private static final Path ROOT = Path.of(System.getProperty("lowrank.root")).toAbsolutePath().normalize();

    @Test
    void clusterModeCreatesTheDriverPodWithTheExecutorSettings(@TempDir Path tmp) throws Exception {
        try (MockApiServer api = new MockApiServer()) {
            Process submit = submit(tmp, api, List.of("--executors", "2", "--cores", "2", "--memory", "1g", "--overhead", "3g", "--gpus", "1", "--volcano",
                            "--conf", "spark.kubernetes.submission.waitAppCompletion=false"),
                    List.of("--preset", "tiny", "--layer", "cola", "--data", "s3a://bucket/data/prepared-0"), "s3a://bucket/runs/r1");
            assertTrue(submit.waitFor(180, TimeUnit.SECONDS), "spark-submit did not return in 180 s:\n" + log(tmp));
            assertEquals(0, submit.exitValue(), "spark-submit failed:\n" + log(tmp));

            Pod driver = only(api.pods(), "driver");
            assertEquals("spark", driver.getSpec().getServiceAccountName());
            // --volcano: Volcano schedules the pods, all of one PodGroup (driver + 2 executors) at once
            assertEquals("volcano", driver.getSpec().getSchedulerName());
            ApplyAwareDispatcher.Request podGroup = api.requests().stream().filter(r -> r.path().contains("/podgroups")
                    && !r.method().equals("GET")).findFirst().orElseThrow(() -> new AssertionError("no PodGroup created: " + api.requests()));
            assertTrue(podGroup.body().replace(" ", "").contains("\"minMember\":3"), "gang of driver + 2 executors: " + podGroup.body());
            Container c = driver.getSpec().getContainers().get(0);
            assertEquals(IMAGE, c.getImage());
            String args = String.join(" ", c.getArgs());
            assertTrue(args.contains("local:///opt/lowrank/lowrank-spark-app.jar train --workers 2 --threads 2 --run-dir s3a://bucket/runs/r1 --preset tiny"),
                    "the driver runs train from the jar in the image: " + args);

            // what the driver will give its executors: spark.properties in a ConfigMap (server-side apply)
            String props = configMapText(api, "spark.properties").replace("\\", ""); // unescape the properties format's \= and \:
            for (String expected : new String[]{"spark.executor.resource.gpu.amount=1", "spark.executor.resource.gpu.vendor=nvidia.com",
                    "spark.executor.resource.gpu.discoveryScript=/opt/lowrank/deploy/gpu/discover-gpus.sh", "spark.task.resource.gpu.amount=1",
                    "spark.executor.instances=2", "spark.executor.cores=2", "spark.task.cpus=2", "spark.executorEnv.OMP_NUM_THREADS=2",
                    "spark.executor.memory=1g", "spark.executor.memoryOverhead=3g", "spark.executorEnv.OPENBLAS_THREAD_TIMEOUT=4",
                    "spark.executorEnv.OMP_WAIT_POLICY=PASSIVE", "spark.kubernetes.container.image=" + IMAGE}) {
                assertTrue(props.lines().anyMatch(l -> l.equals(expected)), expected + " in spark.properties:\n" + props);
            }
            assertTrue(props.contains("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"), props);
            // the executor pod template travels in its own ConfigMap, for the driver to merge
            String template = configMapText(api, "podspec-configmap-key");
            assertTrue(template.contains("nvidia.com/gpu") && template.contains("/dev/shm") && template.contains("medium: Memory"), template);
            assertTrue(api.requests().stream().anyMatch(r -> r.method().equals("PATCH") && r.path().contains("/services/")
                    && r.contentType().startsWith("application/apply-patch")), "the driver Service came by server-side apply");
            assertTrue(api.client().services().inNamespace("default").list().getItems().size() == 1, "the driver's Service exists");
        }
    }

    @Test
    void clientModeExecutorPodsCarryTheTemplateGpusMemoryAndEnvironment(@TempDir Path tmp) throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "the executors never start on a mock API server, so prepare waits for them\n");
        try (MockApiServer api = new MockApiServer()) {
            Process submit = submit(tmp, api, List.of("--deploy-mode", "client", "--executors", "2", "--cores", "1", "--memory", "512m",
                            "--overhead", "1536m", "--gpus", "1",
                            "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false"),
                    List.of("--preset", "tiny", "--layer", "cola", "--corpus", corpus.toString(), "--steps", "40"), tmp.resolve("run").toString());
            List<Pod> executors;
            try {
                executors = awaitExecutorPods(api, submit, tmp, 2);
            } finally {
                submit.destroy();
                if (!submit.waitFor(60, TimeUnit.SECONDS)) submit.destroyForcibly();
            }
            for (Pod pod : executors) {
                String name = pod.getMetadata().getName();
                Container c = pod.getSpec().getContainers().stream().filter(x -> x.getName().equals("spark-kubernetes-executor")).findFirst()
                        .orElseThrow(() -> new AssertionError(name + " has no container spark-kubernetes-executor (the template's): " + pod));
                assertEquals(IMAGE, c.getImage(), name);
                assertEquals("Pending", pod.getStatus().getPhase(), name);
                assertEquals("lowrank-spark", pod.getMetadata().getLabels().get("app.kubernetes.io/name"), "template labels merged: " + name);
                // the pod template merged: GPU toleration and /dev/shm as a memory-backed emptyDir
                assertTrue(pod.getSpec().getTolerations().stream().anyMatch(t -> "nvidia.com/gpu".equals(t.getKey())
                        && "Exists".equals(t.getOperator()) && "NoSchedule".equals(t.getEffect())), name + " tolerations: " + pod.getSpec().getTolerations());
                Volume dshm = pod.getSpec().getVolumes().stream().filter(v -> v.getName().equals("dshm")).findFirst()
                        .orElseThrow(() -> new AssertionError(name + " has no dshm volume: " + pod.getSpec().getVolumes()));
                assertEquals("Memory", dshm.getEmptyDir().getMedium(), name);
                assertEquals(new Quantity("1Gi"), dshm.getEmptyDir().getSizeLimit(), name);
                assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("dshm") && m.getMountPath().equals("/dev/shm")), name);
                // one GPU, cores, and heap + overhead as the memory limit
                Map<String, Quantity> limits = c.getResources().getLimits();
                assertEquals(new Quantity("1"), limits.get("nvidia.com/gpu"), name + " limits " + limits);
                assertEquals(Quantity.getAmountInBytes(new Quantity("2048Mi")), Quantity.getAmountInBytes(limits.get("memory")),
                        name + ": memory limit = 512m heap + 1536m overhead: " + limits);
                assertEquals(Quantity.getAmountInBytes(new Quantity("2048Mi")),
                        Quantity.getAmountInBytes(c.getResources().getRequests().get("memory")), name);
                assertEquals(new Quantity("1"), c.getResources().getRequests().get("cpu"), name);
                // environment: threads, and OpenMP/OpenBLAS threads that sleep instead of spinning
                Map<String, String> env = c.getEnv().stream().filter(e -> e.getValue() != null)
                        .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue, (a, b) -> b));
                assertEquals("1", env.get("OMP_NUM_THREADS"), name + " env " + env.keySet());
                assertEquals("PASSIVE", env.get("OMP_WAIT_POLICY"), name);
                assertEquals("4", env.get("OPENBLAS_THREAD_TIMEOUT"), name);
                String javaOpts = env.entrySet().stream().filter(e -> e.getKey().startsWith("SPARK_JAVA_OPT_")).map(Map.Entry::getValue)
                        .collect(Collectors.joining(" "));
                assertTrue(javaOpts.contains("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"), name + ": " + javaOpts);
                assertTrue(javaOpts.contains("-Dlowrank.native.path=/opt/lowrank/native/liblowrank_native.so"), name + ": " + javaOpts);
                assertEquals("1", env.get("SPARK_EXECUTOR_CORES"), name);
            }
            // each executor pod was created once (Spark did not replace failed ones)
            assertEquals(2, api.requests().stream().filter(r -> r.method().equals("POST") && r.path().endsWith("/pods")
                    && r.body().contains("\"spark-role\":\"executor\"")).count(), "two executor pod creations");
        }
    }

    private static Process submit(Path tmp, MockApiServer api, List<String> options, List<String> trainArgs, String runDir) throws IOException {
        // under target/, not the temp dir: JUnit would warn about each of its ~300 links when deleting it
        Path sparkHome = SparkInstallation.create(Path.of(System.getProperty("user.dir"), "target", "spark-home"));
        List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("deploy/kubernetes/submit.sh").toString()));
        cmd.addAll(options);
        cmd.addAll(List.of(api.master(), IMAGE, runDir));
        cmd.addAll(trainArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("submit.log").toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("LOWRANK_APP_JAR", System.getProperty("lowrank.app.jar"));
        // no kubeconfig of this machine may leak into the submission
        pb.environment().put("KUBECONFIG", tmp.resolve("no-kubeconfig").toString());
        return pb.start();
    }

    private static List<Pod> awaitExecutorPods(MockApiServer api, Process submit, Path tmp, int count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            List<Pod> executors = api.pods().stream().filter(p -> "executor".equals(p.getMetadata().getLabels().get("spark-role"))).toList();
            if (executors.size() >= count) return executors;
            if (submit.waitFor(200, TimeUnit.MILLISECONDS)) fail("the client-mode driver exited (" + submit.exitValue() + ") before creating " + count + " executor pods:\n" + log(tmp));
        }
        fail("no " + count + " executor pods 180 s after submitting:\n" + log(tmp));
        return null;
    }

    private static Pod only(List<Pod> pods, String role) {
        List<Pod> match = pods.stream().filter(p -> role.equals(p.getMetadata().getLabels().get("spark-role"))).toList();
        assertEquals(1, match.size(), "one " + role + " pod: " + pods);
        return match.get(0);
    }

    /** The text of the ConfigMap entry {@code key} (Spark names its ConfigMaps after the app). */
    private static String configMapText(MockApiServer api, String key) {
        List<ConfigMap> maps = api.configMaps();
        for (ConfigMap m : maps) {
            if (m.getData() == null) continue;
            for (Map.Entry<String, String> e : m.getData().entrySet()) {
                if (e.getKey().equals(key) || e.getKey().contains(key)) return e.getValue();
            }
        }
        fail("no ConfigMap entry " + key + " among " + maps.stream().map(m -> m.getMetadata().getName() + m.getData().keySet()).toList());
        return null;
    }

    private static String log(Path tmp) throws IOException {
        Path f = tmp.resolve("submit.log");
        if (!Files.exists(f)) return "(no output)";
        List<String> l = Files.readAllLines(f);
        return String.join("\n", l.subList(Math.max(0, l.size() - 60), l.size()));
    }

    static {
        assertNotNull(System.getProperty("lowrank.root"), "kubernetes-tests' surefire sets lowrank.root");
    }
}
