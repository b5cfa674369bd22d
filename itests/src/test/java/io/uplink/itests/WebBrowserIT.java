package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;

import io.uplink.testing.oauth2.OAuth2TestServer;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The status page in a real browser: Debian's headless Chromium, driven through chromium-driver, against
 * the distribution started as a process of its own (its demo mail server on free ports). Press Connect now,
 * see the progress and the green result without a reload; a failing connection turns red. Screenshots of
 * each state go to {@code target/browser/}.
 */
public class WebBrowserIT {

    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    /** The password the README's login steps have the reader choose. */
    private static final String PASSWORD = "it-Secret-7";
    private static final String AUTH = "Basic " + Base64.getEncoder()
            .encodeToString(("karaf:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    /** The two lines of Karaf's etc/users.properties that the README says to uncomment. */
    private static final String USER_LINE = "#karaf = karaf,_g_:admingroup";
    private static final String GROUP_LINE = "#_g_\\:admingroup = group,admin,manager,viewer,systembundles,ssh";

    private static Path dir;
    private static Process karaf;
    private static int httpPort;
    private static ChromeDriver driver;
    /** The OAuth2 authorization server of the Authorize button's test, started beside Karaf. */
    private static CompletableFuture<OAuth2TestServer> oauth2;

    @BeforeClass
    public static void startDistributionAndBrowser() throws Exception {
        assertTrue("the browser test needs Debian's chromium and chromium-driver (.ci/run installs them)",
                new File(CHROMIUM).canExecute() && new File(CHROMEDRIVER).canExecute());
        Path target = Path.of(System.getProperty("uplink.target", "target"));
        dir = target.resolve("browser");
        deleteTree(dir);
        Files.createDirectories(dir);
        oauth2 = CompletableFuture.supplyAsync(() -> {
            try {
                return OAuth2TestServer.start("PT5M", null, "office@example.test:office-pw");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Path tar = Path.of(URI.create(System.getProperty("uplink.distribution")));
        run(dir, "tar", "xzf", tar.toString(), "--strip-components=1");
        Path etc = dir.resolve("etc");

        httpPort = freePort();
        int smtp = freePort();
        int pop3 = freePort();
        int imap = freePort();
        set(etc.resolve("org.ops4j.pax.web.cfg"), "org.osgi.service.http.port", String.valueOf(httpPort));
        set(etc.resolve("org.apache.karaf.shell.cfg"), "sshPort", String.valueOf(freePort()));
        set(etc.resolve("org.apache.karaf.management.cfg"), "rmiRegistryPort", String.valueOf(freePort()));
        set(etc.resolve("org.apache.karaf.management.cfg"), "rmiServerPort", String.valueOf(freePort()));
        // the demo mail server on ports of its own, so parallel builds do not collide
        set(etc.resolve("io.uplink.demo.cfg"), "smtp.port", String.valueOf(smtp));
        set(etc.resolve("io.uplink.demo.cfg"), "pop3.port", String.valueOf(pop3));
        set(etc.resolve("io.uplink.demo.cfg"), "imap.port", String.valueOf(imap));
        set(etc.resolve("io.uplink.sender-demo.cfg"), "hosts", "127.0.0.1:" + smtp);
        set(etc.resolve("io.uplink.collector-demo.cfg"), "port", String.valueOf(pop3));
        // long enough online for a person (and this test) to see the progress
        set(etc.resolve("io.uplink.connection-demo.cfg"), "commands.postConnect", "sleep 2");
        Files.writeString(etc.resolve("io.uplink.connection-broken.cfg"), "name = Broken router\nmethod = network\n"
                + "network.probe = 127.0.0.1:" + freePort() + "\nnetwork.probe.timeout = 2s\n");
        followTheReadmeLoginSteps(etc.resolve("users.properties"));

        ProcessBuilder pb = new ProcessBuilder(dir.resolve("bin/karaf").toString(), "server")
                .directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("karaf.out").toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        karaf = pb.start();

        HttpClient http = HttpClient.newHttpClient();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/uplink/api/connections"))
                .header("Authorization", AUTH).timeout(Duration.ofSeconds(5)).build();
        await().atMost(180, TimeUnit.SECONDS).pollInterval(1, TimeUnit.SECONDS).ignoreExceptions()
                .until(() -> {
                    HttpResponse<String> r = http.send(ready, HttpResponse.BodyHandlers.ofString());
                    return r.statusCode() == 200 && r.body().contains("\"id\":\"demo\"")
                            && r.body().contains("\"id\":\"broken\"") && r.body().contains("\"state\":\"IDLE\"");
                });

        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort()
                .withLogFile(dir.resolve("chromedriver.log").toFile()).build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--user-data-dir=" + dir.resolve("chromium-profile"));
        driver = new ChromeDriver(service, options);
        // log in the way a browser does after its Basic prompt: every request carries the credentials
        driver.executeCdpCommand("Network.enable", Map.of());
        driver.executeCdpCommand("Network.setExtraHTTPHeaders", Map.of("headers", Map.of("Authorization", AUTH)));
    }

    @AfterClass
    public static void stop() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        if (oauth2 != null) {
            oauth2.thenAccept(OAuth2TestServer::close);
        }
        if (karaf != null) {
            // bin/karaf runs java as a child: stop that first, then the script
            karaf.descendants().forEach(ProcessHandle::destroy);
            karaf.destroy();
            if (!karaf.waitFor(60, TimeUnit.SECONDS)) {
                karaf.descendants().forEach(ProcessHandle::destroyForcibly);
                karaf.destroyForcibly();
            }
        }
    }

    /**
     * The README's steps, exactly: remove the '#' in front of both lines it shows, then replace the password
     * (the first 'karaf' after the '='). The README must show the same two lines.
     */
    private static void followTheReadmeLoginSteps(Path users) throws IOException {
        String readme = Files.readString(Path.of(System.getProperty("uplink.target", "target"), "..", "..", "README.md"));
        assertTrue("the README shows the user line", readme.contains("\n    " + USER_LINE + "\n"));
        assertTrue("the README shows the group line", readme.contains("\n    " + GROUP_LINE + "\n"));
        List<String> lines = new ArrayList<>(Files.readAllLines(users));
        for (String wanted : List.of(USER_LINE, GROUP_LINE)) {
            int at = lines.indexOf(wanted);
            assertTrue("Karaf's etc/users.properties has the line " + wanted, at >= 0);
            lines.set(at, wanted.substring(1));
        }
        int user = lines.indexOf(USER_LINE.substring(1));
        lines.set(user, lines.get(user).replaceFirst("= karaf,", "= " + PASSWORD + ","));
        Files.write(users, lines);
    }

    private WebDriverWait waitUpTo(int seconds) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds));
    }

    private void screenshot(String name) throws IOException {
        Path png = driver.getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(png, dir.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }

    /** The page re-renders a row on every event, so each read finds its element afresh. */
    private String text(String css) {
        return waitUpTo(10).ignoring(StaleElementReferenceException.class)
                .until(d -> d.findElement(By.cssSelector(css)).getText());
    }

    private String style(String css, String property) {
        return waitUpTo(10).ignoring(StaleElementReferenceException.class)
                .until(d -> d.findElement(By.cssSelector(css)).getCssValue(property));
    }

    private String attr(String css, String name) {
        return waitUpTo(10).ignoring(StaleElementReferenceException.class)
                .until(d -> String.valueOf(d.findElement(By.cssSelector(css)).getAttribute(name)));
    }

    private void press(String css, boolean keyboard) {
        waitUpTo(10).ignoring(StaleElementReferenceException.class).until(d -> {
            WebElement b = d.findElement(By.cssSelector(css));
            if (keyboard) {
                b.sendKeys(Keys.ENTER);
            } else {
                b.click();
            }
            return true;
        });
    }

    private boolean present(String css) {
        return !driver.findElements(By.cssSelector(css)).isEmpty();
    }

    @Test
    public void connectNowShowsProgressThenGreenThenAFailureTurnsRed() throws Exception {
        driver.manage().window().setSize(new Dimension(1280, 900));
        driver.get("http://127.0.0.1:" + httpPort + "/uplink/");
        waitUpTo(20).until(ExpectedConditions.presenceOfElementLocated(By.id("conn-demo")));
        waitUpTo(20).until(ExpectedConditions.textToBe(By.id("live"), "live"));
        assertEquals("IDLE", attr("#conn-demo", "data-state"));
        ((JavascriptExecutor) driver).executeScript("window.uplinkTestMarker = 'same page';");
        screenshot("01-idle");

        press("#conn-demo button.fire", false);
        // online for the 2 s post-connect command: a progress bar and a Hang up button
        waitUpTo(15).until(d -> present("#conn-demo progress") && present("#conn-demo button.hangup"));
        assertNotEquals("IDLE", text("#conn-demo .state"));
        screenshot("02-progress");

        waitUpTo(60).ignoring(StaleElementReferenceException.class)
                .until(d -> "OK".equals(attr("#conn-demo", "data-outcome"))
                        && "IDLE".equals(attr("#conn-demo", "data-state")));
        assertEquals("OK", text("#conn-demo .last .result"));
        assertEquals("rgba(27, 127, 42, 1)", style("#conn-demo .last .result", "background-color"));
        assertTrue(text("#conn-demo .last"), text("#conn-demo .last").contains("sent 1"));
        assertFalse(present("#conn-demo progress"));
        assertEquals("no reload happened", "same page",
                ((JavascriptExecutor) driver).executeScript("return window.uplinkTestMarker;"));
        waitUpTo(10).until(d -> d.findElement(By.id("activity")).getText().contains("DISCONNECTED disconnected, OK"));
        screenshot("03-ok");

        // the keyboard reaches the button and Enter presses it
        press("#conn-broken button.fire", true);
        waitUpTo(60).until(d -> "FAILED".equals(attr("#conn-broken", "data-outcome")));
        assertEquals("FAILED", text("#conn-broken .last .result"));
        assertEquals("rgba(192, 36, 43, 1)", style("#conn-broken .last .result", "background-color"));
        assertEquals("same page", ((JavascriptExecutor) driver).executeScript("return window.uplinkTestMarker;"));

        press("#conn-broken button.history-toggle", false);
        waitUpTo(15).until(d -> present("#history-broken .phases .bad"));
        String history = text("#history-broken");
        assertTrue(history, history.contains("CONNECT"));
        assertTrue(history, history.contains("FAILED"));
        screenshot("04-failed");

        // a narrow window: rows become cards, the buttons stay reachable
        driver.manage().window().setSize(new Dimension(420, 900));
        waitUpTo(5).until(d -> !d.findElement(By.cssSelector("#connections thead")).isDisplayed());
        assertTrue(waitUpTo(5).ignoring(StaleElementReferenceException.class)
                .until(d -> d.findElement(By.cssSelector("#conn-demo button.fire")).isDisplayed()));
        screenshot("05-narrow");
    }

    /**
     * A person who types the login into the address: no header is injected, the browser logs in with the
     * credentials of the address, and the page's own requests must still be built and sent.
     */
    @Test
    public void thePageWorksWhenOpenedWithTheLoginInTheAddress() throws Exception {
        driver.executeCdpCommand("Network.setExtraHTTPHeaders", Map.of("headers", Map.of()));
        try {
            driver.get("http://karaf:" + PASSWORD + "@127.0.0.1:" + httpPort + "/uplink/");
            waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.id("conn-demo")));
            waitUpTo(30).until(ExpectedConditions.textToBe(By.id("live"), "live"));
            assertFalse("no load error: " + driver.findElement(By.id("notice")).getText(),
                    driver.findElement(By.id("notice")).isDisplayed());
            screenshot("06-login-in-address");
        } finally {
            driver.executeCdpCommand("Network.setExtraHTTPHeaders", Map.of("headers", Map.of("Authorization", AUTH)));
        }
    }

