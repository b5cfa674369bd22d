package io.uplink.submission.internal;

import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.QueuedMessage;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import jakarta.mail.MessagingException;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.InternetHeaders;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;

/**
 * One mail transaction (MAIL, RCPT..., DATA). Who may send what:
 * <ul>
 * <li>a logged-in user with the mailer (or admin) role: to anyone, from the addresses {@code senders.<user>} allows;
 * <li>a client in {@code networks} without login, when {@code auth = optional-on-loopback}: to anyone;
 * <li>any other client without login: only to local domains (never an open relay), and with
 *     {@code auth = required} nothing at all.
 * </ul>
 * The 250 after DATA is sent only once the message is durable: in the local Maildirs (local recipients) and in
 * the outbox (everyone else).
 */
final class Intake implements MessageHandler {

    private static final Logger LOG = LoggerFactory.getLogger(Intake.class);
    /** Messages up to this size are held in memory and group-committed; larger ones are spooled to a file. */
    static final int IN_MEMORY = 1 << 20;

    private final SubmissionServer server;
    private final SubmissionConfig config;
    private final MessageContext ctx;
    private final InetAddress client;
    private final boolean trusted;
    private String from;
    private final Set<String> remote = new LinkedHashSet<>();
    private final Set<String> localBoxes = new LinkedHashSet<>();
    private Set<String> localDomains;

    Intake(SubmissionServer server, MessageContext ctx) {
        this.server = server;
        this.config = server.config;
        this.ctx = ctx;
        this.client = SubmissionServer.client(ctx);
        this.trusted = config.trusted(client);
    }

    private String user() {
        return ctx.getAuthenticationHandler().map(h -> h.getIdentity()).map(String::valueOf).orElse(null);
    }

    @Override
    public void from(String address) throws RejectException {
        String user = user();
        if (user == null && config.auth == SubmissionConfig.AuthMode.REQUIRED) {
            throw new RejectException(530, "5.7.0 Authentication required");
        }
        if (user != null && !(address.isEmpty() ? !config.senders.containsKey(user) : config.maySend(user, address))) {
            throw new RejectException(553, "5.7.1 <" + address + ">: sender address not allowed for user '" + user + "'");
        }
        checkSpace(0);
        this.from = address;
    }

    @Override
    public void recipient(String address) throws RejectException {
        int at = address.lastIndexOf('@');
        if (at <= 0 || at == address.length() - 1) {
            throw new RejectException(501, "5.1.3 <" + address + ">: not a mail address with a domain");
        }
        String domain = address.substring(at + 1).toLowerCase(Locale.ROOT);
        if (localDomains().contains(domain)) {
            String mailbox = address.substring(0, at).toLowerCase(Locale.ROOT);
            if (!mailbox.matches("[a-z0-9][a-z0-9._+-]*")) {
                throw new RejectException(550, "5.1.1 <" + address + ">: no such local mailbox");
            }
            localBoxes.add(mailbox);
            return;
        }
        if (user() == null && !(trusted && config.auth == SubmissionConfig.AuthMode.OPTIONAL_ON_LOOPBACK)) {
            LOG.info("Submission: relaying to <{}> refused for {} (not logged in)", address, client.getHostAddress());
            if (trusted) {
                throw new RejectException(530, "5.7.0 Authentication required to send to <" + address + ">");
            }
            throw new RejectException(550, "5.7.1 <" + address + ">: relaying denied; log in to send mail off this site");
        }
        remote.add(address);
    }

    private Set<String> localDomains() {
        if (localDomains == null) {
            LocalMailboxes l = server.local.get();
            localDomains = l == null ? Set.of() : l.localDomains();
        }
        return localDomains;
    }

    @Override
    public String data(InputStream data) throws RejectException, IOException {
        byte[] head = data.readNBytes(IN_MEMORY + 1);
        if (head.length <= IN_MEMORY) {
            checkSize(head.length, data);
            checkSpace(head.length);
            checkFromHeader(head);
            return accept(head, null);
        }
        Path spool = Files.createTempFile("uplink-submission-", ".eml");
        try {
            long size = head.length;
            try (OutputStream out = Files.newOutputStream(spool)) {
                out.write(head);
                byte[] buf = new byte[1 << 16];
                for (int n; (n = data.read(buf)) > 0;) {
                    size += n;
                    if (size <= config.maxMessageSize) {
                        out.write(buf, 0, n);
                    }
                }
            }
            checkSize(size, InputStream.nullInputStream());
            checkSpace(size);
            checkFromHeader(head);
            return accept(null, spool);
        } finally {
            Files.deleteIfExists(spool);
        }
    }

