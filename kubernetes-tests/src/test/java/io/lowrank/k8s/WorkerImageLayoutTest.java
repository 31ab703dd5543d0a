package io.lowrank.k8s;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * deploy/docker/Dockerfile without a Docker engine (none runs here): its final stage's COPY lines
 * are replayed from the repository's build outputs into a directory standing for the image's
 * root, and every path inside the image that deploy/kubernetes/submit.sh and the executor pod
 * template reference must exist there, with the right content (the application jar with its main
 * class, the native kernels as an ELF library, a discovery script that runs). What the Spark base
 * image provides ({@code COPY --from=spark}: /opt/spark, /opt/entrypoint.sh) and what apt installs
 * (the JRE, libgomp) cannot be checked here; the test lists them.
 */
class WorkerImageLayoutTest {
    private static final Path ROOT = Path.of(System.getProperty("lowrank.root")).toAbsolutePath().normalize();
    private static final Pattern IMAGE_PATH = Pattern.compile("(/opt/lowrank(?:/[A-Za-z0-9._-]+)*)");

    @Test
    void everyPathTheScriptsReferenceExistsInTheImageLayout(@TempDir Path image) throws Exception {
        Dockerfile df = Dockerfile.parse(ROOT.resolve("deploy/docker/Dockerfile"));
        assertTrue(df.fromImage.contains("${BASE}") || df.args.containsKey("BASE"), "a BASE build arg for the CUDA runtime base");
        assertEquals("/opt/spark/work-dir", df.workdir);
        assertEquals("/opt/lowrank", df.env.get("LOWRANK_HOME"));
        assertTrue(df.fromSparkImage.containsAll(List.of("/opt/spark", "/opt/entrypoint.sh")), "Spark and its pod entrypoint come from the Spark image: " + df.fromSparkImage);
        for (Dockerfile.Copy c : df.copies) c.replay(ROOT, image);
        Files.createDirectories(image.resolve(df.workdir.substring(1)));

        // every /opt/lowrank path the submission script and the pod template name, $APP expanded
        String submit = Files.readString(ROOT.resolve("deploy/kubernetes/submit.sh"));
        Matcher app = Pattern.compile("(?m)^APP=(\\S+)$").matcher(submit);
        assertTrue(app.find(), "submit.sh names the image's application directory in APP=");
        assertEquals("/opt/lowrank", app.group(1));
        Set<String> referenced = new LinkedHashSet<>();
        for (String text : List.of(submit.replace("$APP", app.group(1)),
                Files.readString(ROOT.resolve("deploy/kubernetes/executor-pod-template.yaml")))) {
            Matcher m = IMAGE_PATH.matcher(text);
            while (m.find()) referenced.add(m.group(1));
        }
        assertTrue(referenced.containsAll(List.of("/opt/lowrank/lowrank-spark-app.jar", "/opt/lowrank/native/liblowrank_native.so",
                "/opt/lowrank/deploy/gpu/discover-gpus.sh")), "what submit.sh relies on: " + referenced);
        for (String p : referenced) {
            assertTrue(Files.exists(image.resolve(p.substring(1))), p + " is referenced by deploy/kubernetes but the Dockerfile puts nothing there; the image has:\n" + listing(image));
        }

        // the contents behind the paths
        try (JarFile jar = new JarFile(image.resolve("opt/lowrank/lowrank-spark-app.jar").toFile())) {
            assertNotNull(jar.getEntry("io/lowrank/spark/SparkMain.class"), "the shaded application jar");
            assertEquals("io.lowrank.spark.SparkMain", jar.getManifest().getMainAttributes().getValue("Main-Class"));
        }
        byte[] elf = Files.readAllBytes(image.resolve("opt/lowrank/native/liblowrank_native.so"));
        assertArrayEquals(new byte[]{0x7f, 'E', 'L', 'F'}, java.util.Arrays.copyOf(elf, 4), "the native kernels library");
        Path discover = image.resolve("opt/lowrank/deploy/gpu/discover-gpus.sh");
        assertTrue(Files.isExecutable(discover), "Spark runs the discovery script directly");
        // the container runtime's variable (numeric form), as on a GPU node
        ProcessBuilder pb = new ProcessBuilder(discover.toString()).redirectErrorStream(true);
        pb.environment().remove("LOWRANK_GPU_ADDRESSES");
        pb.environment().put("CUDA_VISIBLE_DEVICES", "0");
        Process run = pb.start();
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        assertEquals("{\"name\": \"gpu\", \"addresses\": [\"0\"]}", new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        assertTrue(Files.isDirectory(image.resolve("opt/lowrank/conf")) && Files.exists(image.resolve("opt/lowrank/conf/spark-defaults.conf")));
        assertFalse(df.copies.isEmpty());
    }

    private static String listing(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return String.join("\n", s.map(x -> "/" + root.relativize(x)).toList());
        }
    }

