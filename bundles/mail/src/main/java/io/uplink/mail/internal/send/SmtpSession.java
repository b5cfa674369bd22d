package io.uplink.mail.internal.send;

import io.uplink.api.cluster.FencedException;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.SendReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.outbox.FileOutbox.Envelope;
import io.uplink.mail.internal.outbox.FileOutbox.Outcome;
import io.uplink.mail.internal.outbox.FileOutbox.Result;
import io.uplink.mail.internal.outbox.FileOutbox.Verdict;
import io.uplink.mail.internal.net.SessionDeadline;
import io.uplink.mail.internal.send.SenderConfig.Host;
import io.uplink.mail.internal.send.SenderConfig.Security;
import io.uplink.mail.internal.tls.Tls;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPTransport;
import org.eclipse.angus.mail.util.MailConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.SendReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.mail.internal.outbox.FileOutbox.Envelope;
import io.uplink.mail.internal.outbox.FileOutbox.Outcome;
import io.uplink.mail.internal.outbox.FileOutbox.Result;
import io.uplink.mail.internal.outbox.FileOutbox.Verdict;
import io.uplink.mail.internal.outbox.OutboxStore;
import io.uplink.mail.internal.send.SenderConfig.Host;
import io.uplink.mail.internal.send.SenderConfig.Security;
import io.uplink.mail.internal.tls.Tls;
import jakarta.mail.Address;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.URLName;
import jakarta.mail.internet.InternetAddress;

/**
 * One firing's SMTP session: connects to the first relay host that answers, sends every due message over
 * that one connection (each message's queued bytes as they are), and records per recipient what the server
 * said. Nothing leaves the queue unless the server accepted it after DATA.
 */
final class SmtpSession {

    private static final Logger LOG = LoggerFactory.getLogger(SmtpSession.class);

    private final SenderConfig config;
    private final OutboxStore.Sending outbox;
    private final TaskContext context;
    private final List<String> errors = new ArrayList<>();
    private final Removal removal;
    /** The deadlines of this session with the relay (see {@link SessionDeadline}). */
    private final SessionDeadline deadline;
    private int sent;
    private int deferred;
    private int failed;

    private final SignIn signIn;

    private SmtpSession(SenderConfig config, OutboxStore.Sending outbox, TaskContext context, SignIn signIn) {
        this.signIn = signIn;
        this.config = config;
        this.outbox = outbox;
        this.context = context;
        this.removal = new Removal(config.item());
        this.deadline = new SessionDeadline(config.timeout(), config.minRate(), context);
    }

    /** Sends what is due; never throws for a mail problem. */
    static SendReport run(SenderConfig config, OutboxStore.Sending outbox, TaskContext context) throws InterruptedException {
        return run(config, outbox, context, SignIn.password(config.password()));
    }

    /** Sends what is due, signing in with {@code signIn}; never throws for a mail problem. */
    static SendReport run(SenderConfig config, OutboxStore.Sending outbox, TaskContext context, SignIn signIn)
            throws InterruptedException {
        ClassLoader before = Thread.currentThread().getContextClassLoader();
        // Jakarta Mail finds its providers and activation handlers through the context class loader
        Thread.currentThread().setContextClassLoader(SMTPTransport.class.getClassLoader());
        try {
            SmtpSession s = new SmtpSession(config, outbox, context, signIn);
            try {
                return s.send();
            } finally {
                s.removal.close();
                outbox.close();
            }
        } finally {
            Thread.currentThread().setContextClassLoader(before);
        }
    }

