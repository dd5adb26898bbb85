package dev.strait.server;

/** placeholder */
public final class Main {
    private Main() {}

    public static void main(String[] args) {}
}
