package secret

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPassword = "testpassword"

// plainKey returns the unencrypted PKCS#8 DER of testdata/<name>.key.
func plainKey(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("testdata/%s.key is not a PKCS#8 PEM key", name)
	}
	return block.Bytes
}

func encryptedDER(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" {
		t.Fatalf("testdata/%s is not an encrypted PKCS#8 PEM key", file)
	}
	return block.Bytes
}

// The keys in testdata were written by OpenSSL 3 (see testdata/README.md for the commands).
var encryptedKeys = []struct {
	file  string
	plain string // the unencrypted key it was made from
}{
	{"rsa-pbe-md5-des.key", "rsa"},
	{"rsa-pbe-sha1-des.key", "rsa"},
	{"rsa-pbe-sha1-3des.key", "rsa"},
	{"rsa-pbe-sha1-2des.key", "rsa"},
	{"rsa-pbe-sha1-rc4-128.key", "rsa"},
	{"rsa-pbe-sha1-rc4-40.key", "rsa"},
	{"rsa-pbes2-aes-128-cbc-hmacWithSHA1.key", "rsa"},
	{"rsa-pbes2-aes-128-cbc-hmacWithSHA256.key", "rsa"},
	{"rsa-pbes2-aes-128-cbc-hmacWithSHA512.key", "rsa"},
	{"rsa-pbes2-aes-192-cbc-hmacWithSHA1.key", "rsa"},
	{"rsa-pbes2-aes-192-cbc-hmacWithSHA256.key", "rsa"},
	{"rsa-pbes2-aes-192-cbc-hmacWithSHA512.key", "rsa"},
	{"rsa-pbes2-aes-256-cbc-hmacWithSHA1.key", "rsa"},
	{"rsa-pbes2-aes-256-cbc-hmacWithSHA256.key", "rsa"},
	{"rsa-pbes2-aes-256-cbc-hmacWithSHA512.key", "rsa"},
	{"rsa-pbes2-des3-hmacWithSHA1.key", "rsa"},
	{"rsa-pbes2-des3-hmacWithSHA256.key", "rsa"},
	{"rsa-pbes2-des3-hmacWithSHA512.key", "rsa"},
	{"rsa-pbes2-des-hmacWithSHA1.key", "rsa"},
	{"rsa-pbes2-des-hmacWithSHA256.key", "rsa"},
	{"rsa-pbes2-des-hmacWithSHA512.key", "rsa"},
	{"ec-pbe-sha1-3des.key", "ec"},
	{"ec-pbes2-aes-256-cbc.key", "ec"},
}

func TestDecryptPKCS8(t *testing.T) {
	for _, c := range encryptedKeys {
		t.Run(c.file, func(t *testing.T) {
			got, err := decryptPKCS8(encryptedDER(t, c.file), []byte(testPassword), maxIterations)
			if err != nil {
				t.Fatalf("decryptPKCS8(%s) error = %v, want nil", c.file, err)
			}
			if want := plainKey(t, c.plain); string(got) != string(want) {
				t.Fatalf("decryptPKCS8(%s) = %d bytes differing from testdata/%s.key", c.file, len(got), c.plain)
			}
			if _, err := x509.ParsePKCS8PrivateKey(got); err != nil {
				t.Fatalf("decryptPKCS8(%s) result does not parse: %v", c.file, err)
			}
		})
	}
}

func TestDecryptPKCS8WrongPassword(t *testing.T) {
	for _, c := range encryptedKeys {
		for _, pw := range []string{"wrongpassword", "testpassworD", "x"} {
			_, err := decryptPKCS8(encryptedDER(t, c.file), []byte(pw), maxIterations)
			if !errors.Is(err, ErrIncorrectPassword) {
				t.Errorf("decryptPKCS8(%s, %q) error = %v, want ErrIncorrectPassword", c.file, pw, err)
			}
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("decryptPKCS8(%s) error %q contains the password", c.file, err)
			}
		}
	}
}

func TestDecryptPKCS8Unsupported(t *testing.T) {
	cases := []struct {
		file string
		name string // what the error must name
	}{
		{"rsa-pbe-sha1-rc2-40.key", "pbeWithSHAAnd40BitRC2-CBC"},
		{"rsa-pbe-md5-rc2-64.key", "pbeWithMD5AndRC2-CBC"},
		{"rsa-scrypt.key", "scrypt"},
	}
	for _, c := range cases {
		_, err := decryptPKCS8(encryptedDER(t, c.file), []byte(testPassword), maxIterations)
		if !errors.Is(err, ErrUnsupportedEncryption) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("decryptPKCS8(%s) error = %v, want ErrUnsupportedEncryption naming %s", c.file, err, c.name)
		}
	}
}

func TestDecryptPKCS8Malformed(t *testing.T) {
	good := encryptedDER(t, "rsa-pbes2-aes-256-cbc-hmacWithSHA256.key")
	cases := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not der at all")},
		{"truncated", good[:len(good)/2]},
		{"trailing data", append(append([]byte{}, good...), 0)},
		{"plain key instead", plainKey(t, "rsa")},
	}
	for _, c := range cases {
		_, err := decryptPKCS8(c.der, []byte(testPassword), maxIterations)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("decryptPKCS8(%s) error = %v, want ErrMalformed", c.name, err)
		}
	}
}

// TestPKCS12KDFLengths checks the KDF's output structure for lengths around the SHA-1 block boundaries;
// its values are checked end to end by the OpenSSL-written 3DES, 2-key 3DES and RC4 keys above.
func TestPKCS12KDFLengths(t *testing.T) {
	pw, _ := bmpString([]byte("pw"))
	for _, n := range []int{1, 8, 16, 20, 21, 24, 40, 64, 65} {
		k := pkcs12KDF(pw, []byte("saltsalt"), 3, 1, n)
		if len(k) != n {
			t.Errorf("pkcs12KDF(n=%d) returned %d bytes", n, len(k))
		}
		// A longer output must extend a shorter one (the output is A1 || A2 || ...).
		long := pkcs12KDF(pw, []byte("saltsalt"), 3, 1, 80)
		if string(long[:n]) != string(k) {
			t.Errorf("pkcs12KDF(n=%d) is not a prefix of the 80-byte output", n)
		}
	}
}
