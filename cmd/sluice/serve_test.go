package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
)

// serveBuffer is a bytes.Buffer safe for the server goroutine writing while the test reads.
type serveBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *serveBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *serveBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var reEndpoint = regexp.MustCompile(`Pipes API on (https?://\S+) `)

// startServe runs `sluice serve ARGS` in the background and returns its endpoint and a stop function
// that cancels it (like SIGTERM) and returns the exit code.
func startServe(t *testing.T, args ...string) (string, *serveBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &serveBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- cmdServe(ctx, args, stdio{in: strings.NewReader(""), out: &bytes.Buffer{}, err: stderr})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := reEndpoint.FindStringSubmatch(stderr.String()); m != nil {
			stopped := false
			stop := func() int {
				if stopped {
					return 0
				}
				stopped = true
				cancel()
				select {
				case c := <-code:
					return c
				case <-time.After(30 * time.Second):
					t.Fatal("sluice serve did not stop within 30s")
					return -1
				}
			}
			t.Cleanup(func() { stop() })
			return m[1], stderr, stop
		}
		select {
		case c := <-code:
			cancel()
			t.Fatalf("sluice serve exited with %d before serving:\n%s", c, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("sluice serve did not announce its endpoint:\n%s", stderr.String())
		}
	}
}

func TestServeRefusesUnauthenticatedNonLoopback(t *testing.T) {
	t.Setenv("SLUICE_ACCESS_KEY_ID", "")
	t.Setenv("SLUICE_SECRET_ACCESS_KEY", "")
	for _, listen := range []string{"0.0.0.0:0", ":0"} {
		var stderr bytes.Buffer
		code := cmdServe(context.Background(), []string{"--listen", listen, "--data-dir", t.TempDir()},
			stdio{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &stderr})
		if code != 2 || !strings.Contains(stderr.String(), "not loopback") {
			t.Errorf("serve --listen %s without keys = %d %q, want 2 and a refusal", listen, code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	code := cmdServe(context.Background(), []string{"--data-dir", t.TempDir(), "--access-key-id", "AKID"},
		stdio{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &stderr})
	if code != 2 {
		t.Errorf("serve with a key ID but no secret = %d, want 2", code)
	}
}

func TestServeLoopbackWithoutKeys(t *testing.T) {
	t.Setenv("SLUICE_ACCESS_KEY_ID", "")
	t.Setenv("SLUICE_SECRET_ACCESS_KEY", "")
	url, stderr, stop := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	if !strings.Contains(stderr.String(), "UNAUTHENTICATED") {
		t.Errorf("no warning about the unauthenticated API:\n%s", stderr.String())
	}
	resp, err := http.Get(url + "/v1/pipes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("unsigned ListPipes on an unauthenticated server = %d, want 200", resp.StatusCode)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestServeTLSWithKeysAndRestart(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[ops]\naws_access_key_id = AKIDSERVE\naws_secret_access_key = serve-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	args := []string{"--listen", "127.0.0.1:0", "--data-dir", data, "--credentials-file", creds,
		"--tls-cert", certFile, "--tls-key", keyFile, "--region", "eu-west-1", "--account", "123456789012"}
	url, _, stop := startServe(t, args...)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("endpoint %s is not https", url)
	}
	client := pipes.New(pipes.Options{
		BaseEndpoint: aws.String(url), Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSERVE", "serve-secret", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	ctx := context.Background()
	out, err := client.CreatePipe(ctx, &pipes.CreatePipeInput{
		Name: aws.String("kept"), Source: aws.String("smk://127.0.0.1:9092"), Target: aws.String("file://" + filepath.Join(data, "files", "kept.jsonl")),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), DesiredState: types.RequestedPipeStateStopped,
		SourceParameters: &types.PipeSourceParameters{SelfManagedKafkaParameters: &types.PipeSourceSelfManagedKafkaParameters{TopicName: aws.String("t")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:pipes:eu-west-1:123456789012:pipe/kept" {
		t.Errorf("Arn = %s", got)
	}
	// Unsigned requests are refused; probes are not.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, err := hc.Get(url + "/v1/pipes"); err != nil || resp.StatusCode != 403 {
		t.Errorf("unsigned ListPipes = %v %v, want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := hc.Get(url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /healthz = %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code = %d", code)
	}

	// The pipe survives a restart.
	url, _, _ = startServe(t, args...)
	client = pipes.New(pipes.Options{
		BaseEndpoint: aws.String(url), Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSERVE", "serve-secret", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	d, err := client.DescribePipe(ctx, &pipes.DescribePipeInput{Name: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if d.CurrentState != types.PipeStateStopped {
		t.Errorf("after restart CurrentState = %s, want STOPPED", d.CurrentState)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and returns its files and a pool trusting it.
func selfSigned(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
