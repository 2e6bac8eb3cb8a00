package kafkatest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// These tests prove the test bed itself: every listener and auth mode of the
// real broker accepts the PKI's credentials and refuses wrong ones.

// tlsConfig trusts the test CA and, when certFile is set, presents a client
// certificate.
func tlsConfig(t *testing.T, caFile, certFile, keyFile string) *tls.Config {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("no certificate in %s", caFile)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: BrokerTLSHostname, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatalf("loading %s and %s: %v", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

// roundTrip produces one record through opts and reads it back through the
// same listener.
func roundTrip(t *testing.T, c *Cluster, addr string, opts ...kgo.Opt) error {
	t.Helper()
	topic := c.CreateTopic(t, 1)
	base := append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(1), kgo.RetryTimeout(10 * time.Second)}, opts...)
	cl, err := kgo.NewClient(append(base, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	want := "hello " + topic
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(want)}).FirstErr(); err != nil {
		return fmt.Errorf("producing: %w", err)
	}
	for {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("fetching: %w", err)
		}
		var got string
		fs.EachRecord(func(r *kgo.Record) { got = string(r.Value) })
		if got != "" {
			if got != want {
				return fmt.Errorf("read %q, want %q", got, want)
			}
			return nil
		}
	}
}

func TestRealListeners(t *testing.T) {
	c := Real(t)
	l := RealListeners(t)
	p := PKI(t)
	trust := tlsConfig(t, p.CA, "", "")
	mtls := tlsConfig(t, p.CA, p.ClientCert, p.ClientKey)
	other := tlsConfig(t, p.CA, p.OtherClientCert, p.OtherClientKey)
	untrusting := tlsConfig(t, p.OtherCA, p.ClientCert, p.ClientKey)
	mech := func(m sasl.Mechanism) kgo.Opt { return kgo.SASL(m) }

	tests := []struct {
		name    string
		addr    string
		opts    []kgo.Opt
		wantErr func(error) bool // nil: the round trip must succeed
	}{
		{"plaintext", l.Plaintext, nil, nil},
		{"mtls", l.TLS, []kgo.Opt{kgo.DialTLSConfig(mtls)}, nil},
		{"mtls without client certificate", l.TLS, []kgo.Opt{kgo.DialTLSConfig(trust)}, isTLSRefusal},
		{"mtls with untrusted client certificate", l.TLS, []kgo.Opt{kgo.DialTLSConfig(other)}, isTLSRefusal},
		{"mtls with untrusted broker", l.TLS, []kgo.Opt{kgo.DialTLSConfig(untrusting)}, isUnknownAuthority},
		{"sasl plain", l.SASL, []kgo.Opt{kgo.DialTLSConfig(trust), mech(plain.Auth{User: PlainUser, Pass: PlainPassword}.AsMechanism())}, nil},
		{"sasl plain wrong password", l.SASL, []kgo.Opt{kgo.DialTLSConfig(trust), mech(plain.Auth{User: PlainUser, Pass: WrongPassword}.AsMechanism())}, isAuthFailure},
		{"scram-sha-256", l.SASL, []kgo.Opt{kgo.DialTLSConfig(trust), mech(scram.Auth{User: Scram256User, Pass: Scram256Password}.AsSha256Mechanism())}, nil},
		{"scram-sha-256 wrong password", l.SASL, []kgo.Opt{kgo.DialTLSConfig(trust), mech(scram.Auth{User: Scram256User, Pass: WrongPassword}.AsSha256Mechanism())}, isAuthFailure},
		{"scram-sha-512", l.SASL, []kgo.Opt{kgo.DialTLSConfig(trust), mech(scram.Auth{User: Scram512User, Pass: Scram512Password}.AsSha512Mechanism())}, nil},
		{"scram-sha-512 wrong password", l.SASL, []kgo.Opt{kgo.DialTLSConfig(trust), mech(scram.Auth{User: Scram512User, Pass: WrongPassword}.AsSha512Mechanism())}, isAuthFailure},
		{"scram-sha-512 user with sha-256", l.SASL, []kgo.Opt{kgo.DialTLSConfig(trust), mech(scram.Auth{User: Scram512User, Pass: Scram512Password}.AsSha256Mechanism())}, isAuthFailure},
		{"sasl listener without tls", l.SASL, []kgo.Opt{mech(plain.Auth{User: PlainUser, Pass: PlainPassword}.AsMechanism())}, isAnyError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr == nil {
				if err := roundTrip(t, c, tt.addr, tt.opts...); err != nil {
					t.Errorf("round trip via %s: %v", tt.addr, err)
				}
				return
			}
			err := ping(tt.addr, tt.opts...)
			t.Logf("refused: %v", err)
			if err == nil || !tt.wantErr(err) {
				t.Errorf("ping via %s: error = %v, want a refusal of this kind", tt.addr, err)
			}
		})
	}
}

// ping asks the broker for metadata once, with few retries, and returns why
// it failed.
func ping(addr string, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second)}, opts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	return err
}

func isAuthFailure(err error) bool { return errors.Is(err, kerr.SaslAuthenticationFailed) }

func isUnknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}

// isTLSRefusal: the broker ended the handshake with an alert because of the
// client certificate; crypto/tls reports a received alert as a *net.OpError
// whose Op is "remote error".
func isTLSRefusal(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// isAnyError accepts every error: franz-go reports a plaintext client talking
// to a TLS listener as an oversized response, with no exported error type.
func isAnyError(error) bool { return true }

// TestBrokerControl proves ctl.sh restart, stop/start and kill: records
// written before each are still there after it, the broker serves again, and
// while stopped it does not answer.
func TestBrokerControl(t *testing.T) {
	c := Real(t)
	topic := c.CreateTopic(t, 1)
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte("before restart")})
	RestartBroker(t)
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte("before stop")})
	StopBroker(t)
	if err := dialCheck(c.Bootstrap[0]); err == nil {
		t.Errorf("dialing %s after StopBroker succeeded, want refused", c.Bootstrap[0])
	}
	StartBroker(t)
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte("before kill")})
	KillBroker(t)
	StartBroker(t)
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte("after")})
	got := consume(t, c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), 4)
	if want := "before restart,before stop,before kill,after"; strings.Join(got[0], ",") != want {
		t.Errorf("after restart, stop/start and kill/start the topic holds %q, want %s", got[0], want)
	}
}
