package kafkatest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Credentials of the test bed. The real broker knows these users (SCRAM users
// are formatted into its storage, PLAIN users are in its JAAS config), and the
// secret JSON files in the PKI directory carry them.
const (
	PlainUser         = "sluice-plain"
	PlainPassword     = "plain-secret"
	Scram256User      = "sluice-scram256"
	Scram256Password  = "scram256-secret"
	Scram512User      = "sluice-scram512"
	Scram512Password  = "scram512-secret"
	KeyPassword       = "sluice-key-pass" // every encrypted client key
	WrongPassword     = "not-the-password"
	BrokerTLSHostname = "localhost" // the broker certificate's DNS name (127.0.0.1 is an IP SAN)
)

// PKIFiles are the paths of the generated test PKI. Keys are PEM; secrets are
// JSON files in the Secrets Manager formats Pipes reads:
// {"username","password"} for BasicAuth and SCRAM,
// {"certificate","privateKey","privateKeyPassword"} for
// ClientCertificateTlsAuth, {"certificate"} for ServerRootCaCertificate.
type PKIFiles struct {
	Dir string

	CA         string // ca.pem: the CA that signed the broker and client certificates
	BrokerCert string // broker.pem: CN=localhost, SANs localhost and 127.0.0.1
	ClientCert string // client.pem: the client certificate followed by the CA (a chain as Pipes expects)
	ClientKey  string // client-key.pem: plain PKCS#8 ("PRIVATE KEY")

	// Encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY") of the same key, password KeyPassword.
	ClientKeyPBES1MD5DES   string // PKCS#5 v1.5 pbeWithMD5AndDES-CBC
	ClientKeyPBES1SHA1DES  string // PKCS#5 v1.5 pbeWithSHA1AndDES-CBC
	ClientKeyPBES1SHA13DES string // PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC
	ClientKeyPBES2         string // PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC

	OtherCA         string // other-ca.pem: a CA the broker does not trust and that did not sign the broker
	OtherClientCert string // other-client.pem: a client certificate signed by OtherCA
	OtherClientKey  string // other-client-key.pem: its plain PKCS#8 key

	Secrets Secrets
}

// Secrets are the paths of ready secret JSON files.
type Secrets struct {
	Basic    string // basic.json: PlainUser / PlainPassword
	Scram256 string // scram256.json
	Scram512 string // scram512.json

	MTLSPlain         string // mtls-plain.json: no privateKeyPassword
	MTLSPBES1MD5DES   string // mtls-pbes1-md5-des.json
	MTLSPBES1SHA1DES  string // mtls-pbes1-sha1-des.json
	MTLSPBES1SHA13DES string // mtls-pbes1-sha1-3des.json
	MTLSPBES2         string // mtls-pbes2.json
	RootCA            string // rootca.json: the CA that signed the broker certificate

	// Failure cases.
	BasicWrongPassword    string // basic-wrong-password.json
	Scram256WrongPassword string // scram256-wrong-password.json
	Scram512WrongPassword string // scram512-wrong-password.json
	MTLSWrongKeyPassword  string // mtls-wrong-key-password.json: PBES2 key, wrong privateKeyPassword
	MTLSUntrusted         string // mtls-untrusted.json: a client certificate from OtherCA
	MTLSKeyMismatch       string // mtls-key-mismatch.json: certificate and key do not belong together
	RootCAUntrusted       string // rootca-untrusted.json: OtherCA, which did not sign the broker
	MalformedJSON         string // malformed-json.json: not JSON at all
	MalformedBasic        string // malformed-basic.json: no password member
	MalformedMTLS         string // malformed-mtls.json: certificate is not PEM
	MalformedRootCA       string // malformed-rootca.json: certificate is not PEM
}

// PKI returns the test PKI: the real broker's (SLUICE_KAFKA_PKI) when set,
// otherwise a fresh one generated with scripts/kafka/pki.sh into the test's
// temporary directory (skipped when openssl is missing, failed when
// SLUICE_KAFKA_REQUIRED=1). It does not need the broker.
func PKI(t testing.TB) PKIFiles {
	t.Helper()
	dir := os.Getenv(envPKI)
	if dir == "" {
		dir = generatePKI(t)
	}
	p := pkiFiles(dir)
	for _, f := range []string{p.CA, p.ClientKeyPBES2, p.Secrets.MalformedRootCA} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("test PKI in %s is incomplete: %v", dir, err)
		}
	}
	return p
}

func pkiFiles(dir string) PKIFiles {
	j := func(name string) string { return filepath.Join(dir, name) }
	return PKIFiles{
		Dir:                    dir,
		CA:                     j("ca.pem"),
		BrokerCert:             j("broker.pem"),
		ClientCert:             j("client.pem"),
		ClientKey:              j("client-key.pem"),
		ClientKeyPBES1MD5DES:   j("client-key-pbes1-md5-des.pem"),
		ClientKeyPBES1SHA1DES:  j("client-key-pbes1-sha1-des.pem"),
		ClientKeyPBES1SHA13DES: j("client-key-pbes1-sha1-3des.pem"),
		ClientKeyPBES2:         j("client-key-pbes2.pem"),
		OtherCA:                j("other-ca.pem"),
		OtherClientCert:        j("other-client.pem"),
		OtherClientKey:         j("other-client-key.pem"),
		Secrets: Secrets{
			Basic:                 j("basic.json"),
			Scram256:              j("scram256.json"),
			Scram512:              j("scram512.json"),
			MTLSPlain:             j("mtls-plain.json"),
			MTLSPBES1MD5DES:       j("mtls-pbes1-md5-des.json"),
			MTLSPBES1SHA1DES:      j("mtls-pbes1-sha1-des.json"),
			MTLSPBES1SHA13DES:     j("mtls-pbes1-sha1-3des.json"),
			MTLSPBES2:             j("mtls-pbes2.json"),
			RootCA:                j("rootca.json"),
			BasicWrongPassword:    j("basic-wrong-password.json"),
			Scram256WrongPassword: j("scram256-wrong-password.json"),
			Scram512WrongPassword: j("scram512-wrong-password.json"),
			MTLSWrongKeyPassword:  j("mtls-wrong-key-password.json"),
			MTLSUntrusted:         j("mtls-untrusted.json"),
			MTLSKeyMismatch:       j("mtls-key-mismatch.json"),
			RootCAUntrusted:       j("rootca-untrusted.json"),
			MalformedJSON:         j("malformed-json.json"),
			MalformedBasic:        j("malformed-basic.json"),
			MalformedMTLS:         j("malformed-mtls.json"),
			MalformedRootCA:       j("malformed-rootca.json"),
		},
	}
}

// generatePKI runs scripts/kafka/pki.sh into a temporary directory.
func generatePKI(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		unavailable(t, envKafkaRequired, "generating the test PKI needs openssl: %v", err)
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("locating scripts/kafka/pki.sh: no caller information")
	}
	script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "kafka", "pki.sh")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("generating the test PKI with %s: %v\n%s", script, err, out)
	}
	return dir
}
