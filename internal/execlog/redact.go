package execlog

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// sensitiveHeaders are masked whatever their value; headers whose names contain one of sensitiveWords
// are masked too, which covers API-key headers of API destination connections (x-api-key, X-Auth-Token).
var sensitiveHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Amz-Security-Token": true, "X-Api-Key": true,
}

var sensitiveWords = []string{"auth", "token", "secret", "password", "passwd", "api-key", "apikey", "credential", "signature", "session"}

// sensitiveQuery are query parameter names whose values are masked in logged URLs.
var sensitiveQuery = []string{"key", "token", "secret", "password", "signature", "credential", "auth", "sig"}

func isSensitiveHeader(name string) bool {
	name = http.CanonicalHeaderKey(name)
	if sensitiveHeaders[name] {
		return true
	}
	lower := strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// DumpRequest renders an HTTP request for awsRequest: request line, headers sorted by name, blank line,
// body. Credentials never appear: the URL's user information is dropped, sensitive query values and
// headers are replaced by "****". body is the request body the caller sent (req.Body is not read).
func DumpRequest(req *http.Request, body []byte) []byte {
	var b bytes.Buffer
	u := redactURL(req.URL)
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", req.Method, u)
	host := req.Host
	if host == "" && req.URL != nil {
		host = req.URL.Host
	}
	if host != "" {
		fmt.Fprintf(&b, "Host: %s\r\n", host)
	}
	writeHeaders(&b, req.Header)
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// DumpResponse renders an HTTP response for awsResponse, masking sensitive headers like DumpRequest.
func DumpResponse(resp *http.Response, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %s\r\n", resp.Status)
	if resp.Status == "" {
		b.Reset()
		fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	writeHeaders(&b, resp.Header)
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

func writeHeaders(b *bytes.Buffer, h http.Header) {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, v := range h[n] {
			if isSensitiveHeader(n) {
				v = "****"
			}
			fmt.Fprintf(b, "%s: %s\r\n", n, v)
		}
	}
}

func redactURL(u *url.URL) string {
	if u == nil {
		return "/"
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			lower := strings.ToLower(k)
			for _, w := range sensitiveQuery {
				if strings.Contains(lower, w) {
					for i := range vs {
						vs[i] = "****"
					}
					break
				}
			}
		}
		c.RawQuery = q.Encode()
	}
	if c.Scheme == "" {
		return c.RequestURI()
	}
	return c.String()
}
