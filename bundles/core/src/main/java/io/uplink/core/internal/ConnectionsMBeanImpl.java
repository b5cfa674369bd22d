package io.uplink.core.internal;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.NoSuchConnectionException;

import java.util.List;
import java.util.Map;

/** The JMX face of the {@link ConnectionService}; passwords are masked as everywhere. */
final class ConnectionsMBeanImpl implements ConnectionsMBean {

    private final ConnectionService service;

    ConnectionsMBeanImpl(ConnectionService service) {
        this.service = service;
    }

    @Override
    public String[] getConnections() {
        List<ConnectionStatus> all = service.list();
        String[] out = new String[all.size()];
        for (int i = 0; i < out.length; i++) {
            ConnectionStatus s = all.get(i);
            out[i] = s.id() + " | " + s.name() + " | " + s.method() + " | " + s.state()
                    + " | " + (s.lastResult() == null ? "-" : s.lastResult().outcome());
        }
        return out;
    }

    @Override
    public String status(String id) {
        ConnectionStatus s = service.status(id).orElseThrow(() -> new NoSuchConnectionException(id));
        StringBuilder b = new StringBuilder();
        b.append("id: ").append(s.id()).append('\n');
        b.append("name: ").append(s.name()).append('\n');
        b.append("method: ").append(s.method()).append('\n');
        b.append("state: ").append(s.state()).append('\n');
        b.append("reason: ").append(s.reason()).append('\n');
        b.append("lastResult: ").append(s.lastResult() == null ? "" : s.lastResult().outcome() + " " + s.lastResult().summary()).append('\n');
        for (Map.Entry<String, String> e : s.settings().entrySet()) {
            b.append("setting.").append(e.getKey()).append(": ").append(e.getValue()).append('\n');
        }
        return b.toString();
    }

    @Override
    public String fire(String id) {
        Firing f = service.fire(id, "jmx");
        return f.id();
    }

    @Override
    public String[] fireDefaults() {
        return service.fireDefaults("jmx").stream().map(Firing::id).toArray(String[]::new);
    }

    @Override
    public boolean hangup(String id) {
        return service.hangup(id);
    }
}
