package pipe

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// load decodes, defaults and validates a fixture, returning the definition or the problems as lines.
func load(t *testing.T, path string) (*Definition, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(data)
	var decodeErrs FieldErrors
	if err != nil && (!errors.As(err, &decodeErrs) || d == nil) {
		if decodeErrs != nil {
			return nil, lines(decodeErrs)
		}
		return nil, "decode error: " + err.Error() + "\n"
	}
	// Validation goes on after decode problems, as the API and `sluice run` do.
	d.SetDefaults(builtin())
	if fe := decodeErrs.Join(d.Validate(builtin())); len(fe) > 0 {
		return d, lines(fe)
	}
	return d, ""
}

func lines(fe FieldErrors) string {
	var b strings.Builder
	for _, f := range fe {
		b.WriteString(f.Field + ": " + f.Message + "\n")
	}
	return b.String()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestGoodDefinitions checks that each good fixture is valid and that its defaulted form is the
// golden one (so defaults are visible in review).
func TestGoodDefinitions(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.*")
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			d, problems := load(t, f)
			if problems != "" {
				t.Fatalf("Validate(%s) reported problems:\n%s", f, problems)
			}
			out, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, filepath.Ext(f))+".golden", append(out, '\n'))
		})
	}
}

// TestYAMLSameAsJSON checks that the YAML and JSON forms of the same pipe decode identically.
func TestYAMLSameAsJSON(t *testing.T) {
	j, pj := load(t, "testdata/good/full.json")
	y, py := load(t, "testdata/good/full.yaml")
	if pj != "" || py != "" {
		t.Fatalf("problems: %s %s", pj, py)
	}
	if diff := cmp.Diff(j, y); diff != "" {
		t.Errorf("YAML and JSON differ (-json +yaml):\n%s", diff)
	}
}

// TestBadDefinitions checks that every problem of each bad fixture is listed, by field (golden).
func TestBadDefinitions(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.*")
	for _, f := range files {
		if strings.HasSuffix(f, ".errors") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, problems := load(t, f)
			if problems == "" {
				t.Fatalf("Validate(%s) = no problems, want some", f)
			}
			golden(t, strings.TrimSuffix(f, filepath.Ext(f))+".errors", []byte(problems))
		})
	}
}

func BenchmarkDecodeValidate(b *testing.B) {
	data, err := os.ReadFile("testdata/good/full.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		d.SetDefaults(builtin())
		if fe := d.Validate(builtin()); len(fe) > 0 {
			b.Fatal(fe)
		}
	}
}
