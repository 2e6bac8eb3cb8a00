package execlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testArn = "arn:aws:pipes:us-east-1:000000000000:pipe/orders"

// pipesTable is the Pipes table of execution steps by log level, written out row by row (X = emitted at
// that level), independent of the steps map the package uses, so that the test checks the package
// against the Pipes documentation rather than against itself.
var pipesTable = []struct {
	m                   MessageType
	trace, info, errorL bool
}{
	{ExecutionStarted, true, true, false},
	{ExecutionSucceeded, true, true, false},
	{ExecutionFailed, true, true, true},
	{ExecutionPartiallyFailed, true, true, true},
	{ExecutionThrottled, true, true, true},
	{ExecutionTimeout, true, true, true},
	{EnrichmentStageEntered, true, true, false},
	{EnrichmentStageSucceeded, true, true, false},
	{EnrichmentStageFailed, true, true, true},
	{EnrichmentTransformationStarted, true, false, false},
	{EnrichmentTransformationSucceeded, true, false, false},
	{EnrichmentTransformationFailed, true, true, true},
	{EnrichmentInvocationStarted, true, false, false},
	{EnrichmentInvocationSucceeded, true, false, false},
	{EnrichmentInvocationSkipped, true, true, false},
	{EnrichmentInvocationFailed, true, true, true},
	{TargetStageEntered, true, true, false},
	{TargetStageSucceeded, true, true, false},
	{TargetStageFailed, true, true, true},
	{TargetStagePartiallyFailed, true, true, true},
	{TargetStageSkipped, true, false, false},
	{TargetTransformationStarted, true, false, false},
	{TargetTransformationSucceeded, true, false, false},
	{TargetTransformationFailed, true, true, true},
	{TargetInvocationStarted, true, false, false},
	{TargetInvocationSucceeded, true, false, false},
	{TargetInvocationSkipped, true, false, false},
	{TargetInvocationFailed, true, true, true},
	{TargetInvocationPartiallyFailed, true, true, true},
}

func decodeLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 2*MaxRecordBytes)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestLevelsEmitExactlyTheTable(t *testing.T) {
	if len(pipesTable) != len(MessageTypes()) {
		t.Fatalf("pipesTable has %d rows, the package knows %d message types", len(pipesTable), len(MessageTypes()))
	}
	for _, level := range []Level{Off, Error, Info, Trace} {
		t.Run(level.String(), func(t *testing.T) {
			var out bytes.Buffer
			l := New(&out, testArn, Config{Level: level})
			var want []string
			for _, row := range pipesTable {
				l.Log("exec-1", Entry{Type: row.m})
				emitted := map[Level]bool{Off: false, Error: row.errorL, Info: row.info, Trace: row.trace}[level]
				if emitted {
					want = append(want, string(row.m))
				}
				if got := l.Enabled(row.m); got != emitted {
					t.Errorf("Enabled(%s) at %s = %v, want %v", row.m, level, got, emitted)
				}
			}
			var got []string
			for _, r := range decodeLines(t, out.Bytes()) {
				got = append(got, r["messageType"].(string))
				if r["logLevel"] != level.String() {
					t.Errorf("record %s logLevel = %v, want %s", r["messageType"], r["logLevel"], level)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("steps written at %s (-want +got):\n%s", level, diff)
			}
		})
	}
}

// successfulExecution is the step sequence of one execution with an enrichment and templates, in the order of the Pipes execution steps.
var successfulExecution = []MessageType{
	ExecutionStarted,
	EnrichmentStageEntered, EnrichmentTransformationStarted, EnrichmentTransformationSucceeded,
	EnrichmentInvocationStarted, EnrichmentInvocationSucceeded, EnrichmentStageSucceeded,
	TargetStageEntered, TargetTransformationStarted, TargetTransformationSucceeded,
	TargetInvocationStarted, TargetInvocationSucceeded, TargetStageSucceeded,
	ExecutionSucceeded,
}

// logExecution logs the steps of one successful execution. The secret travels in the request the runtime
// sent (the events), where only AddSecrets can mask it.
func logExecution(l *Logger, id string, secret string) {
	req, _ := json.Marshal([]map[string]any{{"id": 1, "token": secret}})
	for _, m := range successfulExecution {
		e := Entry{Type: m, Payload: []byte(`[{"id":1,"value":"eyJhIjoxfQ=="}]`)}
		if l.WantsData(m) && steps[m].exchange {
			e.Request = req
			e.Response = []byte(`[{"ok":true}]`)
		}
		l.Log(id, e)
	}
}

// TestGoldenTraceExecution runs in a synctest bubble, whose clock starts at 2000-01-01T00:00:00Z, so that
// the timestamps are the same at every run.
func TestGoldenTraceExecution(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"trace_with_data", Config{Level: Trace, IncludeExecutionData: true}},
		{"trace_without_data", Config{Level: Trace}},
		{"info_with_data", Config{Level: Info, IncludeExecutionData: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(123 * time.Millisecond) // timestamps keep milliseconds
				l := New(&out, testArn, tc.cfg)
				l.AddSecrets("s3cr3t-Pa55")
				logExecution(l, "11111111-2222-4333-8444-555555555555", "s3cr3t-Pa55")
			})
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading %s (run with -update to create it): %v", golden, err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("log of one execution at %s (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestExecutionDataOnlyWhenIncluded(t *testing.T) {
	payloadSteps := map[MessageType]bool{ExecutionStarted: true, EnrichmentTransformationSucceeded: true,
		EnrichmentStageSucceeded: true, TargetTransformationSucceeded: true, TargetStageSucceeded: true}
	exchangeSteps := map[MessageType]bool{EnrichmentInvocationFailed: true, EnrichmentInvocationSucceeded: true,
		TargetInvocationFailed: true, TargetInvocationPartiallyFailed: true, TargetInvocationSucceeded: true}
	for _, include := range []bool{false, true} {
		var out bytes.Buffer
		l := New(&out, testArn, Config{Level: Trace, IncludeExecutionData: include})
		for _, row := range pipesTable {
			l.Log("e", Entry{Type: row.m, Payload: []byte(`[{"n":1}]`), Request: []byte("REQ"), Response: []byte("RESP")})
		}
		for _, r := range decodeLines(t, out.Bytes()) {
			m := MessageType(r["messageType"].(string))
			_, hasPayload := r["payload"]
			_, hasReq := r["awsRequest"]
			_, hasResp := r["awsResponse"]
			if want := include && payloadSteps[m]; hasPayload != want {
				t.Errorf("IncludeExecutionData=%v: %s has payload = %v, want %v", include, m, hasPayload, want)
			}
			if want := include && exchangeSteps[m]; hasReq != want || hasResp != want {
				t.Errorf("IncludeExecutionData=%v: %s has awsRequest/awsResponse = %v/%v, want %v", include, m, hasReq, hasResp, want)
			}
			if _, ok := r["truncatedFields"]; !ok {
				t.Errorf("%s lacks truncatedFields", m)
			}
			e, ok := r["error"]
			if !ok {
				t.Errorf("%s lacks error", m)
			}
			if want := m.IsFailure(); (e != nil) != want {
				t.Errorf("%s error = %v, want an error object: %v", m, e, want)
			}
		}
	}
}

type statusErr struct{ code int }

func (e statusErr) Error() string            { return "target answered 503" }
func (e statusErr) HTTPStatusCode() int      { return e.code }
func (e statusErr) ServiceRequestID() string { return "req-42" }

func TestErrorObject(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, testArn, Config{Level: Error})
	err := errors.Join(errors.New("delivering to https://api.example.com"), statusErr{503})
	l.Log("e", Entry{Type: TargetInvocationFailed, Err: err, Details: "attempt 3", Service: "https"})
	recs := decodeLines(t, out.Bytes())
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	got := recs[0]["error"]
	want := map[string]any{"httpStatusCode": 503.0, "message": err.Error(), "details": "attempt 3", "awsService": "https", "requestId": "req-42"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error object (-want +got):\n%s", diff)
	}
}

func TestNoSecretInAnyLine(t *testing.T) {
	secrets := []string{"s3cr3t-Pa55", `pa"ss<wo>rd&1`, "AKIAEXAMPLEKEY123"}
	for _, secret := range secrets {
		var out bytes.Buffer
		l := New(&out, testArn, Config{Level: Trace, IncludeExecutionData: true})
		l.AddSecrets(secret)
		logExecution(l, "e", secret)
		// A secret may also leak through an error message or a payload; AddSecrets masks those too.
		l.Log("e", Entry{Type: TargetInvocationFailed, Err: errors.New("auth failed for password " + secret)})
		payload, _ := json.Marshal(map[string]string{"password": secret})
		l.Log("e", Entry{Type: ExecutionStarted, Payload: payload})
		if out.Len() == 0 {
			t.Fatal("nothing logged")
		}
		for i, line := range strings.Split(out.String(), "\n") {
			for _, form := range []string{secret, jsonEscape(secret), jsonEscape(jsonEscape(secret))} {
				if strings.Contains(line, form) {
					t.Errorf("secret %q appears (as %q) in line %d: %s", secret, form, i, line)
				}
			}
		}
	}
}

func TestTruncation(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, testArn, Config{Level: Trace, IncludeExecutionData: true})
	big := bytes.Repeat([]byte(`"\u00e9x"`), 60<<10) // escapes grow when encoded
	l.Log("e", Entry{Type: TargetStageSucceeded, Payload: big})
	l.Log("e", Entry{Type: TargetInvocationSucceeded, Request: bytes.Repeat([]byte("a"), 200<<10), Response: bytes.Repeat([]byte("b"), 200<<10)})
	recs := decodeLines(t, out.Bytes())
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	for i, line := range lines {
		if len(line) > MaxRecordBytes {
			t.Errorf("line %d is %d bytes, want <= %d", i, len(line), MaxRecordBytes)
		}
	}
	for i, want := range [][]any{{"payload"}, {"awsRequest"}} {
		if diff := cmp.Diff(want, recs[i]["truncatedFields"]); diff != "" {
			t.Errorf("record %d truncatedFields (-want +got):\n%s", i, diff)
		}
	}
	if got := len(recs[1]["awsResponse"].(string)); got != 200<<10 {
		t.Errorf("awsResponse kept %d bytes, want all %d (awsRequest is cut first)", got, 200<<10)
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		level   string
		include []string
		want    Config
		wantErr bool
	}{
		{"", nil, Config{Level: Off}, false},
		{"OFF", nil, Config{Level: Off}, false},
		{"ERROR", nil, Config{Level: Error}, false},
		{"INFO", []string{"ALL"}, Config{Level: Info, IncludeExecutionData: true}, false},
		{"TRACE", []string{}, Config{Level: Trace}, false},
		{"trace", nil, Config{}, true},
		{"DEBUG", nil, Config{}, true},
		{"INFO", []string{"SOME"}, Config{}, true},
	} {
		got, err := ParseConfig(tc.level, tc.include)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseConfig(%q, %q) = %+v, %v; want %+v, error %v", tc.level, tc.include, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestNewExecutionID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewExecutionID()
		if !re.MatchString(id) {
			t.Fatalf("NewExecutionID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewExecutionID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe.log")
	w, err := Open("file://"+path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	l := New(w, testArn, Config{Level: Error})
	l.Log("e", Entry{Type: ExecutionFailed, Err: errors.New("boom")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	recs := decodeLines(t, data)
	var types []string
	for _, r := range recs {
		types = append(types, r["messageType"].(string))
	}
	sort.Strings(types)
	if diff := cmp.Diff([]string{"EXECUTION_FAILED"}, types); diff != "" {
		t.Errorf("file log (-want +got):\n%s", diff)
	}
}

func BenchmarkLogDisabled(b *testing.B) {
	l := New(bytes.NewBuffer(nil), testArn, Config{Level: Error})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l.Log("e", Entry{Type: TargetInvocationSucceeded})
	}
}

func BenchmarkLogInfo(b *testing.B) {
	var out bytes.Buffer
	l := New(&out, testArn, Config{Level: Info})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out.Reset()
		l.Log("11111111-2222-4333-8444-555555555555", Entry{Type: TargetStageSucceeded})
	}
}
