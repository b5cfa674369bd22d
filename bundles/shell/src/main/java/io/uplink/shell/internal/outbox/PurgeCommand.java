package io.uplink.shell.internal.outbox;

import io.uplink.api.config.Settings;
import io.uplink.api.mail.FailedMail;

import java.time.Duration;

import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "outbox", name = "purge", description = "Removes failed messages for good: those given up longer than --older-than ago (all with --older-than 0s)")
@Service
public class PurgeCommand implements Action {

    @Option(name = "--failed", description = "Purge the failed folder (the only folder purge works on; say it to be sure)", required = true)
    boolean failed;

    @Option(name = "--older-than", description = "Only messages given up longer ago than this (30d, 12h, 0s for all)", required = true)
    String olderThan;

    @Reference(optional = true)
    FailedMail failedMail;

    @Override
    public Object execute() throws Exception {
        FailedMail box = MailBundle.require(this, failedMail);
        Duration age = Settings.parseDuration(olderThan);
        if (age == null || age.isNegative()) {
            throw UserError.of(this, "--older-than must be a duration such as 30d, 12h or 0s, got '" + olderThan + "'");
        }
        System.out.println(box.purgeFailed(age) + " failed message(s) removed");
        return null;
    }
}
