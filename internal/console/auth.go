package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cookieName is the session cookie. Its value is "keyID|expiry unix|nonce" in base64 and an HMAC of it
// under a key derived from the secret of the access key it names (sessionKey): the server keeps no
// session table, a restart keeps every sign-in, and changing or removing a key's secret ends its sessions.
const cookieName = "sluice_console"

// session is a signed-in visitor (or, without keys, the one local user).
type session struct {
	KeyID string // "" without keys
	id    string // what CSRF tokens are bound to
}

// session returns the request's session; without keys every request has the local one.
func (c *Console) session(r *http.Request) (session, bool) {
	if len(c.o.Keys) == 0 {
		return session{id: "local"}, true
	}
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	payload, sig, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return session{}, false
	}
	s := session{KeyID: parts[0], id: payload}
	if _, ok := c.o.Keys[s.KeyID]; !ok {
		return session{}, false // the key was removed since: the sign-in no longer holds
	}
	if !hmac.Equal([]byte(sig), []byte(c.sign(s, "session", payload))) {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || c.o.Now().Unix() > exp {
		return session{}, false
	}
	return s, true
}

// sessionLabel is what a session key is derived from, with the secret of the access key signed in.
const sessionLabel = "sluice console session key v1"

// sessionKey is the key that signs s's cookie and CSRF tokens: HMAC-SHA256 of a fixed label under the
// secret access key s signed in with, so that every process configured with the same keys (a restart,
// another node) accepts the session, and rotating that secret ends it. Without keys (one local user, no
// cookie) it is the random per-process key, which only CSRF tokens use.
func (c *Console) sessionKey(s session) []byte {
	secret, ok := c.o.Keys[s.KeyID]
	if !ok || s.KeyID == "" {
		return c.key
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(sessionLabel))
	return m.Sum(nil)
}

// sign is the HMAC-SHA256 of msg under s's session key, for the given purpose, in hex.
func (c *Console) sign(s session, purpose, msg string) string {
	m := hmac.New(sha256.New, c.sessionKey(s))
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// csrfToken is the token state-changing requests of this session must carry (form field "csrf" or
// header X-CSRF-Token).
func (c *Console) csrfToken(s session) string { return c.sign(s, "csrf", s.id) }

func (c *Console) checkCSRF(r *http.Request, s session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		// ParseForm reads at most 10 MB of a form body; the API bounds bodies before this.
		tok = r.PostFormValue("csrf")
	}
	return tok != "" && hmac.Equal([]byte(tok), []byte(c.csrfToken(s)))
}

// signIn shows the sign-in form and checks what it posts. Without keys there is nothing to sign in to.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if len(c.o.Keys) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	status, msg, id := http.StatusOK, "", ""
	if r.Method == http.MethodPost {
		id = strings.TrimSpace(r.PostFormValue("access_key_id"))
		secret := r.PostFormValue("secret_access_key")
		want, known := c.o.Keys[id]
		// Compare even for an unknown id, so that the time taken does not tell which ids exist.
		if !known {
			want = "\x00unknown"
		}
		if known && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) == 1 {
			nonce := make([]byte, 12)
			rand.Read(nonce)
			exp := c.o.Now().Add(c.o.SessionTTL)
			payload := base64.RawURLEncoding.EncodeToString([]byte(id + "|" + strconv.FormatInt(exp.Unix(), 10) + "|" + hex.EncodeToString(nonce)))
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: payload + "." + c.sign(session{KeyID: id}, "session", payload), Path: "/",
				Expires: exp, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
			c.log.Info("console sign-in", "accessKeyId", id, "remote", r.RemoteAddr)
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		subtle.ConstantTimeCompare([]byte(secret), []byte(want))
		c.log.Warn("console sign-in refused", "accessKeyId", id, "remote", r.RemoteAddr)
		status, msg = http.StatusUnauthorized, "The access key id or the secret is not right."
	}
	send(w, status, c.signInView(msg, id))
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, Expires: time.Unix(0, 0)})
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}
