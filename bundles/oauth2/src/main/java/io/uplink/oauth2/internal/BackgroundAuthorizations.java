package io.uplink.oauth2.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.oauth2.DeviceCode;
import io.uplink.oauth2.ItemAuthorization;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Authorizations;
import io.uplink.oauth2.OAuth2Exception;
import io.uplink.oauth2.OAuth2Exception.Kind;
import io.uplink.oauth2.OAuth2Tokens;

/**
 * The device grant started from the status page: {@link OAuth2Tokens#authorize} runs on a thread of its own and
 * its code is kept per account (not per item, so items sharing an account share one authorization) until the
 * person approved, declined or the code expired.
 */
@Component(service = OAuth2Authorizations.class, immediate = true)
public final class BackgroundAuthorizations implements OAuth2Authorizations {

    private static final Logger LOG = LoggerFactory.getLogger(BackgroundAuthorizations.class);
    /** How long {@link #start} waits for the provider's device authorization answer. */
    private static final long ANSWER_SECONDS = 60;

    private final OAuth2Tokens tokens;
    private final OAuth2Items items;
    /** Account key → the code of the authorization waiting for that account. */
    private final Map<String, CompletableFuture<DeviceCode>> pending = new ConcurrentHashMap<>();
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "uplink-oauth2-authorize");
        t.setDaemon(true);
        return t;
    });

    @Activate
    public BackgroundAuthorizations(@Reference OAuth2Tokens tokens, @Reference OAuth2Items items) {
        this.tokens = tokens;
        this.items = items;
    }

    @Deactivate
    void deactivate() {
        threads.shutdownNow(); // interrupts the polling: the codes are dropped, a person starts again
    }

    @Override
    public List<ItemAuthorization> items() {
        List<ItemAuthorization> out = new ArrayList<>();
        List<OAuth2Items.Item> all;
        try {
            all = items.all();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (OAuth2Items.Item i : all) {
            if (i.account() == null) {
                out.add(new ItemAuthorization(i.id(), i.kind(), null, i.problem(), null));
                continue;
            }
            CompletableFuture<DeviceCode> code = pending.get(i.account().key());
            DeviceCode shown = code != null && code.isDone() && !code.isCompletedExceptionally() ? code.join() : null;
            out.add(new ItemAuthorization(i.id(), i.kind(), tokens.status(i.account()), null, shown));
        }
        return out;
    }

    @Override
    public DeviceCode start(String id) throws OAuth2Exception {
        OAuth2Account account;
        try {
            account = items.account(id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String key = account.key();
        CompletableFuture<DeviceCode> fresh = new CompletableFuture<>();
        // a failed one (code expired, declined) may linger a moment before its thread removes it: start afresh
        CompletableFuture<DeviceCode> code = pending.compute(key,
                (k, old) -> old == null || old.isCompletedExceptionally() ? fresh : old);
        if (code == fresh) {
            threads.execute(() -> run(account, fresh));
        }
        try {
            return code.get(ANSWER_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof OAuth2Exception x) {
                throw x;
            }
            throw new OAuth2Exception(Kind.UNAVAILABLE, account.item() + ": " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw new OAuth2Exception(Kind.UNAVAILABLE, account.item() + " (" + account.file() + "): the device "
                    + "authorization endpoint " + account.deviceUrl() + " gave no code within " + ANSWER_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OAuth2Exception(Kind.UNAVAILABLE, account.item() + ": interrupted");
        }
    }

    private void run(OAuth2Account account, CompletableFuture<DeviceCode> code) {
        try {
            tokens.authorize(account, code::complete);
        } catch (OAuth2Exception e) {
            // the status shows it as the last error (the token service keeps it), and the log says it once
            LOG.warn("OAuth2: {}", e.getMessage());
            code.completeExceptionally(e);
        } catch (InterruptedException e) {
            code.completeExceptionally(new OAuth2Exception(Kind.NOT_AUTHORIZED, account.item()
                    + ": the authorization was stopped (the OAuth2 bundle stopped)"));
        } catch (RuntimeException e) {
            LOG.warn("OAuth2: {}: the authorization failed: {}", account.item(), e.toString());
            code.completeExceptionally(e);
        } finally {
            pending.remove(account.key(), code);
        }
    }
}
