package io.uplink.testing.oauth2;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts {@link TestAuthorizationServer} as a process of its own (its -exec jar beside this class's jar or
 * classes folder) on a free port, and approves device codes the way a person does in a browser: sign in on
 * the login form, open the verification page with the code, submit the consent form. No Spring on the caller's
 * class path (depend on this artifact with exclusions).
 */
public final class OAuth2TestServer implements AutoCloseable {

    public static final String CLIENT_ID = "uplink-test";
    public static final String CLIENT_SECRET = "uplink-secret";

    private static final Pattern STATE = Pattern.compile("name=\"state\" value=\"([^\"]*)\"");

    private final Process process;
    private final int port;
    private final List<String> output = new ArrayList<>();

    private OAuth2TestServer(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /**
     * Starts the server and waits until it listens.
     *
     * @param accessTokenTtl ISO-8601 duration of access tokens, for example {@code PT5S}
     * @param keyDir where the public key goes for Dovecot ({@code null}: nowhere)
     * @param users {@code name:password} pairs
     */
    public static OAuth2TestServer start(String accessTokenTtl, Path keyDir, String... users) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", execJar().toString(), "--server.port=0",
                "--server.address=127.0.0.1", "--uplink.accessTokenTtl=" + accessTokenTtl,
                "--uplink.users=" + String.join(",", users), "--logging.level.root=WARN"));
        if (keyDir != null) {
            cmd.add("--uplink.keyDir=" + keyDir);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<Integer> port = new CompletableFuture<>();
        List<String> lines = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null;) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                    if (line.startsWith("OAUTH2-SERVER-PORT ")) {
                        port.complete(Integer.parseInt(line.substring(19).trim()));
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            port.completeExceptionally(new IOException("the OAuth2 test server ended: " + lines));
        }, "oauth2-test-server-output");
        reader.setDaemon(true);
        reader.start();
        try {
            OAuth2TestServer s = new OAuth2TestServer(p, port.get(3, TimeUnit.MINUTES));
            return s;
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IOException("the OAuth2 test server did not start: " + e.getMessage(), e);
        }
    }

    private static Path execJar() throws IOException {
        String given = System.getProperty("uplink.oauth2.server.jar");
        if (given != null) {
            return Path.of(given); // inside a container, where this class's location is a bundle URL
        }
        try {
            Path here = Path.of(OAuth2TestServer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path target = here.getParent(); // target/classes or target/<plain jar>: the exec jar is in target/
            try (DirectoryStream<Path> jars = Files.newDirectoryStream(target, "uplink-oauth2-testserver-*-exec.jar")) {
                for (Path j : jars) {
                    return j;
                }
            }
            throw new IOException("no uplink-oauth2-testserver-*-exec.jar in " + target + " (build testing/oauth2-server)");
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    public String base() {
        return "http://127.0.0.1:" + port;
    }

    public String tokenUrl() {
        return base() + "/oauth2/token";
    }

    public String deviceUrl() {
        return base() + "/oauth2/device_authorization";
    }

    public String revokeUrl() {
        return base() + "/oauth2/revoke";
    }

    /**
     * Approves a user code as a person: signs in, opens the verification page, submits the consent for all
     * scopes the page lists.
     */
    public void approve(String userCode, String user, String password) throws IOException, InterruptedException {
        HttpClient browser = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        HttpResponse<String> login = browser.send(form(base() + "/login", "username=" + enc(user) + "&password="
                + enc(password)), HttpResponse.BodyHandlers.ofString());
        String where = login.headers().firstValue("Location").orElse("");
        if (login.statusCode() != 302 || where.contains("error")) {
            throw new IOException("login of " + user + " failed: " + login.statusCode() + " " + where);
        }
        // the session cookie by hand: the JDK's CookieManager does not match cookies of an IP address host
        String session = login.headers().allValues("Set-Cookie").stream().filter(c -> c.startsWith("JSESSIONID="))
                .map(c -> c.split(";", 2)[0]).findFirst()
                .orElseThrow(() -> new IOException("login of " + user + " set no session cookie"));
        HttpResponse<String> page = browser.send(HttpRequest.newBuilder(URI.create(base()
                + "/oauth2/device_verification?user_code=" + enc(userCode))).header("Cookie", session).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (page.statusCode() == 302 && page.headers().firstValue("Location").orElse("").contains("success")) {
            return; // the person consented to these scopes before: approved without asking again
        }
        Matcher state = STATE.matcher(page.body());
        if (!state.find()) {
            throw new IOException("no consent form for code " + userCode + ": " + page.statusCode() + " "
                    + page.headers().firstValue("Location").orElse("") + " (login went to " + where + ")");
        }
        StringBuilder consent = new StringBuilder("client_id=" + enc(CLIENT_ID) + "&state=" + enc(state.group(1))
                + "&user_code=" + enc(userCode));
        Matcher scope = Pattern.compile("name=\"scope\" value=\"([^\"]*)\"").matcher(page.body());
        while (scope.find()) {
            consent.append("&scope=").append(enc(scope.group(1)));
        }
        HttpResponse<String> done = browser.send(HttpRequest.newBuilder(URI.create(base() + "/oauth2/device_verification"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Cookie", session)
                .POST(HttpRequest.BodyPublishers.ofString(consent.toString())).build(),
                HttpResponse.BodyHandlers.ofString());
        if (done.statusCode() != 302 || !done.headers().firstValue("Location").orElse("").contains("success")) {
            throw new IOException("consent for " + userCode + " failed: " + done.statusCode() + " "
                    + done.headers().firstValue("Location").orElse(""));
        }
    }

    /** Revokes a refresh token at the server (RFC 7009), as a person withdrawing consent would cause. */
    public void revoke(String refreshToken) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(form(revokeUrl(), "client_id=" + enc(CLIENT_ID)
                + "&client_secret=" + enc(CLIENT_SECRET) + "&token=" + enc(refreshToken)),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("revocation answered " + r.statusCode() + ": " + r.body());
        }
    }

    private static HttpRequest form(String url, String body) {
        return HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Stops the process (a revoked or rotated token is forgotten with it). */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
