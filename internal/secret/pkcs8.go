package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rc4"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
	"unicode/utf16"
	"unicode/utf8"
)

// maxIterations bounds the KDF work a key file can ask for, so a hostile or corrupted key cannot stall
// a pipe for minutes. OpenSSL writes 2048 by default; the bound leaves room for hardened keys.
const maxIterations = 1 << 22

// OIDs of the encryption schemes handled here (PKCS#5 v2.1 / RFC 8018, PKCS#12 / RFC 7292, NIST).
var (
	oidPBEWithMD5AndDESCBC   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 3}
	oidPBEWithSHA1AndDESCBC  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 10}
	oidPBES2                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBEWithSHAAnd128RC4   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 1}
	oidPBEWithSHAAnd40RC4    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 2}
	oidPBEWithSHAAnd3KeyDES3 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHAAnd2KeyDES3 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 4}
	oidHMACWithSHA1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA224        = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACWithSHA256        = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA384        = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA512        = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC            = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidDESCBC                = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}
	oidScrypt                = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
)

// encryptedPrivateKeyInfo is PKCS#8's EncryptedPrivateKeyInfo.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbeParams is both PKCS#5's PBEParameter and PKCS#12's pkcs-12PbeParams: a salt and an iteration count.
type pbeParams struct {
	Salt       []byte
	Iterations int
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte // the specified-salt choice; an otherSource AlgorithmIdentifier fails to decode
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// decryptPKCS8 decrypts a DER EncryptedPrivateKeyInfo with password and returns the DER PrivateKeyInfo.
// It supports PBES1 (pbeWithMD5AndDES-CBC, pbeWithSHA1AndDES-CBC), the PKCS#12 schemes
// (pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd2-KeyTripleDES-CBC, pbeWithSHAAnd128BitRC4,
// pbeWithSHAAnd40BitRC4) and PBES2 (PBKDF2 with HMAC-SHA1/224/256/384/512; AES-128/192/256-CBC,
// DES-EDE3-CBC, DES-CBC). A wrong password returns an error wrapping ErrIncorrectPassword; an
// unsupported scheme one wrapping ErrUnsupportedEncryption; a damaged structure ErrMalformed. limit bounds
// the key derivations' iteration counts: maxIterations, or less when fuzzing, which should not spend its
// time in legitimately slow derivations.
func decryptPKCS8(der, password []byte, limit int) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: not a PKCS#8 EncryptedPrivateKeyInfo", ErrMalformed)
	}
	algo := info.Algorithm
	var plain []byte
	switch {
	case algo.Algorithm.Equal(oidPBEWithMD5AndDESCBC):
		plain, err = decryptPBES1(algo.Parameters.FullBytes, info.EncryptedData, password, md5.New, limit)
	case algo.Algorithm.Equal(oidPBEWithSHA1AndDESCBC):
		plain, err = decryptPBES1(algo.Parameters.FullBytes, info.EncryptedData, password, sha1.New, limit)
	case algo.Algorithm.Equal(oidPBEWithSHAAnd3KeyDES3):
		plain, err = decryptPKCS12PBE(algo.Parameters.FullBytes, info.EncryptedData, password, 24, limit)
	case algo.Algorithm.Equal(oidPBEWithSHAAnd2KeyDES3):
		plain, err = decryptPKCS12PBE(algo.Parameters.FullBytes, info.EncryptedData, password, 16, limit)
	case algo.Algorithm.Equal(oidPBEWithSHAAnd128RC4):
		plain, err = decryptPKCS12RC4(algo.Parameters.FullBytes, info.EncryptedData, password, 16, limit)
	case algo.Algorithm.Equal(oidPBEWithSHAAnd40RC4):
		plain, err = decryptPKCS12RC4(algo.Parameters.FullBytes, info.EncryptedData, password, 5, limit)
	case algo.Algorithm.Equal(oidPBES2):
		plain, err = decryptPBES2(algo.Parameters.FullBytes, info.EncryptedData, password, limit)
	default:
		return nil, fmt.Errorf("%w: private key encryption algorithm %s (supported: PBES1 with MD5 or SHA-1 and DES, "+
			"PKCS#12 SHA-1 with 3DES, 2-key 3DES or RC4, PBES2 with PBKDF2 and AES-CBC, DES-EDE3-CBC or DES-CBC)",
			ErrUnsupportedEncryption, algoName(algo.Algorithm))
	}
	if err != nil {
		return nil, err
	}
	// A wrong password yields valid padding about once in 256 tries (always, for RC4); what comes out
	// is then not a DER SEQUENCE spanning the whole plaintext.
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(plain, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
		return nil, ErrIncorrectPassword
	}
	return plain, nil
}

