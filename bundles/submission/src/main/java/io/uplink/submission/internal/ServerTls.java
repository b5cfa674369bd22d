package io.uplink.submission.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** The listener's own certificate: a key store ({@code keystore}, PKCS12 or JKS) or PEM files ({@code cert}, {@code key}). */
final class ServerTls {

    private ServerTls() {
    }

    static SSLContext context(SubmissionConfig c) {
        Settings s = c.settings;
        char[] password = s.string("keystore.password", "").toCharArray();
        KeyStore ks;
        if (s.has("keystore")) {
            Path file = c.etc(s.string("keystore", null));
            ks = load(s, file, password);
        } else {
            ks = fromPem(s, c.etc(s.string("cert", null)), c.etc(s.string("key", null)));
            password = new char[0];
        }
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw s.problem(s.has("keystore") ? "keystore.password" : "key", "the key cannot be used: " + e.getMessage());
        }
    }

    private static KeyStore load(Settings s, Path file, char[] password) {
        if (!Files.isReadable(file)) {
            throw s.problem("keystore", "cannot read " + file);
        }
        List<String> errors = new ArrayList<>();
        for (String type : new String[] {"PKCS12", "JKS"}) {
            try (InputStream in = Files.newInputStream(file)) {
                KeyStore ks = KeyStore.getInstance(type);
                ks.load(in, password);
                return ks;
            } catch (IOException | GeneralSecurityException e) {
                errors.add(type + ": " + e.getMessage());
            }
        }
        throw s.problem("keystore", file + " is no PKCS12 or JKS key store this password opens (" + String.join("; ", errors)
                + "); check keystore.password");
    }

    private static KeyStore fromPem(Settings s, Path certFile, Path keyFile) {
        Collection<? extends Certificate> chain;
        try (InputStream in = Files.newInputStream(certFile)) {
            chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (IOException | GeneralSecurityException e) {
            throw s.problem("cert", "cannot read a PEM certificate from " + certFile + ": " + e.getMessage());
        }
        if (chain.isEmpty()) {
            throw s.problem("cert", certFile + " holds no certificate");
        }
        PrivateKey key = privateKey(s, keyFile);
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("server", key, new char[0], chain.toArray(new Certificate[0]));
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw s.problem("key", "the key in " + keyFile + " does not fit the certificate in " + certFile + ": " + e.getMessage());
        }
    }

    private static PrivateKey privateKey(Settings s, Path keyFile) throws ConfigException {
        String pem;
        try {
            pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw s.problem("key", "cannot read " + keyFile + ": " + e.getMessage());
        }
        if (pem.contains("BEGIN RSA PRIVATE KEY") || pem.contains("BEGIN EC PRIVATE KEY") || pem.contains("ENCRYPTED")) {
            throw s.problem("key", keyFile + " must be an unencrypted PKCS#8 key (BEGIN PRIVATE KEY); convert it with "
                    + "openssl pkcs8 -topk8 -nocrypt -in old.key -out new.key");
        }
        int b = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int e = pem.indexOf("-----END PRIVATE KEY-----");
        if (b < 0 || e < b) {
            throw s.problem("key", keyFile + " holds no PEM private key (BEGIN PRIVATE KEY)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(b + 27, e));
        } catch (IllegalArgumentException x) {
            throw s.problem("key", keyFile + ": the PEM key is not valid Base64");
        }
        for (String alg : new String[] {"RSA", "EC", "Ed25519", "DSA"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException x) {
                // next algorithm
            }
        }
        throw s.problem("key", keyFile + " holds no RSA, EC or Ed25519 key");
    }
}