    /** When the connections cannot be loaded, the badge must not say "live". */
    @Test
    public void theBadgeShowsAFailedLoad() throws Exception {
        driver.executeCdpCommand("Network.setBlockedURLs", Map.of("urls", List.of("*/uplink/api/connections")));
        try {
            driver.get("http://127.0.0.1:" + httpPort + "/uplink/");
            waitUpTo(30).until(d -> d.findElement(By.id("notice")).isDisplayed());
            assertTrue(text("#notice"), text("#notice").startsWith("Cannot load the connections"));
            waitUpTo(30).until(ExpectedConditions.textToBe(By.id("live"), "not loaded"));
            assertEquals("rgba(192, 36, 43, 1)", style("#live", "background-color"));
            screenshot("07-load-failed");
        } finally {
            driver.executeCdpCommand("Network.setBlockedURLs", Map.of("urls", List.of()));
        }
        // the next load works again and the badge says so
        driver.navigate().refresh();
        waitUpTo(30).until(ExpectedConditions.textToBe(By.id("live"), "live"));
        assertFalse(driver.findElement(By.id("notice")).isDisplayed());
    }

    /**
     * An OAuth2 collector that is not authorized: an admin presses Authorize, the page shows the address and the
     * code, a person approves it at the authorization server, and the item turns green without a reload.
     */
    @Test
    public void authorizeButtonShowsTheCodeAndTurnsGreenWhenApproved() throws Exception {
        OAuth2TestServer server = oauth2.get(3, TimeUnit.MINUTES);
        Files.writeString(dir.resolve("etc").resolve("io.uplink.collector-office.cfg"), "connections = broken\n"
                + "deliverTo = office\nprotocol = imap\nhost = 127.0.0.1\nport = " + freePort() + "\nsecurity = none\n"
                + "username = office@example.test\nauth = oauth2\noauth2.provider = custom\noauth2.tokenUrl = "
                + server.tokenUrl() + "\noauth2.deviceUrl = " + server.deviceUrl() + "\noauth2.clientId = "
                + OAuth2TestServer.CLIENT_ID + "\noauth2.clientSecret = " + OAuth2TestServer.CLIENT_SECRET
                + "\noauth2.scope = mail.read\n");
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest items = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/uplink/api/oauth2"))
                .header("Authorization", AUTH).timeout(Duration.ofSeconds(10)).build();
        await().atMost(60, TimeUnit.SECONDS).pollInterval(500, TimeUnit.MILLISECONDS).until(() -> http
                .send(items, HttpResponse.BodyHandlers.ofString()).body().contains("\"id\":\"office\""));

        driver.get("http://127.0.0.1:" + httpPort + "/uplink/");
        waitUpTo(30).until(d -> present("#collector-office button.authorize"));
        assertEquals("OAuth2: not authorized", text("#collector-office .oauth2-state"));
        assertEquals("ERROR", attr("#collector-office", "data-state"));
        assertTrue(text("#collector-office"), text("#collector-office").contains("not authorized: run oauth:authorize office"));
        assertEquals("rgba(192, 36, 43, 1)", style("#collector-office .oauth2-state", "background-color"));
        press("#collector-office button.authorize", false);
        waitUpTo(60).until(d -> present("#collector-office .user-code"));
        String code = text("#collector-office .user-code");
        assertTrue(text("#collector-office .device-code"),
                text("#collector-office .device-code").contains(server.base() + "/oauth2/device_verification"));
        assertFalse("no second press while the code waits", present("#collector-office button.authorize"));
        screenshot("08-authorize-code");

        server.approve(code, "office@example.test", "office-pw");
        waitUpTo(30).ignoring(StaleElementReferenceException.class)
                .until(d -> "true".equals(attr("#collector-office .oauth2", "data-authorized")));
        assertEquals("OAuth2: authorized", text("#collector-office .oauth2-state"));
        assertEquals("READY", attr("#collector-office", "data-state"));
        assertEquals("rgba(27, 127, 42, 1)", style("#collector-office .oauth2-state", "background-color"));
        assertFalse(present("#collector-office .user-code"));
        screenshot("09-authorized");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Sets {@code key = value} in a cfg file, replacing the key's line or appending one. */
    private static void set(Path cfg, String key, String value) throws IOException {
        String text = Files.exists(cfg) ? Files.readString(cfg) : "";
        String line = key + " = " + value;
        String pattern = "(?m)^\\s*" + java.util.regex.Pattern.quote(key) + "\\s*[=:].*$";
        if (java.util.regex.Pattern.compile(pattern).matcher(text).find()) {
            text = text.replaceAll(pattern, java.util.regex.Matcher.quoteReplacement(line));
        } else {
            text = text + (text.endsWith("\n") || text.isEmpty() ? "" : "\n") + line + "\n";
        }
        Files.writeString(cfg, text);
    }

    private static void run(Path cwd, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(cwd.toFile()).inheritIO().start();
        assertEquals(String.join(" ", command), 0, p.waitFor());
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path x : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