func algoName(oid asn1.ObjectIdentifier) string {
	switch {
	case oid.Equal(oidScrypt):
		return "scrypt"
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 1}):
		return "pbeWithMD2AndDES-CBC"
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 4}):
		return "pbeWithMD2AndRC2-CBC"
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 6}):
		return "pbeWithMD5AndRC2-CBC"
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 11}):
		return "pbeWithSHA1AndRC2-CBC"
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}):
		return "pbeWithSHAAnd128BitRC2-CBC"
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}):
		return "pbeWithSHAAnd40BitRC2-CBC"
	case oid.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 6}),
		oid.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 26}),
		oid.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}):
		return "AES-GCM"
	}
	return oid.String()
}

func parsePBEParams(raw []byte, limit int) (pbeParams, error) {
	var p pbeParams
	if rest, err := asn1.Unmarshal(raw, &p); err != nil || len(rest) != 0 {
		return p, fmt.Errorf("%w: bad PBE parameters", ErrMalformed)
	}
	if err := checkIterations(p.Iterations, limit); err != nil {
		return p, err
	}
	return p, nil
}

func checkIterations(n, limit int) error {
	if n < 1 || n > limit {
		return fmt.Errorf("%w: key derivation iteration count %d outside 1..%d", ErrMalformed, n, limit)
	}
	return nil
}

// decryptPBES1 is PKCS#5 PBES1: PBKDF1 derives 16 bytes, the DES key and the IV.
func decryptPBES1(params, data, password []byte, h func() hash.Hash, limit int) ([]byte, error) {
	p, err := parsePBEParams(params, limit)
	if err != nil {
		return nil, err
	}
	if len(p.Salt) != 8 {
		return nil, fmt.Errorf("%w: PBES1 salt is %d bytes, want 8", ErrMalformed, len(p.Salt))
	}
	dk := pbkdf1(h, password, p.Salt, p.Iterations)
	block, _ := des.NewCipher(dk[:8])
	return cbcDecrypt(block, dk[8:16], data)
}

// pbkdf1 is RFC 8018 §5.1: T = Hash^c(P || S); the caller uses the first 16 bytes.
func pbkdf1(h func() hash.Hash, password, salt []byte, iterations int) []byte {
	d := h()
	d.Write(password)
	d.Write(salt)
	t := d.Sum(nil)
	for i := 1; i < iterations; i++ {
		d.Reset()
		d.Write(t)
		t = d.Sum(t[:0])
	}
	return t
}

// decryptPKCS12PBE is the PKCS#12 3DES schemes: SHA-1 PKCS#12 KDF with ID 1 for the key (24 bytes, or 16
// for the 2-key variant whose third DES key repeats the first) and ID 2 for the 8-byte IV.
func decryptPKCS12PBE(params, data, password []byte, keyLen, limit int) ([]byte, error) {
	p, err := parsePBEParams(params, limit)
	if err != nil {
		return nil, err
	}
	bmp, err := bmpString(password)
	if err != nil {
		return nil, err
	}
	key := pkcs12KDF(bmp, p.Salt, p.Iterations, 1, keyLen)
	iv := pkcs12KDF(bmp, p.Salt, p.Iterations, 2, 8)
	if keyLen == 16 {
		key = append(key, key[:8]...)
	}
	block, _ := des.NewTripleDESCipher(key)
	return cbcDecrypt(block, iv, data)
}

// decryptPKCS12RC4 is the PKCS#12 RC4 schemes: a stream cipher, so a wrong password shows only in the
// result failing to parse.
func decryptPKCS12RC4(params, data, password []byte, keyLen, limit int) ([]byte, error) {
	p, err := parsePBEParams(params, limit)
	if err != nil {
		return nil, err
	}
	bmp, err := bmpString(password)
	if err != nil {
		return nil, err
	}
	c, _ := rc4.NewCipher(pkcs12KDF(bmp, p.Salt, p.Iterations, 1, keyLen))
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out, nil
}

