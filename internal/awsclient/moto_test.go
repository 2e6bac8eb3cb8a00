package awsclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// callerArn returns the identity the emulator sees for calls made with cfg (STS GetCallerIdentity).
func callerArn(t *testing.T, cfg aws.Config, optFns ...func(*sts.Options)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := sts.NewFromConfig(cfg, optFns...).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return aws.ToString(out.Arn)
}

// hostArn is the identity of the static test credentials.
func hostArn(t *testing.T) string {
	t.Helper()
	return callerArn(t, awstest.Config(t, ""))
}

// TestAssumeRole is the STS acceptance: a pipe with a RoleArn makes its calls with the
// assumed role's credentials, visible in the emulator as the role's session named after the pipe.
func TestAssumeRole(t *testing.T) {
	p := awstest.Provider(t)
	role := awstest.RoleArn("sluice-orders")
	cfg, err := p.For("orders-to-sqs", role, sandbox.Unrestricted())(t.Context(), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("Region = %q, want the argument eu-west-1", cfg.Region)
	}
	want := "arn:aws:sts::" + awstest.Account + ":assumed-role/sluice-orders/orders-to-sqs"
	if got := callerArn(t, cfg); got != want {
		t.Fatalf("caller with the pipe's config = %s, want %s", got, want)
	}
	if host := hostArn(t); host == want || strings.Contains(host, "assumed-role") {
		t.Fatalf("host identity %s looks like the assumed role", host)
	}

	// Another pipe with the same role gets its own session.
	cfg2, err := p.For("other pipe", role, sandbox.Unrestricted())(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.Region != awstest.Region {
		t.Errorf("Region for \"\" = %q, want the default %s", cfg2.Region, awstest.Region)
	}
	if got, want := callerArn(t, cfg2), "arn:aws:sts::"+awstest.Account+":assumed-role/sluice-orders/other-pipe"; got != want {
		t.Fatalf("caller of the second pipe = %s, want %s", got, want)
	}
}

// TestHostCredentials: --assume-pipe-role=false, and a pipe without RoleArn, call with the host's
// credentials.
func TestHostCredentials(t *testing.T) {
	host := hostArn(t)
	o := awstest.Options(t)
	o.AssumeRole = false
	cfg, err := awsclient.New(o).For("p", awstest.RoleArn("ignored"), sandbox.Unrestricted())(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := callerArn(t, cfg); got != host {
		t.Fatalf("AssumeRole=false: caller = %s, want the host's %s", got, host)
	}
	cfg, err = awstest.Provider(t).For("p", "", sandbox.Unrestricted())(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := callerArn(t, cfg); got != host {
		t.Fatalf("no RoleArn: caller = %s, want the host's %s", got, host)
	}
}

// TestEndpointFromEnvironment: without --aws-endpoint the SDK's AWS_ENDPOINT_URL_<SERVICE> and
// AWS_ENDPOINT_URL variables reach the emulator, for the pipe's calls and for assuming its role; a
// per-service variable wins over --aws-endpoint.
func TestEndpointFromEnvironment(t *testing.T) {
	ep := awstest.Endpoint(t)
	want := "arn:aws:sts::" + awstest.Account + ":assumed-role/env-role/env-pipe"
	cases := []struct {
		name, endpoint string
		env            map[string]string
	}{
		{"per service", "", map[string]string{"AWS_ENDPOINT_URL_STS": ep}},
		{"global", "", map[string]string{"AWS_ENDPOINT_URL": ep}},
		// Nothing listens on port 1: the call only succeeds if AWS_ENDPOINT_URL_STS wins.
		{"per service beats --aws-endpoint", "http://127.0.0.1:1", map[string]string{"AWS_ENDPOINT_URL_STS": ep}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			o := awsclient.Options{Endpoint: c.endpoint, AssumeRole: true, Region: awstest.Region, Credentials: awstest.Credentials()}
			cfg, err := awsclient.New(o).For("env-pipe", awstest.RoleArn("env-role"), sandbox.Unrestricted())(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if got := callerArn(t, cfg); got != want {
				t.Fatalf("caller = %s, want %s", got, want)
			}
		})
	}
}

// TestEndpointOption: --aws-endpoint is every service's base endpoint.
func TestEndpointOption(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // overridden by the option
	cfg, err := awstest.Provider(t).For("p", "", sandbox.Unrestricted())(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(cfg.BaseEndpoint); got != awstest.Endpoint(t) {
		t.Fatalf("BaseEndpoint = %q, want %q", got, awstest.Endpoint(t))
	}
	if got := callerArn(t, cfg); got != hostArn(t) {
		t.Fatalf("caller = %s, want the host's", got)
	}
}

// TestRoleCredentialsRefresh: assumed-role credentials are cached while valid, shared by the pipe's
// configurations, and fetched anew once expired.
func TestRoleCredentialsRefresh(t *testing.T) {
	o := awstest.Options(t)
	o.RoleDuration = time.Second // the emulator honours DurationSeconds below AWS's 900 s minimum
	p := awsclient.New(o)
	aws1 := p.For("refresh", awstest.RoleArn("short"), sandbox.Unrestricted())
	ctx := t.Context()
	cfg, err := aws1(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	first, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Source != "AssumeRoleProvider" || !first.CanExpire {
		t.Fatalf("credentials = %+v, want expiring AssumeRoleProvider credentials", first)
	}
	cfg2, err := aws1(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := cfg2.Credentials.Retrieve(ctx); err != nil || again.AccessKeyID != first.AccessKeyID {
		t.Fatalf("second config's credentials = %s, %v; want the cached %s", again.AccessKeyID, err, first.AccessKeyID)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessKeyID != first.AccessKeyID {
			if !c.Expires.After(first.Expires) {
				t.Fatalf("refreshed credentials expire at %v, not after the first's %v", c.Expires, first.Expires)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("credentials expiring at %v were not refreshed by %v", first.Expires, time.Now())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := callerArn(t, cfg); !strings.Contains(got, "assumed-role/short/refresh") {
		t.Fatalf("caller after refresh = %s", got)
	}
}

// TestEgress: a pipe's AWS calls are dialled under its egress policy, except to the endpoints the
// operator named. The policy refuses the test server's address (as the server's own listener).
func TestEgress(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	addr := netip.MustParseAddrPort(u.Host)
	policy := sandbox.Policy{Egress: sandbox.NewEgress(nil, []netip.AddrPort{addr})}
	call := func(cfg aws.Config, optFns ...func(*sts.Options)) error {
		_, err := sts.NewFromConfig(cfg, optFns...).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		return err
	}
	host := awsclient.Options{Region: awstest.Region, Credentials: awstest.Credentials()}

	// An endpoint the pipe's configuration did not get from the operator: refused.
	cfg, err := awsclient.New(host).For("p", "", policy)(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	err = call(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	if !errors.Is(err, sandbox.ErrEgressRefused) || hits.Load() != 0 {
		t.Fatalf("call to a refused address: err = %v, hits = %d; want ErrEgressRefused and none", err, hits.Load())
	}

	// The operator's --aws-endpoint: dialled.
	o := host
	o.Endpoint = srv.URL
	cfg, err = awsclient.New(o).For("p", "", policy)(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := call(cfg); errors.Is(err, sandbox.ErrEgressRefused) || hits.Load() == 0 {
		t.Fatalf("call to --aws-endpoint: err = %v, hits = %d; want it to reach the server", err, hits.Load())
	}

	// An AWS_ENDPOINT_URL_<SERVICE> variable: dialled too.
	before := hits.Load()
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	cfg, err = awsclient.New(host).For("p", "", policy)(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := call(cfg); errors.Is(err, sandbox.ErrEgressRefused) || hits.Load() == before {
		t.Fatalf("call to AWS_ENDPOINT_URL_STS: err = %v; want it to reach the server", err)
	}
}

// TestAssumeRoleFailures: a role STS refuses makes the pipe's calls fail permanently (auto-stop), with
// the STS code kept; an AssumeRole still throttled after the SDK's retries (the role assumption is the
// host's call and keeps them) is overload, and once STS answers the next call assumes the role.
func TestAssumeRoleFailures(t *testing.T) {
	proxy := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	o := awstest.Options(t)
	o.Endpoint = proxy.URL
	call := func(pipe string) error {
		cfg, err := awsclient.New(o).For(pipe, awstest.RoleArn("refused"), sandbox.Unrestricted())(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		return awsclient.Classify(err)
	}

	proxy.Fail("AssumeRole", 0, awstest.APIError{Status: http.StatusForbidden, Code: "AccessDenied",
		Message: "User is not authorized to perform: sts:AssumeRole"})
	err := call("denied")
	var api smithy.APIError
	if !plugin.IsPermanent(err) || !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Fatalf("call with a refused role: %v; want a permanent error with code AccessDenied", err)
	}
	if n := len(proxy.Calls("GetCallerIdentity")); n != 0 {
		t.Fatalf("the call was sent %d times without credentials", n)
	}

	proxy.Reset()
	proxy.Fail("AssumeRole", 0, awstest.Throttle("Throttling"))
	p := awsclient.New(o).For("throttled", awstest.RoleArn("busy"), sandbox.Unrestricted())
	cfg, err := p(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	client := sts.NewFromConfig(cfg)
	_, err = client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	var th *plugin.ThrottledError
	if err = awsclient.Classify(err); !errors.As(err, &th) {
		t.Fatalf("call while AssumeRole is throttled: %v; want a *plugin.ThrottledError", err)
	}
	proxy.Reset()
	out, err := client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(aws.ToString(out.Arn), "assumed-role/busy/throttled") {
		t.Fatalf("call after the throttling: %v, %v; want the assumed role", out, err)
	}
}
