package main

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

func TestClusterFlagsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    clusterFlags
		want string // substring of the error; "" for none
	}{
		{"single node", clusterFlags{}, ""},
		{"node id without cluster", clusterFlags{nodeID: "a"}, "need --cluster"},
		{"cluster", clusterFlags{cluster: "127.0.0.1:9092,127.0.0.2:9092", clusterName: "prod", nodeID: "n1"}, ""},
		{"bad broker", clusterFlags{cluster: "kafka", clusterName: "prod"}, "want host:port"},
		{"bad name", clusterFlags{cluster: "k:9092", clusterName: "a/b"}, "--cluster-name"},
		{"bad node", clusterFlags{cluster: "k:9092", clusterName: "p", nodeID: "n 1"}, "--node-id"},
		{"auth without credentials", clusterFlags{cluster: "k:9092", clusterName: "p", nodeID: "n", clusterAuth: "SCRAM-SHA-512"}, "needs --cluster-credentials"},
		{"unknown auth", clusterFlags{cluster: "k:9092", clusterName: "p", nodeID: "n", clusterAuth: "KERBEROS", clusterCreds: "env:X"}, "want PLAIN"},
		{"credentials without auth", clusterFlags{cluster: "k:9092", clusterName: "p", nodeID: "n", clusterCreds: "env:X"}, "needs --cluster-auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			err := f.check("127.0.0.1:9400")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("check() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("check() = %v, want an error containing %q", err, tc.want)
			}
			if tc.want == "" && f.cluster != "" && f.nodeID == "" {
				t.Errorf("no default node ID")
			}
		})
	}
}

// TestScaleIntervalFlag: placement and scaling are on by default in cluster mode, checking every minute
// as Pipes does (issue 13); 0 turns them off; a negative interval is refused.
func TestScaleIntervalFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
		err  string
	}{
		{nil, time.Minute, ""},
		{[]string{"--scale-interval", "0"}, 0, ""},
		{[]string{"--scale-interval", "1s"}, time.Second, ""},
		{[]string{"--scale-interval", "-1s"}, -time.Second, "want a positive duration"},
	} {
		var p placementFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		p.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("parse %v: %v", tc.args, err)
		}
		if p.scaleInterval != tc.want {
			t.Errorf("%v: scale interval %s, want %s", tc.args, p.scaleInterval, tc.want)
		}
		err := p.check()
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: check() = %v, want %q", tc.args, err, tc.err)
		}
	}
}

// TestClusterSessionTimeoutDefault: a cluster's pipes default to the cluster's 10 s session timeout
// (issue 13: "10 s is a sensible cluster default"); a single node keeps the source's default, and an
// explicit --session-timeout wins in both modes.
func TestClusterSessionTimeoutDefault(t *testing.T) {
	if kafka.DefaultSessionTimeout == cluster.DefaultSessionTimeout {
		t.Fatalf("the test needs the two defaults to differ (both %s)", kafka.DefaultSessionTimeout)
	}
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, kafka.DefaultSessionTimeout},
		{[]string{"--session-timeout", "20s"}, 20 * time.Second},
		{[]string{"--cluster", "127.0.0.1:9092"}, cluster.DefaultSessionTimeout},
		{[]string{"--cluster", "127.0.0.1:9092", "--session-timeout", "30s"}, 30 * time.Second},
		{[]string{"--session-timeout", "45s", "--cluster", "127.0.0.1:9092"}, 45 * time.Second},
	} {
		var f serveFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.DurationVar(&f.sessionTimeout, "session-timeout", kafka.DefaultSessionTimeout, "")
		f.clusterFlags.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("parse %v: %v", tc.args, err)
		}
		f.clusterSessionDefault(fs)
		if f.sessionTimeout != tc.want {
			t.Errorf("%v: session timeout %s, want %s", tc.args, f.sessionTimeout, tc.want)
		}
	}
}
