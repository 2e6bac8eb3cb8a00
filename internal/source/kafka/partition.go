package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
)

// prefetchAhead is how many records ahead of the one being encoded the worker asks the CPU to load: the
// values of a fetch usually left the cache by the time they are encoded, and overlapping their loads
// saves about a tenth of the CPU time per 1 KB record (1 to 4 ahead measured alike).
const prefetchAhead = 2

// worker owns one assigned partition: the poll loop pushes fetched records into its queue, its goroutine
// cuts them into batches, calls the handler and marks acknowledged batches for commit.
type worker struct {
	s      *Source
	cl     *kgo.Client
	topic  string
	part   int32
	ctx    context.Context // cancelled on revocation, loss or shutdown
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine returns
	notify chan struct{} // capacity 1: records were pushed

	mu          sync.Mutex
	queue       []*kgo.Record
	queuedBytes int
	paused      bool   // fetching paused by Source.waitForRoom
	progress    uint64 // batches asked for: moves while the handler keeps returning (Source.waitForRoom)
	hwm         int64  // high watermark from the latest fetch
	next        int64  // offset after the last acknowledged record; -1 before the first fetch

	// Owned by the goroutine.
	enc     *event.PartitionEncoder
	pending []*kgo.Record // taken from queue, not yet batched
	pendIdx int
	recs    []*kgo.Record // the batch being collected, reused from batch to batch
	ends    []int         // end of each of recs' events in the batch's buffer
	bufHint int           // size of the previous batch's events, to size the next buffer in one allocation
	// free holds event buffers of handled batches for the next ones, when Config.ReuseEventBuffers: two,
	// because with Config.Overlap one batch is collected while the previous one is still handled.
	free chan []byte
	// marks is the argument of MarkCommitOffsets, {topic: {part: offset}}, reused from batch to batch
	// (franz-go copies what it is given): two maps per batch were most of a one-record batch's garbage.
	marks map[string]map[int32]kgo.EpochOffset
}

// collected is a batch on its way from collect to the handler.
type collected struct {
	b     *Batch
	epoch int32  // leader epoch of the batch's last record, for the commit
	buf   []byte // the batch's event buffer
}

func newWorker(ctx context.Context, s *Source, cl *kgo.Client, topic string, part int32) *worker {
	ctx, cancel := context.WithCancel(ctx)
	return &worker{s: s, cl: cl, topic: topic, part: part, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), notify: make(chan struct{}, 1), next: -1, bufHint: 4096,
		enc: s.enc.Partition(topic, part), free: make(chan []byte, 2),
		marks: map[string]map[int32]kgo.EpochOffset{topic: {part: {}}}}
}

// recordBytes approximates a record's memory for the queue bound.
func recordBytes(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value) + 64
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// push queues fetched records; called by the poll loop, which stops polling while a queue is full (see
// Source.waitForRoom).
func (w *worker) push(recs []*kgo.Record, hwm int64) {
	w.mu.Lock()
	if len(recs) > 0 && w.next < 0 {
		w.next = recs[0].Offset
	}
	if hwm > w.hwm {
		w.hwm = hwm
	}
	w.queue = append(w.queue, recs...)
	for _, r := range recs {
		w.queuedBytes += recordBytes(r)
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// full reports whether the queue holds MaxBatchBytes of record data or maxQueued records while its
// partition is still fetched, and the worker's progress count. A paused partition's queue does not grow,
// so the poll loop need not wait for it (waiting for it slowed every other partition to one poll per
// stallLimit).
func (w *worker) full() (bool, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.paused && (len(w.queue) >= w.s.maxQueued || w.queuedBytes >= w.s.cfg.MaxBatchBytes), w.progress
}

// pause stops fetching the partition until the worker next takes up its queue.
func (w *worker) pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.paused {
		w.paused = true
		w.cl.PauseFetchPartitions(map[string][]int32{w.topic: {w.part}})
	}
}

// refill moves the queue into pending, resuming fetching if it was paused; false when nothing is queued.
func (w *worker) refill() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return false
	}
	w.pending, w.queue = w.queue, w.pending[:0]
	w.pendIdx = 0
	w.queuedBytes = 0
	if w.paused {
		w.paused = false
		w.cl.ResumeFetchPartitions(map[string][]int32{w.topic: {w.part}})
	}
	select {
	case w.s.room <- struct{}{}:
	default:
	}
	return true
}

func (w *worker) lag() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.next < 0 || w.hwm < w.next {
		return 0
	}
	return w.hwm - w.next
}

// run is the partition's goroutine. Without Config.Overlap it collects a batch, prepares it, hands it to
// the handler and marks it, one batch after the other. With it, a second goroutine (prepareAhead) collects
// and prepares the next batch while the handler runs; run still hands a batch to the handler only after
// the previous one was acknowledged, and marks it only after its own handler returned nil, so the order
// of a partition and commit-after-acknowledgement are the same either way.
func (w *worker) run() {
	defer close(w.done)
	if !w.s.cfg.Overlap {
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			c := w.collect(timer)
			if c.b == nil || !w.prepare(c.b) || !w.handle(c) {
				return
			}
		}
	}
	ready := make(chan collected) // unbuffered: at most one batch prepared ahead of the one handled
	stopped := make(chan struct{})
	go w.prepareAhead(ready, stopped)
	defer func() {
		w.cancel() // stops prepareAhead when run returns on a handler error
		<-stopped
	}()
	for {
		select {
		case c := <-ready:
			if !w.handle(c) {
				return
			}
		case <-stopped:
			return
		}
	}
}

