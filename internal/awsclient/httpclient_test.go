package awsclient

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// sdkBody is a request body as the SDK hands it to net/http: once closed, its WriteTo answers io.EOF.
// Its WriteTo waits for the close when nothing is left to write, so that the race the SDK loses now and
// then (it closes the body as soon as the response arrives, before net/http's last copy of the body)
// happens every time.
type sdkBody struct {
	r      *bytes.Reader
	closed chan struct{}
	once   sync.Once
}

func newSDKBody(s string) *sdkBody {
	return &sdkBody{r: bytes.NewReader([]byte(s)), closed: make(chan struct{})}
}

func (b *sdkBody) Read(p []byte) (int, error) {
	select {
	case <-b.closed:
		return 0, io.EOF
	default:
		return b.r.Read(p)
	}
}

func (b *sdkBody) WriteTo(w io.Writer) (int64, error) {
	if b.r.Len() == 0 {
		<-b.closed
		return 0, io.EOF
	}
	return b.r.WriteTo(w)
}

func (b *sdkBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// answerEarly serves one request: it answers with the headers as soon as it has the body, and sends
// the response body once the client has closed the connection, or after 300 ms.
func answerEarly(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		c.Read(make([]byte, 1))
		io.WriteString(c, `{"ok":true}`)
	}()
	return "http://" + ln.Addr().String() + "/"
}

// call makes a request with an SDK-like body through c, closing the body when the response arrives as
// the SDK does, and returns the response body it reads.
func call(t *testing.T, c interface {
	Do(*http.Request) (*http.Response, error)
}) (string, error) {
	body := newSDKBody(`{"Entries":[{"Id":"0"}]}`)
	req, err := http.NewRequest(http.MethodPost, answerEarly(t), body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(body.r.Len())
	resp, err := c.Do(req)
	body.Close()
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestHTTPClientReadsBodies: a response read while the SDK closes the request body is read whole
// through HTTPClient. Straight through net/http, the same call fails with "use of closed network
// connection" (what a SendMessageBatch that SQS had done answered in the fresh-clone loop).
func TestHTTPClientReadsBodies(t *testing.T) {
	bare := &http.Client{Transport: &http.Transport{}}
	if got, err := call(t, bare); err == nil || !strings.Contains(err.Error(), "use of closed network connection") {
		t.Errorf("without HTTPClient: %q, %v; want the closed-connection failure this test reproduces", got, err)
	}
	got, err := call(t, HTTPClient(&http.Client{Transport: &http.Transport{}}))
	if err != nil || got != `{"ok":true}` {
		t.Fatalf("through HTTPClient: %q, %v; want the whole response", got, err)
	}
}

type seeBody struct{ body io.ReadCloser }

func (s *seeBody) Do(r *http.Request) (*http.Response, error) {
	s.body = r.Body
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// TestHTTPClientBodies: a body with WriteTo reaches the client without it; no body and http.NoBody
// (which net/http recognizes) pass as they are; the caller's request is not changed.
func TestHTTPClientBodies(t *testing.T) {
	for _, c := range []struct {
		body io.ReadCloser
		same bool
	}{{nil, true}, {http.NoBody, true}, {newSDKBody("x"), false}, {io.NopCloser(strings.NewReader("x")), false}} {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", nil)
		req.Body = c.body
		var s seeBody
		if _, err := HTTPClient(&s).Do(req); err != nil {
			t.Fatal(err)
		}
		_, hasWriteTo := s.body.(io.WriterTo)
		if (s.body == c.body) != c.same || (!c.same && hasWriteTo) {
			t.Errorf("body %T reached the client as %T", c.body, s.body)
		}
		if req.Body != c.body {
			t.Errorf("body %T: the caller's request now has %T", c.body, req.Body)
		}
	}
}
