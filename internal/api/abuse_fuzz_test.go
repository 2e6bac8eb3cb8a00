package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
	_ "github.com/sluicehq/sluice/internal/target/kafka" // the kafka:// target
)

// FuzzAPIAbuse is the API's abuse suite: the fuzzer writes a program of API operations (Create,
// Describe, Update, Start, Stop, Delete, List, Tag, Untag, ListTags, raw requests with arbitrary methods,
// paths, bodies and content types, and requests a web page could send), some run concurrently, against a
// live keyless server with a real store and real pipes on an in-process Kafka cluster. Properties:
//   - every answer is AWS-shaped JSON (or the text of /healthz and /metrics), never a redirect, never a
//     5xx; a request a web page could send is refused;
//   - no handler panicked (sluice_api_panics_total stays 0), and a panic anywhere else fails the run;
//   - once the pipes settle, the store is consistent: ListPipes names exactly the pipes DescribePipe
//     finds, and every pipe is in a settled state;
//   - the server still answers ListPipes, and Close stops every pipe (the goroutines the run started end).
//
// Run it with: go test -run '^$' -fuzz FuzzAPIAbuse -fuzztime 5m -parallel 1 ./internal/api/
func FuzzAPIAbuse(f *testing.F) {
	for _, seed := range abuseSeeds {
		f.Add(seed)
	}
	cluster := kafkatest.Kfake(f)
	env := abuseEnv{broker: cluster.Bootstrap[0], topic: cluster.CreateTopic(f, 2), out: cluster.CreateTopic(f, 1)}
	f.Fuzz(func(t *testing.T, program []byte) {
		env.run(t, program)
	})
}

// abuseSeeds are programs worth starting from (testdata/fuzz/FuzzAPIAbuse holds more): see decode for
// the encoding, three bytes an operation: operation (high bit: run with the next), name, variant.
var abuseSeeds = [][]byte{
	{opCreate, 0, 0, opDescribe, 0, 0, opStop, 0, 0, opStart, 0, 0, opUpdate, 0, 1, opDelete, 0, 0, opList, 0, 0},
	{opCreate, 0, 0, opWait, 0, 3, opStop, 0, 0, opWait, 0, 3, opStart, 0, 0, opWait, 0, 2, opUpdate, 0, 2, opWait, 0, 4, opDelete, 0, 0},
	{opCreate, 1, 0, opWait, 0, 2, opUpdate | concurrent, 1, 3, opStop | concurrent, 1, 0, opDelete, 1, 0, opWait, 0, 1, opCreate, 1, 2},
	{opCreate | concurrent, 1, 1, opCreate, 1, 0, opTag | concurrent, 1, 0, opUntag, 1, 1, opListTags, 1, 0, opDelete | concurrent, 1, 0, opDelete, 1, 0},
	{opCreate, 2, 4, opStart, 2, 0, opUpdate, 2, 3, opDelete, 2, 0, opCreate, 2, 1},
	{opCreate, 3, 0, opDelete | concurrent, 3, 0, opUpdate | concurrent, 3, 0, opStart, 3, 0, opStop, 3, 0},
	{opRaw, 0, 3, 12, '/', 'v', '1', '/', 'p', 'i', 'p', 'e', 's', '/', '.', '.', opRaw, 0, 7, 5, '/', '/', '%', '2', 'F'},
	{opWeb, 0, 0, opWeb, 1, 1, opWeb, 2, 2, opWeb, 0, 3, opList, 0, 0},
	{opCreate, 4, 0, opCreate, 5, 0, opCreate, 6, 2, opList, 0, 1, opDelete, 4, 0, opDelete, 5, 0},
	{opCreate, 0, 5, opCreate, 1, 6, opWait, 0, 3, opList, 0, 0, opStart, 0, 0, opDelete, 1, 0}, // targets that cannot be built
}

// Operation codes of a program (the low four bits of the first byte of each operation).
const (
	opCreate byte = iota
	opDescribe
	opUpdate
	opStart
	opStop
	opDelete
	opList
	opTag
	opUntag
	opListTags
	opRaw  // a request with fuzzed method, path, content type and body
	opWeb  // a request a web page could send (foreign Host, cross-site, text/plain): must be refused
	opWait // let the workers move: sleep 0-400 ms (variant%5 × 100 ms)
	numOps

	concurrent byte = 0x80 // run this operation together with the next one
)

// abuseNames are the pipe names programs use: valid ones (a few, so that operations meet) and ones the
// API must refuse.
var abuseNames = []string{"a", "b", "c", "d", "p.1", "P_2", "-", strings.Repeat("n", 64),
	".", "..", "", strings.Repeat("n", 65), "a/b", "a b", "%2e%2e", "é"}

