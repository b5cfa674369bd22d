package io.uplink.core.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.method.ConnectException;
import io.uplink.api.method.ConnectionMethod;
import io.uplink.api.method.Link;
import io.uplink.api.method.LinkContext;

import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A connection method for engine tests: connections whose {@code test.fail} is set cannot connect; those
 * with {@code test.block} wait on a gate the test opens; {@code test.resource} names an exclusive resource.
 * It counts checks, connects and the most links up at once.
 */
final class TestMethod implements ConnectionMethod {

    final AtomicInteger connects = new AtomicInteger();
    final AtomicInteger online = new AtomicInteger();
    final AtomicInteger maxOnline = new AtomicInteger();
    final Map<String, AtomicInteger> perConnection = new ConcurrentHashMap<>();
    /** How often each connection's settings were checked. */
    final Map<String, AtomicInteger> validations = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> onlinePerResource = new ConcurrentHashMap<>();
    final AtomicInteger resourceOverlap = new AtomicInteger();
    final Set<String> hungUp = Collections.synchronizedSet(new HashSet<>());
    final java.util.List<String> order = Collections.synchronizedList(new java.util.ArrayList<>());
    volatile CountDownLatch gate = new CountDownLatch(0);
    volatile CountDownLatch entered = new CountDownLatch(1);

    @Override
    public String description() {
        return "test method";
    }

    @Override
    public void validate(Settings s) throws ConfigException {
        validations.computeIfAbsent(s.id(), k -> new AtomicInteger()).incrementAndGet();
        s.integer("test.number", 0, 0, 100);
    }

    @Override
    public Set<String> resources(Settings s) {
        String r = s.string("test.resource", null);
        return r == null ? Set.of() : Set.of(r);
    }

    @Override
    public Link connect(LinkContext ctx) throws ConnectException, InterruptedException {
        Settings s = ctx.settings();
        connects.incrementAndGet();
        perConnection.computeIfAbsent(ctx.connectionId(), k -> new AtomicInteger()).incrementAndGet();
        order.add(ctx.connectionId());
        for (String step : s.list("test.steps")) {
            ctx.progress(step);
        }
        if (s.has("test.fail")) {
            throw new ConnectException(s.string("test.fail", "no link"));
        }
        int now = online.incrementAndGet();
        maxOnline.accumulateAndGet(now, Math::max);
        String res = s.string("test.resource", null);
        if (res != null && onlinePerResource.computeIfAbsent(res, k -> new AtomicInteger()).incrementAndGet() > 1) {
            resourceOverlap.incrementAndGet();
        }
        entered.countDown();
        if (s.bool("test.block", false)) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                online.decrementAndGet();
                if (res != null) {
                    onlinePerResource.get(res).decrementAndGet();
                }
                throw e;
            }
        }
        return new Link() {
            @Override
            public String describe() {
                return "test link";
            }

            @Override
            public void close() {
                online.decrementAndGet();
                if (res != null) {
                    onlinePerResource.get(res).decrementAndGet();
                }
            }
        };
    }

    @Override
    public boolean hangup(Settings s) {
        return hungUp.add(s.id());
    }
}
