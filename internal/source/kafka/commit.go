package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kgo"
)

// committer commits the marked offsets after every acknowledged batch, asynchronously and coalesced:
// one commit is in flight at a time, and the next one, started when it returns, carries the newest
// marks of every partition acknowledged meanwhile. A kill -9 then replays at most the batches
// acknowledged since the last commit started, not a commit interval's worth.
//
// franz-go serializes commits itself (each waits for the one before), but CommitMarkedOffsets takes
// its snapshot of the marks when it is called, so a commit per batch would queue one request per batch,
// each carrying a stale snapshot; with one goroutine and a one-slot kick, the snapshot is taken only
// when the previous commit is done. The periodic autocommit (Config.CommitInterval) stays as the
// retry of a failed commit when no batch follows it.
type committer struct {
	s    *Source
	cl   *kgo.Client
	kick chan struct{} // capacity 1: a batch was acknowledged since the last commit started
	stop context.CancelFunc
	done chan struct{}
}

// startCommitter starts the commit goroutine; ctx is the client's context (it ends on Abort).
func startCommitter(ctx context.Context, s *Source, cl *kgo.Client) *committer {
	ctx, stop := context.WithCancel(ctx)
	c := &committer{s: s, cl: cl, kick: make(chan struct{}, 1), stop: stop, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// soon asks for a commit of the current marks; it never blocks.
func (c *committer) soon() {
	select {
	case c.kick <- struct{}{}:
	default: // a commit is already asked for; it will carry these marks too
	}
}

func (c *committer) run(ctx context.Context) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		if err := c.cl.CommitMarkedOffsets(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			// The offsets stay marked: the next commit (the next batch's, or the periodic one) retries them.
			c.s.log.Warn("committing acknowledged offsets; retrying at the next commit", "error", err)
		}
	}
}

// close stops the goroutine, abandoning a commit in flight (the synchronous commit that follows on
// shutdown carries its offsets), and waits for it.
func (c *committer) close() {
	c.stop()
	<-c.done
}
