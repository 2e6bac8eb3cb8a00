package retry

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The tests of Policy.Run run in testing/synctest bubbles: the policy's waits are real timers, which the
// bubble's fake clock fires as soon as every goroutine of the test is blocked, so a 30 s backoff takes no
// time and the time between two executions is exactly the wait.

// timeline records the bubble's clock at each execution of a batch.
type timeline struct {
	mu sync.Mutex
	at []time.Time
}

// wrap returns b with its Exec recording on tl.
func (tl *timeline) wrap(b Batch) Batch {
	exec := b.Exec
	b.Exec = func(ctx context.Context, lo, hi int) error {
		tl.mu.Lock()
		tl.at = append(tl.at, time.Now())
		tl.mu.Unlock()
		return exec(ctx, lo, hi)
	}
	return b
}

// waits returns the time that passed between consecutive executions, leaving out executions that
// followed at once (bisection halves run without waiting).
func (tl *timeline) waits() []time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(tl.at); i++ {
		if d := tl.at[i].Sub(tl.at[i-1]); d != 0 {
			out = append(out, d)
		}
	}
	return out
}

// fakeTarget is a real plugin.Target that rejects chosen events and can fail its first calls wholesale.
type fakeTarget struct {
	mu        sync.Mutex
	poison    map[string]error // event -> the error any batch containing it gets
	failFirst int              // the first failFirst calls fail with failErr
	failErr   error
	calls     int
	delivered []string
}

var _ plugin.Target = (*fakeTarget)(nil)

func (t *fakeTarget) Deliver(ctx context.Context, b plugin.Batch) error {
	events := b.Payloads
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	if t.calls <= t.failFirst {
		return t.failErr
	}
	for _, e := range events {
		if err, ok := t.poison[string(e)]; ok {
			return err
		}
	}
	for _, e := range events {
		t.delivered = append(t.delivered, string(e))
	}
	return nil
}

func events(n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i] = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
	}
	return out
}

func batchFor(tg plugin.Target, evs []json.RawMessage) Batch {
	return Batch{Len: len(evs), Exec: func(ctx context.Context, lo, hi int) error {
		return tg.Deliver(ctx, plugin.Batch{Payloads: evs[lo:hi]})
	}}
}

type httpStatusErr int

func (e httpStatusErr) Error() string       { return fmt.Sprintf("target answered %d", int(e)) }
func (e httpStatusErr) HTTPStatusCode() int { return int(e) }

func TestTransientFailureRecovers(t *testing.T) { synctest.Test(t, testTransientFailureRecovers) }

