package io.uplink.mail.internal.status;

import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.MailTaskService;
import io.uplink.api.mail.MailTaskStatus;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The {@link MailTaskService}: the status of every Mail Sender and Mail Collector this bundle registered
 * (those in ERROR included, since they stay registered).
 */
@Component(service = MailTaskService.class, immediate = true)
public class MailTaskServiceComponent implements MailTaskService {

    private final Set<StatusSource> senders = new CopyOnWriteArraySet<>();
    private final Set<StatusSource> collectors = new CopyOnWriteArraySet<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSender(MailSender sender) {
        if (sender instanceof StatusSource s) {
            senders.add(s);
        }
    }

    void unbindSender(MailSender sender) {
        senders.removeIf(s -> s == sender);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindCollector(MailCollector collector) {
        if (collector instanceof StatusSource s) {
            collectors.add(s);
        }
    }

    void unbindCollector(MailCollector collector) {
        collectors.removeIf(s -> s == collector);
    }

    @Override
    public List<MailTaskStatus> senders() {
        return snapshots(senders);
    }

    @Override
    public Optional<MailTaskStatus> sender(String id) {
        return senders().stream().filter(s -> s.id().equals(id)).findFirst();
    }

    @Override
    public List<MailTaskStatus> collectors() {
        return snapshots(collectors);
    }

    @Override
    public Optional<MailTaskStatus> collector(String id) {
        return collectors().stream().filter(s -> s.id().equals(id)).findFirst();
    }

    private static List<MailTaskStatus> snapshots(Set<StatusSource> sources) {
        List<MailTaskStatus> out = new ArrayList<>();
        for (StatusSource s : sources) {
            out.add(s.status());
        }
        out.sort(Comparator.comparing(MailTaskStatus::id));
        return out;
    }
}
