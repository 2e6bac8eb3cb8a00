package api

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// TypeAccessDenied is the exception sent when LocalOnly refuses a request's Host or Origin; it is the
// name every AWS SDK knows for "you may not do this", and it is not retried.
const TypeAccessDenied = "AccessDeniedException"

// LocalOnly wraps an unauthenticated handler so that it serves only clients on this machine. Listening
// on loopback is not enough for that: a web page the user opens can send requests to 127.0.0.1 (a
// cross-site request), and a page whose DNS name is re-pointed at 127.0.0.1 after it loaded can even
// read the answers (DNS rebinding). So every request must pass three checks, each refused with an
// AWS-shaped JSON error before next sees it:
//
//   - Host must be a loopback name or address: localhost, a name under .localhost (browsers resolve
//     those to loopback themselves, so a rebinding attacker cannot own one), 127.0.0.0/8 or ::1, with
//     any port. A rebinding page's requests carry its own name, so they fail here. 403
//     AccessDeniedException.
//   - A browser's cross-site request is refused: Sec-Fetch-Site other than same-origin or none, or an
//     Origin that is not this server's own origin (scheme://Host). Browsers always send one or both on
//     requests that change something; the AWS CLI, the SDKs and curl send neither. 403
//     AccessDeniedException.
//   - A request with a body must say Content-Type: application/json (charset and other parameters are
//     ignored), and a request without one must have no body. text/plain, form and multipart bodies are
//     what a page can send cross-site without a CORS preflight, and no Pipes client sends them: the
//     SDKs and the AWS CLI send application/json with a body and no Content-Type without one. 415
//     ValidationException.
//
// The checks apply to every path, /healthz and /metrics included: they are read-only, but a rebinding
// page could otherwise read the metrics. A Server without access keys applies LocalOnly to its Handler
// itself; `sluice dev` gets the same rules through it, and the web console (console.go) the Host and
// Origin checks (localBrowser: its forms post form bodies and carry CSRF tokens instead).
func LocalOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := checkLocal(r); e != nil {
			writeError(w, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localBrowser applies LocalOnly's Host and Origin checks but not its Content-Type rule: the web
// console's forms post form bodies, and carry a CSRF token instead (internal/console).
func localBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := checkLocalOrigin(r); e != nil {
			writeError(w, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkLocal applies LocalOnly's rules; nil means the request may be served.
func checkLocal(r *http.Request) *Error {
	if e := checkLocalOrigin(r); e != nil {
		return e
	}
	return checkJSONBody(r)
}

// checkLocalOrigin applies LocalOnly's Host and cross-site rules.
func checkLocalOrigin(r *http.Request) *Error {
	if !loopbackHost(r.Host) {
		return accessDenied("Host " + quoteHeader(r.Host) + " is not a loopback name or address. This API has no " +
			"access keys, so it serves only clients on this machine that address it as localhost, 127.0.0.1 " +
			"or [::1]; configure access keys to serve others.")
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return accessDenied("Cross-site browser requests are refused (Sec-Fetch-Site: " + quoteHeader(site) +
			"): this API has no access keys, so a web page must not be able to drive it.")
	}
	if origin, ok := r.Header["Origin"]; ok && (len(origin) != 1 || !sameOrigin(origin[0], r)) {
		return accessDenied("Cross-origin browser requests are refused (Origin: " + quoteHeader(strings.Join(origin, ", ")) +
			"): this API has no access keys, so a web page must not be able to drive it.")
	}
	return nil
}

// checkJSONBody applies LocalOnly's Content-Type rule.
func checkJSONBody(r *http.Request) *Error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return unsupportedMedia("Content-Type " + quoteHeader(ct) + " is not accepted: request bodies must be " +
				"JSON, sent with Content-Type: application/json.")
		}
	} else if r.ContentLength != 0 {
		// ContentLength is -1 for a chunked body of unknown length, which may well be empty; without
		// a type it is refused all the same, as no Pipes client sends one.
		return unsupportedMedia("A request body needs Content-Type: application/json.")
	}
	return nil
}

// loopbackHost reports whether a Host header names this machine's loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // [::1] without a port
	}
	lower := strings.ToLower(host)
	if strings.HasSuffix(lower, ".localhost") && len(lower) > len(".localhost") {
		return true
	}
	return isLoopback(host)
}

// sameOrigin reports whether a browser's Origin header is the origin the request was sent to. Only the
// host and port can be compared (the request does not say which scheme the client used), and the Host
// has been checked to be loopback already, so a matching Origin is a page served by this server.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" || u.User != nil {
		return false // includes "null", sent by sandboxed frames and file: pages
	}
	return strings.EqualFold(u.Host, r.Host)
}

// quoteHeader quotes a header value for an error message, bounded so that a huge header does not make a
// huge answer.
func quoteHeader(v string) string {
	const max = 200
	if len(v) > max {
		v = v[:max] + "..."
	}
	return strconv.Quote(v)
}

func accessDenied(msg string) *Error {
	return &Error{Type: TypeAccessDenied, Status: http.StatusForbidden, Message: msg}
}

func unsupportedMedia(msg string) *Error {
	return &Error{Type: TypeValidation, Status: http.StatusUnsupportedMediaType, Message: msg}
}