// prepareAhead is run's second goroutine with Config.Overlap: it collects and prepares batches and hands
// them to run one at a time, until the worker's context ends.
func (w *worker) prepareAhead(ready chan<- collected, stopped chan<- struct{}) {
	defer close(stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		c := w.collect(timer)
		if c.b == nil || !w.prepare(c.b) {
			return
		}
		select {
		case ready <- c:
		case <-w.ctx.Done():
			return
		}
	}
}

// prepare runs Config.Prepare on b; false when the worker's context ended meanwhile.
func (w *worker) prepare(b *Batch) bool {
	if w.s.cfg.Prepare != nil {
		w.s.cfg.Prepare(w.ctx, b)
	}
	return w.ctx.Err() == nil
}

// handle calls the handler with c's batch and marks the batch for commit when it returns nil; false when
// the worker must stop.
func (w *worker) handle(c collected) bool {
	b := c.b
	err := w.s.handler(w.ctx, b)
	w.mu.Lock()
	w.progress++ // the handler returned (Source.waitForRoom)
	w.mu.Unlock()
	if err != nil {
		if w.ctx.Err() != nil {
			// Revoked or stopping: the batch is abandoned, uncommitted, and read again later.
			return false
		}
		first, last := b.Records[0].Offset, b.Records[len(b.Records)-1].Offset
		w.s.fail(fmt.Errorf("pipe %s: handling batch of %s[%d] offsets %d..%d: %w", w.s.cfg.Pipe, w.topic, w.part, first, last, err))
		return false
	}
	next := b.Records[len(b.Records)-1].Offset + 1
	w.marks[w.topic][w.part] = kgo.EpochOffset{Epoch: c.epoch, Offset: next}
	w.cl.MarkCommitOffsets(w.marks)
	if com := w.s.com.Load(); com != nil {
		com.soon()
	}
	w.mu.Lock()
	w.next = next
	w.mu.Unlock()
	if w.s.cfg.ReuseEventBuffers {
		select {
		case w.free <- c.buf: // the handler is done with the batch's events
		default:
		}
	}
	return true
}

// collect builds the next batch, waiting for its first record and then until it is full, the window
// has passed or the byte limit is reached. Its batch is nil when the worker's context ends.
func (w *worker) collect(timer *time.Timer) collected {
	cfg := &w.s.cfg
	recs, ends := w.recs[:0], w.ends[:0]
	defer func() {
		clear(recs) // no reference to handed-out records outlives the batch
		w.recs, w.ends = recs[:0], ends[:0]
	}()
	var buf []byte
	select {
	case buf = <-w.free: // only filled with Config.ReuseEventBuffers
		buf = buf[:0]
	default:
		buf = make([]byte, 0, w.bufHint)
	}
	size := 2 // the JSON array's brackets
	var deadline time.Time
fill:
	for len(recs) < cfg.BatchSize {
		if w.pendIdx == len(w.pending) && !w.refill() {
			if len(recs) == 0 {
				select {
				case <-w.notify:
					continue
				case <-w.ctx.Done():
					return collected{}
				}
			}
			wait := time.Until(deadline)
			if cfg.BatchWindow == 0 || wait <= 0 {
				break
			}
			timer.Reset(wait)
			select {
			case <-w.notify:
				timer.Stop()
				continue
			case <-timer.C:
				break fill
			case <-w.ctx.Done():
				timer.Stop()
				return collected{}
			}
		}
		r := w.pending[w.pendIdx]
		if ahead := w.pendIdx + prefetchAhead; ahead < len(w.pending) {
			w.enc.Prefetch(w.pending[ahead])
		}
		start := len(buf)
		buf = w.enc.Append(buf, r)
		n := len(buf) - start
		if len(recs) > 0 {
			n++ // the comma
			if size+n > cfg.MaxBatchBytes {
				buf = buf[:start]
				break
			}
		}
		size += n
		w.pending[w.pendIdx] = nil
		w.pendIdx++
		recs = append(recs, r)
		ends = append(ends, len(buf))
		if len(recs) == 1 {
			deadline = time.Now().Add(cfg.BatchWindow)
		}
	}
	if w.ctx.Err() != nil {
		return collected{}
	}
	if len(buf) > w.bufHint {
		w.bufHint = len(buf)
	}
	b := &Batch{Topic: w.topic, Partition: w.part, Records: make([]Record, len(recs))}
	prev := 0
	for i, r := range recs {
		b.Records[i] = Record{
			Event: buf[prev:ends[i]:ends[i]], Key: r.Key, Value: r.Value,
			Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp,
		}
		prev = ends[i]
	}
	return collected{b: b, epoch: recs[len(recs)-1].LeaderEpoch, buf: buf}
}
