package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestDevShowsDeliveredEvents runs sluice dev in-process, as a newcomer would, and waits for delivered
// orders to appear on standard output as JSON lines (the README promises it within 60 seconds).
func TestDevShowsDeliveredEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	began := time.Now()
	go func() {
		done <- cmdDev(ctx, []string{"--kafka-port", "0", "--listen", "127.0.0.1:0", "--rate", "20"}, stdio{out: out, err: errb})
	}()
	var lines []string
	kafkatest.Eventually(t, 60*time.Second, func() error {
		select {
		case code := <-done:
			t.Fatalf("sluice dev exited early with %d:\n%s", code, errb.String())
		default:
		}
		lines = strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) < 3 || lines[0] == "" {
			return fmt.Errorf("%d lines on stdout", len(lines))
		}
		return nil
	})
	t.Logf("first delivered lines after %v", time.Since(began))
	for _, l := range lines {
		var v struct {
			OrderID    string  `json:"orderId"`
			City       string  `json:"city"`
			Amount     float64 `json:"amount"`
			Status     string  `json:"status"`
			Pipe       string  `json:"pipe"`
			IngestedAt string  `json:"ingestedAt"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", l, err)
		}
		if v.Status != "PAID" || v.Amount <= 50 || v.OrderID == "" || v.City == "" || v.Pipe != "dev-orders" {
			t.Errorf("line %s does not satisfy the demo filter and template", l)
		}
		if _, err := time.Parse(time.RFC3339Nano, v.IngestedAt); err != nil {
			t.Errorf("line %s: ingestedAt: %v", l, err)
		}
	}
	logs := errb.String()
	m := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`).FindStringSubmatch(logs)
	if m == nil || !strings.Contains(logs, "kafka-console-producer") {
		t.Errorf("stderr lacks the broker address or client instructions:\n%s", logs)
	}
	api := regexp.MustCompile(`Management API \(the Pipes API, demo pipe included\): aws pipes list-pipes --endpoint-url (http://\S+)`).FindStringSubmatch(logs)
	if api == nil {
		t.Fatalf("stderr lacks the management API address:\n%s", logs)
	}
	// The demo pipe is visible through the Pipes API (ListPipes), running.
	resp, err := http.Get(api[1] + "/v1/pipes")
	if err != nil {
		t.Fatalf("GET %s: %v", api[1], err)
	}
	var list struct {
		Pipes []struct{ Name, CurrentState string }
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Pipes) != 1 || list.Pipes[0].Name != "dev-orders" || list.Pipes[0].CurrentState != "RUNNING" {
		t.Fatalf("ListPipes = %+v (err %v), want the running dev-orders pipe", list, err)
	}
	checkDevConsole(t, logs, api[1]) // dev_console_test.go
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("sluice dev exit = %d after cancel, want 0:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sluice dev did not stop within 30s of cancel")
	}
}

// TestSampleOrders: about half the sample orders pass the demo filter (PAID and amount > 50).
func TestSampleOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 10000
	match := 0
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		o := sampleOrder(r, i, now)
		if o.Amount < 5 || o.Items < 1 || o.OrderID == "" || o.CreatedAt != "2026-01-02T03:04:05Z" {
			t.Fatalf("sampleOrder = %+v", o)
		}
		if o.Status == "PAID" && o.Amount > 50 {
			match++
		}
	}
	if frac := float64(match) / n; frac < 0.35 || frac > 0.65 {
		t.Fatalf("%.2f of sample orders match the demo filter, want about half", frac)
	}
}

func TestDevUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"bad rate", []string{"--rate", "0"}, 2},
		{"extra", []string{"x"}, 2},
		{"help", []string{"-h"}, 0},
		{"bad log level", []string{"--log-level", "x"}, 2},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			if code := cmdDev(context.Background(), tc.args, stdio{out: io.Discard, err: io.Discard}); code != tc.want {
				t.Fatalf("sluice dev %v = %d, want %d", tc.args, code, tc.want)
			}
		})
	}
}