// abuseEnv is the shared part of every run: the Kafka cluster and its topics.
type abuseEnv struct {
	broker, topic, out string
}

// abuseOp is one decoded operation.
type abuseOp struct {
	method, path, contentType, body string
	host                            string
	header                          map[string]string
	web                             bool          // a web page's request: must be refused
	wait                            time.Duration // opWait: sleep instead of a request
	together                        bool          // run concurrently with the next operation
}

func (e abuseEnv) createBodies() []string {
	src := fmt.Sprintf(`"Source":"smk://%s","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":%q,"StartingPosition":"TRIM_HORIZON","BatchSize":5}}`, e.broker, e.topic)
	tgt := fmt.Sprintf(`"Target":"kafka://%s/%s"`, e.broker, e.out)
	role := `"RoleArn":"arn:aws:iam::000000000000:role/sluice"`
	return []string{
		`{` + src + `,` + tgt + `,` + role + `}`,
		`{` + src + `,` + tgt + `,` + role + `,"DesiredState":"STOPPED","Tags":{"k":"v"}}`,
		`{` + src + `,` + tgt + `,` + role + `,"SourceParameters":{"FilterCriteria":{"Filters":[{"Pattern":"{\"value\":{\"n\":[{\"numeric\":[\">\",1]}]}}"}]},` +
			fmt.Sprintf(`"SelfManagedKafkaParameters":{"TopicName":%q}},"TargetParameters":{"InputTemplate":"{\"v\": <$.value>}"}}`, e.topic),
		`{"Source":"smk://127.0.0.1:1","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}},` + tgt + `,` + role + `}`,
		`{` + src + `,` + tgt + `,` + role + `,"Description":"` + strings.Repeat("d", 512) + `"}`,
		// Pipes whose target cannot be built (these used to crash the server).
		`{` + src + `,"Target":"file:///nonexistent-sluice-dir/out.jsonl",` + role + `}`,
		`{` + src + `,"Target":"file:///",` + role + `}`,
		`{` + tgt + `}`,
		`{` + src + `,` + tgt + `,"Unknown":1}`,
		`{"Source":1}`,
		`[]`,
		`{`,
	}
}

func (e abuseEnv) updateBodies() []string {
	role := `"RoleArn":"arn:aws:iam::000000000000:role/sluice"`
	return []string{
		`{` + role + `,"DesiredState":"STOPPED"}`,
		`{` + role + `,"Description":"updated"}`,
		`{` + role + `,"DesiredState":"RUNNING","SourceParameters":{"SelfManagedKafkaParameters":{"BatchSize":2}}}`,
		`{` + role + fmt.Sprintf(`,"Target":"kafka://%s/%s-2"}`, e.broker, e.out),
		`{` + role + `,"Enrichment":""}`,
		`{"Source":"smk://elsewhere:9092"}`,
		`{"DesiredState":"PAUSED"}`,
		`null`,
	}
}

var (
	tagBodies   = []string{`{"tags":{"a":"1"}}`, `{"tags":{"b":"2","c":"3"}}`, `{"tags":{}}`, `{"tags":{"":"x"}}`, `{"Tags":{"a":"1"}}`, `{}`}
	untagQuery  = []string{"tagKeys=a", "tagKeys=a&tagKeys=b", "", "tagKeys=", "tagKeys=%ff"}
	listQueries = []string{"", "NamePrefix=a", "Limit=1", "Limit=0", "NextToken=garbage", "DesiredState=RUNNING", "CurrentState=STOPPED&Limit=2"}
	rawMethods  = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"}
	rawTypes    = []string{"application/json", "", "application/json; charset=utf-8", "text/plain", "application/x-amz-json-1.1"}
	webRequests = []func(*abuseOp){
		func(o *abuseOp) { o.host = "rebind.example:9400" },
		func(o *abuseOp) {
			o.header = map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
		},
		func(o *abuseOp) { o.contentType = "text/plain" },
		func(o *abuseOp) { o.header = map[string]string{"Sec-Fetch-Site": "same-site"} },
	}
)

