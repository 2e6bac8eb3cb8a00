package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"strings"
)

// cmdVersion implements `sluice version`: what was built, from which commit, with which Go, for a bug
// report or to tell two binaries apart.
func cmdVersion(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprint(std.err, "Usage: sluice version\n\nPrints the module version, the commit it was built from (and whether the tree had local\n"+
			"changes), the commit time, the Go version and the platform.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(std.err, "sluice version: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprint(std.out, versionText(info, goruntime.GOOS+"/"+goruntime.GOARCH))
	return 0
}

// versionText formats the build information (nil when the binary carries none) one item a line.
func versionText(info *debug.BuildInfo, platform string) string {
	var b strings.Builder
	version, goVersion := "unknown", goruntime.Version()
	settings := map[string]string{}
	if info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	fmt.Fprintf(&b, "sluice %s\n", version)
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified: built with uncommitted changes)"
		}
		fmt.Fprintf(&b, "  commit   %s\n", rev)
	} else {
		// go run, go test and builds outside a checkout (or with -buildvcs=false) record no commit.
		fmt.Fprintf(&b, "  commit   unknown (built without version control information)\n")
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "  time     %s\n", t)
	}
	fmt.Fprintf(&b, "  go       %s\n", goVersion)
	fmt.Fprintf(&b, "  platform %s\n", platform)
	return b.String()
}
