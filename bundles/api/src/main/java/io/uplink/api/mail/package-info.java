/**
 * SPI for the mail tasks a firing runs (one {@link io.uplink.api.mail.MailSender} and the
 * {@link io.uplink.api.mail.MailCollector}s linked to a connection), and the outgoing queue.
 */
@Version("1.2.0")
@Export
package io.uplink.api.mail;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
