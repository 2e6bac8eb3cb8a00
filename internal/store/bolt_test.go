package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func openT(t *testing.T, dir string) *Bolt {
	t.Helper()
	s, err := Open(dir, time.Second)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample(name string) *Record {
	t0 := time.Date(2026, 11, 25, 13, 0, 0, 123456789, time.UTC)
	return &Record{
		Name:             name,
		Definition:       json.RawMessage(`{"Source":"smk://127.0.0.1:9092","Target":"file:///tmp/out.jsonl","RoleArn":"arn:aws:iam::000000000000:role/sluice","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"orders","Credentials":{"SaslScram512Auth":"arn:aws:secretsmanager:us-east-1:000000000000:secret:kafka-AbCdEf"}}}}`),
		DesiredState:     "RUNNING",
		CurrentState:     "CREATING",
		Tags:             map[string]string{"team": "payments", "env": "dev"},
		CreationTime:     t0,
		LastModifiedTime: t0.Add(time.Second),
	}
}

// TestGoldenFormat pins the stored bytes: a change here is a change of the on-disk format and needs a
// FormatVersion bump and a reader for the old version.
func TestGoldenFormat(t *testing.T) {
	s := openT(t, t.TempDir())
	if err := s.Create(t.Context(), sample("orders-to-file"), 0); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		raw = bytes.Clone(tx.Bucket(bucketPipes).Get([]byte("orders-to-file")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "record.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(raw)); diff != "" {
		t.Errorf("stored record differs from %s (-want +got):\n%s", golden, diff)
	}
	// The golden bytes must decode back to the record written.
	got, err := decode("orders-to-file", bytes.TrimSpace(want))
	if err != nil {
		t.Fatal(err)
	}
	wantRec := sample("orders-to-file")
	wantRec.Version = FormatVersion
	wantRec.Revision = 1
	if diff := cmp.Diff(wantRec, got); diff != "" {
		t.Errorf("decode(golden) mismatch (-want +got):\n%s", diff)
	}
}

// TestRecordBeforeRevision reads a record written before Record.Revision existed (same FormatVersion:
// the member was added, and older readers ignore it): it reads as Revision 0, and the next Update
// gives it Revision 1.
func TestRecordBeforeRevision(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "record-before-revision.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := openT(t, t.TempDir())
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPipes).Put([]byte("orders-to-file"), bytes.TrimSpace(old))
	}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get(t.Context(), "orders-to-file")
	if err != nil {
		t.Fatal(err)
	}
	if r.Revision != 0 || r.DesiredState != "RUNNING" {
		t.Fatalf("old record read as revision %d, desired state %q; want 0, RUNNING", r.Revision, r.DesiredState)
	}
	r, err = s.Update(t.Context(), "orders-to-file", func(r *Record) error { r.StateReason = "x"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if r.Revision != 1 {
		t.Errorf("after Update: revision %d, want 1", r.Revision)
	}
}

func TestCRUD(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	for _, n := range []string{"b", "a", "c"} {
		if err := s.Create(t.Context(), sample(n), 0); err != nil {
			t.Fatalf("Create(%s): %v", n, err)
		}
	}
	if err := s.Create(t.Context(), sample("a"), 0); !errors.Is(err, ErrExists) {
		t.Errorf("Create(a) twice = %v, want ErrExists", err)
	}
	r, err := s.Get(t.Context(), "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "b" || r.Tags["team"] != "payments" {
		t.Errorf("Get(b) = %+v", r)
	}
	if _, err := s.Get(t.Context(), "zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(zz) = %v, want ErrNotFound", err)
	}
	got, err := s.Update(t.Context(), "b", func(r *Record) error {
		r.CurrentState = "RUNNING"
		r.StateReason = "ok"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentState != "RUNNING" {
		t.Errorf("Update(b) returned state %s, want RUNNING", got.CurrentState)
	}
	if _, err := s.Update(t.Context(), "zz", func(*Record) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update(zz) = %v, want ErrNotFound", err)
	}
	list, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Errorf("List() names (-want +got):\n%s", diff)
	}
	if err := s.Delete(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(a) twice = %v, want ErrNotFound", err)
	}
	if n, _ := s.Count(t.Context()); n != 2 {
		t.Errorf("Count() = %d, want 2", n)
	}

	// Everything survives reopening.
	s.Close()
	s2 := openT(t, dir)
	r, err = s2.Get(t.Context(), "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.CurrentState != "RUNNING" || r.StateReason != "ok" {
		t.Errorf("after reopen Get(b) = %s/%q, want RUNNING/ok", r.CurrentState, r.StateReason)
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	s := openT(t, t.TempDir())
	if err := s.Create(t.Context(), sample("p"), 0); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := s.Update(t.Context(), "p", func(r *Record) error {
		r.CurrentState = "DELETING"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	r, _ := s.Get(t.Context(), "p")
	if r.CurrentState != "CREATING" {
		t.Errorf("state after failed Update = %s, want CREATING", r.CurrentState)
	}
	if _, err := s.Update(t.Context(), "p", func(r *Record) error { r.Name = "q"; return nil }); err == nil {
		t.Error("Update renaming the record succeeded, want an error")
	}
}

func TestQuota(t *testing.T) {
	s := openT(t, t.TempDir())
	for i := 0; i < 3; i++ {
		if err := s.Create(t.Context(), sample(fmt.Sprint("p", i)), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(t.Context(), sample("p9"), 3); !errors.Is(err, ErrQuota) {
		t.Errorf("Create beyond quota = %v, want ErrQuota", err)
	}
	if err := s.Create(t.Context(), sample("p0"), 3); !errors.Is(err, ErrExists) {
		t.Errorf("Create existing at quota = %v, want ErrExists (name check first)", err)
	}
}

func TestConcurrentCreateQuota(t *testing.T) {
	s := openT(t, t.TempDir())
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Create(t.Context(), sample(fmt.Sprint("p", i)), 5)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, ErrQuota) {
			t.Errorf("Create = %v, want nil or ErrQuota", err)
		}
	}
	if ok != 5 {
		t.Errorf("%d concurrent creates succeeded, want exactly 5", ok)
	}
}

func TestInvalidRecords(t *testing.T) {
	s := openT(t, t.TempDir())
	cases := []struct {
		name string
		rec  *Record
	}{
		{"empty name", &Record{Definition: json.RawMessage(`{}`)}},
		{"invalid definition", &Record{Name: "x", Definition: json.RawMessage(`{`)}},
		{"missing definition", &Record{Name: "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Create(t.Context(), tc.rec, 0); err == nil {
				t.Errorf("Create(%s) succeeded, want an error", tc.name)
			}
		})
	}
	// A record of a future format version is refused, not misread.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPipes).Put([]byte("future"), []byte(`{"version":99,"name":"future","definition":{}}`))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "future"); !errors.Is(err, ErrFormat) {
		t.Errorf("Get(future) = %v, want ErrFormat", err)
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir)
	if s, err := Open(dir, 100*time.Millisecond); err == nil {
		s.Close()
		t.Fatal("second Open of the same directory succeeded, want a lock timeout")
	}
}

func TestClone(t *testing.T) {
	r := sample("p")
	c := r.Clone()
	c.Tags["team"] = "other"
	c.Definition[0] = '['
	if r.Tags["team"] != "payments" || r.Definition[0] != '{' {
		t.Error("Clone shares tags or definition with the original")
	}
}

// TestOpenDamagedFile truncates a store file written by this code at sizes where bbolt returns an error
// ("invalid database", "file size too small") or panics ("invalid freelist page"), and overwrites one
// with text: Open must return one error wrapping ErrCorrupt that names the file and says what to do,
// never panic.
func TestOpenDamagedFile(t *testing.T) {
	src := t.TempDir()
	s := openT(t, src)
	for i := range 40 {
		r := sample(fmt.Sprintf("pipe-%02d", i))
		r.Definition = json.RawMessage(`{"Description":"` + strings.Repeat("x", 2000) + `"}`)
		if err := s.Create(t.Context(), r, 0); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	data, err := os.ReadFile(filepath.Join(src, FileName))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{"not a bbolt file": []byte("this is not a database\n")}
	for _, n := range []int{1, 100, 4096, 8192, 12288, 16384, len(data) / 2} {
		cases[fmt.Sprintf("truncated to %d of %d bytes", n, len(data))] = data[:n]
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := Open(dir, time.Second)
			if err == nil {
				st.Close()
				t.Fatalf("Open of a damaged file succeeded")
			}
			msg := err.Error()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(msg, path) || !strings.Contains(msg, "restore the file from a backup") ||
				!strings.Contains(msg, "move it aside") {
				t.Errorf("Open = %v; want ErrCorrupt naming %s and saying what to do", err, path)
			}
		})
	}
}