// bmpString encodes a password as PKCS#12 wants it: UTF-16 big endian with a two-byte NUL terminator.
func bmpString(password []byte) ([]byte, error) {
	if !utf8.Valid(password) {
		return nil, fmt.Errorf("%w: privateKeyPassword is not valid UTF-8", ErrMalformed)
	}
	units := utf16.Encode([]rune(string(password)))
	out := make([]byte, 0, 2*len(units)+2)
	for _, u := range units {
		out = append(out, byte(u>>8), byte(u))
	}
	return append(out, 0, 0), nil
}

// pkcs12KDF is RFC 7292 Appendix B.2 with SHA-1 (u = 20, v = 64).
func pkcs12KDF(password, salt []byte, iterations int, id byte, n int) []byte {
	const u, v = 20, 64
	fill := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		out := make([]byte, v*((len(src)+v-1)/v))
		for i := range out {
			out[i] = src[i%len(src)]
		}
		return out
	}
	d := bytes.Repeat([]byte{id}, v)
	I := append(fill(salt), fill(password)...)
	out := make([]byte, 0, ((n+u-1)/u)*u)
	h := sha1.New()
	for len(out) < n {
		h.Reset()
		h.Write(d)
		h.Write(I)
		a := h.Sum(nil)
		for i := 1; i < iterations; i++ {
			h.Reset()
			h.Write(a)
			a = h.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= n {
			break
		}
		// I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block, B being A repeated to v bytes.
		var b [v]byte
		for i := range b {
			b[i] = a[i%u]
		}
		for j := 0; j < len(I); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				s := int(I[j+k]) + int(b[k]) + carry
				I[j+k] = byte(s)
				carry = s >> 8
			}
		}
	}
	return out[:n]
}

// decryptPBES2 is RFC 8018 §6.2: PBKDF2 with the named PRF, then the named block cipher in CBC mode.
func decryptPBES2(params, data, password []byte, limit int) ([]byte, error) {
	var p pbes2Params
	if rest, err := asn1.Unmarshal(params, &p); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: bad PBES2 parameters", ErrMalformed)
	}
	if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: PBES2 key derivation %s (only PBKDF2 is supported)",
			ErrUnsupportedEncryption, algoName(p.KeyDerivationFunc.Algorithm))
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: bad PBKDF2 parameters", ErrMalformed)
	}
	if err := checkIterations(kdf.Iterations, limit); err != nil {
		return nil, err
	}
	var prf func() hash.Hash
	switch o := kdf.PRF.Algorithm; {
	case len(o) == 0, o.Equal(oidHMACWithSHA1):
		prf = sha1.New
	case o.Equal(oidHMACWithSHA224):
		prf = sha256.New224
	case o.Equal(oidHMACWithSHA256):
		prf = sha256.New
	case o.Equal(oidHMACWithSHA384):
		prf = sha512.New384
	case o.Equal(oidHMACWithSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("%w: PBKDF2 pseudo-random function %s", ErrUnsupportedEncryption, o)
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch o := p.EncryptionScheme.Algorithm; {
	case o.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case o.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case o.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case o.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	case o.Equal(oidDESCBC):
		keyLen, newCipher = 8, des.NewCipher
	default:
		return nil, fmt.Errorf("%w: PBES2 encryption scheme %s", ErrUnsupportedEncryption, algoName(o))
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, fmt.Errorf("%w: PBKDF2 key length %d does not fit the cipher (%d)", ErrMalformed, kdf.KeyLength, keyLen)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(p.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: bad PBES2 cipher parameters", ErrMalformed)
	}
	key, err := pbkdf2.Key(prf, string(password), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: deriving the key: %v", ErrMalformed, err)
	}
	block, _ := newCipher(key)
	return cbcDecrypt(block, iv, data)
}

// cbcDecrypt decrypts and strips PKCS#5 padding; bad padding means the key, so the password, was wrong.
func cbcDecrypt(block cipher.Block, iv, data []byte) ([]byte, error) {
	bs := block.BlockSize()
	if len(iv) != bs {
		return nil, fmt.Errorf("%w: IV is %d bytes, want %d", ErrMalformed, len(iv), bs)
	}
	if len(data) == 0 || len(data)%bs != 0 {
		return nil, fmt.Errorf("%w: encrypted key length %d is not a multiple of the cipher block size %d", ErrMalformed, len(data), bs)
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs {
		return nil, ErrIncorrectPassword
	}
	// Constant-time comparison is not needed (no oracle: a failure is reported once, not per guess), but
	// hmac.Equal keeps the check free of early exits anyway.
	if !hmac.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrIncorrectPassword
	}
	return out[:len(out)-pad], nil
}
