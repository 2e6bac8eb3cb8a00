package kafkaauth

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// refusing returns the policy that treats addr as the server's own listener (refused), and the same
// policy with addr opened by --allow-egress. Only loopback listeners of the test are dialled.
func refusing(t *testing.T, addr string) (refused, opened *sandbox.Egress) {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatalf("broker address %q: %v", addr, err)
	}
	self := []netip.AddrPort{ap}
	return sandbox.NewEgress(nil, self), sandbox.NewEgress([]netip.Prefix{netip.PrefixFrom(ap.Addr(), ap.Addr().BitLen())}, self)
}

// TestOptionsEgress checks that the policy is applied on PLAINTEXT, SASL over TLS and mTLS connections,
// and that the dialer replacing kgo.DialTLSConfig still speaks TLS with host name verification.
func TestOptionsEgress(t *testing.T) {
	pki := kafkatest.PKI(t)
	s := pki.Secrets
	ca := ref(s.RootCA)
	plain, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	cases := []struct {
		name string
		addr string
		auth Auth
	}{
		{"PLAINTEXT", plain.ListenAddrs()[0], Auth{}},
		{"SASL SCRAM-SHA-512 over TLS", tlsCluster(t, pki, false, true), Auth{Mechanism: ScramSHA512, SecretRef: ref(s.Scram512), RootCARef: ca}},
		{"mTLS", tlsCluster(t, pki, true, false), Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSPlain), RootCARef: ca}},
		{"TLS without authentication", tlsCluster(t, pki, false, false), Auth{RootCARef: ca}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refused, opened := refusing(t, c.addr)
			a := c.auth
			a.Egress = refused
			err := ping(t, c.addr, a)
			if !errors.Is(err, sandbox.ErrEgressRefused) {
				t.Fatalf("ping under a policy refusing %s = %v, want ErrEgressRefused", c.addr, err)
			}
			for _, want := range []string{c.addr, "--allow-egress"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			a.Egress = opened
			if err := ping(t, c.addr, a); err != nil {
				t.Fatalf("ping with %s opened by --allow-egress: %v", c.addr, err)
			}
		})
	}

	// The TLS dialer sets ServerName from the broker's host, as kgo.DialTLSConfig does: dialled as
	// localhost, the certificate's DNS name is verified (above, its 127.0.0.1 IP name was).
	addr := tlsCluster(t, pki, false, false)
	a := Auth{RootCARef: ca, Egress: sandbox.NewEgress(nil, nil)}
	if err := ping(t, strings.Replace(addr, "127.0.0.1", "localhost", 1), a); err != nil {
		t.Errorf("TLS to localhost (a name the certificate holds): %v", err)
	}
}

// TestOptionsEgressAdvertisedBroker checks that brokers learnt from metadata are dialled through the
// policy too: a cluster cannot steer the client to a refused address by advertising it.
func TestOptionsEgressAdvertisedBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	seed := c.ListenAddrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	probe, err := kgo.NewClient(kgo.SeedBrokers(seed))
	if err != nil {
		t.Fatal(err)
	}
	md, err := kadm.NewClient(probe).BrokerMetadata(ctx)
	probe.Close()
	if err != nil {
		t.Fatal(err)
	}
	var other kadm.BrokerDetail
	for _, b := range md.Brokers {
		if netip.AddrPortFrom(netip.MustParseAddr(b.Host), uint16(b.Port)).String() != seed {
			other = b
		}
	}
	if other.Host == "" {
		t.Fatalf("no broker other than the seed %s in %v", seed, md.Brokers)
	}
	otherAddr := netip.AddrPortFrom(netip.MustParseAddr(other.Host), uint16(other.Port)).String()
	refused, _ := refusing(t, otherAddr)

	opts, err := Options(ctx, Auth{Egress: refused}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(seed), kgo.RequestRetries(0))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).BrokerMetadata(ctx); err != nil {
		t.Fatalf("metadata from the allowed seed %s: %v", seed, err)
	}
	_, err = cl.Broker(int(other.NodeID)).Request(ctx, kmsg.NewPtrApiVersionsRequest())
	if !errors.Is(err, sandbox.ErrEgressRefused) || !strings.Contains(err.Error(), otherAddr) {
		t.Fatalf("request to advertised broker %d at %s = %v, want a refusal naming it", other.NodeID, otherAddr, err)
	}
}
