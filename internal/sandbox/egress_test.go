package sandbox

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestEgressCheck(t *testing.T) {
	self := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9400")}
	def := NewEgress(nil, self)
	opened := NewEgress([]netip.Prefix{netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("127.0.0.1/32")}, self)
	wild := NewEgress(nil, []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:9400")})
	wild6 := NewEgress(nil, []netip.AddrPort{netip.MustParseAddrPort("[::]:9400")})
	tests := []struct {
		name   string
		e      *Egress
		addr   string
		refuse bool
	}{
		{"AWS, GCP, Azure metadata", def, "169.254.169.254:80", true},
		{"ECS task credentials", def, "169.254.170.2:80", true},
		{"any IPv4 link-local", def, "169.254.1.2:443", true},
		{"IPv6 link-local", def, "[fe80::1]:80", true},
		{"IPv6 link-local with a zone", def, "[fe80::1%eth0]:80", true},
		{"AWS IPv6 metadata", def, "[fd00:ec2::254]:80", true},
		{"Alibaba metadata", def, "100.100.100.200:80", true},
		{"unspecified IPv4", def, "0.0.0.0:9400", true},
		{"unspecified IPv6", def, "[::]:80", true},
		{"IPv4-mapped metadata", def, "[::ffff:169.254.169.254]:80", true},
		{"NAT64 metadata", def, "[64:ff9b::a9fe:a9fe]:80", true},
		{"own listener", def, "127.0.0.1:9400", true},
		{"own listener, IPv4-mapped", def, "[::ffff:127.0.0.1]:9400", true},
		{"loopback, other port", def, "127.0.0.1:9401", false},
		{"other loopback address, same port", def, "127.0.0.2:9400", false},
		{"IPv6 loopback, same port (not the listener's address)", def, "[::1]:9400", false},
		{"private address", def, "10.0.0.1:443", false},
		{"public address", def, "203.0.113.7:443", false},
		{"public IPv6", def, "[2001:db8::1]:443", false},
		{"CGNAT next to the Alibaba address", def, "100.100.100.201:80", false},
		{"opened metadata address", opened, "169.254.169.254:80", false},
		{"neighbour of an opened address", opened, "169.254.169.253:80", true},
		{"opened own listener", opened, "127.0.0.1:9400", false},
		{"wildcard listener via loopback", wild, "127.0.0.1:9400", true},
		{"wildcard listener via another loopback address", wild, "127.0.0.9:9400", true},
		{"wildcard listener via IPv6 loopback", wild, "[::1]:9400", true},
		{"wildcard listener, other port", wild, "127.0.0.1:9401", false},
		{"IPv6 wildcard listener via IPv4 loopback", wild6, "127.0.0.1:9400", true},
		{"nil policy allows metadata", nil, "169.254.169.254:80", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Control(context.Background(), "tcp", tt.addr, nil)
			if refused := errors.Is(err, ErrEgressRefused); refused != tt.refuse {
				t.Fatalf("Control(%s) = %v, want refused %v", tt.addr, err, tt.refuse)
			}
			if tt.refuse && !strings.Contains(err.Error(), "--allow-egress") {
				t.Errorf("error %q does not name --allow-egress", err)
			}
		})
	}
}

func TestEgressErrorNamesAddressAndFlag(t *testing.T) {
	err := NewEgress(nil, nil).Check(netip.MustParseAddrPort("169.254.169.254:80"))
	want := "connecting to 169.254.169.254:80 is refused by the egress policy: it is a link-local address (169.254.0.0/16: cloud metadata and credentials); the operator can allow it with --allow-egress 169.254.169.254/32"
	if err == nil || err.Error() != want {
		t.Errorf("Check = %v, want %q", err, want)
	}
	var ee *EgressError
	if !errors.As(err, &ee) || ee.Addr.String() != "169.254.169.254:80" {
		t.Errorf("errors.As(*EgressError) = %v", ee)
	}
}

func TestEgressControlUnparsable(t *testing.T) {
	if err := NewEgress(nil, nil).Control(context.Background(), "tcp", "not-an-address", nil); !errors.Is(err, ErrEgressRefused) {
		t.Errorf("Control(unparsable) = %v, want a refusal", err)
	}
}

// TestEgressDialer dials a real loopback listener: refused as the server's own listener before any
// connection is made, and reached once --allow-egress opens it.
func TestEgressDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	self := netip.MustParseAddrPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err = NewEgress(nil, []netip.AddrPort{self}).Dialer(nil).DialContext(ctx, "tcp", ln.Addr().String())
	if !errors.Is(err, ErrEgressRefused) {
		t.Fatalf("dial own listener = %v, want ErrEgressRefused", err)
	}
	select {
	case <-accepted:
		t.Fatal("the refused dial reached the listener")
	case <-time.After(100 * time.Millisecond):
	}

	opened := NewEgress([]netip.Prefix{netip.PrefixFrom(self.Addr(), 32)}, []netip.AddrPort{self})
	c, err := opened.Dialer(&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial opened listener: %v", err)
	}
	c.Close()
	<-accepted

	var nilEgress *Egress
	d := &net.Dialer{}
	if nilEgress.Dialer(d) != d {
		t.Error("nil Egress.Dialer changed the dialer")
	}
}

// BenchmarkEgressControl measures the check every new connection pays.
func BenchmarkEgressControl(b *testing.B) {
	e := NewEgress([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9400")})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Control(ctx, "tcp4", "203.0.113.7:443", nil); err != nil {
			b.Fatal(err)
		}
	}
}