    private SendReport send() throws InterruptedException {
        List<QueuedMessage> batch = order(outbox.due());
        if (batch.isEmpty()) {
            return new SendReport(0, 0, 0, List.of());
        }
        int total = batch.size();
        context.progress("connecting", 0, total);
        Connected c = connect();
        if (c == null) {
            return new SendReport(0, total, 0, errors);
        }
        Set<String> tried = new HashSet<>();
        int inSession = 0;
        int done = 0;
        try {
            while (!batch.isEmpty()) {
                for (QueuedMessage m : batch) {
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                    if (!context.linkUp()) {
                        errors.add(config.item() + ": the link went down; " + remaining(tried) + " message(s) stay queued");
                        return report(tried);
                    }
                    if (config.maxMessagesPerSession() > 0 && inSession >= config.maxMessagesPerSession()) {
                        LOG.info("{}: {} messages sent in this session (maxMessagesPerSession); the rest waits",
                                config.item(), inSession);
                        return report(tried);
                    }
                    if (!tried.add(m.id())) {
                        continue;
                    }
                    Optional<Envelope> claim;
                    try {
                        claim = outbox.claim(m.id());
                    } catch (IOException e) {
                        // in a cluster: the fence is lost, another node may own the connection now; send nothing more
                        errors.add(config.item() + ": cannot claim message " + m.id() + ": " + e.getMessage()
                                + "; sending stops");
                        LOG.warn("{}", errors.get(errors.size() - 1));
                        return report(tried);
                    }
                    if (claim.isEmpty()) {
                        continue;
                    }
                    context.progress("sending", done, total);
                    inSession++;
                    boolean alive = sendOne(c, claim.get());
                    done++;
                    if (!alive) {
                        return report(tried);
                    }
                }
                context.progress("sending", done, total);
                if (config.onlyWaitingAtStart()) {
                    break;
                }
                // keep going with what arrived while online
                batch = new ArrayList<>();
                for (QueuedMessage m : order(outbox.due())) {
                    if (!tried.contains(m.id())) {
                        batch.add(m);
                    }
                }
                total = done + batch.size();
            }
            return report(tried);
        } finally {
            close(c);
        }
    }

    private SendReport report(Set<String> tried) {
        deferred += remaining(tried);
        return new SendReport(sent, deferred, failed, errors);
    }

    private int remaining(Set<String> tried) {
        int n = 0;
        for (QueuedMessage m : outbox.due()) {
            if (!tried.contains(m.id())) {
                n++;
            }
        }
        return n;
    }

    private List<QueuedMessage> order(List<QueuedMessage> due) {
        List<QueuedMessage> out = new ArrayList<>(due);
        if (config.smallerFirst()) {
            // urgent first still; then the smaller ones
            out.sort(Comparator.comparing((QueuedMessage m) -> !m.priority()).thenComparingLong(QueuedMessage::size)
                    .thenComparing(QueuedMessage::queued));
        }
        return out;
    }

    /**
     * Unlinks sent messages' files (already moved out of the queue) on a thread of their own while the next
     * message goes out: on a busy disk an unlink costs as much as a whole SMTP transaction.
     */
    private static final class Removal implements Executor {
        private final ExecutorService thread;

