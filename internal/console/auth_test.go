package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// noPipes is a Backend for tests that only sign in: every operation fails, so a test that reached one
// would see it.
type noPipes struct{}

var errNoPipes = &Error{Type: "InternalException", Message: "this test backend has no pipes"}

func (noPipes) ListPipes(context.Context) ([]PipeSummary, error)              { return nil, errNoPipes }
func (noPipes) DescribePipe(context.Context, string) (json.RawMessage, error) { return nil, errNoPipes }
func (noPipes) CreatePipe(context.Context, string, []byte) error              { return errNoPipes }
func (noPipes) UpdatePipe(context.Context, string, []byte) error              { return errNoPipes }
func (noPipes) StartPipe(context.Context, string) error                       { return errNoPipes }
func (noPipes) StopPipe(context.Context, string) error                        { return errNoPipes }
func (noPipes) DeletePipe(context.Context, string) error                      { return errNoPipes }
func (noPipes) Metrics(context.Context) (map[string]Snapshot, error)          { return nil, errNoPipes }

func newTestConsole(t *testing.T, keys map[string]string) *Console {
	t.Helper()
	c, err := New(Options{Backend: noPipes{}, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signInCookie signs in to c and returns the session cookie it set.
func signInCookie(t *testing.T, c *Console, id, secret string) *http.Cookie {
	t.Helper()
	form := url.Values{"access_key_id": {id}, "secret_access_key": {secret}}
	r := httptest.NewRequest(http.MethodPost, "/console/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d, want 303: %s", w.Code, w.Body)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == cookieName {
			return ck
		}
	}
	t.Fatal("sign-in set no session cookie")
	return nil
}

// TestSessionSurvivesRestart: the session key is derived from the configured secret keys, so a new
// process with the same keys accepts an existing session and its CSRF token, while a rotated secret or
// a removed key ends the sessions of that key only (issue 14, Security: signed session cookie).
func TestSessionSurvivesRestart(t *testing.T) {
	keys := map[string]string{"AKIDONE": "secret-one", "AKIDTWO": "secret-two"}
	first := newTestConsole(t, keys)
	ckOne := signInCookie(t, first, "AKIDONE", "secret-one")
	ckTwo := signInCookie(t, first, "AKIDTWO", "secret-two")
	sessionOf := func(c *Console, ck *http.Cookie) (session, bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(ck)
		return c.session(r)
	}
	s1, ok := sessionOf(first, ckOne)
	if !ok || s1.KeyID != "AKIDONE" {
		t.Fatalf("the first process does not accept its own session: %+v %v", s1, ok)
	}
	token := first.csrfToken(s1)

	// A restart: a new Console, same keys (a fresh random per-process key inside).
	restarted := newTestConsole(t, map[string]string{"AKIDONE": "secret-one", "AKIDTWO": "secret-two"})
	s, ok := sessionOf(restarted, ckOne)
	if !ok || s.KeyID != "AKIDONE" {
		t.Fatalf("after a restart the session is refused: %+v %v", s, ok)
	}
	if got := restarted.csrfToken(s); got != token {
		t.Fatalf("after a restart the CSRF token changed: %s, was %s", got, token)
	}
	// The restarted process also serves the signed-in visitor's POSTs with the old page's token: a
	// sign-out (which needs session and CSRF) answers 303, not 401 or 403.
	r := httptest.NewRequest(http.MethodPost, "/console/signout", strings.NewReader("csrf="+token))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(ckOne)
	w := httptest.NewRecorder()
	restarted.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST with the pre-restart session and token: status %d, want 303: %s", w.Code, w.Body)
	}

	// Rotating AKIDONE's secret ends its sessions, not AKIDTWO's.
	rotated := newTestConsole(t, map[string]string{"AKIDONE": "secret-one-rotated", "AKIDTWO": "secret-two"})
	if s, ok := sessionOf(rotated, ckOne); ok {
		t.Fatalf("after rotating the key's secret its session still holds: %+v", s)
	}
	if s, ok := sessionOf(rotated, ckTwo); !ok || s.KeyID != "AKIDTWO" {
		t.Fatalf("rotating another key ended this session: %+v %v", s, ok)
	}
	// Removing the key ends them too.
	removed := newTestConsole(t, map[string]string{"AKIDTWO": "secret-two"})
	if _, ok := sessionOf(removed, ckOne); ok {
		t.Fatal("a removed key's session still holds")
	}
	// A cookie moved to another key id (same payload shape, other id) does not verify.
	forged := *ckOne
	payload, sig, _ := strings.Cut(ckOne.Value, ".")
	raw := strings.Replace(mustB64(t, payload), "AKIDONE", "AKIDTWO", 1)
	forged.Value = b64(raw) + "." + sig
	if _, ok := sessionOf(restarted, &forged); ok {
		t.Fatal("a session re-labelled with another key id verified")
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustB64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
