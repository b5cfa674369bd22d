package io.uplink.oauth2.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.oauth2.AuthorizationStatus;
import io.uplink.oauth2.DeviceCode;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Exception;
import io.uplink.oauth2.OAuth2Exception.Kind;
import io.uplink.oauth2.OAuth2Tokens;
import io.uplink.oauth2.internal.SecretStore.Grant;

/**
 * Hands out access tokens: cached in memory until {@code accessToken.margin} before they expire, refreshed one
 * thread at a time per account, a rotated refresh token stored durably before the old one is dropped.
 */
@Component(service = OAuth2Tokens.class, immediate = true, configurationPid = "io.uplink.oauth2",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = TokenService.Config.class)
public final class TokenService implements OAuth2Tokens {

    @ObjectClassDefinition(name = "Uplink OAuth2", description = "Where OAuth2 tokens are kept and how they are refreshed")
    public @interface Config {
        @AttributeDefinition(name = "secrets.dir", description = "Directory of the refresh-token files (mode 0700; "
                + "default ${karaf.data}/uplink/secrets)", required = false)
        String secrets_dir() default "";

        @AttributeDefinition(name = "accessToken.margin", description = "An access token is refreshed this long "
                + "before it expires (default 60s)")
        String accessToken_margin() default "60s";

        @AttributeDefinition(name = "http.timeout", description = "Connect and answer timeout of requests to the "
                + "token endpoint (default 30s)")
        String http_timeout() default "30s";
    }

    private static final Logger LOG = LoggerFactory.getLogger(TokenService.class);

    /** An access token in memory; never written anywhere. */
    private record Access(String token, Instant expires) {
    }

    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Access> cache = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastRefresh = new ConcurrentHashMap<>();
    private final Map<String, String> lastError = new ConcurrentHashMap<>();
    private final Supplier<Instant> clock;
    private final Sleeper sleeper;
    private volatile SecretStore store;
    private volatile TokenEndpoint endpoint;
    private volatile Duration margin;

    /** Waits between polls of the device grant. */
    interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    public TokenService() {
        this(Instant::now, d -> Thread.sleep(d.toMillis()));
    }

    TokenService(Supplier<Instant> clock, Sleeper sleeper) {
        this.clock = clock;
        this.sleeper = sleeper;
    }

    @Activate
    @Modified
    public void configure(Map<String, Object> props) {
        Object dir = props.get("secrets.dir");
        Path secrets = dir == null || dir.toString().isBlank()
                ? Path.of(System.getProperty("karaf.data", "data"), "uplink", "secrets")
                : Path.of(dir.toString().trim());
        configure(secrets, duration(props, "accessToken.margin", "60s"), duration(props, "http.timeout", "30s"));
    }

    void configure(Path secrets, Duration margin, Duration timeout) {
        this.store = new SecretStore(secrets);
        this.margin = margin;
        this.endpoint = new TokenEndpoint(timeout);
    }

    private static Duration duration(Map<String, Object> props, String key, String def) {
        Object v = props.get(key);
        String s = v == null || v.toString().isBlank() ? def : v.toString();
        try {
            return io.uplink.api.config.Settings.parseDuration(s);
        } catch (RuntimeException e) {
            LOG.error("OAuth2: configuration io.uplink.oauth2, key '{}': '{}' is not a duration; using {}", key, s, def);
            return io.uplink.api.config.Settings.parseDuration(def);
        }
    }

