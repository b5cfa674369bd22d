package io.uplink.mail.internal.tls;

import io.uplink.api.config.Settings;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * TLS for mail connections: certificates are always verified and the host name is always checked
 * (endpoint identification {@code HTTPS}, so the name or IP address the user configured must be in the
 * certificate). Trusted are the JVM's default CAs plus an optional {@code trust.file}:
 * <ul>
 * <li>a CA certificate in it is trusted like the JVM's CAs (host name checked);</li>
 * <li>a server certificate in it is trusted exactly, as it is (pinned): a self-signed certificate often
 * names no host, so for the very certificate the user put into the file the host name is not checked.</li>
 * </ul>
 * The file is PEM (one or more certificates), DER, PKCS12 or JKS; a key store's password, if it needs one,
 * goes into the key named like the file key with {@code .password} for {@code .file}
 * ({@code trust.password}). A relative path is taken relative to Karaf's {@code etc/}.
 */
public final class Tls {

    private Tls() {
    }

    /**
     * A verifying socket factory for the item's settings.
     *
     * @param settings the sender's or collector's settings
     * @param trustFileKey the key naming the optional trust file, normally {@code trust.file}
     * @throws io.uplink.api.config.ConfigException when the trust file cannot be read (naming file and key)
     */
    public static SSLSocketFactory socketFactory(Settings settings, String trustFileKey) {
        List<X509Certificate> extra = List.of();
        String file = settings.string(trustFileKey, null);
        String passwordKey = (trustFileKey.endsWith(".file")
                ? trustFileKey.substring(0, trustFileKey.length() - ".file".length()) : trustFileKey) + ".password";
        String password = settings.string(passwordKey, null);
        if (file == null && password != null) {
            throw settings.problem(passwordKey, "is set but " + trustFileKey + " is not: it opens the key store named there");
        }
        if (file != null) {
            Path path = resolve(file);
            try {
                extra = readCertificates(path, password);
            } catch (IOException | GeneralSecurityException e) {
                throw settings.problem(trustFileKey, "cannot read the trust file " + path + ": " + message(e));
            }
            if (extra.isEmpty()) {
                throw settings.problem(trustFileKey, "the trust file " + path + " holds no certificate");
            }
        }
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {new Trust(extra)}, null);
            return new VerifyingSocketFactory(context.getSocketFactory());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS is not available in this JVM: " + e.getMessage(), e);
        }
    }

    /**
     * A readable reason when a TLS handshake failed because of the certificate, or {@code null} when the
     * throwable (or its causes) is no such failure.
     */
    public static String certificateProblem(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof UntrustedCertificateException u) {
                return u.getMessage();
            }
            if (c instanceof javax.net.ssl.SSLHandshakeException h) {
                return "TLS handshake failed: " + h.getMessage();
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }

    static Path resolve(String file) {
        Path p = Path.of(file);
        String etc = System.getProperty("karaf.etc");
        if (!p.isAbsolute() && etc != null) {
            p = Path.of(etc).resolve(p);
        }
        return p;
    }

    static List<X509Certificate> readCertificates(Path path, String password) throws IOException, GeneralSecurityException {
        byte[] bytes = Files.readAllBytes(path);
        try {
            Collection<? extends java.security.cert.Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(bytes));
            if (!certs.isEmpty()) {
                List<X509Certificate> out = new ArrayList<>();
                for (java.security.cert.Certificate c : certs) {
                    out.add((X509Certificate) c);
                }
                return out;
            }
        } catch (CertificateException notPemOrDer) {
            // not PEM or DER: try a key store below
        }
        GeneralSecurityException last = null;
        for (String type : new String[] {"PKCS12", "JKS"}) {
            try (InputStream in = new ByteArrayInputStream(bytes)) {
                KeyStore ks = KeyStore.getInstance(type);
                ks.load(in, password == null ? null : password.toCharArray());
                List<X509Certificate> out = new ArrayList<>();
                for (Enumeration<String> aliases = ks.aliases(); aliases.hasMoreElements();) {
                    java.security.cert.Certificate c = ks.getCertificate(aliases.nextElement());
                    if (c instanceof X509Certificate x) {
                        out.add(x);
                    }
                }
                return out;
            } catch (GeneralSecurityException e) {
                last = e;
            } catch (IOException e) {
                last = new GeneralSecurityException(e.getMessage()
                        + (password == null ? " (a key store password may be needed)" : ""), e);
            }
        }
        throw new GeneralSecurityException("neither PEM, DER, PKCS12 nor JKS"
                + (last != null && last.getMessage() != null ? " (" + last.getMessage() + ")" : ""));
    }

    private static String message(Throwable e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** A certificate nobody trusts, with a message that says what to do. */
    public static final class UntrustedCertificateException extends CertificateException {
        private static final long serialVersionUID = 1L;

        UntrustedCertificateException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** JVM CAs, then the trust file's CAs, then exact matches of the trust file's certificates. */
    static final class Trust extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager jvm;
        private final X509ExtendedTrustManager file;
        private final List<X509Certificate> pinned;

        Trust(List<X509Certificate> extra) throws GeneralSecurityException {
            this.jvm = manager(null);
            this.pinned = List.copyOf(extra);
            if (extra.isEmpty()) {
                this.file = null;
            } else {
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                try {
                    ks.load(null, null);
                } catch (IOException e) {
                    throw new GeneralSecurityException(e);
                }
                int n = 0;
                for (X509Certificate c : extra) {
                    ks.setCertificateEntry("trust-" + n++, c);
                }
                this.file = manager(ks);
            }
        }

        private static X509ExtendedTrustManager manager(KeyStore ks) throws GeneralSecurityException {
            TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            f.init(ks);
            for (TrustManager tm : f.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return x;
                }
            }
            throw new GeneralSecurityException("no X509 trust manager");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, authType, socket, null);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, authType, null, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, authType, null, null);
        }

        private void check(X509Certificate[] chain, String authType, Socket socket, SSLEngine engine) throws CertificateException {
            if (chain != null && chain.length > 0 && pinned.contains(chain[0])) {
                chain[0].checkValidity();
                return;
            }
            CertificateException first;
            try {
                delegate(jvm, chain, authType, socket, engine);
                return;
            } catch (CertificateException e) {
                first = e;
            }
            if (file != null) {
                try {
                    delegate(file, chain, authType, socket, engine);
                    return;
                } catch (CertificateException e) {
                    // a name mismatch against a trusted CA says more than "unknown CA"
                    if (!(first.getMessage() != null && first.getMessage().contains("PKIX"))) {
                        e.addSuppressed(first);
                    }
                    first = e;
                }
            }
            String subject = chain != null && chain.length > 0 ? chain[0].getSubjectX500Principal().getName() : "?";
            throw new UntrustedCertificateException("the server's certificate (" + subject + ") is not trusted: "
                    + message(first) + "; if this server is yours, put its certificate or its CA into trust.file",
                    first);
        }

        private static void delegate(X509ExtendedTrustManager tm, X509Certificate[] chain, String authType,
                Socket socket, SSLEngine engine) throws CertificateException {
            if (socket != null) {
                tm.checkServerTrusted(chain, authType, socket);
            } else if (engine != null) {
                tm.checkServerTrusted(chain, authType, engine);
            } else {
                tm.checkServerTrusted(chain, authType);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("client certificates are not checked here");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("client certificates are not checked here");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("client certificates are not checked here");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            List<X509Certificate> all = new ArrayList<>(List.of(jvm.getAcceptedIssuers()));
            if (file != null) {
                Collections.addAll(all, file.getAcceptedIssuers());
            }
            return all.toArray(new X509Certificate[0]);
        }
    }

    /** Turns host name checking on for every socket it makes. */
    static final class VerifyingSocketFactory extends SSLSocketFactory {
        private final SSLSocketFactory delegate;

        VerifyingSocketFactory(SSLSocketFactory delegate) {
            this.delegate = delegate;
        }

        private Socket verify(Socket s) {
            if (s instanceof SSLSocket ssl) {
                SSLParameters p = ssl.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(p);
            }
            return s;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return delegate.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return verify(delegate.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return verify(delegate.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return verify(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return verify(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return verify(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
            return verify(delegate.createSocket(address, port, localAddress, localPort));
        }
    }
}