    /** The parts of a Dockerfile this test replays: ARG defaults, the last stage's FROM, COPY, ENV, WORKDIR. */
    static final class Dockerfile {
        record Copy(String source, String destination) {
            void replay(Path context, Path image) throws IOException {
                Path src = context.resolve(source);
                Path dst = image.resolve(destination.substring(1));
                if (!Files.exists(src)) {
                    throw new AssertionError("COPY " + source + " " + destination + ": " + src + " is not in the build outputs (run mvn -DskipTests package first)");
                }
                if (Files.isDirectory(src)) {
                    try (Stream<Path> s = Files.walk(src)) {
                        for (Path f : s.toList()) {
                            Path t = dst.resolve(src.relativize(f).toString());
                            if (Files.isDirectory(f)) Files.createDirectories(t);
                            else Files.copy(f, t, StandardCopyOption.COPY_ATTRIBUTES);
                        }
                    }
                } else {
                    Path t = destination.endsWith("/") ? dst.resolve(src.getFileName().toString()) : dst;
                    Files.createDirectories(t.getParent());
                    Files.copy(src, t, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }

        final Map<String, String> args = new HashMap<>();
        final Map<String, String> env = new HashMap<>();
        final List<Copy> copies = new ArrayList<>();
        final List<String> fromSparkImage = new ArrayList<>();
        String fromImage = "";
        String workdir = "/";

        static Dockerfile parse(Path file) throws IOException {
            Dockerfile d = new Dockerfile();
            // join continuation lines, drop comments
            List<String> lines = new ArrayList<>();
            StringBuilder cur = new StringBuilder();
            for (String raw : Files.readAllLines(file)) {
                String l = raw.strip();
                if (l.startsWith("#") || (l.isEmpty() && cur.isEmpty())) continue;
                if (l.endsWith("\\")) {
                    cur.append(l, 0, l.length() - 1).append(' ');
                    continue;
                }
                lines.add(cur.append(l).toString());
                cur.setLength(0);
            }
            for (String l : lines) {
                String[] w = l.split("\\s+", 2);
                String rest = w.length > 1 ? d.expand(w[1]) : "";
                switch (w[0].toUpperCase()) {
                    case "ARG" -> {
                        String[] kv = w[1].split("=", 2);
                        d.args.put(kv[0], kv.length > 1 ? kv[1] : "");
                    }
                    case "FROM" -> {
                        // a new stage: only the last one is the image
                        d.fromImage = w[1];
                        d.copies.clear();
                        d.fromSparkImage.clear();
                        d.env.clear();
                        d.workdir = "/";
                    }
                    case "ENV" -> {
                        Matcher m = Pattern.compile("(\\w+)=(\"[^\"]*\"|\\S+)").matcher(rest);
                        while (m.find()) d.env.put(m.group(1), m.group(2).replace("\"", ""));
                    }
                    case "WORKDIR" -> d.workdir = rest.trim();
                    case "COPY" -> {
                        List<String> parts = new ArrayList<>(List.of(rest.trim().split("\\s+")));
                        boolean fromStage = parts.removeIf(x -> x.startsWith("--from="));
                        parts.removeIf(x -> x.startsWith("--"));
                        assertEquals(2, parts.size(), "COPY with one source and one destination: " + l);
                        if (fromStage) d.fromSparkImage.add(parts.get(1));
                        else d.copies.add(new Copy(parts.get(0), parts.get(1)));
                    }
                    default -> { }
                }
            }
            return d;
        }

        private String expand(String s) {
            for (Map.Entry<String, String> a : args.entrySet()) s = s.replace("${" + a.getKey() + "}", a.getValue());
            return s;
        }
    }
}
