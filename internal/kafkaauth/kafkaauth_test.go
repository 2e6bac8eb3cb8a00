package kafkaauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/secret"
)

// tlsCluster starts kfake serving TLS with the test PKI's broker certificate; with clientCA, client
// certificates signed by it are required; with sasl, the test bed's SASL users are configured.
func tlsCluster(t *testing.T, pki kafkatest.PKIFiles, requireClientCert, sasl bool) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.BrokerCert, filepath.Join(pki.Dir, "broker-key.pem"))
	if err != nil {
		t.Fatalf("loading the broker certificate: %v", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		caPEM, err := os.ReadFile(pki.CA)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.TLS(tc)}
	if sasl {
		opts = append(opts, kfake.EnableSASL(),
			kfake.Superuser("PLAIN", kafkatest.PlainUser, kafkatest.PlainPassword),
			kfake.Superuser("SCRAM-SHA-256", kafkatest.Scram256User, kafkatest.Scram256Password),
			kfake.Superuser("SCRAM-SHA-512", kafkatest.Scram512User, kafkatest.Scram512Password))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// ping connects with a's options and asks for metadata.
func ping(t *testing.T, addr string, a Auth) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts, err := Options(ctx, a, &secret.Resolver{})
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addr), kgo.RequestRetries(0))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).BrokerMetadata(ctx)
	return err
}

func ref(p string) string { return "file://" + p }

func TestOptionsOnKfake(t *testing.T) {
	pki := kafkatest.PKI(t)
	s := pki.Secrets
	ca := ref(s.RootCA)
	saslAddr := tlsCluster(t, pki, false, true)
	mtlsAddr := tlsCluster(t, pki, true, false)
	cases := []struct {
		name    string
		addr    string
		auth    Auth
		wantErr bool
	}{
		{"PLAIN", saslAddr, Auth{Mechanism: Plain, SecretRef: ref(s.Basic), RootCARef: ca}, false},
		{"SCRAM-SHA-256", saslAddr, Auth{Mechanism: ScramSHA256, SecretRef: ref(s.Scram256), RootCARef: ca}, false},
		{"SCRAM-SHA-512", saslAddr, Auth{Mechanism: ScramSHA512, SecretRef: ref(s.Scram512), RootCARef: ca}, false},
		{"SCRAM-SHA-512 wrong password", saslAddr, Auth{Mechanism: ScramSHA512, SecretRef: ref(s.Scram512WrongPassword), RootCARef: ca}, true},
		{"PLAIN untrusted root CA", saslAddr, Auth{Mechanism: Plain, SecretRef: ref(s.Basic), RootCARef: ref(s.RootCAUntrusted)}, true},
		{"PLAIN without root CA (system roots only)", saslAddr, Auth{Mechanism: Plain, SecretRef: ref(s.Basic), RootCARef: ""}, true},
		{"mTLS plain key", mtlsAddr, Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSPlain), RootCARef: ca}, false},
		{"mTLS PBES1 MD5-DES", mtlsAddr, Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSPBES1MD5DES), RootCARef: ca}, false},
		{"mTLS PBES1 SHA1-DES", mtlsAddr, Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSPBES1SHA1DES), RootCARef: ca}, false},
		{"mTLS PKCS#12 SHA1-3DES", mtlsAddr, Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSPBES1SHA13DES), RootCARef: ca}, false},
		{"mTLS PBES2", mtlsAddr, Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSPBES2), RootCARef: ca}, false},
		{"mTLS untrusted client", mtlsAddr, Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSUntrusted), RootCARef: ca}, true},
		{"TLS without client certificate", mtlsAddr, Auth{Mechanism: None, SecretRef: "", RootCARef: ca}, true},
	}
	for _, c := range cases {
		begun := time.Now()
		err := ping(t, c.addr, c.auth)
		t.Logf("connect(%s) took %s: %v", c.name, time.Since(begun).Round(time.Millisecond), err)
		if (err != nil) != c.wantErr {
			t.Errorf("connect(%s) error = %v, want error %v", c.name, err, c.wantErr)
		}
	}
}

func TestOptions(t *testing.T) {
	pki := kafkatest.PKI(t)
	s := pki.Secrets
	r := &secret.Resolver{}
	cases := []struct {
		name     string
		auth     Auth
		resolver bool
		wantOpts int
		wantErr  error
	}{
		{"plaintext", Auth{}, false, 0, nil},
		{"TLS only", Auth{RootCARef: ref(s.RootCA)}, true, 1, nil},
		{"PLAIN", Auth{Mechanism: Plain, SecretRef: ref(s.Basic), RootCARef: ""}, true, 2, nil},
		{"MTLS", Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSPBES2), RootCARef: ""}, true, 1, nil},
		{"unknown mechanism", Auth{Mechanism: "OAUTHBEARER", SecretRef: ref(s.Basic), RootCARef: ""}, true, 0, ErrUnsupportedMechanism},
		{"no secret", Auth{Mechanism: ScramSHA256, SecretRef: "", RootCARef: ""}, true, 0, ErrNoSecret},
		{"no resolver", Auth{Mechanism: ScramSHA256, SecretRef: ref(s.Scram256), RootCARef: ""}, false, 0, ErrNoSecret},
		{"wrong key password", Auth{Mechanism: MTLS, SecretRef: ref(s.MTLSWrongKeyPassword), RootCARef: ""}, true, 0, secret.ErrIncorrectPassword},
		{"malformed root CA", Auth{Mechanism: Plain, SecretRef: ref(s.Basic), RootCARef: ref(s.MalformedRootCA)}, true, 0, secret.ErrMalformed},
	}
	for _, c := range cases {
		var opts []kgo.Opt
		var err error
		if c.resolver {
			opts, err = Options(context.Background(), c.auth, r)
		} else {
			opts, err = Options(context.Background(), c.auth, nil)
		}
		if len(opts) != c.wantOpts || !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
			t.Errorf("Options(%s) = %d options, %v; want %d, %v", c.name, len(opts), err, c.wantOpts, c.wantErr)
		}
	}
	if (Auth{}).TLS() || !(Auth{Mechanism: Plain}).TLS() || !(Auth{RootCARef: "x"}).TLS() {
		t.Error("Auth.TLS() wrong: want TLS for any mechanism or root CA, plaintext otherwise")
	}
}
