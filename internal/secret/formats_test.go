package secret

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func secretJSON(t testing.TB, members map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseClientCertificate(t *testing.T) {
	rsaCrt, ecCrt := readTestdata(t, "rsa.crt"), readTestdata(t, "ec.crt")
	cases := []struct {
		name    string
		members map[string]string
		wantErr error // nil: success
	}{
		{"plain pkcs8", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa.key")}, nil},
		{"plain ec", map[string]string{"certificate": ecCrt, "privateKey": readTestdata(t, "ec.key")}, nil},
		{"pbes1 md5-des", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa-pbe-md5-des.key"), "privateKeyPassword": testPassword}, nil},
		{"pbes1 sha1-des", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa-pbe-sha1-des.key"), "privateKeyPassword": testPassword}, nil},
		{"pkcs12 sha1-3des", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa-pbe-sha1-3des.key"), "privateKeyPassword": testPassword}, nil},
		{"pbes2 aes-256", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa-pbes2-aes-256-cbc-hmacWithSHA256.key"), "privateKeyPassword": testPassword}, nil},
		{"pbes2 ec", map[string]string{"certificate": ecCrt, "privateKey": readTestdata(t, "ec-pbes2-aes-256-cbc.key"), "privateKeyPassword": testPassword}, nil},
		{"chain of two", map[string]string{"certificate": rsaCrt + ecCrt, "privateKey": readTestdata(t, "rsa.key")}, nil},
		{"indented pem", map[string]string{"certificate": indent(rsaCrt), "privateKey": indent(readTestdata(t, "rsa.key"))}, nil},
		{"crlf pem", map[string]string{"certificate": strings.ReplaceAll(rsaCrt, "\n", "\r\n"), "privateKey": readTestdata(t, "rsa.key")}, nil},
		{"wrong password", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa-pbe-md5-des.key"), "privateKeyPassword": "hunter2hunter2"}, ErrIncorrectPassword},
		{"missing password", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa-pbe-md5-des.key")}, ErrMalformed},
		{"key of another certificate", map[string]string{"certificate": ecCrt, "privateKey": readTestdata(t, "rsa.key")}, ErrMalformed},
		{"missing certificate", map[string]string{"privateKey": readTestdata(t, "rsa.key")}, ErrMalformed},
		{"missing key", map[string]string{"certificate": rsaCrt}, ErrMalformed},
		{"key is a certificate", map[string]string{"certificate": rsaCrt, "privateKey": rsaCrt}, ErrMalformed},
		{"certificate is a key", map[string]string{"certificate": readTestdata(t, "rsa.key"), "privateKey": readTestdata(t, "rsa.key")}, ErrMalformed},
		{"garbage after certificate", map[string]string{"certificate": rsaCrt + "trailing", "privateKey": readTestdata(t, "rsa.key")}, ErrMalformed},
		{"rc2 key", map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(t, "rsa-pbe-sha1-rc2-40.key"), "privateKeyPassword": testPassword}, ErrUnsupportedEncryption},
	}
	for _, c := range cases {
		cert, err := ParseClientCertificate(secretJSON(t, c.members))
		switch {
		case c.wantErr == nil && err != nil:
			t.Errorf("ParseClientCertificate(%s) error = %v, want nil", c.name, err)
		case c.wantErr == nil && (len(cert.Certificate) == 0 || cert.PrivateKey == nil || cert.Leaf == nil):
			t.Errorf("ParseClientCertificate(%s) = incomplete certificate %+v", c.name, cert)
		case c.wantErr != nil && !errors.Is(err, c.wantErr):
			t.Errorf("ParseClientCertificate(%s) error = %v, want %v", c.name, err, c.wantErr)
		}
		if err != nil {
			assertNoSecret(t, c.name, err, c.members["privateKeyPassword"], c.members["privateKey"])
		}
	}
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

// assertNoSecret fails when err's text contains the password or a line of key material.
func assertNoSecret(t *testing.T, name string, err error, password, key string) {
	t.Helper()
	msg := err.Error()
	if password != "" && strings.Contains(msg, password) {
		t.Errorf("%s: error %q contains the password", name, msg)
	}
	for _, line := range strings.Split(key, "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(msg, line) {
			t.Errorf("%s: error %q contains key material", name, msg)
		}
	}
}

func TestParseBasicAuth(t *testing.T) {
	cases := []struct {
		name     string
		data     string
		want     BasicAuth
		wantErr  bool
		password string
	}{
		{"ok", `{"username":"alice","password":"s3cr3t-pw"}`, BasicAuth{"alice", "s3cr3t-pw"}, false, ""},
		{"extra members ignored", `{"username":"bob","password":"pw","engine":"kafka"}`, BasicAuth{"bob", "pw"}, false, ""},
		{"missing password", `{"username":"alice"}`, BasicAuth{}, true, ""},
		{"empty username", `{"username":"","password":"pw"}`, BasicAuth{}, true, ""},
		{"number password", `{"username":"alice","password":12345678}`, BasicAuth{}, true, "12345678"},
		{"syntax error", `{"username":"alice","password":"s3cr3t-pw"`, BasicAuth{}, true, "s3cr3t-pw"},
		{"bad char", `{"username":"alice","password":s3cr3t-pw}`, BasicAuth{}, true, "s3cr3t-pw"},
		{"not an object", `"s3cr3t-pw"`, BasicAuth{}, true, "s3cr3t-pw"},
		{"plain text", `s3cr3t-pw`, BasicAuth{}, true, "s3cr3t-pw"},
	}
	for _, c := range cases {
		got, err := ParseBasicAuth([]byte(c.data))
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseBasicAuth(%s) = %v, %v; want %v, error %v", c.name, got, err, c.want, c.wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseBasicAuth(%s) error = %v, want ErrMalformed", c.name, err)
			}
			// "s" is the character encoding/json would quote in its own syntax error message.
			if c.password != "" && (strings.Contains(err.Error(), c.password) || strings.Contains(err.Error(), "'s'")) {
				t.Errorf("ParseBasicAuth(%s) error %q leaks secret text", c.name, err)
			}
		}
	}
	if s := (BasicAuth{"u", "topsecret"}).String(); strings.Contains(s, "topsecret") {
		t.Errorf("BasicAuth.String() = %q, shows the password", s)
	}
}

func TestParseRootCA(t *testing.T) {
	rsaCrt, ecCrt := readTestdata(t, "rsa.crt"), readTestdata(t, "ec.crt")
	cases := []struct {
		name    string
		data    []byte
		want    int
		wantErr bool
	}{
		{"one", secretJSON(t, map[string]string{"certificate": rsaCrt}), 1, false},
		{"two", secretJSON(t, map[string]string{"certificate": rsaCrt + "\n" + ecCrt}), 2, false},
		{"indented (the Pipes docs example)", secretJSON(t, map[string]string{"certificate": indent(rsaCrt)}), 1, false},
		{"empty", secretJSON(t, map[string]string{"certificate": ""}), 0, true},
		{"a key", secretJSON(t, map[string]string{"certificate": readTestdata(t, "rsa.key")}), 0, true},
		{"no pem", secretJSON(t, map[string]string{"certificate": "hello"}), 0, true},
		{"missing", []byte(`{}`), 0, true},
	}
	for _, c := range cases {
		got, err := ParseRootCA(c.data)
		if (err != nil) != c.wantErr || len(got) != c.want {
			t.Errorf("ParseRootCA(%s) = %d certificates, %v; want %d, error %v", c.name, len(got), err, c.want, c.wantErr)
		}
		if err == nil {
			pool := x509.NewCertPool()
			for _, cert := range got {
				pool.AddCert(cert)
			}
		}
	}
}

// fuzzIterations bounds key derivations while fuzzing: mutated iteration counts up to the production
// bound take seconds each and would starve the fuzzer; the seeds (OpenSSL's 2048) stay within it.
const fuzzIterations = 10000

// FuzzParseSecret feeds arbitrary secret text to every format parser: no panics, and every error is
// one of the package's sentinels.
func FuzzParseSecret(f *testing.F) {
	rsaCrt := readTestdata(f, "rsa.crt")
	for _, k := range []string{"rsa.key", "rsa-pbe-md5-des.key", "rsa-pbe-sha1-des.key", "rsa-pbe-sha1-3des.key",
		"rsa-pbe-sha1-2des.key", "rsa-pbe-sha1-rc4-40.key", "rsa-pbes2-aes-256-cbc-hmacWithSHA256.key", "rsa-pbes2-des3-hmacWithSHA1.key",
		"ec-pbes2-aes-256-cbc.key", "rsa-scrypt.key"} {
		f.Add(secretJSON(f, map[string]string{"certificate": rsaCrt, "privateKey": readTestdata(f, k), "privateKeyPassword": testPassword}))
	}
	f.Add([]byte(`{"username":"a","password":"b"}`))
	f.Add([]byte(`{"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sentinels := []error{ErrMalformed, ErrIncorrectPassword, ErrUnsupportedEncryption}
		check := func(fn string, err error) {
			if err == nil {
				return
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("%s error = %v, not one of the package's sentinel errors", fn, err)
		}
		_, err := parseClientCertificate(data, fuzzIterations)
		check("ParseClientCertificate", err)
		_, err = ParseBasicAuth(data)
		check("ParseBasicAuth", err)
		_, err = ParseRootCA(data)
		check("ParseRootCA", err)
	})
}

// FuzzDecryptPKCS8 mutates the DER of encrypted keys directly, reaching the ASN.1 and KDF parameter
// handling that the JSON/PEM layers of FuzzParseSecret rarely get to intact.
func FuzzDecryptPKCS8(f *testing.F) {
	for _, c := range encryptedKeys {
		f.Add(encryptedDER(f, c.file), []byte(testPassword))
	}
	f.Add(encryptedDER(f, "rsa-scrypt.key"), []byte(testPassword))
	f.Fuzz(func(t *testing.T, der, password []byte) {
		plain, err := decryptPKCS8(der, password, fuzzIterations)
		if err == nil && len(plain) == 0 {
			t.Fatalf("decryptPKCS8 returned no error and no key")
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrIncorrectPassword) && !errors.Is(err, ErrUnsupportedEncryption) {
			t.Fatalf("decryptPKCS8 error = %v, not a sentinel", err)
		}
	})
}