func testTransientFailureRecovers(t *testing.T) {
	var tl timeline
	tg := &fakeTarget{failFirst: 3, failErr: httpStatusErr(503)}
	evs := events(10)
	b := tl.wrap(batchFor(tg, evs))
	var retries []Attempt
	b.OnRetry = func(a Attempt) { retries = append(retries, a) }
	p := Policy{MaxRetries: -1, Rand: func() float64 { return 0.5 }}
	failures, err := p.Run(context.Background(), b)
	if err != nil || len(failures) != 0 {
		t.Fatalf("Run() = %v, %v; want no failures, nil", failures, err)
	}
	if len(tg.delivered) != 10 {
		t.Errorf("delivered %d events, want 10", len(tg.delivered))
	}
	// Full jitter with Rand = 0.5: half of 100ms, 200ms, 400ms.
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	if diff := cmp.Diff(want, tl.waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if len(retries) != 3 || retries[2].Attempt != 3 || retries[0].Class != Retryable {
		t.Errorf("OnRetry saw %+v, want 3 retryable attempts", retries)
	}
}

func TestBisectIsolatesPoison(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		poison     map[int]error
		maxRetries int
		wantReason Reason
	}{
		{"one permanent in 100", 100, map[int]error{37: plugin.Permanent(errors.New("400 bad request"))}, -1, ReasonPermanent},
		{"first of 7", 7, map[int]error{0: plugin.Permanent(errors.New("rejected"))}, 3, ReasonPermanent},
		{"last of 64", 64, map[int]error{63: plugin.Permanent(errors.New("rejected"))}, 0, ReasonPermanent},
		{"two permanent", 50, map[int]error{3: plugin.Permanent(errors.New("a")), 41: plugin.Permanent(errors.New("b"))}, 2, ReasonPermanent},
		{"retryable poison, 2 retries", 20, map[int]error{11: httpStatusErr(500)}, 2, ReasonRetriesExhausted},
		{"retryable poison, no retries", 20, map[int]error{5: httpStatusErr(502)}, 0, ReasonRetriesExhausted},
		{"single-record batch", 1, map[int]error{0: httpStatusErr(400)}, 5, ReasonPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				evs := events(tc.n)
				tg := &fakeTarget{poison: map[string]error{}}
				for i, err := range tc.poison {
					tg.poison[string(evs[i])] = err
				}
				start := time.Now()
				p := Policy{MaxRetries: tc.maxRetries, DeadLetter: true}
				failures, err := p.Run(context.Background(), batchFor(tg, evs))
				if err != nil {
					t.Fatalf("Run() error = %v", err)
				}
				var gotIdx, wantIdx []int
				for i := range tc.poison {
					wantIdx = append(wantIdx, i)
				}
				slices.Sort(wantIdx)
				for _, f := range failures {
					gotIdx = append(gotIdx, f.Index)
					if f.Reason != tc.wantReason {
						t.Errorf("failure %d reason = %s, want %s", f.Index, f.Reason, tc.wantReason)
					}
					if !errors.Is(f.Err, tc.poison[f.Index]) {
						t.Errorf("failure %d error = %v, want %v", f.Index, f.Err, tc.poison[f.Index])
					}
					if f.Attempts < 1 {
						t.Errorf("failure %d attempts = %d, want >= 1", f.Index, f.Attempts)
					}
				}
				if diff := cmp.Diff(wantIdx, gotIdx); diff != "" {
					t.Errorf("failed records (-want +got):\n%s", diff)
				}
				// Every other record delivered exactly once, in batch order.
				var want []string
				for i, e := range evs {
					if _, bad := tc.poison[i]; !bad {
						want = append(want, string(e))
					}
				}
				if diff := cmp.Diff(want, tg.delivered); diff != "" {
					t.Errorf("delivered (-want +got):\n%s", diff)
				}
				if waited := time.Since(start); tc.wantReason == ReasonPermanent && waited != 0 {
					t.Errorf("permanent failures waited %v, want no waits", waited)
				}
			})
		})
	}
}

func TestAttemptCount(t *testing.T) { synctest.Test(t, testAttemptCount) }

func testAttemptCount(t *testing.T) {
	// 4 records, record 2 always 500, MaxRetries 1: the batch runs twice, then halves [0,2) once and
	// [2,4) twice, then [2,3) twice: record 2 was in 2+2+2 = 6 executions.
	evs := events(4)
	tg := &fakeTarget{poison: map[string]error{string(evs[2]): httpStatusErr(500)}}
	p := Policy{MaxRetries: 1, DeadLetter: true}
	failures, err := p.Run(context.Background(), batchFor(tg, evs))
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 1 || failures[0].Attempts != 6 {
		t.Errorf("failures = %+v, want record 2 with 6 attempts", failures)
	}
	if tg.calls != 2+1+2+1+2 {
		t.Errorf("target called %d times, want 8", tg.calls)
	}
}

func TestRecordAge(t *testing.T) { synctest.Test(t, testRecordAge) }