    @Override
    public String accessToken(OAuth2Account a) throws OAuth2Exception {
        String key = a.key();
        Access cached = cache.get(key);
        if (fresh(cached)) {
            return cached.token();
        }
        ReentrantLock lock = locks.computeIfAbsent(key, k -> new ReentrantLock());
        lock.lock();
        try {
            cached = cache.get(key);
            if (fresh(cached)) {
                return cached.token(); // another item of the account refreshed while this one waited
            }
            return refresh(a);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String refreshAfterRefusal(OAuth2Account a, String refused) throws OAuth2Exception {
        String key = a.key();
        ReentrantLock lock = locks.computeIfAbsent(key, k -> new ReentrantLock());
        lock.lock();
        try {
            Access cached = cache.get(key);
            if (cached != null && !cached.token().equals(refused) && fresh(cached)) {
                return cached.token();
            }
            cache.remove(key);
            return refresh(a);
        } finally {
            lock.unlock();
        }
    }

    private boolean fresh(Access a) {
        return a != null && clock.get().isBefore(a.expires().minus(margin));
    }

    /** Called under the account's lock. */
    private String refresh(OAuth2Account a) throws OAuth2Exception {
        String key = a.key();
        Grant grant = read(a).orElseThrow(() -> fail(a, new OAuth2Exception(Kind.NOT_AUTHORIZED,
                a.item() + " (" + a.file() + "): not authorized: run oauth:authorize " + a.id())));
        Map<String, Object> answer;
        try {
            answer = endpoint.refresh(a, grant.refreshToken(), grant.scope());
        } catch (TokenEndpoint.ErrorAnswer e) {
            if ("invalid_grant".equals(e.error)) {
                cache.remove(key);
                OAuth2Exception x = new OAuth2Exception(Kind.EXPIRED_OR_REVOKED, a.item() + " (" + a.file()
                        + "): authorization expired or revoked: run oauth:authorize " + a.id());
                remember(a, grant, x.getMessage());
                throw fail(a, x);
            }
            throw fail(a, new OAuth2Exception(Kind.REFUSED, a.item() + " (" + a.file()
                    + "): the token endpoint refused the refresh: " + e.getMessage()));
        } catch (OAuth2Exception e) {
            throw fail(a, e);
        }
        return accept(a, answer, grant.refreshToken(), grant.scope());
    }

    /** Stores a token answer: a new refresh token durably first, then the access token in memory. */
    private String accept(OAuth2Account a, Map<String, Object> answer, String oldRefresh, String scope)
            throws OAuth2Exception {
        String access = string(answer, "access_token");
        if (access == null) {
            throw fail(a, new OAuth2Exception(Kind.REFUSED, a.item() + ": the token endpoint's answer has no access_token"));
        }
        String refresh = string(answer, "refresh_token");
        String grantedScope = string(answer, "scope");
        Instant now = clock.get();
        try {
            store.write(a.key(), new Grant(refresh != null ? refresh : oldRefresh, a.username(),
                    grantedScope != null ? grantedScope : scope, now, null));
        } catch (IOException e) {
            throw fail(a, new OAuth2Exception(Kind.UNAVAILABLE, a.item() + ": cannot store the refresh token in "
                    + store.dir() + ": " + e.getMessage()));
        }
        Object expiresIn = answer.get("expires_in");
        long seconds = expiresIn instanceof Number n ? n.longValue()
                : expiresIn != null ? Long.parseLong(expiresIn.toString()) : 3600;
        cache.put(a.key(), new Access(access, now.plusSeconds(seconds)));
        lastRefresh.put(a.key(), now);
        lastError.remove(a.key());
        LOG.info("OAuth2: {} has a new access token for {}, valid until {}{}", a.item(), a.username(),
                now.plusSeconds(seconds), oldRefresh != null && refresh != null && !refresh.equals(oldRefresh) ? " (refresh token rotated)" : "");
        return access;
    }

    @Override
    public void authorize(OAuth2Account a, Consumer<DeviceCode> prompt) throws OAuth2Exception, InterruptedException {
        Map<String, Object> start;
        try {
            start = endpoint.deviceAuthorization(a);
        } catch (TokenEndpoint.ErrorAnswer e) {
            throw fail(a, new OAuth2Exception(Kind.REFUSED, a.item() + " (" + a.file()
                    + "): the provider refused the device authorization: " + e.getMessage()));
        }
        String deviceCode = string(start, "device_code");
        String userCode = string(start, "user_code");
        String uri = string(start, "verification_uri");
        if (uri == null) {
            uri = string(start, "verification_url"); // Google's older name
        }
        if (deviceCode == null || userCode == null || uri == null) {
            throw fail(a, new OAuth2Exception(Kind.REFUSED, a.item() + ": the device authorization answer lacks "
                    + "device_code, user_code or verification_uri"));
        }
        Instant expires = clock.get().plusSeconds(number(start, "expires_in", 900));
        Duration interval = Duration.ofSeconds(Math.max(1, number(start, "interval", 5)));
        prompt.accept(new DeviceCode(uri, string(start, "verification_uri_complete"), userCode, expires));
        while (true) {
            if (!clock.get().isBefore(expires)) {
                throw fail(a, new OAuth2Exception(Kind.NOT_AUTHORIZED, a.item() + ": the code " + userCode
                        + " expired before it was approved: run oauth:authorize " + a.id() + " again"));
            }
            sleeper.sleep(interval);
            ReentrantLock lock = locks.computeIfAbsent(a.key(), k -> new ReentrantLock());
            try {
                Map<String, Object> answer = endpoint.pollDeviceCode(a, deviceCode);
                lock.lock();
                try {
                    cache.remove(a.key());
                    accept(a, answer, null, a.scope());
                } finally {
                    lock.unlock();
                }
                LOG.info("OAuth2: {} authorized for {}", a.item(), a.username());
                return;
            } catch (TokenEndpoint.ErrorAnswer e) {
                switch (e.error) {
                    case "authorization_pending" -> { }
                    case "slow_down" -> interval = interval.plusSeconds(5);
                    case "expired_token" -> throw fail(a, new OAuth2Exception(Kind.NOT_AUTHORIZED, a.item()
                            + ": the code " + userCode + " expired before it was approved: run oauth:authorize "
                            + a.id() + " again"));
                    case "access_denied" -> throw fail(a, new OAuth2Exception(Kind.NOT_AUTHORIZED, a.item()
                            + ": the person declined the authorization"));
                    default -> throw fail(a, new OAuth2Exception(Kind.REFUSED, a.item() + " (" + a.file()
                            + "): the token endpoint refused the device code: " + e.getMessage()));
                }
            } catch (OAuth2Exception e) {
                if (e.kind() != Kind.UNAVAILABLE) {
                    throw e;
                }
                LOG.warn("OAuth2: {} (polling goes on)", e.getMessage()); // a blip must not lose the code
            }
        }
    }

    @Override
    public boolean revoke(OAuth2Account a) throws OAuth2Exception {
        ReentrantLock lock = locks.computeIfAbsent(a.key(), k -> new ReentrantLock());
        lock.lock();
        try {
            Optional<Grant> grant = read(a);
            boolean revoked = false;
            if (grant.isPresent() && a.revokeUrl() != null) {
                try {
                    endpoint.revoke(a, grant.get().refreshToken());
                    revoked = true;
                } catch (TokenEndpoint.ErrorAnswer e) {
                    LOG.warn("OAuth2: {}: the provider refused the revocation: {}", a.item(), e.getMessage());
                }
            }
            cache.remove(a.key());
            lastRefresh.remove(a.key());
            lastError.remove(a.key());
            try {
                store.delete(a.key());
            } catch (IOException e) {
                throw new OAuth2Exception(Kind.UNAVAILABLE, a.item() + ": cannot delete the token file in "
                        + store.dir() + ": " + e.getMessage());
            }
            LOG.info("OAuth2: {}: tokens for {} forgotten{}", a.item(), a.username(),
                    revoked ? " and revoked at the provider" : "");
            return revoked;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public AuthorizationStatus status(OAuth2Account a) {
        String key = a.key();
        Optional<Grant> grant;
        String error = lastError.get(key);
        try {
            grant = store.read(key);
        } catch (IOException e) {
            grant = Optional.empty();
            error = e.getMessage();
        }
        Access access = cache.get(key);
        Instant refreshed = lastRefresh.getOrDefault(key, grant.map(Grant::obtained).orElse(null));
        if (error == null) {
            error = grant.map(Grant::lastError).orElse(null);
        }
        boolean authorized = grant.isPresent() && grant.get().lastError() == null;
        return new AuthorizationStatus(authorized, a.username(), access == null ? null : access.expires(), refreshed,
                error);
    }

    private Optional<Grant> read(OAuth2Account a) throws OAuth2Exception {
        try {
            return store.read(a.key());
        } catch (IOException e) {
            throw fail(a, new OAuth2Exception(Kind.NOT_AUTHORIZED, a.item() + ": " + e.getMessage()));
        }
    }

    /** Keeps the failure in the token file too, so that the status survives a restart. */
    private void remember(OAuth2Account a, Grant grant, String error) {
        try {
            store.write(a.key(), grant.withError(error));
        } catch (IOException e) {
            LOG.warn("OAuth2: {}: cannot record the failure in {}: {}", a.item(), store.dir(), e.getMessage());
        }
    }

    private OAuth2Exception fail(OAuth2Account a, OAuth2Exception e) {
        lastError.put(a.key(), e.getMessage());
        return e;
    }

    private static String string(Map<String, Object> m, String k) {
        Object v = m.get(k);
        return v == null ? null : v.toString();
    }

    private static long number(Map<String, Object> m, String k, long def) {
        Object v = m.get(k);
        if (v instanceof Number n) {
            return n.longValue();
        }
        try {
            return v == null ? def : Long.parseLong(v.toString());
        } catch (NumberFormatException e) {
            return def;
        }
    }
}
