package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"

	"github.com/sluicehq/sluice/internal/console"
)

// withConsoleOpt serves the web console; keyless drops the harness's access keys.
func withConsoleOpt(keyless bool) harnessOpt {
	return func(su *setup) {
		su.Console = &console.Options{}
		if keyless {
			su.Keys = nil
		}
	}
}

// noRedirect is a client that shows redirects instead of following them, and keeps cookies.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var reCSRF = regexp.MustCompile(`name="csrf-token" content="([0-9a-f]+)"`)

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestConsoleKeyless checks the console of a server without access keys: the API's Host and Origin
// checks apply to it, form posts need the CSRF token, a refused CreatePipe shows its field errors beside
// the form field, an accepted one stores the pipe, and the REST API's rules are unchanged.
func TestConsoleKeyless(t *testing.T) {
	h := newHarness(t, withConsoleOpt(true))
	c := noRedirect()
	resp, page := do(t, c, "GET", h.hs.URL+"/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="pipes"`) {
		t.Fatalf("GET / = %d, want the pipes list:\n%s", resp.StatusCode, page)
	}
	m := reCSRF.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no CSRF token")
	}
	token := m[1]
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"rebinding Host", map[string]string{"Host": "evil.example:80"}},
		{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign Origin", map[string]string{"Origin": "http://evil.example"}},
	} {
		resp, body := do(t, c, "POST", h.hs.URL+"/console/new", url.Values{"csrf": {token}, "name": {"x"}}, tc.hdr)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, TypeAccessDenied) {
			t.Errorf("%s: POST /console/new = %d %s, want 403 %s", tc.name, resp.StatusCode, body, TypeAccessDenied)
		}
	}
	form := url.Values{"name": {"c1"}, "source": {"smk://127.0.0.1:9092"}, "topic": {"orders"}, "position": {"LATEST"},
		"filters": {`{"value": {"status": "PAID"}}`}, "target": {"file:///tmp/sluice-api-test/c1.jsonl"}}
	resp, _ = do(t, c, "POST", h.hs.URL+"/console/new", form, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /console/new without the CSRF token = %d, want 403", resp.StatusCode)
	}
	form.Set("csrf", token)
	resp, body := do(t, c, "POST", h.hs.URL+"/console/new", form, nil)
	errBlock := regexp.MustCompile(`(?s)<div class="field-error" id="filters-error" role="alert">(.*?)</div>`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusBadRequest || errBlock == nil ||
		!strings.Contains(errBlock[1], "SourceParameters.FilterCriteria.Filters[0].Pattern") {
		t.Fatalf("an invalid pattern: %d, want 400 with the error beside the filters field:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `value="orders"`) {
		t.Errorf("the refused form lost what was typed")
	}
	form.Set("filters", `{"value": {"status": ["PAID"]}}`)
	resp, _ = do(t, c, "POST", h.hs.URL+"/console/new", form, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/pipes/c1?done=created" {
		t.Fatalf("a valid form: %d Location %q, want 303 to the pipe page", resp.StatusCode, resp.Header.Get("Location"))
	}
	d := h.describe("c1")
	if got := d.SourceParameters.FilterCriteria.Filters[0].Pattern; got == nil || *got != `{"value": {"status": ["PAID"]}}` {
		t.Errorf("stored pattern = %v", got)
	}
	resp, body = do(t, c, "GET", h.hs.URL+"/console/pipes/c1", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="state"`) {
		t.Errorf("GET the pipe page = %d", resp.StatusCode)
	}
	if strings.Contains(body, "Members by node") { // cluster mode only (cmd/sluice TestConsoleMembersByNode)
		t.Error("a single node's pipe page shows the cluster's members table")
	}
	// Editing: a body UpdatePipe refuses comes back with its error beside the editor; a good one updates.
	resp, body = do(t, c, "POST", h.hs.URL+"/console/pipes/c1/edit", url.Values{"csrf": {token}, "definition": {`{"Target": ""}`}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="definition-error"`) {
		t.Errorf("a refused edit = %d, want 400 with the error beside the editor:\n%s", resp.StatusCode, body)
	}
	resp, _ = do(t, c, "POST", h.hs.URL+"/console/pipes/c1/edit", url.Values{"csrf": {token},
		"definition": {`{"Description": "from the console", "Target": "file:///tmp/sluice-api-test/c1.jsonl", "DesiredState": "STOPPED"}`}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("an edit = %d, want 303", resp.StatusCode)
	}
	if d := h.describe("c1"); d.Description == nil || *d.Description != "from the console" {
		t.Errorf("Description after the edit = %v", d.Description)
	}
	// StopStreams ends the event streams (http.Server.Shutdown would wait for them).
	sresp, err := http.Get(h.hs.URL + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, sresp.Body); ended <- err }()
	h.srv.StopStreams()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the event stream did not end after StopStreams")
	}
	sresp.Body.Close()
	// The REST API keeps its own rules: no form bodies, and unknown paths stay AWS-shaped.
	resp, body = do(t, c, "POST", h.hs.URL+"/v1/pipes/c2", url.Values{"a": {"b"}}, nil)
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form body to the API = %d %s, want 415", resp.StatusCode, body)
	}
	resp, body = do(t, c, "GET", h.hs.URL+"/nothing", nil, nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, TypeUnknownOperation) {
		t.Errorf("GET /nothing = %d %s, want the API's UnknownOperationException", resp.StatusCode, body)
	}
}

