// Package kafkaauth turns a pipe's Kafka credentials into franz-go client options. It is shared by the
// Kafka source and the Kafka target so that both connect the same way.
//
// Modes, as EventBridge Pipes offers them for self-managed Kafka:
//
//   - no mechanism and no root CA: PLAINTEXT;
//   - no mechanism with a root CA: TLS without client authentication;
//   - PLAIN, SCRAM-SHA-256, SCRAM-SHA-512: SASL, always over TLS (username/password secret);
//   - MTLS: TLS with a client certificate (certificate/privateKey/privateKeyPassword secret).
//
// TLS always verifies the broker's certificate and host name against the system roots plus, when given,
// the ServerRootCaCertificate secret's certificates; there is no way to turn verification off.
//
// Egress: under the operator's policy (Auth.Egress, from plugin.Env.Sandbox.Egress) every connection the
// client makes is checked in the dialer, after DNS resolution and before connecting: the seed brokers and
// every broker the cluster's metadata advertises, so a cluster cannot steer the client to a refused
// address either. A refusal wraps sandbox.ErrEgressRefused.
package kafkaauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
)

// DefaultDialTimeout bounds a connection (TCP connect and TLS handshake) when Auth.DialTimeout is zero;
// it is franz-go's own default.
const DefaultDialTimeout = 10 * time.Second

// Mechanisms.
const (
	None        = ""
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
	MTLS        = "MTLS"
)

// Auth is how to authenticate to a cluster.
type Auth struct {
	// Mechanism is one of None, Plain, ScramSHA256, ScramSHA512, MTLS.
	Mechanism string
	// SecretRef references the credentials secret (required unless Mechanism is None).
	SecretRef string
	// RootCARef references the ServerRootCaCertificate secret (optional).
	RootCARef string
	// Egress is the operator's egress policy, checked on every broker connection; nil allows any address.
	Egress *sandbox.Egress
	// OnRefused, when set, is called with each connection Egress refuses. franz-go retries a refused
	// dial like any failed one (a produce until its delivery timeout), so a caller that can end its
	// requests at once, as the Kafka target does, learns of the refusal here.
	OnRefused func(error)
	// DialTimeout bounds a connection, TLS handshake included; zero means DefaultDialTimeout. When
	// Options returns a dialer (TLS or an egress policy) it replaces franz-go's, and kgo.DialTimeout no
	// longer applies.
	DialTimeout time.Duration
}

// DialViaEnv names an environment variable for tests only: when it holds host:port, every PLAINTEXT
// broker connection of the process is dialled to that address instead of the broker's (a TCP proxy the test
// can cut, simulating a network partition of one node from Kafka, since brokers advertise their own
// addresses in metadata). Unset in production: the broker's own address is dialled.
const DialViaEnv = "SLUICE_TEST_KAFKA_DIAL_VIA"

// ErrUnsupportedMechanism is returned for a Mechanism outside the supported set.
var ErrUnsupportedMechanism = errors.New("unsupported authentication mechanism")

// ErrNoSecret is returned when a mechanism needs a secret and none is referenced, or no resolver is given.
var ErrNoSecret = errors.New("no secret")

// TLS reports whether connections with a use TLS.
func (a Auth) TLS() bool { return a.Mechanism != None || a.RootCARef != "" }

