package io.lowrank.spark.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.spark.cli.SparkTrainCommand;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import scala.Option;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Spark UI of a running {@code train --master local[2] --workers 2}, read in Debian's headless
 * Chromium through ChromeDriver (Selenium 4), as an operator sees it: the Jobs page lists the
 * chunks by their descriptions, a chunk's stage page lists the named {@code lowrank.*}
 * accumulators, and {@code /metrics/prometheus} shows the driver plugin's gauges moving. The
 * assertions read the rendered page text; screenshots of each page go into the run directory.
 */
class SparkUiBrowserTest {
    private static final Pattern CHUNK_DESCRIPTION = Pattern.compile("train steps (\\d+)-(\\d+) of 4000, loss (\\d+\\.\\d{3}), ([\\d,]+) tok/s");
    private static final Pattern STEP_GAUGE = Pattern.compile("LowrankPlugin_step_Value\\{[^}]*} (\\d+)");
    private static final Duration PAGE_WAIT = Duration.ofSeconds(120);

    @Test
    void jobsStageAndPrometheusPagesOfARunningTrainingJob() throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
        installBrowser(root);
        // under target/ (not a temp dir) so that the screenshots stay for a person to look at
        Path work = Path.of(System.getProperty("user.dir"), "target", "ui-browser-test", "t" + System.currentTimeMillis());
        Files.createDirectories(work);
        Path corpus = io.lowrank.spark.train.SparkTrainLocalTest.corpus(work);
        Path runDir = work.resolve("run");

        System.setProperty("spark.ui.enabled", "true");
        System.setProperty("spark.ui.port", "0");
        // far more steps than the test watches: the run is cancelled once the pages were read
        String[] train = {"train", "--preset", "tiny", "--layer", "cola", "--master", "local[2]", "--workers", "2", "--threads", "1",
                "--steps", "4000", "--chunk-steps", "4", "--max-chunk-retries", "0", "--batch", "2", "--seq-len", "16",
                "--set", "train.warmup_steps=1", "--set", "model.hidden_size=32", "--set", "model.intermediate_size=64",
                "--set", "model.rank=8", "--corpus", corpus.toString(), "--run-dir", runDir.toString()};
        AtomicReference<Throwable> trainError = new AtomicReference<>();
        CompletableFuture<Void> training = CompletableFuture.runAsync(() -> {
            try {
                SparkTrainCommand.run(train);
            } catch (Throwable t) {
                trainError.set(t);
            }
        });
        WebDriver browser = null;
        Throwable failure = null;
        try {
            SparkSession spark = awaitSession(training, trainError);
            String ui = spark.sparkContext().uiWebUrl().get();
            String app = spark.sparkContext().applicationId();
            browser = chromium(work);
            WebDriverWait wait = new WebDriverWait(browser, PAGE_WAIT, Duration.ofMillis(500));

            // Jobs page: chunk jobs by their descriptions (steps, the previous chunk's loss and tokens/s)
            WebDriver b = browser;
            String jobsText = wait.until(d -> {
                d.get(ui + "/jobs/");
                String t = bodyText(d);
                return CHUNK_DESCRIPTION.matcher(t).find() && t.contains("Active Jobs") ? t : null;
            });
            screenshot(browser, runDir.resolve("ui-jobs.png"));
            Matcher m = CHUNK_DESCRIPTION.matcher(jobsText);
            assertTrue(m.find());
            assertTrue(Double.parseDouble(m.group(3)) > 0 && Double.parseDouble(m.group(3)) < 20, "a plausible loss: " + m.group());
            assertTrue(Long.parseLong(m.group(4).replace(",", "")) > 0, "tokens/s above zero: " + m.group());
            assertFalse(training.isDone(), "the job is still running while its Jobs page is read");

            // a completed chunk's stage page: the named accumulators with the run's running totals
            int stageId = completedChunkStage(ui, app);
            browser.get(ui + "/stages/stage/?id=" + stageId + "&attempt=0");
            String stageText = wait.until(d -> {
                String t = bodyText(d);
                return t.contains("lowrank.steps") && t.contains("lowrank.tokens") ? t : null;
            });
            screenshot(browser, runDir.resolve("ui-stage.png"));
            for (String acc : new String[]{"lowrank.steps", "lowrank.tokens", "lowrank.loss_sum", "lowrank.allreduce_bytes"}) {
                assertTrue(stageText.contains(acc), acc + " on the stage page:\n" + stageText);
            }
            Matcher steps = Pattern.compile("lowrank\\.steps\\s+(\\d+)").matcher(stageText);
            assertTrue(steps.find(), "lowrank.steps with its value:\n" + stageText);
            long stepsSoFar = Long.parseLong(steps.group(1));
            assertTrue(stepsSoFar >= 4 && stepsSoFar % 4 == 0, "steps after whole chunks of 4: " + stepsSoFar);

            // /metrics/prometheus, the path the README gives: the plugin's gauges, moving while the job runs
            long first = stepGauge(browser, wait, ui, runDir.resolve("ui-prometheus.png"));
            long later = wait.until(d -> {
                long s = stepGauge(b, null, ui, null);
                return s > first ? s : null;
            });
            assertTrue(later > first, "the step gauge moves: " + first + " -> " + later);
            String prom = bodyText(browser);
            for (String gauge : new String[]{"LowrankPlugin_loss_Value", "LowrankPlugin_tokens_per_s_Value", "LowrankPlugin_allreduce_busbw_gb_s_Value"}) {
                assertTrue(prom.contains(gauge), gauge + " at /metrics/prometheus:\n" + prom);
            }
            assertEquals(ui + "/metrics/prometheus", browser.getCurrentUrl(), "the browser stays on the documented path (no redirect)");
            // what a scraper or curl without -L sees at the documented path: the gauges, not a redirect
            HttpResponse<String> plain = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(ui + "/metrics/prometheus")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, plain.statusCode(), "GET /metrics/prometheus without following redirects: " + plain.headers().map());
            assertTrue(plain.body().contains("LowrankPlugin_step_Value"), plain.body());
            HttpResponse<String> slash = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(ui + "/metrics/prometheus/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(slash.statusCode() == 200 && slash.body().contains("LowrankPlugin_step_Value"), "and with the slash, Spark's own path: " + slash.statusCode());
            assertFalse(training.isDone(), "the job is still running while its gauges are read");

            for (String png : new String[]{"ui-jobs.png", "ui-stage.png", "ui-prometheus.png"}) {
                BufferedImage img = ImageIO.read(runDir.resolve(png).toFile());
                assertTrue(img != null && img.getWidth() >= 800 && img.getHeight() >= 600, png + " is a readable screenshot");
            }
        } catch (Throwable t) {
            failure = t;
            throw t;
        } finally {
            if (browser != null) browser.quit();
            // end the run: with --max-chunk-retries 0 the cancelled chunk ends train, which stops Spark
            Option<SparkSession> s = SparkSession.getDefaultSession();
            if (s.isDefined()) s.get().sparkContext().cancelAllJobs();
            try {
                training.get(120, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                AssertionError stuck = new AssertionError("train did not end within 120 s of cancelling its jobs");
                if (failure != null) failure.addSuppressed(stuck);
                else throw stuck;
            } finally {
                System.clearProperty("spark.ui.enabled");
                System.clearProperty("spark.ui.port");
            }
        }
    }

