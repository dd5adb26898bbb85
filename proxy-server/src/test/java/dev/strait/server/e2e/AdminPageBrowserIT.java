package dev.strait.server.e2e;

import static dev.strait.server.support.Clients.assertEchoes;
import static dev.strait.server.support.Clients.connect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.AdminToken;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.TransportKind;
import dev.strait.server.ProxyServer;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The admin page in a real browser: Debian's headless Chromium driven by Selenium through Debian's chromedriver (both
 * by absolute path, so Selenium Manager never downloads anything). It loads without a console error, shows a new
 * connection with its client address and growing byte counts, closes it with the Close button, drains a backend
 * with the toggle, and shows a stopped backend as down. It saves a screenshot as {@code target/ui.png}.
 */
class AdminPageBrowserIT {
    private static final Logger log = LogManager.getLogger(AdminPageBrowserIT.class);
    private static final String TOKEN = "browser-test-token-0123456789";
    private static final Duration HEALTH_INTERVAL = Duration.ofSeconds(2);
    private static final Duration PAGE_REFRESH = Duration.ofSeconds(1);

    @TempDir
    Path profile;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private LoopbackBackend one;
    private LoopbackBackend two;
    private ProxyServer server;
    private ChromeDriver browser;

    @BeforeEach
    void start() throws Exception {
        Path chromium = Binaries.require("chromium", "chromium", Path.of("/usr/bin/chromium"));
        Path chromedriver = Binaries.require("chromedriver", "chromium-driver", Path.of("/usr/bin/chromedriver"));
        one = keep(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(1)));
        two = keep(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(2)));
        HealthCheck check = new HealthCheck(
                HEALTH_INTERVAL, Duration.ofMillis(500), 1, 1, Optional.empty(), Optional.empty(), false);
        server = ProxyServer.start(ProxyConfig.of(List.of(TestRoutes.route("web")
                        .backends(one.address(), two.address())
                        .healthCheck(check)
                        .build()))
                .with(TransportKind.AUTO, Optional.of(new HostAndPort("127.0.0.1", 0)))
                .withAdminToken(Optional.of(new AdminToken(TOKEN))));

        // Both paths explicit: Selenium Manager runs only when the driver or the browser has to be found.
        System.setProperty(ChromeDriverService.CHROME_DRIVER_EXE_PROPERTY, chromedriver.toString());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--window-size=1400,1000",
                "--user-data-dir=" + profile);
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort()
                .build();
        browser = new ChromeDriver(service, options);
    }

    @AfterEach
    void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.shutdown(Duration.ZERO);
        }
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    @Test
    void showsClosesDrainsAndMarksDownInARealBrowser() throws Exception {
        browser.get(admin("/ui"));
        await().atMost(Duration.ofSeconds(10))
                .until(() -> rows("#backends tbody tr").size() == 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> text(By.id("status")).startsWith("live"));
        assertNoConsoleErrors("after loading");
        assertThat(browser.getTitle()).isEqualTo("Strait");

        browser.findElement(By.id("token")).sendKeys(TOKEN);
        browser.findElement(By.id("token-save")).click();
        assertThat(text(By.id("token-state"))).isEqualTo("token set for this tab");

        // A connection the test opens appears within 2s with its client address, and its byte counts grow.
        try (Socket client = keep(connect(port()))) {
            LoopbackBackend.readTag(client);
            assertEchoes(client, "a".repeat(100));
            String me = "127.0.0.1:" + client.getLocalPort();
            By row = By.cssSelector("#connections tr[data-client='" + me + "']");
            long opened = System.nanoTime();
            await().atMost(Duration.ofSeconds(2))
                    .until(() -> !browser.findElements(row).isEmpty());
            log.info("connection row shown {}ms after the echo", (System.nanoTime() - opened) / 1_000_000);
            assertThat(cell(row, ".client")).isEqualTo(me);
            await().atMost(Duration.ofSeconds(2)).until(() -> number(cell(row, ".from-client")) == 100);
            assertEchoes(client, "b".repeat(5000));
            await().atMost(Duration.ofSeconds(2)).until(() -> number(cell(row, ".from-client")) == 5100);
            assertThat(number(cell(row, ".from-backend"))).isEqualTo(5101); // the tag byte, then the echo

            // The Close button closes it: the socket sees the end within 2s and the row goes.
            click(row, "button.close");
            Clients.assertClosedByProxyWithin(client, 2000, "the connection closed from the page");
            await().atMost(Duration.ofSeconds(2))
                    .until(() -> browser.findElements(row).isEmpty());
        }

        // The drain toggle stops new connections to that backend; live ones run on.
        By webRoute = By.cssSelector("#routes tr[data-route='web']");
        By twoRow = By.cssSelector("#backends tr[data-backend='" + two.address() + "']");
        Socket onTwo = connectedTo(2);
        click(twoRow, "button.drain-toggle");
        await().atMost(Duration.ofSeconds(3)).until(() -> "true".equals(attribute(twoRow, "data-drained")));
        assertThat(cell(twoRow, ".drain")).isEqualTo("drained");
        await().atMost(Duration.ofSeconds(3))
                .until(() -> cell(webRoute, ".available").equals("1 of 2"));
        assertThat(tags(10)).containsOnly(1);
        assertEchoes(onTwo, "a drained backend's live connection runs on");

        // Some live traffic for the picture, then backend two stops and shows as down within one health interval
        // (fall 1) plus the page's refresh.
        List<Socket> live = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket s = keep(connect(port()));
            LoopbackBackend.readTag(s);
            assertEchoes(s, "x".repeat(20_000 * (i + 1)));
            live.add(s);
        }
        long stopped = System.nanoTime();
        two.stop();
        await().atMost(HEALTH_INTERVAL.plus(PAGE_REFRESH).plusMillis(500))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> "down".equals(attribute(twoRow, "data-check")));
        log.info("backend shown down {}ms after it stopped", (System.nanoTime() - stopped) / 1_000_000);
        assertThat(cell(twoRow, ".health")).isEqualTo("down");
        // The three, and the one to the drained backend: its backend's FIN half-closed it, the client has not.
        await().atMost(Duration.ofSeconds(3))
                .until(() -> rows("#connections tbody tr").size() == live.size() + 1);

        // Steady traffic on one connection shows as the route's rate (and in the chart) while the picture is taken.
        AtomicBoolean pumping = new AtomicBoolean(true);
        Socket busy = live.get(0);
        Thread pump = new Thread(
                () -> {
                    try {
                        while (pumping.get()) {
                            assertEchoes(busy, "p".repeat(16_384));
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                "pump");
        pump.start();
        try {
            By busyRow = By.cssSelector("#connections tr[data-client='127.0.0.1:" + busy.getLocalPort() + "']");
            await().atMost(Duration.ofSeconds(10)).until(() -> number(cell(busyRow, ".from-client")) > 1_000_000);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> !cell(webRoute, ".rate-in").equals("0 B/s"));
            assertThat(text(By.id("legend"))).startsWith("web: ");
            log.info(
                    "screenshot at status \"{}\", busy row \"{}\"",
                    text(By.id("status")),
                    retrying(() -> browser.findElement(busyRow).getText()));
            byte[] png = browser.getScreenshotAs(OutputType.BYTES);
            Files.write(Path.of("target", "ui.png"), png);
            assertThat(png.length).isGreaterThan(10_000);
        } finally {
            pumping.set(false);
            pump.join(10_000);
        }
        assertThat(pump.isAlive()).isFalse();

        click(twoRow, "button.drain-toggle");
        await().atMost(Duration.ofSeconds(3)).until(() -> "false".equals(attribute(twoRow, "data-drained")));
        assertNoConsoleErrors("after closing, draining and enabling");
    }

    /** Opens connections until one reaches backend {@code tag}; closes the others. */
    private Socket connectedTo(int tag) throws IOException {
        for (int i = 0; i < 10; i++) {
            Socket s = connect(port());
            if (LoopbackBackend.readTag(s) == tag) {
                return keep(s);
            }
            s.close();
        }
        throw new AssertionError("no connection reached backend " + tag + " in 10 tries");
    }

    private List<Integer> tags(int n) throws IOException {
        List<Integer> tags = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try (Socket s = connect(port())) {
                tags.add(LoopbackBackend.readTag(s));
            }
        }
        return tags;
    }

    private void assertNoConsoleErrors(String when) {
        List<String> severe = new ArrayList<>();
        for (LogEntry entry : browser.manage().logs().get(LogType.BROWSER)) {
            log.info("browser console: {} {}", entry.getLevel(), entry.getMessage());
            if (entry.getLevel().intValue() >= Level.SEVERE.intValue()) {
                severe.add(entry.getMessage());
            }
        }
        assertThat(severe).as("browser console errors " + when).isEmpty();
    }

    private List<WebElement> rows(String css) {
        return browser.findElements(By.cssSelector(css));
    }

    private String text(By by) {
        return browser.findElement(by).getText();
    }

    /** A cell's text; the page updates rows in place, so a read that races an update is retried. */
    private String cell(By row, String css) {
        return retrying(
                () -> browser.findElement(row).findElement(By.cssSelector(css)).getText());
    }

    private String attribute(By row, String name) {
        return retrying(() -> browser.findElement(row).getDomAttribute(name));
    }

    private void click(By row, String css) {
        retrying(() -> {
            browser.findElement(row).findElement(By.cssSelector(css)).click();
            return null;
        });
    }

    private static <T> T retrying(java.util.concurrent.Callable<T> read) {
        RuntimeException last = null;
        for (int i = 0; i < 5; i++) {
            try {
                return read.call();
            } catch (StaleElementReferenceException | NoSuchElementException e) {
                last = e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        throw last;
    }

    private static long number(String text) {
        String digits = text.replaceAll("[^0-9]", "");
        return digits.isEmpty() ? -1 : Long.parseLong(digits);
    }

    private String admin(String path) {
        return "http://127.0.0.1:" + server.adminAddress().orElseThrow().getPort() + path;
    }

    private int port() {
        return server.boundAddress("web").getPort();
    }

    private <T extends AutoCloseable> T keep(T closeable) {
        toClose.add(closeable);
        return closeable;
    }
}
