/**
 * What the modules' unit tests share, so each stand-in has one home: {@link io.uplink.testsupport.MovableClock}
 * (time the test moves, with sleeps and timers), {@link io.uplink.testsupport.MemoryOutbox} (the outgoing queue in
 * memory) and {@link io.uplink.testsupport.FakeConnections} (a connection service that records fires and plays
 * scripted firings).
 */
package io.uplink.testsupport;
