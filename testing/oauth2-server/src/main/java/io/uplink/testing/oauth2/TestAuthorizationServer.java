package io.uplink.testing.oauth2;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.context.WebServerInitializedEvent;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.core.annotation.Order;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.server.authorization.InMemoryOAuth2AuthorizationService;
import org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationService;
import org.springframework.security.oauth2.server.authorization.OAuth2TokenType;
import org.springframework.security.oauth2.server.authorization.client.InMemoryRegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.config.annotation.web.configuration.OAuth2AuthorizationServerConfiguration;
import org.springframework.security.oauth2.server.authorization.config.annotation.web.configurers.OAuth2AuthorizationServerConfigurer;
import org.springframework.security.oauth2.server.authorization.settings.AuthorizationServerSettings;
import org.springframework.security.oauth2.server.authorization.settings.ClientSettings;
import org.springframework.security.oauth2.server.authorization.settings.TokenSettings;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.LoginUrlAuthenticationEntryPoint;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;

/**
 * The tests' OAuth2 authorization server (Spring Authorization Server): the device grant, refresh tokens that
 * rotate on every use, revocation, JWT access tokens with a lifetime the test chooses.
 *
 * <p>Arguments (Spring properties): {@code --server.port=0}; {@code --uplink.clientId}, {@code --uplink.clientSecret};
 * {@code --uplink.users=alice@example.test:pw,bob@example.test:pw}; {@code --uplink.accessTokenTtl=PT5S};
 * {@code --uplink.keyDir=DIR}: the public signing key is written as {@code DIR/default/RS256/<kid>} (PEM), the
 * layout of Dovecot's {@code local_validation_key_dict = fs:posix:prefix=DIR/}. A person signs in on the login
 * form ({@code POST /login}) and approves a user code with {@code GET /oauth2/device_verification?user_code=...}. The process prints
 * {@code OAUTH2-SERVER-PORT <port>} once it listens.
 */
@SpringBootApplication
@RestController
public class TestAuthorizationServer {

    private final KeyPair keys = rsa();
    private final String kid = UUID.randomUUID().toString();

    @Value("${uplink.clientId:uplink-test}")
    String clientId;
    @Value("${uplink.clientSecret:uplink-secret}")
    String clientSecret;
    @Value("${uplink.users:alice@example.test:alice-pw}")
    String users;
    @Value("${uplink.accessTokenTtl:PT5M}")
    Duration accessTokenTtl;
    @Value("${uplink.keyDir:}")
    String keyDir;

    public static void main(String[] args) {
        SpringApplication app = new SpringApplication(TestAuthorizationServer.class);
        app.setBannerMode(org.springframework.boot.Banner.Mode.OFF);
        app.run(args);
    }

    @Bean
    @Order(1)
    SecurityFilterChain authorizationServer(HttpSecurity http) throws Exception {
        OAuth2AuthorizationServerConfigurer as = OAuth2AuthorizationServerConfigurer.authorizationServer();
        http.securityMatcher(as.getEndpointsMatcher())
                .with(as, Customizer.withDefaults())
                .authorizeHttpRequests(a -> a.anyRequest().authenticated())
                .exceptionHandling(e -> e.authenticationEntryPoint(new LoginUrlAuthenticationEntryPoint("/login")))
                .csrf(c -> c.disable());
        return http.build();
    }

    @Bean
    @Order(2)
    SecurityFilterChain rest(HttpSecurity http) throws Exception {
        http.authorizeHttpRequests(a -> a.anyRequest().authenticated())
                .formLogin(Customizer.withDefaults())
                .csrf(c -> c.disable());
        return http.build();
    }

    /** Where the person lands after approving. */
    @GetMapping("/")
    String home() {
        return "approved";
    }

    @Bean
    UserDetailsService people() {
        InMemoryUserDetailsManager m = new InMemoryUserDetailsManager();
        for (String u : users.split(",")) {
            int colon = u.lastIndexOf(':');
            m.createUser(User.withUsername(u.substring(0, colon)).password("{noop}" + u.substring(colon + 1))
                    .roles("USER").build());
        }
        return m;
    }

    @Bean
    RegisteredClientRepository clients() {
        RegisteredClient c = RegisteredClient.withId(UUID.randomUUID().toString())
                .clientId(clientId)
                .clientSecret("{noop}" + clientSecret)
                .clientAuthenticationMethod(ClientAuthenticationMethod.CLIENT_SECRET_POST)
                .clientAuthenticationMethod(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
                .authorizationGrantType(AuthorizationGrantType.DEVICE_CODE)
                .authorizationGrantType(AuthorizationGrantType.REFRESH_TOKEN)
                .scope("mail.read").scope("mail.send")
                .clientSettings(ClientSettings.builder().requireAuthorizationConsent(false).build())
                .tokenSettings(TokenSettings.builder()
                        .accessTokenTimeToLive(accessTokenTtl)
                        .refreshTokenTimeToLive(Duration.ofDays(1))
                        .deviceCodeTimeToLive(Duration.ofMinutes(5))
                        .reuseRefreshTokens(false)
                        .build())
                .build();
        return new InMemoryRegisteredClientRepository(c);
    }

    @Bean
    OAuth2AuthorizationService authorizations(RegisteredClientRepository clients) {
        return new InMemoryOAuth2AuthorizationService();
    }

    /** Dovecot's local JWT validation wants typ=JWT, an email claim and the scopes as one string. */
    @Bean
    OAuth2TokenCustomizer<JwtEncodingContext> dovecotClaims() {
        return ctx -> {
            if (OAuth2TokenType.ACCESS_TOKEN.equals(ctx.getTokenType())) {
                ctx.getJwsHeader().type("JWT");
                ctx.getClaims().claim("email", ctx.getPrincipal().getName());
                ctx.getClaims().claim("scope", String.join(" ", ctx.getAuthorizedScopes()));
            }
        };
    }

    @Bean
    JWKSource<SecurityContext> jwkSource() {
        RSAKey key = new RSAKey.Builder((RSAPublicKey) keys.getPublic())
                .privateKey((RSAPrivateKey) keys.getPrivate()).keyID(kid).build();
        return new ImmutableJWKSet<>(new JWKSet(key));
    }

    @Bean
    JwtDecoder jwtDecoder(JWKSource<SecurityContext> source) {
        return OAuth2AuthorizationServerConfiguration.jwtDecoder(source);
    }

    @Bean
    AuthorizationServerSettings settings() {
        return AuthorizationServerSettings.builder().build();
    }

    @EventListener
    public void listening(WebServerInitializedEvent e) throws IOException {
        if (!keyDir.isEmpty()) {
            Path dir = Path.of(keyDir, "default", "RS256");
            Files.createDirectories(dir);
            String pem = "-----BEGIN PUBLIC KEY-----\n"
                    + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(keys.getPublic().getEncoded())
                    + "\n-----END PUBLIC KEY-----\n";
            Files.writeString(dir.resolve(kid), pem, StandardCharsets.US_ASCII);
        }
        port = e.getWebServer().getPort();
    }

    private int port;

    @EventListener
    public void ready(ApplicationReadyEvent e) {
        System.out.println("OAUTH2-SERVER-PORT " + port);
        System.out.flush();
    }

    private static KeyPair rsa() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
