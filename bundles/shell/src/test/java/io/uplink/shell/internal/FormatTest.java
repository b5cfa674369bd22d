package io.uplink.shell.internal;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class FormatTest {

    @Test
    public void wrapBreaksAtSpacesAndKeepsEveryCharacter() {
        assertEquals("the server\nrefused the\nlogin", Format.wrap("the server refused the login", 11));
        assertEquals("exactly ten", Format.wrap("exactly ten", 11));
    }

    @Test
    public void wrapSplitsAWordLongerThanTheColumn() {
        assertEquals("a\nabcde\nfghij\nk b", Format.wrap("a abcdefghijk b", 5));
        assertEquals("abcde\nfghij", Format.wrap("abcdefghij", 5));
    }

    @Test
    public void wrapKeepsLineBreaksOfTheText() {
        assertEquals("one\ntwo three", Format.wrap("one\ntwo three", 20));
    }
}