// Options resolves a's secrets and returns the client options that authenticate with them, and the
// dialer that applies a.Egress and TLS. Errors name the secret reference and the cause and never contain
// secret material.
func Options(ctx context.Context, a Auth, secrets plugin.SecretResolver) ([]kgo.Opt, error) {
	switch a.Mechanism {
	case None, Plain, ScramSHA256, ScramSHA512, MTLS:
	default:
		return nil, fmt.Errorf("%w %q (want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or MTLS)", ErrUnsupportedMechanism, a.Mechanism)
	}
	if !a.TLS() {
		if a.Egress == nil && os.Getenv(DialViaEnv) == "" {
			return nil, nil // franz-go's own dialer
		}
		return []kgo.Opt{kgo.Dialer(a.dialer(nil))}, nil
	}
	if a.Mechanism != None && a.SecretRef == "" {
		return nil, fmt.Errorf("authentication %s: %w referenced", a.Mechanism, ErrNoSecret)
	}
	if secrets == nil {
		return nil, fmt.Errorf("authentication %s: %w resolver", a.Mechanism, ErrNoSecret)
	}
	tc, err := tlsConfig(ctx, a.RootCARef, secrets)
	if err != nil {
		return nil, err
	}
	// tc is completed below (client certificate) before the client can dial.
	opts := []kgo.Opt{kgo.Dialer(a.dialer(tc))}
	switch a.Mechanism {
	case Plain, ScramSHA256, ScramSHA512:
		data, err := secrets.Resolve(ctx, a.SecretRef)
		if err != nil {
			return nil, err
		}
		ba, err := secret.ParseBasicAuth(data)
		if err != nil {
			return nil, fmt.Errorf("parsing %s secret %s: %w", a.Mechanism, a.SecretRef, err)
		}
		switch a.Mechanism {
		case Plain:
			opts = append(opts, kgo.SASL(plain.Auth{User: ba.Username, Pass: ba.Password}.AsMechanism()))
		case ScramSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: ba.Username, Pass: ba.Password}.AsSha256Mechanism()))
		case ScramSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: ba.Username, Pass: ba.Password}.AsSha512Mechanism()))
		}
	case MTLS:
		data, err := secrets.Resolve(ctx, a.SecretRef)
		if err != nil {
			return nil, err
		}
		cert, err := secret.ParseClientCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("parsing client certificate secret %s: %w", a.SecretRef, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return opts, nil
}

// CheckBrokers returns the refusal of e (wrapping sandbox.ErrEgressRefused) for the first of brokers
// given as an IP address and port that e refuses, so that a pipe naming one fails when it is built,
// before any client exists. Host names are resolved, and checked, only when dialled.
func CheckBrokers(e *sandbox.Egress, brokers []string) error {
	if e == nil {
		return nil
	}
	for _, b := range brokers {
		ap, err := netip.ParseAddrPort(b)
		if err != nil {
			continue // a host name, or malformed: the dialer decides
		}
		if err := e.Check(ap); err != nil {
			return fmt.Errorf("broker %s: %w", b, err)
		}
	}
	return nil
}

// dialer returns the dial function of a client: a net.Dialer whose Control applies a.Egress, wrapped
// in TLS with tc when tc is not nil. franz-go refuses kgo.DialTLSConfig together with kgo.Dialer, so the
// TLS part is done here as kgo.DialTLSConfig does it: a copy of tc per connection, its ServerName set to
// the broker's host so that the host name is verified.
func (a Auth) dialer(tc *tls.Config) func(ctx context.Context, network, host string) (net.Conn, error) {
	timeout := a.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	nd := a.Egress.Dialer(&net.Dialer{Timeout: timeout})
	dial := nd.DialContext
	if via := os.Getenv(DialViaEnv); via != "" && tc == nil {
		// Test hook (see DialViaEnv): every PLAINTEXT connection goes to via.
		dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return nd.DialContext(ctx, network, via)
		}
	}
	if tc != nil {
		dial = func(ctx context.Context, network, host string) (net.Conn, error) {
			c := tc.Clone()
			if c.ServerName == "" {
				server, _, err := net.SplitHostPort(host)
				if err != nil {
					return nil, fmt.Errorf("broker address %q: %w", host, err)
				}
				c.ServerName = server
			}
			return (&tls.Dialer{NetDialer: nd, Config: c}).DialContext(ctx, network, host)
		}
	}
	if a.OnRefused == nil {
		return dial
	}
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		conn, err := dial(ctx, network, host)
		if errors.Is(err, sandbox.ErrEgressRefused) {
			a.OnRefused(err)
		}
		return conn, err
	}
}

// tlsConfig trusts the system roots plus the certificates of the root CA secret, if any.
func tlsConfig(ctx context.Context, rootCARef string, secrets plugin.SecretResolver) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if rootCARef != "" {
		data, err := secrets.Resolve(ctx, rootCARef)
		if err != nil {
			return nil, err
		}
		cas, err := secret.ParseRootCA(data)
		if err != nil {
			return nil, fmt.Errorf("parsing server root CA secret %s: %w", rootCARef, err)
		}
		for _, c := range cas {
			pool.AddCert(c)
		}
	}
	// kgo fills ServerName from each broker's host, so host names are verified too.
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
