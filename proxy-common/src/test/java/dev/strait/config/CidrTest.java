package dev.strait.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

class CidrTest {

    @Test
    void parsesIpv4NetworksAndMasksTheHostBits() {
        Cidr net = Cidr.parse("allow[0]", "10.1.2.3/8");

        assertThat(net.prefix()).isEqualTo(8);
        assertThat(net.network()).containsExactly(10, 0, 0, 0);
        assertThat(net).isEqualTo(Cidr.parse("allow[0]", "10.0.0.0/8")).hasToString("10.1.2.3/8");
        assertThat(net.contains(ip("10.0.0.0"))).isTrue();
        assertThat(net.contains(ip("10.255.255.255"))).isTrue();
        assertThat(net.contains(ip("11.0.0.0"))).isFalse();
        assertThat(net.contains(ip("9.255.255.255"))).isFalse();
    }

    @Test
    void parsesIpv4PrefixesThatDoNotEndOnAByte() {
        Cidr net = Cidr.parse("allow[0]", "192.168.4.0/22");

        assertThat(net.contains(ip("192.168.4.0"))).isTrue();
        assertThat(net.contains(ip("192.168.7.255"))).isTrue();
        assertThat(net.contains(ip("192.168.8.0"))).isFalse();
        assertThat(net.contains(ip("192.168.3.255"))).isFalse();
    }

    @Test
    void parsesIpv6Networks() {
        Cidr net = Cidr.parse("deny[0]", "2001:db8::/32");

        assertThat(net.prefix()).isEqualTo(32);
        assertThat(net.network()).hasSize(16);
        assertThat(net.contains(ip("2001:db8::1"))).isTrue();
        assertThat(net.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"))).isTrue();
        assertThat(net.contains(ip("2001:db9::"))).isFalse();
        assertThat(net.contains(ip("::1"))).isFalse();
    }

    @Test
    void treatsABareAddressAsASingleHost() {
        Cidr v4 = Cidr.parse("allow[0]", "127.0.0.2");
        Cidr v6 = Cidr.parse("allow[1]", "::1");

        assertThat(v4.prefix()).isEqualTo(32);
        assertThat(v4.contains(ip("127.0.0.2"))).isTrue();
        assertThat(v4.contains(ip("127.0.0.3"))).isFalse();
        assertThat(v6.prefix()).isEqualTo(128);
        assertThat(v6.contains(ip("::1"))).isTrue();
        assertThat(v6.contains(ip("::2"))).isFalse();
    }

    @Test
    void matchesEveryAddressOfItsFamilyWithPrefixZero() {
        Cidr anyV4 = Cidr.parse("allow[0]", "0.0.0.0/0");
        Cidr anyV6 = Cidr.parse("allow[1]", "::/0");

        assertThat(anyV4.contains(ip("0.0.0.0"))).isTrue();
        assertThat(anyV4.contains(ip("255.255.255.255"))).isTrue();
        assertThat(anyV4.contains(ip("::1")))
                .as("an IPv4 network never matches an IPv6 address")
                .isFalse();
        assertThat(anyV6.contains(ip("::1"))).isTrue();
        assertThat(anyV6.contains(ip("ffff::1"))).isTrue();
        assertThat(anyV6.contains(ip("1.2.3.4")))
                .as("an IPv6 network never matches an IPv4 address")
                .isFalse();
    }

    @Test
    void matchesAnIpv4MappedIpv6ClientAgainstAnIpv4Network() throws UnknownHostException {
        // InetAddress.getByName turns ::ffff:a.b.c.d into an Inet4Address; a dual-stack socket can report the mapped
        // form.
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 1, 2, 3};
        InetAddress client = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(client).isInstanceOf(Inet6Address.class);

        assertThat(Cidr.parse("allow[0]", "10.0.0.0/8").contains(client)).isTrue();
        assertThat(Cidr.parse("allow[0]", "10.1.2.3").contains(client)).isTrue();
        assertThat(Cidr.parse("allow[0]", "11.0.0.0/8").contains(client)).isFalse();
        assertThat(Cidr.parse("allow[0]", "::1/128").contains(client)).isFalse();
    }

    @Test
    void rejectsBadNetworksNamingTheKeyAndTheValue() {
        assertThatThrownBy(() -> Cidr.parse("routes[0].allow[1]", "10.0.0.0/33"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes[0].allow[1]")
                .hasMessageContaining("\"10.0.0.0/33\"")
                .hasMessageContaining("0-32");
        assertThatThrownBy(() -> Cidr.parse("routes[0].deny[0]", "::/129"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes[0].deny[0]")
                .hasMessageContaining("\"::/129\"")
                .hasMessageContaining("0-128");
        assertThatThrownBy(() -> Cidr.parse("routes[0].allow[0]", "foo"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes[0].allow[0]")
                .hasMessageContaining("\"foo\"");
        assertThatThrownBy(() -> Cidr.parse("routes[0].allow[0]", "1.2.3.4/x"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes[0].allow[0]")
                .hasMessageContaining("\"1.2.3.4/x\"")
                .hasMessageContaining("not a number");
        assertThatThrownBy(() -> Cidr.parse("routes[0].allow[0]", "10.0.0.0/-1"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("\"10.0.0.0/-1\"");
        assertThatThrownBy(() -> Cidr.parse("routes[0].allow[0]", "10.0.0/8"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("\"10.0.0/8\"");
        assertThatThrownBy(() -> Cidr.parse("routes[2].deny[3]", "1.2.3.4/x"))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo("routes[2].deny[3]"));
    }

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal); // an IP literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }
}
