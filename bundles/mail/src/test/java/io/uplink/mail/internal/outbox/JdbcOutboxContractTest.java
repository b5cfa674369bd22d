package io.uplink.mail.internal.outbox;

import io.uplink.testsupport.PostgresServer;
import io.uplink.testsupport.SessionFence;

import java.util.Optional;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.postgresql.ds.PGSimpleDataSource;

/** The outbox contract on PostgreSQL: the cluster's store, sending through a fence on its own session. */
public class JdbcOutboxContractTest extends OutboxContract {

    private static PostgresServer pg;
    private String database;
    private PGSimpleDataSource dataSource;
    private SessionFence fence;

    @BeforeClass
    public static void startPostgres() throws Exception {
        pg = PostgresServer.start(false);
    }

    @AfterClass
    public static void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    @Before
    public void createDatabase() throws Exception {
        database = pg.createDatabase();
        dataSource = dataSource(pg, database);
        fence = SessionFence.acquire(pg, database, FIRING.connectionId(), FIRING.firingId(), "node-a");
    }

    @After
    public void dropDatabase() throws Exception {
        fence.close();
        pg.dropDatabase(database);
    }

    static PGSimpleDataSource dataSource(PostgresServer pg, String database) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(pg.url(database));
        ds.setUser(pg.user());
        return ds;
    }

    @Override
    protected OutboxStore openStore(FileOutbox.Bounces bounces) throws Exception {
        return new JdbcOutbox(dataSource, id -> id.equals(fence.connectionId()) ? Optional.of(fence) : Optional.empty(),
                postmaster(), bounces, clock, FileOutbox.Retry.DEFAULT);
    }
}
