package io.uplink.method.dialup.internal;

import com.fazecast.jSerialComm.SerialPort;
import com.fazecast.jSerialComm.SerialPortInvalidPortException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** A serial port opened by explicit path through jSerialComm, read in short polls. */
final class SerialLine implements AutoCloseable {

    /** How long one read waits for a byte; bounds how late a deadline or a stop request is noticed. */
    static final int POLL_MILLIS = 100;

    private final String path;
    private final SerialPort port;
    private volatile boolean gone;

    private SerialLine(String path, SerialPort port) {
        this.path = path;
        this.port = port;
    }

    static SerialLine open(String path, int baud) throws IOException {
        SerialPort port;
        try {
            port = SerialPort.getCommPort(path);
        } catch (SerialPortInvalidPortException e) {
            throw new IOException("no serial port " + path + ": " + e.getMessage(), e);
        }
        port.setComPortParameters(baud, 8, SerialPort.ONE_STOP_BIT, SerialPort.NO_PARITY);
        port.setFlowControl(SerialPort.FLOW_CONTROL_DISABLED);
        port.setComPortTimeouts(SerialPort.TIMEOUT_READ_SEMI_BLOCKING | SerialPort.TIMEOUT_WRITE_BLOCKING,
                POLL_MILLIS, 2000);
        if (!port.openPort()) {
            throw new IOException("cannot open serial port " + path + " (error " + port.getLastErrorCode()
                    + "; does it exist, and may this user open it?)");
        }
        return new SerialLine(path, port);
    }

    String path() {
        return path;
    }

    void write(String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        int n = gone ? -1 : port.writeBytes(b, b.length);
        if (n != b.length) {
            gone = true;
            throw new IOException("serial port " + path + " vanished (write failed)");
        }
    }

    /**
     * Waits up to one poll for bytes.
     *
     * @return the number of bytes read, 0 when none came
     * @throws IOException when the port has vanished (device unplugged, pseudo-terminal closed)
     */
    int read(byte[] buffer) throws IOException {
        int n = gone ? -1 : port.readBytes(buffer, buffer.length);
        if (n < 0) {
            gone = true;
            throw new IOException("serial port " + path + " vanished");
        }
        return n;
    }

    /** Whether a read or write found the port gone. */
    boolean isGone() {
        return gone;
    }

    /**
     * Drops DTR for a moment, which makes a modem configured with {@code &D2} hang up.
     *
     * @return false where the port has no DTR line (a pseudo-terminal): not an error
     */
    boolean pulseDtr() {
        if (gone || !port.clearDTR()) {
            return false;
        }
        port.setDTR();
        return true;
    }

    @Override
    public void close() {
        port.closePort();
    }
}
