package io.uplink.mail.internal.route;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;

/**
 * Decides which local mailboxes a collected message goes to: everything to one mailbox
 * ({@code deliverTo}), or by the recipient headers against the accepted domains ({@code route = headers}),
 * where the local part of each accepted address names the mailbox and a message with no accepted
 * recipient goes to the {@code unroutable} mailbox.
 */
public final class Router {

    /** The headers looked at when routing by headers, most specific first. */
    public static final List<String> HEADERS = List.of("Delivered-To", "X-Original-To", "To", "Cc");

    /** A mailbox name is one folder: no separators, no dot first, nothing a file system treats specially. */
    private static final Pattern MAILBOX = Pattern.compile("[a-z0-9][a-z0-9._+-]{0,63}");
    private static final Pattern LOOSE_ADDRESS = Pattern.compile("([^\\s<>,;:\"()@]+)@([A-Za-z0-9.-]+)");

    /** Reads a header's values from a message, {@code null} when absent. */
    @FunctionalInterface
    public interface Headers {
        String[] get(String name) throws Exception;
    }

    /**
     * Where one copy of a message goes: a local mailbox name, and the routed address that is the envelope
     * recipient when the copy goes to the office's mail server ({@code null} for the unroutable mailbox,
     * which is always a local Maildir).
     */
    public record Recipient(String mailbox, String address) {
    }

    private final String deliverTo;
    private final String deliverToAddress;
    private final Set<String> domains;
    private final String unroutable;

    private Router(String deliverTo, String deliverToAddress, Set<String> domains, String unroutable) {
        this.deliverTo = deliverTo;
        this.deliverToAddress = deliverToAddress;
        this.domains = domains;
        this.unroutable = unroutable;
    }

    /** Everything to one mailbox. */
    public static Router deliverTo(String mailbox) {
        return new Router(mailbox, mailbox, Set.of(), mailbox);
    }

    /**
     * Everything to one address ({@code alice@office.test}): the envelope recipient at the office's mail
     * server, and its local part as the mailbox name in a Maildir.
     */
    public static Router deliverTo(String mailbox, String address) {
        return new Router(mailbox, address, Set.of(), mailbox);
    }

    /** By recipient headers against {@code domains}; the rest to {@code unroutable}. */
    public static Router byHeaders(List<String> domains, String unroutable) {
        Set<String> d = new LinkedHashSet<>();
        for (String s : domains) {
            d.add(s.toLowerCase(Locale.ROOT));
        }
        return new Router(null, null, Set.copyOf(d), unroutable);
    }

    /** Whether a mailbox name can be used as a Maildir folder name. */
    public static boolean validMailbox(String name) {
        return name != null && MAILBOX.matcher(name).matches() && !name.contains("..");
    }

    /** Whether routing needs the message's headers. */
    public boolean needsHeaders() {
        return deliverTo == null;
    }

    /** The mailboxes for one message, never empty, without duplicates. */
    public List<String> route(Headers headers) throws Exception {
        List<String> out = new ArrayList<>();
        for (Recipient r : recipients(headers)) {
            out.add(r.mailbox());
        }
        return out;
    }

    /** The recipients of one message, never empty, one per mailbox. */
    public List<Recipient> recipients(Headers headers) throws Exception {
        if (deliverTo != null) {
            return List.of(new Recipient(deliverTo, deliverToAddress));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String h : HEADERS) {
            String[] values = headers.get(h);
            if (values == null) {
                continue;
            }
            for (String v : values) {
                for (String address : addresses(v)) {
                    int at = address.lastIndexOf('@');
                    if (at <= 0) {
                        continue;
                    }
                    String local = address.substring(0, at).toLowerCase(Locale.ROOT);
                    String domain = address.substring(at + 1).toLowerCase(Locale.ROOT);
                    if (domains.contains(domain) && validMailbox(local)) {
                        out.putIfAbsent(local, local + "@" + domain);
                    }
                }
            }
            // Delivered-To / X-Original-To name the envelope recipient: when present they are the answer
            if (!out.isEmpty() && (h.equals("Delivered-To") || h.equals("X-Original-To"))) {
                break;
            }
        }
        if (out.isEmpty()) {
            return List.of(new Recipient(unroutable, null));
        }
        List<Recipient> list = new ArrayList<>(out.size());
        out.forEach((mailbox, address) -> list.add(new Recipient(mailbox, address)));
        return list;
    }

    /** The mailbox for mail no accepted address matched. */
    public String unroutable() {
        return unroutable;
    }

    /** The addresses in a header value, also from a header that is not quite well-formed. */
    public static List<String> addresses(String headerValue) {
        List<String> out = new ArrayList<>();
        try {
            for (InternetAddress a : InternetAddress.parseHeader(headerValue, false)) {
                if (a.getAddress() != null) {
                    out.add(a.getAddress());
                }
            }
            return out;
        } catch (AddressException e) {
            // a broken header still names its addresses; take what looks like one
            Matcher m = LOOSE_ADDRESS.matcher(headerValue);
            while (m.find()) {
                out.add(m.group(1) + "@" + m.group(2));
            }
            return out;
        }
    }
}