    private void checkSize(long size, InputStream rest) throws RejectException, IOException {
        long total = size + rest.transferTo(OutputStream.nullOutputStream());
        if (total > config.maxMessageSize) {
            throw new RejectException(552, "5.3.4 Message too big: " + total + " bytes, the limit is " + config.maxMessageSize);
        }
    }

    private void checkSpace(long needed) throws RejectException {
        long free;
        try {
            free = server.outbox.usableSpace();
        } catch (IOException e) {
            throw new RejectException(451, "4.3.0 Cannot check the free disk space; try again later");
        }
        if (free - needed < config.minFreeSpace) {
            LOG.warn("Submission: refusing mail, the outbox's disk has {} MiB free (minFreeSpace {} MiB)", free >> 20,
                    config.minFreeSpace >> 20);
            throw new RejectException(452, "4.3.1 Insufficient system storage; try again later");
        }
    }

    /** A restricted user's From header must name only allowed addresses, as the envelope sender. */
    private void checkFromHeader(byte[] head) throws RejectException {
        String user = user();
        if (user == null || !config.senders.containsKey(user)) {
            return;
        }
        try {
            InternetHeaders h = new InternetHeaders(new ByteArrayInputStream(head));
            for (String name : new String[] {"From", "Sender"}) {
                String[] values = h.getHeader(name);
                for (String v : values == null ? new String[0] : values) {
                    for (InternetAddress a : InternetAddress.parseHeader(v, false)) {
                        if (a.getAddress() != null && !config.maySend(user, a.getAddress())) {
                            throw new RejectException(553, "5.7.1 " + name + ": <" + a.getAddress()
                                    + "> is not allowed for user '" + user + "'");
                        }
                    }
                }
            }
        } catch (AddressException e) {
            throw new RejectException(553, "5.1.7 the From header cannot be read: " + e.getMessage());
        } catch (MessagingException e) {
            throw new RejectException(554, "5.6.0 the message header cannot be read: " + e.getMessage());
        }
    }

    private String accept(byte[] bytes, Path spool) throws RejectException, IOException {
        if (!localBoxes.isEmpty()) {
            // the seam where mail for local domains is stored: LocalMailboxes decides where (Maildir today)
            LocalMailboxes l = server.local.get();
            if (l == null) {
                throw new RejectException(451, "4.3.0 Local mailboxes are not available right now; try again later");
            }
            for (String mailbox : localBoxes) {
                try (InputStream in = bytes != null ? new ByteArrayInputStream(bytes) : Files.newInputStream(spool)) {
                    l.deliver(mailbox, in);
                }
            }
        }
        String queued = null;
        if (!remote.isEmpty()) {
            List<String> rcpts = new ArrayList<>(remote);
            QueuedMessage q;
            try {
                if (bytes != null) {
                    q = server.outbox.submit(from, rcpts, bytes);
                } else {
                    try (InputStream in = Files.newInputStream(spool)) {
                        q = server.outbox.queue(from, rcpts, in);
                    }
                }
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("not an RFC 5322 message")) {
                    throw new RejectException(554, "5.6.0 " + e.getMessage());
                }
                LOG.error("Submission: cannot queue a message from <{}>: {}", from, e.toString());
                throw new RejectException(451, "4.3.0 Cannot queue the message right now; try again later");
            }
            queued = q.id();
        }
        LOG.debug("Submission from {}: <{}> to {} local, {} remote{}", client.getHostAddress(), from, localBoxes.size(),
                remote.size(), queued == null ? "" : " queued as " + queued);
        return "2.0.0 Ok" + (queued == null ? ": delivered" : ": queued as " + queued);
    }

    @Override
    public void done() {
        // nothing held between messages
    }
}