// TestConsoleKeys checks sign-in on a server with access keys: pages want a session, a wrong secret is
// refused, the session cookie is HttpOnly and SameSite=Strict and holds no secret, a post without the
// CSRF token is refused, and the SigV4 API works beside it.
func TestConsoleKeys(t *testing.T) {
	h := newHarness(t, withConsoleOpt(false))
	c := noRedirect()
	resp, _ := do(t, c, "GET", h.hs.URL+"/", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
		t.Fatalf("GET / signed out = %d Location %q, want 303 to /console/signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, c, "POST", h.hs.URL+"/console/signin", url.Values{"access_key_id": {testKeyID}, "secret_access_key": {"wrong"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("a wrong secret = %d with %d cookies, want 401 and none", resp.StatusCode, len(resp.Cookies()))
	}
	if strings.Contains(body, "wrong") && strings.Contains(body, `type="password" value`) {
		t.Errorf("the refused page shows the secret typed")
	}
	resp, _ = do(t, c, "POST", h.hs.URL+"/console/signin", url.Values{"access_key_id": {testKeyID}, "secret_access_key": {testSecret}}, nil)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("signing in = %d with %d cookies, want 303 and a session cookie", resp.StatusCode, len(resp.Cookies()))
	}
	ck := resp.Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || strings.Contains(ck.Value, testSecret) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, no secret", ck)
	}
	cookie := map[string]string{"Cookie": ck.Name + "=" + ck.Value}
	cross := map[string]string{"Cookie": ck.Name + "=" + ck.Value, "Origin": "https://evil.example"}
	if resp, _ := do(t, c, "POST", h.hs.URL+"/console/signout", url.Values{}, cross); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-origin POST with the cookie = %d, want 403", resp.StatusCode)
	}
	resp, page := do(t, c, "GET", h.hs.URL+"/", nil, cookie)
	if resp.StatusCode != 200 || !strings.Contains(page, testKeyID) {
		t.Fatalf("GET / signed in = %d", resp.StatusCode)
	}
	h.create("k1", "STOPPED")
	h.waitState("k1", types.PipeStateStopped) // StartPipe on a pipe still CREATING is a ConflictException
	resp, _ = do(t, c, "POST", h.hs.URL+"/console/pipes/k1/start", url.Values{}, cookie)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST start without the CSRF token = %d, want 403", resp.StatusCode)
	}
	resp, _ = do(t, c, "POST", h.hs.URL+"/console/pipes/k1/start", url.Values{"csrf": {"00"}}, map[string]string{"Cookie": "sluice_console=forged.00"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with a forged cookie = %d, want 401", resp.StatusCode)
	}
	token := reCSRF.FindStringSubmatch(page)[1]
	resp, _ = do(t, c, "POST", h.hs.URL+"/console/pipes/k1/start", url.Values{"csrf": {token}}, cookie)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST start with the token = %d, want 303", resp.StatusCode)
	}
	if d := h.describe("k1"); d.DesiredState != "RUNNING" {
		t.Errorf("desired state after start = %s, want RUNNING", d.DesiredState)
	}
	if _, err := h.client.ListPipes(context.Background(), &pipes.ListPipesInput{}); err != nil {
		t.Errorf("the SigV4 API beside the console: %v", err)
	}
}
