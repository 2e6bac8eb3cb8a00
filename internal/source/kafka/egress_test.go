package kafka

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
)

// listenerAddrs resolves a test listener's host:port to the addresses the client may dial.
func listenerAddrs(t *testing.T, hostport string) []netip.AddrPort {
	t.Helper()
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(t.Context(), "ip", host)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.AddrPort
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(p)))
	}
	return out
}

// TestEgressRealBroker runs the source under an egress policy on the real broker's TLS listeners (named
// localhost): allowed, it consumes through the policy's dialer with TLS and host name verification;
// with the listener standing for the server's own, New fails with the refusal, not as an unreachable
// broker (which would be retried).
func TestEgressRealBroker(t *testing.T) {
	c := kafkatest.Real(t)
	l := kafkatest.RealListeners(t)
	s := kafkatest.PKI(t).Secrets
	ca := fileRef(s.RootCA)
	cases := []struct {
		name, broker string
		auth         kafkaauth.Auth
	}{
		{"mTLS", l.TLS, kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPlain), RootCARef: ca}},
		{"SASL SCRAM-SHA-512", l.SASL, kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA512, SecretRef: fileRef(s.Scram512), RootCARef: ca}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			c.Produce(t, records(topic, 0, 0, 3)...)
			cfg := testConfig(t, c, topic)
			cfg.Brokers = []string{tc.broker}
			cfg.Auth = tc.auth
			cfg.Auth.Egress = sandbox.NewEgress(nil, nil) // restricted, but localhost is allowed
			cfg.Secrets = &secret.Resolver{}
			k := newSink()
			stop := start(t, newSource(t, cfg), k.handler)
			k.waitFor(t, 3, 60*time.Second)
			if err := stop(); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			checkContiguous(t, "partition 0", k.offsets[0], 0, 3)

			cfg.Auth.Egress = sandbox.NewEgress(nil, listenerAddrs(t, tc.broker))
			cfg.ConnectTimeout = 5 * time.Second
			_, err := New(t.Context(), cfg)
			if !errors.Is(err, sandbox.ErrEgressRefused) || errors.Is(err, ErrBrokerUnreachable) {
				t.Fatalf("New with %s refused = %v, want ErrEgressRefused (and not ErrBrokerUnreachable)", tc.broker, err)
			}
			if !strings.Contains(err.Error(), "--allow-egress") || !strings.Contains(err.Error(), cfg.Pipe) {
				t.Errorf("error %q does not name the pipe and --allow-egress", err)
			}
		})
	}
}
