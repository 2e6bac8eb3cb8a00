package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// holdPort makes sure addr is taken while the test runs: it listens there, or finds it already taken (the
// shared Kafka broker holds 9092 on the test machine).
func holdPort(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("holding %s: %v", addr, err)
		}
		return
	}
	t.Cleanup(func() { ln.Close() })
}

// TestDevMovesOffTakenPorts: with 9400 and 9092 taken, sluice dev (the built binary, default flags) still
// runs, says that it moved the broker and the API and where to, and its broker creates topics on first
// produce. Before the fix a taken 9400 stopped sluice dev, a taken 9092 moved the broker without a word, and
// the broker created no topic on produce.
func TestDevMovesOffTakenPorts(t *testing.T) {
	holdPort(t, "127.0.0.1:9400")
	holdPort(t, "127.0.0.1:9092")
	p := sluicetest.Start(t, "dev", "--rate", "1")
	const wait = 60 * time.Second
	broker := p.WaitFor(t, wait, `127\.0\.0\.1:9092 is taken \(another Kafka\?\): the embedded broker listens on (127\.0\.0\.1:\d+) instead`)[1]
	apiAddr := p.WaitFor(t, wait, `127\.0\.0\.1:9400 is taken: the management API listens on (127\.0\.0\.1:\d+) instead`)[1]
	banner := p.WaitFor(t, wait, `listening on (\S+)(?s:.*)--endpoint-url http://(\S+)`)
	if banner[1] != broker || banner[2] != apiAddr {
		t.Errorf("banner addresses %s, %s; want the ones announced, %s and %s", banner[1], banner[2], broker, apiAddr)
	}
	if broker == "127.0.0.1:9092" || apiAddr == "127.0.0.1:9400" {
		t.Fatalf("sluice dev claims the taken ports: broker %s, API %s", broker, apiAddr)
	}
	resp, err := http.Get("http://" + apiAddr + "/v1/pipes")
	if err != nil {
		t.Fatalf("ListPipes on the moved API: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("ListPipes on the moved API = %d, want 200", resp.StatusCode)
	}

	// A topic nobody created is created by the first produce, as a Kafka broker with default settings does.
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topic := kafkatest.TopicName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(`{"hello":"dev"}`)}).FirstErr(); err != nil {
		t.Fatalf("producing to the new topic %s through sluice dev's broker: %v", topic, err)
	}
	topics, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil || !topics.Has(topic) || topics[topic].Err != nil {
		t.Fatalf("ListTopics(%s) = %v, %v; want the topic created", topic, topics, err)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Errorf("sluice dev exit after SIGTERM = %d, want 0", code)
	}
}

// TestDevExplicitListenTaken: an address given with --listen is used as given, or sluice dev says why not.
func TestDevExplicitListenTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := sluicetest.Start(t, "dev", "--listen", ln.Addr().String(), "--kafka-port", "0")
	if code := p.Wait(t, 30*time.Second); code != 1 {
		t.Fatalf("sluice dev --listen <taken> = exit %d, want 1; stderr:\n%s", code, p.Stderr.String())
	}
	p.WaitFor(t, time.Second, `reserving the management API address \(--listen\): .*address already in use`)
}
