package awsclient

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/sluicehq/sluice/internal/sandbox"
)

// environ is the process environment, read once per base configuration (as the SDK reads it).
func environ() []string { return os.Environ() }

// trustedEndpoints returns the host:port of the endpoints the operator named: the --aws-endpoint URL
// and every AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variable in env.
func trustedEndpoints(endpoint string, env []string) (map[string]bool, error) {
	out := map[string]bool{}
	add := func(what, raw string) error {
		if raw == "" {
			return nil
		}
		hp, err := hostPort(raw)
		if err != nil {
			return fmt.Errorf("%s %q: %w", what, raw, err)
		}
		out[hp] = true
		return nil
	}
	if err := add("AWS endpoint", endpoint); err != nil {
		return nil, err
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "AWS_ENDPOINT_URL" || strings.HasPrefix(k, "AWS_ENDPOINT_URL_") {
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// hostPort is the address an http.Transport dials for a URL: host:port, the port defaulted from the
// scheme, the host lowercased.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("not an http or https URL")
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("the URL names no host")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port), nil
}

// newHTTPClient returns the HTTP client of a pipe's AWS calls under an egress policy, or nil (the
// base configuration's client) when there is none. Connections to the trusted endpoints skip the policy.
// The client is frozen (not an awshttp.BuildableClient), so that service clients do not rebuild its
// transport and replace the dialer; one client, and one connection pool, serves all of a pipe's
// service clients.
func newHTTPClient(egress *sandbox.Egress, trusted map[string]bool) aws.HTTPClient {
	if egress == nil {
		return nil
	}
	plain := &net.Dialer{Timeout: awshttp.DefaultDialConnectTimeout, KeepAlive: awshttp.DefaultDialKeepAliveTimeout}
	checked := egress.Dialer(plain)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if trusted[strings.ToLower(addr)] {
			return plain.DialContext(ctx, network, addr)
		}
		return checked.DialContext(ctx, network, addr)
	}
	return HTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = dial
	}).Freeze())
}
