package httptarget

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// borrowedBody is a request body over bytes the client does not own: the pipe runtime reuses an event's
// memory once Deliver returns. net/http may still read or close a request body after Client.Do returned
// (a server that answers before reading it all, a cancelled request: "RoundTrip must always close the
// body ... but may do so in a separate goroutine even after RoundTrip returns"), so the client waits,
// after Do, until every body it handed to the transport was closed. GetBody (used by the transport to
// retry a request on a stale keep-alive connection) hands out further tracked bodies over the same bytes.
type borrowedBody struct {
	*bytes.Reader
	once sync.Once
	wg   *sync.WaitGroup
}

func (b *borrowedBody) Close() error {
	b.once.Do(b.wg.Done)
	return nil
}

// bodyTracker creates the borrowed bodies of one request and waits for them to be closed.
type bodyTracker struct {
	data []byte
	wg   sync.WaitGroup
}

func (t *bodyTracker) body() io.ReadCloser {
	t.wg.Add(1)
	return &borrowedBody{Reader: bytes.NewReader(t.data), wg: &t.wg}
}

// wait returns once every body was closed, or after limit (a transport that never closes a body would
// otherwise stall the pipe; it is bounded by the request timeout in practice).
func (t *bodyTracker) wait(limit time.Duration) {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
}
