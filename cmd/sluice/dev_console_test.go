package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkDevConsole checks that `sluice dev` printed the web console's address and that the console lists
// the demo pipe with a live rate (its event stream reports records per second above zero).
func checkDevConsole(t *testing.T, logs, api string) {
	t.Helper()
	m := regexp.MustCompile(`Web console \(pipes, live rates, playground\): (http://\S+)/`).FindStringSubmatch(logs)
	if m == nil || m[1] != api {
		t.Fatalf("stderr lacks the console's address (want %s/):\n%s", api, logs)
	}
	resp, err := http.Get(m[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&page)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(page.String(), `<tr data-pipe="dev-orders">`) {
		t.Fatalf("GET %s/ = %d, want the list with dev-orders:\n%s", m[1], resp.StatusCode, page.String())
	}
	resp, err = http.Get(m[1] + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && time.Now().Before(deadline) {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var msg struct {
			Pipes []struct {
				Name, State string
				Rate        float64
			}
		}
		if err := json.Unmarshal([]byte(data), &msg); err != nil {
			t.Fatalf("event %s: %v", data, err)
		}
		for _, p := range msg.Pipes {
			if p.Name == "dev-orders" && p.State == "RUNNING" && p.Rate > 0 {
				t.Logf("the console shows dev-orders at %.1f records/s", p.Rate)
				return
			}
		}
	}
	t.Fatalf("the console's event stream showed no rate for dev-orders within 20s (scan error %v)", sc.Err())
}
