package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SigV4 verification of the Authorization header form that the AWS CLI and SDKs send
// ("AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=...").
//
// Decisions (where AWS's server side is not documented):
//   - The credential scope's service must be "pipes"; its region may be any region, so that a client
//     whose default region differs from the server's --region still works (the signature covers the
//     region it names either way).
//   - x-amz-content-sha256, when present, must be the body's SHA-256 or UNSIGNED-PAYLOAD; the latter
//     is accepted because the body limit and strict decoding apply regardless.
//   - X-Amz-Date (or Date) must be within MaxSkew (5 minutes, as AWS) of the server clock.
//   - Presigned URLs (query-string signatures) are not accepted: no Pipes client uses them.
//   - Secret keys are compared through HMACs only; no key material reaches logs or errors.

const (
	sigAlgorithm      = "AWS4-HMAC-SHA256"
	sigService        = "pipes"
	sigTerminator     = "aws4_request"
	amzDateFormat     = "20060102T150405Z"
	unsignedPayload   = "UNSIGNED-PAYLOAD"
	defaultMaxSkew    = 5 * time.Minute
	typeIncompleteSig = "IncompleteSignatureException"
)

// Verifier checks AWS Signature Version 4 on requests against a fixed set of access keys.
type Verifier struct {
	keys    map[string]string // access key id -> secret access key
	maxSkew time.Duration
	now     func() time.Time
}

// NewVerifier returns a Verifier for the given access keys (access key id -> secret access key).
func NewVerifier(keys map[string]string) *Verifier {
	k := make(map[string]string, len(keys))
	for id, secret := range keys {
		k[id] = secret
	}
	return &Verifier{keys: k, maxSkew: defaultMaxSkew, now: time.Now}
}

func authError(typ, msg string) *Error {
	return &Error{Type: typ, Status: http.StatusForbidden, Message: msg}
}

type authHeader struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseAuthorization(h string) (*authHeader, *Error) {
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return nil, authError(typeIncompleteSig, "Authorization header requires the "+sigAlgorithm+" algorithm.")
	}
	var a authHeader
	var haveCred, haveSH, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, authError(typeIncompleteSig, "Authorization header component is not key=value: "+strconv.Quote(part)+".")
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != sigTerminator || f[0] == "" {
				return nil, authError(typeIncompleteSig, "Credential must have the form ACCESS_KEY/DATE/REGION/SERVICE/aws4_request.")
			}
			a.accessKey, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
			haveCred = true
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
			haveSH = v != ""
		case "Signature":
			a.signature = v
			haveSig = v != ""
		}
	}
	if !haveCred || !haveSH || !haveSig {
		return nil, authError(typeIncompleteSig, "Authorization header requires Credential, SignedHeaders and Signature.")
	}
	return &a, nil
}

// Verify checks r's signature; body is the request body already read (the payload hash covers it).
// It returns nil when the request is signed by a configured key.
func (v *Verifier) Verify(r *http.Request, body []byte) *Error {
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Has("X-Amz-Signature") {
			return authError(typeIncompleteSig, "Presigned requests are not supported; sign with the Authorization header.")
		}
		return authError(TypeMissingAuth, "Missing Authentication Token")
	}
	a, aerr := parseAuthorization(h)
	if aerr != nil {
		return aerr
	}
	secret, ok := v.keys[a.accessKey]
	if !ok {
		return authError(TypeUnrecognizedClient, "The security token included in the request is invalid.")
	}
	if a.service != sigService {
		return authError(TypeInvalidSignature, "Credential should be scoped to correct service: '"+sigService+"'.")
	}

	amzDate := r.Header.Get("X-Amz-Date")
	var t time.Time
	var err error
	if amzDate != "" {
		t, err = time.Parse(amzDateFormat, amzDate)
	} else if d := r.Header.Get("Date"); d != "" {
		t, err = http.ParseTime(d)
		amzDate = t.UTC().Format(amzDateFormat)
	} else {
		return authError(typeIncompleteSig, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if err != nil {
		return authError(typeIncompleteSig, "The request date is not in the form "+amzDateFormat+".")
	}
	now := v.now()
	if d := now.Sub(t); d > v.maxSkew || d < -v.maxSkew {
		return authError(TypeInvalidSignature, "Signature expired: "+amzDate+" is not within "+v.maxSkew.String()+" of "+now.UTC().Format(amzDateFormat)+".")
	}
	if a.date != amzDate[:8] {
		return authError(TypeInvalidSignature, "Credential should be scoped to a valid date: '"+amzDate[:8]+"'.")
	}
	if !contains(a.signedHeaders, "host") {
		return authError(TypeInvalidSignature, "'Host' must be a signed header.")
	}

	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if ph := r.Header.Get("X-Amz-Content-Sha256"); ph != "" {
		if ph != unsignedPayload && !strings.EqualFold(ph, payloadHash) {
			return authError(TypeInvalidSignature, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		payloadHash = strings.ToLower(ph)
		if ph == unsignedPayload {
			payloadHash = unsignedPayload
		}
	}

	creq := canonicalRequest(r, a.signedHeaders, payloadHash)
	scope := a.date + "/" + a.region + "/" + a.service + "/" + sigTerminator
	crHash := sha256.Sum256([]byte(creq))
	sts := sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := hmacSHA256([]byte("AWS4"+secret), a.date)
	key = hmacSHA256(key, a.region)
	key = hmacSHA256(key, a.service)
	key = hmacSHA256(key, sigTerminator)
	want := hmacSHA256(key, sts)
	got, err := hex.DecodeString(a.signature)
	if err != nil || !hmac.Equal(want, got) {
		return authError(TypeInvalidSignature, "The request signature we calculated does not match the signature you provided. "+
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// canonicalRequest builds the SigV4 canonical request of r.
func canonicalRequest(r *http.Request, signed []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalURI returns the path exactly as the client sent it (still percent-encoded, so an encoded
// ARN in /tags/{arn} stays encoded), then URI-encoded once more with '/' kept: the AWS clients sign
// the double-encoded path for every service but S3.
func canonicalURI(r *http.Request) string {
	raw := r.RequestURI
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if !strings.HasPrefix(raw, "/") { // absolute-form request target, or a handler-made request
		raw = r.URL.EscapedPath()
	}
	if raw == "" {
		return "/"
	}
	return awsEscape(raw, true)
}

// canonicalQuery decodes the query's names and values, re-encodes them the AWS way and sorts by name,
// then value.
func canonicalQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	var pairs []string
	for _, p := range strings.Split(rawQuery, "&") {
		if p == "" {
			continue
		}
		k, val, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(val); err == nil {
			val = dv
		}
		pairs = append(pairs, awsEscape(k, false)+"="+awsEscape(val, false))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func canonicalHeaderValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			vals = v
		} else if r.ContentLength >= 0 {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		vals = r.TransferEncoding
	default:
		vals = r.Header.Values(name)
	}
	out := make([]string, len(vals)) // vals may be the request's own header slice: do not write to it
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// awsEscape percent-encodes every byte except the unreserved characters (and '/' when keepSlash).
func awsEscape(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
