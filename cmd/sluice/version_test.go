package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

func TestVersionText(t *testing.T) {
	cases := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			"sluice v1.2.3\n  commit   0123abcd\n  time     2026-12-01T10:00:00Z\n  go       go1.26.8\n  platform linux/arm64\n"},
		{"modified checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}},
			"sluice (devel)\n  commit   0123abcd (modified: built with uncommitted changes)\n  go       go1.26.8\n  platform linux/arm64\n"},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"sluice (devel)\n  commit   unknown (built without version control information)\n  go       go1.26.8\n  platform linux/arm64\n"},
	}
	for _, tc := range cases {
		if got := versionText(tc.info, "linux/arm64"); got != tc.want {
			t.Errorf("versionText(%s) =\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
	if got := versionText(nil, "linux/arm64"); !strings.HasPrefix(got, "sluice unknown\n") {
		t.Errorf("versionText(nil) = %q, want it to start with \"sluice unknown\"", got)
	}
}

func TestVersionCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cmdVersion(context.Background(), []string{"extra"}, stdio{out: &out, err: &errb}); code != 2 {
		t.Errorf("sluice version extra = %d, want 2", code)
	}
	// The built binary, as a user runs it.
	p := sluicetest.Start(t, "version")
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("sluice version = exit %d; stderr %s", code, p.Stderr.String())
	}
	got := p.Stdout.String()
	for _, want := range []string{"sluice ", "\n  commit   ", "\n  go       go1.", "\n  platform "} {
		if !strings.Contains(got, want) {
			t.Errorf("sluice version printed\n%s\nwant it to contain %q", got, want)
		}
	}
}
