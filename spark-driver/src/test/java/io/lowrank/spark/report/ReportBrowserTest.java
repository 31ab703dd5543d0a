package io.lowrank.spark.report;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opens {@code report.html} in Debian's headless Chromium (through ChromeDriver) and checks what a
 * user sees: every chart image decodes at its full size, the loss chart draws each run's curve in
 * its colour falling the way the run's losses fall, the retry is marked, and the page's tables hold
 * the run's own numbers. The runs are metrics.jsonl files of fresh random losses, so a report that
 * drew or printed anything else would not match.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
public class ReportBrowserTest {
    static ChromeDriver browser;
    static Path profile;

    @BeforeAll
    static void startBrowser() throws Exception {
        Path root = Path.of("..").toAbsolutePath().normalize();
        Process p = new ProcessBuilder(root.resolve("bin/install-browser").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "bin/install-browser failed (the report test needs Debian's chromium and chromium-driver): " + out);
        profile = Files.createTempDirectory("report-test-chromium");
        ChromeOptions o = new ChromeOptions();
        o.setBinary("/usr/bin/chromium");
        o.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--window-size=1100,900", "--user-data-dir=" + profile);
        ChromeDriverService svc = new ChromeDriverService.Builder().usingDriverExecutable(new File("/usr/bin/chromedriver")).build();
        browser = new ChromeDriver(svc, o);
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) browser.quit();
    }

    /** A run of {@code steps} steps in chunks of 10 with losses falling from ~9 to ~4 plus noise; one retry at step 20. */
    static String metrics(SplittableRandom r, int steps, long tokensPerStep) {
        StringBuilder sb = new StringBuilder();
        double t = 1.7e9;
        for (int s = 1; s <= steps; s++) {
            t += 0.5 + r.nextDouble();
            double loss = 4 + 5 * Math.exp(-s / 15.0) + 0.1 * r.nextDouble();
            sb.append(String.format(Locale.ROOT, "{\"kind\":\"train\",\"time\":%.3f,\"step\":%d,\"loss\":%.9f,\"lr\":%.6e,\"grad_norm\":%.6f,"
                    + "\"tokens\":%d,\"allreduce_exposed_ms\":%.3f}%n", t, s, loss, 3e-3 * Math.min(1, s / 5.0), 1 + r.nextDouble(),
                    s * tokensPerStep, 5 * r.nextDouble()));
            if (s % 10 == 0) {
                sb.append(String.format(Locale.ROOT, "{\"kind\":\"chunk\",\"time\":%.3f,\"chunk\":%d,\"first_step\":%d,\"last_step\":%d,"
                        + "\"tokens_per_s\":%.1f,\"seconds\":%.3f,\"allreduce_exposed_s\":%.4f,\"allreduce_standalone_s\":0.02,\"stage_attempt\":0}%n",
                        t, s / 10 - 1, s - 9, s, 1000 + 500 * r.nextDouble(), 10.0, 0.03 * r.nextDouble()));
                sb.append(String.format(Locale.ROOT, "{\"kind\":\"eval\",\"time\":%.3f,\"step\":%d,\"val_loss\":%.9f,\"val_ppl\":1}%n",
                        t, s, 4.2 + 5 * Math.exp(-s / 15.0) + 0.05 * r.nextDouble()));
            }
            if (s == 20) sb.append("{\"kind\":\"retry\",\"time\":").append(t).append(",\"chunk\":2,\"from_step\":20,\"attempt\":1,\"error\":\"executor lost\"}\n");
        }
        sb.append("{\"kind\":\"train\",\"step\":61,\"lo");   // the torn last line of a killed driver
        return sb.toString();
    }

    @Test
    void chartsAreDrawnWithTheRunsValues(@TempDir Path tmp) throws Exception {
        SplittableRandom r = new SplittableRandom(System.nanoTime());
        Path a = Files.createDirectories(tmp.resolve("run-a")), b = Files.createDirectories(tmp.resolve("run-b"));
        Files.writeString(a.resolve("metrics.jsonl"), metrics(r, 60, 2048));
        Files.writeString(b.resolve("metrics.jsonl"), metrics(r, 40, 4096));
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        System.setOut(new PrintStream(stdout, true));
        try {
            assertEquals(0, io.lowrank.spark.SparkMain.run("report", a.toString(), "--compare", b.toString()));
        } finally {
            System.setOut(saved);
        }
        assertTrue(stdout.toString().contains("\"report\""), stdout.toString());
        BufferedImage lossPng = ImageIO.read(a.resolve("loss.png").toFile());
        assertEquals(RunReport.WIDTH, lossPng.getWidth());

        browser.get(a.resolve("report.html").toUri().toString());
        List<WebElement> charts = browser.findElements(By.cssSelector("img.chart"));
        List<String> ids = charts.stream().map(e -> e.getAttribute("id")).toList();
        assertEquals(List.of("chart-loss-steps", "chart-loss-tokens", "chart-lr", "chart-tokens-per-s", "chart-allreduce"), ids);
        JavascriptExecutor js = browser;
        for (WebElement c : charts) {
            // decoded by the browser at the size it was drawn (a broken data: URI has naturalWidth 0)
            assertEquals(Boolean.TRUE, js.executeScript("return arguments[0].complete", c), c.getAttribute("id"));
            assertEquals(RunReport.WIDTH, ((Number) js.executeScript("return arguments[0].naturalWidth", c)).intValue(), c.getAttribute("id"));
            assertEquals(RunReport.HEIGHT, ((Number) js.executeScript("return arguments[0].naturalHeight", c)).intValue(), c.getAttribute("id"));
        }

        // what the screen shows of the loss chart: run a's colour (palette 0) and run b's (palette 1)
        // as falling curves, and the retry's red marker
        WebElement lossChart = browser.findElement(By.id("chart-loss-steps"));
        BufferedImage shot = ImageIO.read(new ByteArrayInputStream(lossChart.getScreenshotAs(OutputType.BYTES)));
        assertTrue(shot.getWidth() >= RunReport.WIDTH / 2 && shot.getHeight() >= RunReport.HEIGHT / 2, shot.getWidth() + "x" + shot.getHeight());
        assertFalls(shot, 0x1f77b4, "run a");
        assertFalls(shot, 0xd62728, "run b");
        assertTrue(count(shot, 0xcc0000, 0, shot.getWidth()) > 20, "the retry marker (red) is drawn");

        // the tables hold the runs' values
        RunMetrics ma = RunMetrics.read(a.toString(), new Configuration());
        assertEquals(1, ma.skippedLines);
        assertEquals(60, ma.steps.size());
        List<WebElement> evalRows = browser.findElements(By.cssSelector("#evals-0 tbody tr"));
        assertEquals(ma.evals.size(), evalRows.size());
        for (int i = 0; i < evalRows.size(); i++) {
            List<WebElement> td = evalRows.get(i).findElements(By.tagName("td"));
            RunMetrics.Eval e = ma.evals.get(i);
            assertEquals(e.step(), Long.parseLong(td.get(0).getAttribute("textContent")));
            assertEquals(e.step() * 2048, Long.parseLong(td.get(1).getAttribute("textContent")));
            assertEquals(e.valLoss(), Double.parseDouble(td.get(2).getAttribute("textContent")), 5e-7);
        }
        List<WebElement> stepRows = browser.findElements(By.cssSelector("#steps-0 tbody tr"));
        assertEquals(60, stepRows.size());
        for (int i = 0; i < 60; i++) {
            List<WebElement> td = stepRows.get(i).findElements(By.tagName("td"));
            assertEquals(i + 1, Long.parseLong(td.get(0).getAttribute("textContent")));
            assertEquals(ma.steps.get(i).loss(), Double.parseDouble(td.get(2).getAttribute("textContent")), 5e-7);
        }
        List<WebElement> summary = browser.findElements(By.cssSelector("#summary tbody tr"));
        assertEquals(2, summary.size());
        List<WebElement> sa = summary.get(0).findElements(By.tagName("td"));
        assertEquals("run-a", sa.get(0).getText());
        assertEquals(ma.meanLastLoss(10), Double.parseDouble(sa.get(3).getText()), 5e-7);
        assertEquals(ma.lastValLoss(), Double.parseDouble(sa.get(5).getText()), 5e-7);
        assertEquals("1", sa.get(9).getText());   // one retry
        assertEquals(6, browser.findElements(By.cssSelector("#chunks-0 tbody tr")).size());
    }

    /** The curve of {@code rgb} has many pixels, and they sit higher (smaller y) in the chart's left third than in its right third. */
    static void assertFalls(BufferedImage img, int rgb, String what) {
        int w = img.getWidth(), x0 = w, x1 = 0;
        assertTrue(count(img, rgb, 0, w) > 100, what + ": its colour #" + Integer.toHexString(rgb) + " is drawn");
        for (int x = 0; x < w; x++) {
            if (count(img, rgb, x, x + 1) > 0) {
                x0 = Math.min(x0, x);
                x1 = x;
            }
        }
        // thirds of the curve's own extent (a shorter run ends further left)
        int third = (x1 - x0) / 3;
        double left = meanY(img, rgb, x0, x0 + third), right = meanY(img, rgb, x1 - third, x1 + 1);
        assertTrue(left < right - 10, what + ": curve falls (mean y " + left + " on the left, " + right + " on the right)");
    }

    /** Pixels of that colour in the plot band: below the title, above the axis label and the legend. */
    static int count(BufferedImage img, int rgb, int x0, int x1) {
        int n = 0;
        for (int x = x0; x < x1; x++) for (int y = top(img); y < bottom(img); y++) if (near(img.getRGB(x, y), rgb)) n++;
        return n;
    }

    static int top(BufferedImage img) { return img.getHeight() * 7 / 100; }
    static int bottom(BufferedImage img) { return img.getHeight() * 80 / 100; }

    static double meanY(BufferedImage img, int rgb, int x0, int x1) {
        double sum = 0;
        int n = 0;
        for (int x = x0; x < x1; x++) {
            for (int y = top(img); y < bottom(img); y++) {
                if (near(img.getRGB(x, y), rgb)) {
                    sum += y;
                    n++;
                }
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    static boolean near(int argb, int rgb) {
        int dr = ((argb >> 16) & 0xff) - ((rgb >> 16) & 0xff), dg = ((argb >> 8) & 0xff) - ((rgb >> 8) & 0xff), db = (argb & 0xff) - (rgb & 0xff);
        return dr * dr + dg * dg + db * db < 40 * 40;
    }
}
