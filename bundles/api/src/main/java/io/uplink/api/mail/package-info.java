/**
 * SPI for the mail tasks a firing runs (one {@link io.uplink.api.mail.MailSender} and the
 * {@link io.uplink.api.mail.MailCollector}s linked to a connection), the outgoing queue and its failed folder.
 */
@Version("1.2.0")
@Export
package io.uplink.api.mail;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