// decode turns a fuzzed program into operations; it takes at most 32 of them so that a run stays short.
func (e abuseEnv) decode(p []byte) []abuseOp {
	creates, updates := e.createBodies(), e.updateBodies()
	var ops []abuseOp
	for len(p) >= 3 && len(ops) < 32 {
		code, name, v := p[0], abuseNames[int(p[1])%len(abuseNames)], int(p[2])
		p = p[3:]
		pipePath := "/v1/pipes/" + url.PathEscape(name)
		if strings.HasPrefix(name, "%") {
			pipePath = "/v1/pipes/" + name // already escaped, as a hand-made client would send it
		}
		arnPath := "/tags/" + url.PathEscape("arn:aws:pipes:us-east-1:000000000000:pipe/"+name)
		o := abuseOp{together: code&concurrent != 0}
		switch code & 0x7f % numOps {
		case opCreate:
			o.method, o.path, o.body = "POST", pipePath, creates[v%len(creates)]
		case opDescribe:
			o.method, o.path = "GET", pipePath
		case opUpdate:
			o.method, o.path, o.body = "PUT", pipePath, updates[v%len(updates)]
		case opStart:
			o.method, o.path = "POST", pipePath+"/start"
		case opStop:
			o.method, o.path = "POST", pipePath+"/stop"
		case opDelete:
			o.method, o.path = "DELETE", pipePath
		case opList:
			o.method, o.path = "GET", "/v1/pipes?"+listQueries[v%len(listQueries)]
		case opTag:
			o.method, o.path, o.body = "POST", arnPath, tagBodies[v%len(tagBodies)]
		case opUntag:
			o.method, o.path = "DELETE", arnPath+"?"+untagQuery[v%len(untagQuery)]
		case opListTags:
			o.method, o.path = "GET", arnPath
		case opRaw:
			// The name byte picks the method; then a length byte and that many bytes of path; then a
			// length byte and that many bytes of body.
			o.method = rawMethods[int(p0(p))%len(rawMethods)]
			o.path, p = take(p)
			o.path = requestTarget(o.path)
			o.body, p = take(p)
			o.contentType = rawTypes[v%len(rawTypes)]
		case opWait:
			o.wait = time.Duration(v%5) * 100 * time.Millisecond
		case opWeb:
			o.method, o.path, o.body = "POST", pipePath, creates[0]
			o.web = true
			webRequests[v%len(webRequests)](&o)
		}
		if o.body != "" && o.contentType == "" && code&0x7f%numOps != opRaw && !o.web {
			o.contentType = "application/json"
		}
		if o.web && o.contentType == "" {
			o.contentType = "application/json"
		}
		ops = append(ops, o)
	}
	return ops
}

func p0(p []byte) byte {
	if len(p) == 0 {
		return 0
	}
	return p[0]
}

// take reads a length byte and that many bytes (as many as there are).
func take(p []byte) (string, []byte) {
	if len(p) == 0 {
		return "", p
	}
	n := min(int(p[0]%64), len(p)-1)
	return string(p[1 : 1+n]), p[1+n:]
}