func testRecordAge(t *testing.T) {
	start := time.Now()
	evs := events(8)
	tg := &fakeTarget{poison: map[string]error{string(evs[4]): httpStatusErr(503)}}
	b := batchFor(tg, evs)
	// Records are 10 minutes old, the limit is 60 s: each range gets one attempt, no waits.
	b.Timestamp = func(int) time.Time { return start.Add(-10 * time.Minute) }
	p := Policy{MaxRetries: -1, MaxRecordAge: time.Minute, DeadLetter: true}
	failures, err := p.Run(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 1 || failures[0].Index != 4 || failures[0].Reason != ReasonRecordTooOld || failures[0].Attempts != 4 {
		t.Errorf("failures = %+v, want record 4, record-age-exceeded, 4 attempts", failures)
	}
	if waited := time.Since(start); waited != 0 {
		t.Errorf("waited %v, want no waits for expired records", waited)
	}
	if len(tg.delivered) != 7 {
		t.Errorf("delivered %d, want 7", len(tg.delivered))
	}

	// Young records under the same limit are retried until they age out.
	start = time.Now()
	tg2 := &fakeTarget{poison: map[string]error{`{"i":0}`: httpStatusErr(503)}}
	b2 := batchFor(tg2, events(1))
	b2.Timestamp = func(int) time.Time { return start }
	p2 := Policy{MaxRetries: -1, MaxRecordAge: time.Minute, DeadLetter: true, Rand: func() float64 { return 0.99 }}
	failures, err = p2.Run(context.Background(), b2)
	if err != nil || len(failures) != 1 || failures[0].Reason != ReasonRecordTooOld {
		t.Fatalf("Run() = %+v, %v; want one record-age-exceeded failure", failures, err)
	}
	if age := time.Since(start); age <= time.Minute || age > time.Minute+DefaultCap {
		t.Errorf("gave up after %v, want just past 1m", age)
	}
}

func TestNoDeadLetterNeverGivesUp(t *testing.T) { synctest.Test(t, testNoDeadLetterNeverGivesUp) }

func testNoDeadLetterNeverGivesUp(t *testing.T) {
	evs := events(5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	var tl timeline
	b := tl.wrap(Batch{Len: len(evs), Exec: func(ctx context.Context, lo, hi int) error {
		calls++
		if calls == 50 {
			cancel() // the partition was revoked while the pipe kept retrying
		}
		return plugin.Permanent(errors.New("400 bad request"))
	}})
	p := Policy{MaxRetries: 2, MaxRecordAge: time.Second}
	old := time.Now().Add(-time.Hour)
	b.Timestamp = func(int) time.Time { return old }
	failures, err := p.Run(ctx, b)
	if !errors.Is(err, context.Canceled) || failures != nil {
		t.Fatalf("Run() = %v, %v; want nil, context.Canceled", failures, err)
	}
	if calls != 50 {
		t.Errorf("Exec called %d times, want 50 (limits ignored without a dead-letter destination)", calls)
	}
	for _, d := range tl.waits() {
		if d != DefaultCap {
			t.Fatalf("permanent failure without DLQ waited %v, want the cap %v", d, DefaultCap)
		}
	}
}

func TestThrottledHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want time.Duration
	}{
		{"429 with Retry-After", &plugin.ThrottledError{Err: errors.New("429"), RetryAfter: 7 * time.Second}, 7 * time.Second},
		{"503 with Retry-After", &plugin.RetryAfterError{Err: errors.New("503"), RetryAfter: 3 * time.Second}, 3 * time.Second},
		{"429 with Retry-After below backoff", &plugin.ThrottledError{Err: errors.New("429"), RetryAfter: time.Millisecond}, 50 * time.Millisecond},
		{"negative Retry-After", &plugin.ThrottledError{Err: errors.New("429"), RetryAfter: -time.Second}, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tl timeline
				tg := &fakeTarget{failFirst: 1, failErr: tc.err}
				p := Policy{MaxRetries: -1, Rand: func() float64 { return 0.5 }}
				if _, err := p.Run(context.Background(), tl.wrap(batchFor(tg, events(2)))); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]time.Duration{tc.want}, tl.waits()); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestBackoffCeiling(t *testing.T) {
	r := runner{p: Policy{Base: 100 * time.Millisecond, Cap: 5 * time.Second, Rand: func() float64 { return 1 }}}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {6, 3200 * time.Millisecond},
		{7, 5 * time.Second}, {64, 5 * time.Second}, {1000, 5 * time.Second},
	} {
		if got := r.backoff(tc.attempt); got != tc.want {
			t.Errorf("backoff(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

type sdkVerdict bool

func (v sdkVerdict) Error() string        { return "sdk error" }
func (v sdkVerdict) RetryableError() bool { return bool(v) }

func responseError(status int) error {
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      errors.New("operation error"),
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		want      Class
		wantDelay time.Duration
	}{
		{"plain error", errors.New("boom"), Retryable, 0},
		{"permanent", plugin.Permanent(errors.New("bad")), Permanent, 0},
		{"wrapped permanent", fmt.Errorf("delivering: %w", plugin.Permanent(httpStatusErr(503))), Permanent, 0},
		{"throttled", &plugin.ThrottledError{Err: errors.New("429"), RetryAfter: time.Second}, Throttled, time.Second},
		{"retry-after", &plugin.RetryAfterError{Err: errors.New("503"), RetryAfter: 2 * time.Second}, Retryable, 2 * time.Second},
		{"deadline", fmt.Errorf("calling target: %w", context.DeadlineExceeded), Timeout, 0},
		{"http 500", httpStatusErr(500), Retryable, 0},
		{"http 503", httpStatusErr(503), Retryable, 0},
		{"http 429", httpStatusErr(429), Throttled, 0},
		{"http 408", httpStatusErr(408), Timeout, 0},
		{"http 400", httpStatusErr(400), Permanent, 0},
		{"http 404", httpStatusErr(404), Permanent, 0},
		{"sdk response 503", responseError(503), Retryable, 0},
		{"sdk response 403", responseError(403), Permanent, 0},
		{"sdk response 429", responseError(429), Throttled, 0},
		{"sdk throttling code on 400", fmt.Errorf("op: %w", errors.Join(&smithy.GenericAPIError{Code: "ThrottlingException"}, responseError(400))), Throttled, 0},
		{"sdk not retryable", sdkVerdict(false), Permanent, 0},
		{"sdk retryable", sdkVerdict(true), Retryable, 0},
		{"net timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, Timeout, 0},
		{"connection refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", errors.New("connection refused"))}, Retryable, 0},
	} {
		got, delay := Classify(tc.err)
		if got != tc.want || delay != tc.wantDelay {
			t.Errorf("Classify(%s) = %v, %v; want %v, %v", tc.name, got, delay, tc.want, tc.wantDelay)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestFromPipe(t *testing.T) {
	three, sixty, minusOne := 3, 60, -1
	for _, tc := range []struct {
		name       string
		retries    *int
		age        *int
		deadLetter bool
		want       Policy
	}{
		{"absent", nil, nil, false, Policy{MaxRetries: -1}},
		{"forever", &minusOne, &minusOne, true, Policy{MaxRetries: -1, DeadLetter: true}},
		{"bounded", &three, &sixty, true, Policy{MaxRetries: 3, MaxRecordAge: time.Minute, DeadLetter: true}},
	} {
		got := FromPipe(tc.retries, tc.age, tc.deadLetter)
		if got.MaxRetries != tc.want.MaxRetries || got.MaxRecordAge != tc.want.MaxRecordAge || got.DeadLetter != tc.want.DeadLetter {
			t.Errorf("FromPipe(%s) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestDeadLetterGolden(t *testing.T) {
	f := Failure{Index: 0, Err: errors.New("delivering to https://api.example.com/orders: 400 Bad Request"), Class: Permanent, Reason: ReasonPermanent, Attempts: 3}
	rec := RecordInfo{Topic: "orders", Partition: 2, Offset: 1234,
		Timestamp: time.Date(2026, 11, 25, 13, 0, 0, 123e6, time.UTC),
		Event:     json.RawMessage(`{"eventSource":"SelfManagedKafka","topic":"orders","partition":"2","offset":1234,"value":"e30="}`)}
	dl := NewDeadLetter("orders", "arn:aws:pipes:us-east-1:000000000000:pipe/orders", f, rec, time.Date(2026, 11, 25, 13, 0, 9, 870e6, time.UTC))
	got, err := json.MarshalIndent(dl, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "deadletter.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading %s (run with -update): %v", golden, err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("dead-letter record (-want +got):\n%s", diff)
	}
}

// BenchmarkRunSuccess measures the policy's overhead on the hot path: a batch delivered at the first try.
func BenchmarkRunSuccess(b *testing.B) {
	p := Policy{}
	batch := Batch{Len: 100, Exec: func(context.Context, int, int) error { return nil }}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := p.Run(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}
