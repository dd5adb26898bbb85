package dev.strait.server.capture;

/** What a tap hands the writer: a flow opening, bytes one way, or the flow ending. */
record Segment(Capture capture, TcpFlow flow, Kind kind, boolean fromInitiator, byte[] bytes, long micros) {
    enum Kind {
        OPEN,
        DATA,
        CLOSE
    }

    int size() {
        return bytes == null ? 0 : bytes.length;
    }
}
