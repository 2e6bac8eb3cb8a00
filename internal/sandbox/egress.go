package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Egress decides which addresses HTTP targets and enrichments may connect to. It is applied in the
// dialer (Control), on the address actually being connected to after DNS resolution, so a name that
// resolves (or re-resolves: DNS rebinding) to a refused address, and a redirect or retry to one, are
// refused too. A nil *Egress allows every address. An Egress is immutable and safe for concurrent use.
//
// Refused unless an --allow-egress prefix covers the address:
//   - link-local addresses, 169.254.0.0/16 and fe80::/10, where cloud metadata and credential services
//     live (169.254.169.254 on AWS, GCP, Azure, OpenStack; 169.254.170.2 for ECS task credentials);
//   - other well-known metadata addresses: fd00:ec2::/32 (the AWS Nitro IPv6 services, metadata at
//     fd00:ec2::254) and 100.100.100.200 (Alibaba Cloud);
//   - the unspecified addresses 0.0.0.0/8 and ::, which reach this machine's own listeners;
//   - the server's own listeners (the API, which also serves /metrics), by address and port: a listener
//     on a wildcard address covers every loopback and interface address of the machine at that port.
//
// Loopback is otherwise allowed: local services (a sidecar, a test endpoint) are ordinary API
// destinations for a self-hosted server; on loopback, only the server's own listeners need guarding.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) and NAT64 ones (64:ff9b::a.b.c.d) are checked as the IPv4
// address they carry.
type Egress struct {
	allow []netip.Prefix
	self  []netip.AddrPort
	local []netip.Addr // the machine's addresses, when a self listener is on a wildcard address
}

// denied is the fixed list of ranges refused by default, with the reason given in errors. It is read only.
var denied = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (169.254.0.0/16: cloud metadata and credentials)"},
	{netip.MustParsePrefix("fe80::/10"), "an IPv6 link-local address (fe80::/10)"},
	{netip.MustParsePrefix("fd00:ec2::/32"), "an AWS instance service address (fd00:ec2::/32: instance metadata)"},
	{netip.MustParsePrefix("100.100.100.200/32"), "the Alibaba Cloud metadata address"},
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address (0.0.0.0/8 reaches this machine)"},
	{netip.MustParsePrefix("::/128"), "the unspecified address (:: reaches this machine)"},
}

// nat64 is the well-known NAT64 prefix; its addresses carry an IPv4 address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// NewEgress returns the restricted egress policy: the default refusals above, plus the listeners in self
// (the server's own), except for addresses inside one of the allow prefixes (--allow-egress).
func NewEgress(allow []netip.Prefix, self []netip.AddrPort) *Egress {
	e := &Egress{}
	for _, p := range allow {
		e.allow = append(e.allow, p.Masked())
	}
	wildcard := false
	for _, s := range self {
		a := s.Addr().Unmap().WithZone("")
		e.self = append(e.self, netip.AddrPortFrom(a, s.Port()))
		wildcard = wildcard || a.IsUnspecified()
	}
	if wildcard {
		// A listener on 0.0.0.0 or :: answers on every address of the machine.
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						e.local = append(e.local, ip.Unmap())
					}
				}
			}
		}
	}
	return e
}

// EgressError is a refused connection: the address and why. It matches ErrEgressRefused.
type EgressError struct {
	Addr   netip.AddrPort
	Reason string
}

func (e *EgressError) Error() string {
	return fmt.Sprintf("connecting to %s is refused by the egress policy: it is %s; the operator can allow it with --allow-egress %s",
		e.Addr, e.Reason, netip.PrefixFrom(e.Addr.Addr(), e.Addr.Addr().BitLen()))
}

// Is makes errors.Is(err, ErrEgressRefused) true.
func (e *EgressError) Is(target error) bool { return target == ErrEgressRefused }

// Check returns nil when a connection to addr is allowed, else an *EgressError.
func (e *Egress) Check(addr netip.AddrPort) error {
	if e == nil {
		return nil
	}
	ip := addr.Addr().Unmap().WithZone("")
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	addr = netip.AddrPortFrom(ip, addr.Port())
	for _, p := range e.allow {
		if p.Contains(ip) {
			return nil
		}
	}
	for _, d := range denied {
		if d.prefix.Contains(ip) {
			return &EgressError{Addr: addr, Reason: d.why}
		}
	}
	for _, s := range e.self {
		if s.Port() != addr.Port() {
			continue
		}
		if s.Addr() == ip || (s.Addr().IsUnspecified() && e.isLocal(ip)) {
			return &EgressError{Addr: addr, Reason: "this server's own listener (" + s.String() + ")"}
		}
	}
	return nil
}

// isLocal reports whether ip is one of this machine's addresses (loopback included).
func (e *Egress) isLocal(ip netip.Addr) bool {
	if ip.IsLoopback() {
		return true
	}
	for _, a := range e.local {
		if a == ip {
			return true
		}
	}
	return false
}

// Control is a net.Dialer.ControlContext function: it runs after the socket is created and before it
// connects, with the resolved address, and refuses the connection when Check does. An address it cannot
// parse is refused (fail closed).
func (e *Egress) Control(_ context.Context, network, address string, _ syscall.RawConn) error {
	if e == nil {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot check the %s address %q: %v", ErrEgressRefused, network, address, err)
	}
	return e.Check(ap)
}

// Dialer returns a dialer for connections under the policy: d (nil: a new one) with its ControlContext
// set to Control. With a nil e it returns d unchanged.
func (e *Egress) Dialer(d *net.Dialer) *net.Dialer {
	if d == nil {
		d = &net.Dialer{}
	}
	if e == nil {
		return d
	}
	c := *d
	c.ControlContext = e.Control
	c.Control = nil
	return &c
}
