package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// TestEgressRefused points the target at a broker the operator's policy refuses (standing for the
// server's own listener). Named by its address, the target is refused when built; named by a host name
// resolving to it, the dialer refuses it and Deliver fails permanently. Both errors name the address and
// --allow-egress, and nothing is produced. Opened with --allow-egress, the same target delivers.
func TestEgressRefused(t *testing.T) {
	c := kafkatest.Kfake(t)
	addr := c.Bootstrap[0]
	ap := netip.MustParseAddrPort(addr)
	self := []netip.AddrPort{ap}
	topic := c.CreateTopic(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := plugin.Env{PipeName: "p", Sandbox: sandbox.Policy{Egress: sandbox.NewEgress(nil, self)}}
	refusal := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, sandbox.ErrEgressRefused) || !plugin.IsPermanent(err) {
			t.Fatalf("got %v, want a permanent ErrEgressRefused", err)
		}
		for _, want := range []string{addr, "--allow-egress " + ap.Addr().String() + "/32", "kafka target " + topic} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
	}

	t.Run("address", func(t *testing.T) {
		extra := json.RawMessage(`{"KafkaParameters":{"AdditionalBootstrapServers":["` + addr + `"]}}`)
		for _, tc := range []struct {
			target string
			params json.RawMessage
		}{
			{"kafka://" + addr + "/" + topic, nil},
			{"kafka://localhost:1/" + topic, extra}, // an allowed seed does not excuse a refused one
		} {
			tg, err := New(ctx, env, tc.target, tc.params)
			if tg != nil {
				t.Errorf("New(%s) returned a target with its error", tc.target)
			}
			refusal(t, err)
		}
	})
	t.Run("host name", func(t *testing.T) {
		target := "kafka://localhost:" + addr[strings.LastIndexByte(addr, ':')+1:] + "/" + topic
		tg, err := New(ctx, env, target, nil)
		if err != nil {
			t.Fatalf("New must not dial: %v", err)
		}
		defer tg.(plugin.Closer).Close(ctx)
		// franz-go would retry the refused dial until the delivery timeout (30 s): the refusal ends the
		// wait, at once the first time; later Delivers wait for franz-go's next metadata request, at most
		// its 5 s minimum metadata age.
		for _, id := range []string{"refused", "refused again"} {
			start := time.Now()
			refusal(t, tg.Deliver(ctx, plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"id":"` + id + `"}`)}}))
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("the refused Deliver took %s, want it ended by the refusal", d)
			} else {
				t.Logf("refused Deliver ended after %s", d.Round(time.Millisecond))
			}
		}
	})

	env.Sandbox.Egress = sandbox.NewEgress([]netip.Prefix{netip.PrefixFrom(ap.Addr(), 32)}, self)
	tg, err := New(ctx, env, "kafka://"+addr+"/"+topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.(plugin.Closer).Close(ctx)
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"id":"opened"}`)}}); err != nil {
		t.Fatalf("Deliver with the broker opened by --allow-egress: %v", err)
	}
	recs := consume(t, c, topic, 1)
	if string(recs[0].Value) != `{"id":"opened"}` {
		t.Fatalf("topic holds %q, want only the record sent once opened", recs[0].Value)
	}
}