// requestTarget makes fuzzed bytes a request target net/http will send: it starts with "/", and bytes
// an HTTP request line cannot hold are percent-encoded ("%" stays as it is, so that broken escapes are
// sent too; net/http's server refuses those itself, as text, before the API sees them, which send
// tolerates).
func requestTarget(s string) string {
	var b strings.Builder
	b.WriteByte('/')
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// settled states: no worker is moving the pipe.
// settled reports whether a pipe's worker is done with it: a stable state, or a start that waits to retry
// a broker that does not answer (CREATING, STARTING or UPDATING with a "retrying in" StateReason), which
// lasts as long as the broker stays away.
func settled(state, reason string) bool {
	switch state {
	case pipe.StateDeleting, pipe.StateStopping:
		return false
	case pipe.StateCreating, pipe.StateUpdating, pipe.StateStarting:
		return strings.HasPrefix(reason, "retrying in ")
	}
	return true
}

func (e abuseEnv) run(t *testing.T, program []byte) {
	ops := e.decode(program)
	if len(ops) == 0 {
		return
	}
	began := time.Now()
	baseline := goruntime.NumGoroutine()
	phase := func(name string) { t.Logf("%v: %s", time.Since(began).Round(time.Millisecond), name) }
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "data"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	logs := &errorLog{}
	factory := supervisor.RuntimeFactory(supervisor.RuntimeOptions{
		Deps: runtime.Deps{Secrets: &secret.Resolver{}, Metrics: reg, DrainTimeout: 2 * time.Second,
			Retry: runtime.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond}},
		PreflightTimeout: 2 * time.Second,
	})
	mgr := supervisor.NewManager(st, factory, supervisor.ManagerOptions{MaxPipes: 6, StopTimeout: 10 * time.Second,
		Registerer: reg, Logger: slog.New(logs)})
	srv, err := NewServer(Config{
		Store: st, Supervisor: mgr, Rate: -1, MaxBodyBytes: 4096,
		Registerer: reg, Gatherer: reg, Logger: slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	closed := false
	defer func() {
		if !closed {
			hs.Close()
			srv.Close(context.Background())
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for i := 0; i < len(ops); {
		j := i + 1
		for j < len(ops) && ops[j-1].together {
			j++
		}
		var wg sync.WaitGroup
		for _, o := range ops[i:j] {
			wg.Go(func() { e.check(t, client, hs.URL, o) })
		}
		wg.Wait()
		i = j
	}

	phase("program sent")
	// Let the workers finish every transition, then compare what List and Describe say.
	var listed []string
	deadline := time.Now().Add(45 * time.Second)
	for {
		var out struct {
			Pipes []struct{ Name, CurrentState, StateReason string }
		}
		code := getJSON(t, client, hs.URL+"/v1/pipes", &out)
		if code != 200 {
			t.Fatalf("ListPipes answered %d after the program", code)
		}
		listed = listed[:0]
		busy := ""
		for _, p := range out.Pipes {
			listed = append(listed, p.Name)
			if !settled(p.CurrentState, p.StateReason) {
				busy = p.Name + " is " + p.CurrentState
			}
		}
		if busy == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipes did not settle within 45s: %s", busy)
		}
		time.Sleep(20 * time.Millisecond)
	}
	phase("settled")
	var described []string
	for _, name := range abuseNames {
		if !validName(name) {
			continue
		}
		var d map[string]any
		switch code := getJSON(t, client, hs.URL+"/v1/pipes/"+url.PathEscape(name), &d); code {
		case 200:
			described = append(described, name)
			if !slices.Contains(listed, name) {
				t.Errorf("DescribePipe(%s) = 200 but ListPipes does not name it: %v", name, listed)
			}
		case 404:
		default:
			t.Errorf("DescribePipe(%s) answered %d", name, code)
		}
	}
	for _, name := range listed {
		if !slices.Contains(described, name) {
			t.Errorf("ListPipes names %s but DescribePipe does not find it", name)
		}
	}
	if n := testutil.ToFloat64(srv.metrics.panics); n != 0 {
		t.Errorf("the API recovered %v panics: %s", n, logs.String())
	}
	if code := getJSON(t, client, hs.URL+"/v1/pipes", &map[string]any{}); code != 200 {
		t.Errorf("final ListPipes answered %d", code)
	}
	phase("checked")
	hs.Close()
	closed = true
	done := make(chan error, 1)
	go func() { done <- srv.Close(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("closing the server: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not close within 60s")
	}
	phase("closed")
	// Close stopped every pipe: what the run started ends (the clients of kfake take a moment).
	deadline = time.Now().Add(15 * time.Second)
	for n := goruntime.NumGoroutine(); n > baseline+2; n = goruntime.NumGoroutine() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines remain after Close, %d before the run:\n%s", n, baseline, buf[:goruntime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := logs.String(); strings.Contains(s, "panic") {
		t.Errorf("a panic was logged:\n%s", s)
	}
}

// check sends one operation and checks the answer's shape.
func (e abuseEnv) check(t *testing.T, client *http.Client, base string, o abuseOp) {
	if o.method == "" {
		time.Sleep(o.wait)
		return
	}
	u, _ := url.Parse(base)
	// check runs on its own goroutine: it reports with Errorf, never Fatal.
	req, err := http.NewRequest(o.method, base, strings.NewReader(o.body))
	if err != nil {
		t.Errorf("%s: %v", o.method, err)
		return
	}
	req.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: o.path}
	if o.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if o.contentType != "" {
		req.Header.Set("Content-Type", o.contentType)
	}
	if o.host != "" {
		req.Host = o.host
	}
	for k, v := range o.header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: no answer: %v", o.method, o.path, err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	what := fmt.Sprintf("%s %s (%q, %.100q) = %d %q %.300s", o.method, o.path, o.contentType, o.body, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	t.Log(what)
	if resp.StatusCode == 400 && resp.Header.Get("X-Amzn-ErrorType") == "" && strings.HasPrefix(string(body), "400 Bad Request") {
		return // net/http's own refusal of a malformed request line, before any handler
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("%s: a redirect or server error", what)
	}
	if o.web && resp.StatusCode != 403 && resp.StatusCode != 415 {
		t.Errorf("%s: a web page's request was not refused", what)
	}
	path, _, _ := strings.Cut(o.path, "?")
	if (path == "/healthz" || path == "/metrics") && resp.StatusCode == 200 {
		return
	}
	if o.method == "HEAD" {
		return // no body to check
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type is not application/json", what)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: body is not a JSON object: %v", what, err)
	}
	if resp.StatusCode >= 400 && (v["__type"] == nil || v["__type"] != resp.Header.Get("X-Amzn-ErrorType")) {
		t.Errorf("%s: an error without a matching __type and X-Amzn-ErrorType", what)
	}
}

func getJSON(t *testing.T, client *http.Client, u string, out any) int {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	return resp.StatusCode
}

// errorLog keeps the server's error records, to show what a recovered panic said.
type errorLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *errorLog) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&l.b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.b.WriteByte('\n')
	return nil
}

func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }
func (l *errorLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