    /** bin/install-browser (Debian's chromium + chromium-driver); its own message when it cannot install them. */
    private static void installBrowser(Path root) throws Exception {
        Process p = new ProcessBuilder(root.resolve("bin/install-browser").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("bin/install-browser did not finish in 300 s:\n" + out);
        }
        if (p.exitValue() != 0) fail("bin/install-browser failed (exit " + p.exitValue() + "):\n" + out);
    }

    private static WebDriver chromium(Path work) {
        ChromeOptions o = new ChromeOptions();
        o.setBinary("/usr/bin/chromium");
        // no network but loopback here: without the background-networking flags Chromium's attempts pile up
        o.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,1000",
                "--user-data-dir=" + work.resolve("chromium-profile"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File("/usr/bin/chromedriver"))
                .usingAnyFreePort().withLogFile(work.resolve("chromedriver.log").toFile()).build();
        return new ChromeDriver(service, o);
    }

    /** The session the training thread creates (the UI exists from then on). */
    private static SparkSession awaitSession(CompletableFuture<Void> training, AtomicReference<Throwable> trainError) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            Option<SparkSession> s = SparkSession.getDefaultSession();
            if (s.isDefined() && s.get().sparkContext().uiWebUrl().isDefined()) return s.get();
            if (training.isDone()) throw new AssertionError("train ended before its UI could be read", trainError.get());
            try {
                training.get(100, TimeUnit.MILLISECONDS); // returns early only when train ends
            } catch (java.util.concurrent.TimeoutException stillStarting) {
                // poll again
            }
        }
        throw new AssertionError("no Spark session with a UI 120 s after train started");
    }

    /** A completed barrier stage of a chunk, the one whose page carries the lowrank.* accumulators. */
    private static int completedChunkStage(String ui, String app) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(ui + "/api/v1/applications/" + app + "/stages?status=complete&details=false")).build(), HttpResponse.BodyHandlers.ofString());
        for (JsonNode st : new ObjectMapper().readTree(r.body())) {
            for (JsonNode a : st.path("accumulatorUpdates")) {
                if (a.path("name").asText().equals("lowrank.steps")) return st.path("stageId").asInt();
            }
        }
        throw new AssertionError("no completed stage with the lowrank.steps accumulator yet: " + r.body());
    }

    private static long stepGauge(WebDriver browser, WebDriverWait wait, String ui, Path png) {
        browser.get(ui + "/metrics/prometheus");
        String text = bodyText(browser);
        Matcher m = STEP_GAUGE.matcher(text);
        if (!m.find()) throw new AssertionError("no LowrankPlugin_step_Value at " + browser.getCurrentUrl() + ":\n" + text);
        if (png != null) screenshot(browser, png);
        return Long.parseLong(m.group(1));
    }

    private static String bodyText(WebDriver d) {
        return d.findElement(By.tagName("body")).getText();
    }

    private static void screenshot(WebDriver browser, Path png) {
        try {
            Files.write(png, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the screenshot " + png, e);
        }
    }
}
