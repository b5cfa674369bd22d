package io.uplink.testsupport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import org.junit.Test;

public class PostgresServerTest {

    @Test
    public void aPrivateServerTakesSessionsAndFreesAnAdvisoryLockWhenItsSessionEnds() throws Exception {
        try (PostgresServer pg = PostgresServer.start(false)) {
            String db = pg.createDatabase();
            try (Connection holder = pg.connect(db); Connection other = pg.connect(db)) {
                assertTrue(tryLock(holder));
                assertFalse("a second session must not get the lock", tryLock(other));
                holder.close();
                // the server ends the holder's backend a moment after the client left: wait for the lock there
                try (Statement st = other.createStatement()) {
                    st.execute("SET lock_timeout = '20s'");
                    st.execute("SELECT pg_advisory_lock(42)");
                }
                assertTrue("the lock is free once its session ended", tryLock(other));
            }
            pg.dropDatabase(db);
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_database WHERE datname = '" + db + "'")) {
                rs.next();
                assertEquals(0, rs.getInt(1));
            }
        }
    }

    private static boolean tryLock(Connection c) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_try_advisory_lock(42)")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