        Removal(String item) {
            thread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "uplink-" + item.replace(' ', '-').replace("'", "") + "-removal");
                t.setDaemon(true);
                return t;
            });
        }

        @Override
        public void execute(Runnable r) {
            thread.execute(r);
        }

        /** Lets the removals finish: when the session returns, the sent messages' files are gone. */
        void close() {
            thread.shutdown();
            boolean interrupted = false;
            while (true) {
                try {
                    thread.awaitTermination(Long.MAX_VALUE, TimeUnit.DAYS);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------------ connecting

    private record Connected(SMTPTransport transport, Host host, Session session) {
    }

    private Connected connect() {
        Session session = Session.getInstance(properties());
        List<String> noAnswer = new ArrayList<>();
        String secret = null;
        if (config.username() != null) {
            try {
                secret = signIn.secret(); // an OAuth2 failure here: nothing sent, the queue stays as it is
            } catch (MessagingException e) {
                errors.add(e.getMessage());
                LOG.warn("{}", e.getMessage());
                return null;
            }
        }
        for (Host h : config.hosts()) {
            SMTPTransport t = new SMTPTransport(session, new URLName("smtp", h.name(), h.port(), null, null, null));
            try {
                deadline.connecting(h.toString());
                if (config.username() != null) {
                    secret = signIn(t, h, secret);
                } else {
                    t.connect(h.name(), h.port(), null, null);
                }
                deadline.command("waiting for the answer to a command");
                LOG.debug("{}: connected to {}", config.item(), h);
                return new Connected(t, h, session);
            } catch (MessagingException e) {
                quietClose(t);
                if (didNotAnswer(e, t)) {
                    String why = why(e);
                    noAnswer.add(h + " (" + why + ")");
                    LOG.info("{}: {} did not answer ({}); trying the next host", config.item(), h, why);
                    continue;
                }
                if (e instanceof SignIn.NotSignedIn) {
                    errors.add(e.getMessage()); // names the sender and its file already
                    LOG.warn("{}", e.getMessage());
                    return null;
                }
                // a host that answered and then refused: no other host is tried (its answer stands)
                errors.add(config.item() + ": " + h + " " + answeredButFailed(e) + " [" + config.file() + "]");
                LOG.warn("{}", errors.get(errors.size() - 1));
                return null;
            }
        }
        errors.add(config.item() + ": no relay host answered: " + String.join(", ", noAnswer) + " [" + config.file()
                + ", key 'hosts']");
        LOG.warn("{}", errors.get(errors.size() - 1));
        return null;
    }

    /** Logs in; a refused OAuth2 token gets one fresh token and one more try on the same host. */
    private String signIn(SMTPTransport t, Host h, String secret) throws MessagingException {
        try {
            t.connect(h.name(), h.port(), config.username(), secret);
            return secret;
        } catch (MessagingException e) {
            if (!signIn.isRefusal(e, false)) {
                throw e;
            }
            String again = signIn.afterRefusal(secret);
            if (again == null) {
                throw e;
            }
            quietClose(t);
            try {
                t.connect(h.name(), h.port(), config.username(), again);
                return again;
            } catch (MessagingException second) {
                throw signIn.isRefusal(second, false)
                        ? signIn.refused(config.username(), SignIn.withReply(second, t.getLastServerResponse()))
                        : second;
            }
        }
    }

    private static boolean didNotAnswer(MessagingException e, SMTPTransport t) {
        if (e instanceof MailConnectException) {
            return true;
        }
        if (t.getLastServerResponse() != null && !t.getLastServerResponse().isEmpty()) {
            return false;
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ConnectException || c instanceof NoRouteToHostException || c instanceof UnknownHostException
                    || c instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private String answeredButFailed(MessagingException e) {
        String cert = Tls.certificateProblem(e);
        if (cert != null) {
            return "refused TLS: " + cert;
        }
        if (e instanceof AuthenticationFailedException) {
            return "refused the login of '" + config.username() + "': " + reason(e);
        }
        String seen = deadline.failure();
        if (seen != null) {
            return "failed: " + seen;
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ReplyLimitSocket.ReplyTooLongException) {
                return "broke the protocol: " + c.getMessage();
            }
        }
        return "failed: " + reason(e);
    }

    private Properties properties() {
        Properties p = new Properties();
        String timeout = Long.toString(config.timeout().toMillis());
        p.setProperty("mail.smtp.connectiontimeout", timeout);
        p.setProperty("mail.smtp.timeout", timeout);
        p.setProperty("mail.smtp.writetimeout", timeout);
        if (config.helo() != null) {
            p.setProperty("mail.smtp.localhost", config.helo());
        }
        p.setProperty("mail.smtp.auth", Boolean.toString(config.username() != null));
        signIn.configure(p, "smtp");
        p.setProperty("mail.smtp.sendpartial", "true");
        p.put("mail.smtp.socketFactory", ReplyLimitSocket.plainFactory(deadline));
        p.setProperty("mail.smtp.socketFactory.fallback", "false");
        if (config.tls() != null) {
            p.put("mail.smtp.ssl.socketFactory", ReplyLimitSocket.tlsFactory(config.tls(), deadline));
        }
        // the socket factory checks the host name (Tls); Jakarta Mail's own check would refuse pinned certificates
        p.setProperty("mail.smtp.ssl.checkserveridentity", "false");
        Security s = config.security();
        p.setProperty("mail.smtp.ssl.enable", Boolean.toString(s == Security.TLS));
        p.setProperty("mail.smtp.starttls.enable",
                Boolean.toString(s == Security.STARTTLS || s == Security.STARTTLS_IF_AVAILABLE));
        p.setProperty("mail.smtp.starttls.required", Boolean.toString(s == Security.STARTTLS));
        return p;
    }

    // ------------------------------------------------------------------ sending

    /** Sends one claimed message; false when the session is no longer usable. */
    private boolean sendOne(Connected c, Envelope env) throws InterruptedException {
        SMTPTransport t = c.transport();
        String host = c.host().name();
        try {
            long limit = sizeLimit(t);
            if (limit > 0 && env.size() > limit) {
                count(outbox.recordAll(env.id(), Verdict.PERMANENT, "552 5.3.4 the message (" + env.size()
                        + " bytes) is larger than the limit of " + c.host() + " (SIZE " + limit + ")", host, true), env);
                return true;
            }
            List<Address> rcpts = new ArrayList<>();
            for (String r : env.pending()) {
                rcpts.add(new InternetAddress(r, false));
            }
            QueuedFileMessage msg = new QueuedFileMessage(c.session(), env, env.from());
            StringBuilder ext = new StringBuilder();
            if (t.supportsExtension("SIZE")) {
                ext.append("SIZE=").append(env.size());
            }
            if (t.supportsExtension("8BITMIME") && msg.eightBit()) {
                ext.append(ext.length() > 0 ? " " : "").append("BODY=8BITMIME");
            }
            if (ext.length() > 0) {
                msg.setMailExtension(ext.toString());
            }
            deadline.transfer("sending message " + env.id(), env.size());
            t.sendMessage(msg, rcpts.toArray(new Address[0]));
            deadline.command("waiting for the answer to a command");
            String reply = oneLine(t.getLastServerResponse());
            Map<String, Outcome> all = new LinkedHashMap<>();
            for (String r : env.pending()) {
                all.put(r, new Outcome(Verdict.SENT, reply));
            }
            count(outbox.record(env.id(), all, host, true, removal), env);
            return true;
        } catch (SendFailedException e) {
            return partial(c, env, e);
        } catch (FencedException e) {
            // in a cluster: this firing lost its lock, so it may record nothing more; the claim lapses with it and the
            // next firing sends the message (again, if the server had accepted it)
            errors.add(config.item() + ": message " + env.id() + ": " + e.getMessage() + "; sending stops, the next"
                    + " firing sends it");
            LOG.warn("{}", errors.get(errors.size() - 1));
            return false;
        } catch (MessagingException | IOException e) {
            // the connection broke (or the file vanished): the message stays as it was, due at the next firing
            String why = c.host() + ": " + why(e);
            errors.add(config.item() + ": message " + env.id() + " not sent: " + why);
            try {
                count(outbox.recordAll(env.id(), Verdict.TEMPORARY, why, host, false), env);
            } catch (IOException x) {
                outbox.release(env.id());
                errors.add(config.item() + ": cannot record the state of message " + env.id() + ": " + x.getMessage());
            }
            return t.isConnected();
        } catch (RuntimeException e) {
            outbox.release(env.id());
            throw e;
        }
    }

    private boolean partial(Connected c, Envelope env, SendFailedException e) {
        SMTPTransport t = c.transport();
        Map<String, String> replies = new LinkedHashMap<>();
        for (Exception n = e; n != null; n = n instanceof MessagingException m ? m.getNextException() : null) {
            if (n instanceof SMTPAddressFailedException a) {
                replies.put(a.getAddress().getAddress(), a.getReturnCode() + " " + oneLine(stripCode(a.getMessage())));
            }
        }
        // the reply that ended the transaction (MAIL FROM or DATA), if there was one
        String whole = null;
        int wholeCode = -1;
        if (e instanceof SMTPSendFailedException s) {
            wholeCode = s.getReturnCode();
            whole = oneLine(s.getMessage());
            if (whole != null && !whole.matches("^\\d{3}.*") && wholeCode > 0) {
                whole = wholeCode + " " + whole;
            }
        }
        Map<String, Outcome> out = new LinkedHashMap<>();
        for (Address a : nn(e.getValidSentAddresses())) {
            out.put(((InternetAddress) a).getAddress(), new Outcome(Verdict.SENT, "250 accepted"));
        }
        for (Address a : nn(e.getInvalidAddresses())) {
            String r = ((InternetAddress) a).getAddress();
            String reply = replies.getOrDefault(r, whole != null ? whole : "550 refused");
            out.put(r, new Outcome(reply.startsWith("4") ? Verdict.TEMPORARY : Verdict.PERMANENT, reply));
        }
        for (Address a : nn(e.getValidUnsentAddresses())) {
            String r = ((InternetAddress) a).getAddress();
            String reply = replies.get(r);
            Verdict v;
            if (reply != null) {
                v = reply.startsWith("5") ? Verdict.PERMANENT : Verdict.TEMPORARY;
            } else if (wholeCode >= 500 && wholeCode < 600) {
                reply = whole;
                v = Verdict.PERMANENT;
            } else {
                reply = whole != null ? whole : reason(e);
                v = Verdict.TEMPORARY;
            }
            out.put(r, new Outcome(v, reply));
        }
        if (out.isEmpty()) {
            // refused as a whole (MAIL FROM refused, or no address information)
            Verdict v = wholeCode >= 500 && wholeCode < 600 ? Verdict.PERMANENT : Verdict.TEMPORARY;
            String reply = whole != null ? whole : reason(e);
            for (String r : env.pending()) {
                out.put(r, new Outcome(v, reply));
            }
        }
        try {
            count(outbox.record(env.id(), out, c.host().name(), t.isConnected(), removal), env);
            if (!t.isConnected() && wholeCode < 200) {
                errors.add(config.item() + ": message " + env.id() + " not sent: " + c.host() + ": connection lost ("
                        + why(e) + ")");
                return false;
            }
            for (Map.Entry<String, Outcome> o : out.entrySet()) {
                if (o.getValue().verdict() != Verdict.SENT) {
                    errors.add(config.item() + ": message " + env.id() + " to <" + o.getKey() + ">: "
                            + o.getValue().reply() + (o.getValue().verdict() == Verdict.PERMANENT ? " (bounced)" : " (will retry)"));
                }
            }
        } catch (IOException x) {
            outbox.release(env.id());
            errors.add(config.item() + ": cannot record the state of message " + env.id() + ": " + x.getMessage());
        }
        return t.isConnected();
    }

    private void count(Result r, Envelope env) {
        switch (r) {
            case SENT -> sent++;
            case DEFERRED -> deferred++;
            case FAILED -> failed++;
        }
        LOG.debug("{}: message {} {}", config.item(), env.id(), r);
    }

    private static long sizeLimit(SMTPTransport t) {
        if (!t.supportsExtension("SIZE")) {
            return 0;
        }
        String p = t.getExtensionParameter("SIZE");
        try {
            return p == null || p.isBlank() ? 0 : Long.parseLong(p.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static Address[] nn(Address[] a) {
        return a == null ? new Address[0] : a;
    }

    private static String stripCode(String s) {
        return s == null ? "" : s.replaceFirst("^\\d{3}[ -]", "");
    }

    private static String oneLine(String s) {
        return s == null ? null : s.replaceAll("[\\r\\n]+", " ").trim();
    }

    static String reason(Throwable e) {
        String cert = Tls.certificateProblem(e);
        if (cert != null) {
            return cert;
        }
        Throwable root = e;
        StringBuilder b = new StringBuilder(e.getMessage() != null ? oneLine(e.getMessage()) : e.getClass().getSimpleName());
        for (Throwable c = e.getCause(); c != null && c != root; c = c.getCause()) {
            if (c.getMessage() != null && !b.toString().contains(c.getMessage())) {
                b.append(": ").append(oneLine(c.getMessage()));
            }
            root = c;
        }
        return b.toString();
    }

    /** What the sockets saw (a deadline, a closed connection) if anything, else the exception's reason. */
    private String why(Exception e) {
        String seen = deadline.failure();
        return seen != null ? seen : reason(e);
    }

    private void close(Connected c) {
        deadline.closing();
        quietClose(c.transport());
    }

    private static void quietClose(SMTPTransport t) {
        try {
            t.close();
        } catch (MessagingException | RuntimeException e) {
            // QUIT on a broken connection: nothing left to do
        }
    }
}
