package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// The browser tests drive the console of a real `sluice serve` in headless Chromium (Debian's chromium
// package; scripts/chromium/ctl.sh installs it and scripts/test.sh sets SLUICE_REQUIRE_BROWSER=1).
// With SLUICE_SCREENSHOTS=DIR each step saves a PNG there (docs/img holds the README's).

func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	os.Exit(code)
}

// browser starts headless Chromium for the test, or skips (fails with SLUICE_REQUIRE_BROWSER set) when
// there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		msg := "no chromium on PATH: the console's browser tests need it (scripts/chromium/ctl.sh install)"
		if os.Getenv("SLUICE_REQUIRE_BROWSER") != "" {
			t.Fatal(msg + "; SLUICE_REQUIRE_BROWSER is set")
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("force-device-scale-factor", "1"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// run runs browser actions and fails the test on error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var loc, body string
		_ = chromedp.Run(ctx, chromedp.Location(&loc), chromedp.Text("main", &body, chromedp.ByQuery))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, sluicetest.Tail(body, 2000))
	}
}

// until waits for a JavaScript expression to be true. Evaluation errors are retried: a form post
// navigates, and an expression evaluated while the old page goes away fails ("Cannot find context").
func until(expr string, d time.Duration) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(d)
		var last error
		for {
			var ok bool
			err := chromedp.Evaluate(expr, &ok).Do(ctx)
			if err == nil && ok {
				return nil
			}
			if err != nil {
				last = err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s still false after %v (last error: %v)", expr, d, last)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// shot saves a screenshot of the viewport as DIR/console-NAME.png when SLUICE_SCREENSHOTS=DIR.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SLUICE_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	run(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot(&png))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "console-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(png))
}

// order is the value of the i-th test record: even ones are PAID.
func order(i int) []byte {
	status := "PENDING"
	if i%2 == 0 {
		status = "PAID"
	}
	return fmt.Appendf(nil, `{"id":"o-%d","status":%q,"amount":%d}`, i, status, 10+i)
}

// TestConsoleBrowser creates a pipe through the form against the real broker, watches it reach RUNNING
// and its counters move, lists it, tries its filter and a template in the playground, shows a pattern
// error beside the filter field, and stops and deletes it.
func TestConsoleBrowser(t *testing.T) {
	ctx := browser(t)
	kc := kafkatest.Real(t)
	topic := kc.CreateTopic(t, 2)
	dataDir := t.TempDir()
	_, base := sluicetest.Serve(t, dataDir)
	out := filepath.Join(dataDir, "files", "out.jsonl")
	name := "console-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	produce := func(from, to int) {
		recs := make([]*kgo.Record, 0, to-from)
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Key: fmt.Appendf(nil, "o-%d", i), Value: order(i)})
		}
		kc.Produce(t, recs...)
	}
	produce(0, 10) // before the pipe: TRIM_HORIZON reads them
	requests := watchRequests(ctx)
	defer func() {
		// The console's pages load nothing from other hosts.
		seen := requests()
		if len(seen) < 10 {
			t.Errorf("the browser sent %d requests; the request log is not working", len(seen))
		}
		for _, u := range seen {
			if !strings.HasPrefix(u, base+"/") && !strings.HasPrefix(u, "data:") {
				t.Errorf("the browser requested %s, not from the console's server %s", u, base)
			}
		}
	}()

	t.Run("invalid pattern shows beside the filter field", func(t *testing.T) {
		run(t, ctx, "filling the create form",
			chromedp.Navigate(base+"/console/new"),
			chromedp.SendKeys("#name", name+"-bad", chromedp.ByQuery),
			chromedp.SendKeys("#source", "smk://"+kc.Bootstrap[0], chromedp.ByQuery),
			chromedp.SendKeys("#topic", topic, chromedp.ByQuery),
			chromedp.SetValue("#filters", `{"value": {"status": "PAID"}}`, chromedp.ByQuery),
			chromedp.SendKeys("#target", "file://"+out, chromedp.ByQuery),
			chromedp.Click("#create-submit", chromedp.ByQuery),
			until(`document.getElementById("filters-error") !== null`, 30*time.Second),
		)
		var msg, described string
		run(t, ctx, "reading the error", chromedp.Text("#filters-error", &msg, chromedp.ByQuery),
			chromedp.AttributeValue("#filters", "aria-describedby", &described, nil, chromedp.ByQuery))
		if !strings.Contains(msg, "SourceParameters.FilterCriteria.Filters[0].Pattern") {
			t.Errorf("the filter field's error = %q, want it to name SourceParameters.FilterCriteria.Filters[0].Pattern", msg)
		}
		if !strings.Contains(described, "filters-error") {
			t.Errorf("#filters aria-describedby = %q, want it to reference filters-error", described)
		}
		var kept string
		run(t, ctx, "reading the kept form", chromedp.Value("#topic", &kept, chromedp.ByQuery))
		if kept != topic {
			t.Errorf("after the error the topic field holds %q, want %q as typed", kept, topic)
		}
		shot(t, ctx, "create-error")
	})

	t.Run("create through the form and reach RUNNING", func(t *testing.T) {
		run(t, ctx, "creating the pipe",
			chromedp.Navigate(base+"/console/new"),
			chromedp.SendKeys("#name", name, chromedp.ByQuery),
			chromedp.SendKeys("#source", "smk://"+kc.Bootstrap[0], chromedp.ByQuery),
			chromedp.SendKeys("#topic", topic, chromedp.ByQuery),
			chromedp.SetValue("#position", "TRIM_HORIZON", chromedp.ByQuery),
			chromedp.Click("#check", chromedp.ByQuery),
			until(`document.getElementById("check-result").textContent.startsWith("Connected")`, 20*time.Second),
			chromedp.SetValue("#filters", `{"value": {"status": ["PAID"]}}`, chromedp.ByQuery),
			chromedp.SendKeys("#target", "file://"+out, chromedp.ByQuery),
			chromedp.SetValue("#log_level", "INFO", chromedp.ByQuery),
			chromedp.Click("#create-submit", chromedp.ByQuery),
			until(`document.getElementById("state") !== null && document.getElementById("state").textContent === "RUNNING"`, 60*time.Second),
		)
	})

	t.Run("counters move as records are produced", func(t *testing.T) {
		run(t, ctx, "waiting for the first records", until(`+document.getElementById("m-read").textContent >= 10`, 60*time.Second))
		produce(10, 40)
		run(t, ctx, "waiting for the counters to move",
			until(`+document.getElementById("m-read").textContent >= 40`, 60*time.Second),
			until(`+document.getElementById("m-filtered").textContent >= 20`, 30*time.Second),
			// Offsets by partition: 20 records on each, all read and committed (commits follow delivery).
			until(`(() => { const r = [...document.querySelectorAll("#lag tr")].map(tr => [...tr.children].map(td => td.textContent));
				return r.length === 2 && r.every(x => x.length === 4 && x[1] === "20" && x[2] === "20" && x[3] === "0"); })()`, 30*time.Second),
			until(`document.querySelectorAll("svg.chart polyline").length === 3`, 30*time.Second),
			until(`[...document.querySelectorAll("#log td")].some(td => td.textContent === "EXECUTION_SUCCEEDED")`, 30*time.Second),
		)
	})

	t.Run("the definition as YAML", func(t *testing.T) {
		run(t, ctx, "showing the editor as YAML",
			chromedp.Click("#convert", chromedp.ByQuery),
			until(`document.getElementById("definition") !== null && document.getElementById("definition").value.includes("Target: file://")`, 20*time.Second),
		)
		var label string
		run(t, ctx, "reading the label", chromedp.Text(`label[for="definition"]`, &label, chromedp.ByQuery))
		if !strings.Contains(label, "YAML") {
			t.Errorf("the editor's label = %q, want it to say YAML", label)
		}
		run(t, ctx, "an invalid YAML edit",
			chromedp.SetValue("#definition", "Target: file://"+out+"\nLogConfiguration:\n  Level: LOUD\n", chromedp.ByQuery),
			chromedp.Click("#update", chromedp.ByQuery),
			until(`document.getElementById("definition-error") !== null && document.getElementById("definition-error").textContent.includes("LogConfiguration.Level")`, 20*time.Second),
			// The page puts the keyboard focus on the field in error.
			until(`document.activeElement && document.activeElement.id === "definition"`, 5*time.Second),
		)
	})

	t.Run("the list and the pipe page show the live rate", func(t *testing.T) {
		done := make(chan struct{})
		stop := make(chan struct{})
		go func() { // a steady trickle, so that the rate and the sparkline show something
			defer close(done)
			cl, err := kgo.NewClient(kgo.SeedBrokers(kc.Bootstrap...), kgo.DefaultProduceTopic(topic))
			if err != nil {
				return
			}
			defer cl.Close()
			for i := 1000; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				cl.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "o-%d", i), Value: order(i)}, nil)
			}
		}()
		defer func() { close(stop); <-done }()
		sel := fmt.Sprintf(`tr[data-pipe=%q]`, name)
		run(t, ctx, "watching the list",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(sel, chromedp.ByQuery),
			until(fmt.Sprintf(`parseFloat(document.querySelector('%s [data-k="rate"]').textContent) > 0`, sel), 30*time.Second),
			until(fmt.Sprintf(`document.querySelectorAll('%s svg.spark polyline').length === 1`, sel), 30*time.Second),
			chromedp.Sleep(3*time.Second), // a few points of sparkline for the screenshot
		)
		var state string
		run(t, ctx, "reading the state", chromedp.Text(sel+` [data-k="state"]`, &state, chromedp.ByQuery))
		if !strings.Contains(state, "RUNNING") {
			t.Errorf("the list's state cell = %q, want RUNNING as text", state)
		}
		shot(t, ctx, "list")
		run(t, ctx, "watching the pipe page's charts fill",
			chromedp.Navigate(base+"/console/pipes/"+name),
			until(`document.querySelector('svg.chart[data-s="rate"] polyline') !== null && `+
				`document.querySelector('svg.chart[data-s="rate"] polyline').points.length >= 12`, 40*time.Second),
		)
		shot(t, ctx, "pipe")
	})

	t.Run("the playground marks the kept samples and renders a template", func(t *testing.T) {
		run(t, ctx, "peeking",
			chromedp.Navigate(base+"/console/playground?pipe="+name),
			until(`document.querySelectorAll("#pg-samples li").length === 10`, 30*time.Second),
			chromedp.SendKeys("#pg-template", `{"order": <$.value.id>, "pipe": <aws.pipes.pipe-name>}`, chromedp.ByQuery),
			until(`document.querySelectorAll("#pg-samples li.kept pre.output").length > 0 && `+
				`document.querySelectorAll("#pg-samples li.kept pre.output").length === document.querySelectorAll("#pg-samples li.kept").length`, 20*time.Second),
		)
		var verdicts []map[string]string
		run(t, ctx, "reading the samples", chromedp.Evaluate(`[...document.querySelectorAll("#pg-samples li")].map(li => ({
			cls: li.className, verdict: li.querySelector(".verdict").textContent, value: li.querySelector("pre.value").textContent,
			output: (li.querySelector("pre.output") || {}).textContent || ""}))`, &verdicts))
		kept := 0
		for _, v := range verdicts {
			paid := strings.Contains(v["value"], `"PAID"`)
			if (v["cls"] == "kept") != paid || strings.HasPrefix(v["verdict"], "KEPT") != paid {
				t.Errorf("sample %s: class %q, verdict %q; want kept = %v (status PAID)", v["value"], v["cls"], v["verdict"], paid)
			}
			if paid {
				kept++
				id := v["value"][strings.Index(v["value"], `"o-`)+1:]
				id = id[:strings.IndexByte(id, '"')]
				want := fmt.Sprintf(`{"order": "%s", "pipe": "%s"}`, id, name)
				if v["output"] != want {
					t.Errorf("template output for %s = %q, want %q", id, v["output"], want)
				}
			}
		}
		if kept == 0 || kept == len(verdicts) {
			t.Errorf("%d of %d samples kept: want both kinds among the samples", kept, len(verdicts))
		}
		shot(t, ctx, "playground")
		// The same topic sampled as a bare source, before any pipe exists.
		run(t, ctx, "peeking a bare source",
			chromedp.Navigate(base+"/console/playground"),
			chromedp.Click("#pg-adhoc summary", chromedp.ByQuery),
			chromedp.SendKeys("#pg-source", "smk://"+kc.Bootstrap[0], chromedp.ByQuery),
			chromedp.SendKeys("#pg-topic", topic, chromedp.ByQuery),
			chromedp.SetValue("#pg-count", "4", chromedp.ByQuery),
			chromedp.SetValue("#pg-patterns", `{"value": {"status": ["PENDING"]}}`, chromedp.ByQuery),
			chromedp.Click("#pg-fetch", chromedp.ByQuery),
			until(`document.querySelectorAll("#pg-samples li").length === 4`, 30*time.Second),
		)
		var pending []bool
		run(t, ctx, "reading the bare source's samples", chromedp.Evaluate(`[...document.querySelectorAll("#pg-samples li")].map(li =>
			(li.className === "kept") === li.querySelector("pre.value").textContent.includes('"PENDING"'))`, &pending))
		for i, ok := range pending {
			if !ok {
				t.Errorf("bare source sample %d: kept does not match status PENDING", i)
			}
		}
	})

	t.Run("every field has a label", func(t *testing.T) {
		for _, page := range []string{"/", "/console/new", "/console/new?mode=yaml", "/console/pipes/" + name + "?format=yaml", "/console/playground"} {
			var fields struct {
				All        int
				Unlabelled []string
			}
			run(t, ctx, "reading the fields of "+page, chromedp.Navigate(base+page), chromedp.WaitReady("main", chromedp.ByQuery),
				chromedp.Evaluate(`(() => { const all = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")];
					return {All: all.length, Unlabelled: all.filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).map(e => e.id || e.name)}; })()`, &fields))
			if fields.All == 0 || len(fields.Unlabelled) > 0 {
				t.Errorf("%s: %d fields, without a label: %v", page, fields.All, fields.Unlabelled)
			}
		}
	})

	t.Run("stop and delete", func(t *testing.T) {
		run(t, ctx, "stopping",
			chromedp.Navigate(base+"/console/pipes/"+name),
			chromedp.Click("#stop", chromedp.ByQuery),
			until(`document.getElementById("state").textContent === "STOPPED"`, 60*time.Second),
		)
		shot(t, ctx, "stopped")
		sel := fmt.Sprintf(`tr[data-pipe=%q]`, name)
		run(t, ctx, "deleting",
			chromedp.Click("#delete", chromedp.ByQuery),
			until(fmt.Sprintf(`document.getElementById("pipes") !== null && document.querySelector('%s') === null`, sel), 60*time.Second),
		)
	})

	t.Run("create, stop and delete by keyboard", func(t *testing.T) {
		keyboardPipe(t, ctx, base, "smk://"+kc.Bootstrap[0], topic, filepath.Join(dataDir, "files", "keyboard.jsonl"), name+"-kb")
	})
}

// tabTo presses Tab until the element with the given id has the focus (at most 60 times): it is
// reachable by keyboard, in tab order.
func tabTo(id string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for range 60 {
			var at string
			if err := chromedp.Evaluate(`document.activeElement ? document.activeElement.id : ""`, &at).Do(ctx); err != nil {
				return err
			}
			if at == id {
				return nil
			}
			if err := chromedp.KeyEvent(kb.Tab).Do(ctx); err != nil {
				return err
			}
		}
		return fmt.Errorf("#%s never got the focus in 60 presses of Tab", id)
	})
}

// keyboardPipe creates a pipe, stops it and deletes it with the keyboard only (Tab, typing, arrow keys
// and Enter): issue 14's accessibility basics (keyboard navigation).
func keyboardPipe(t *testing.T, ctx context.Context, base, source, topic, out, name string) {
	run(t, ctx, "filling and submitting the create form by keyboard",
		chromedp.Navigate(base+"/"),
		tabTo("nav-create"), chromedp.KeyEvent(kb.Enter),
		until(`document.body.dataset.page === "create" && document.getElementById("name") !== null`, 20*time.Second),
		tabTo("name"), chromedp.KeyEvent(name),
		tabTo("source"), chromedp.KeyEvent(source),
		tabTo("topic"), chromedp.KeyEvent(topic),
		tabTo("position"), chromedp.KeyEvent(kb.ArrowDown),
		until(`document.getElementById("position").value === "TRIM_HORIZON"`, 5*time.Second),
		tabTo("filters"), chromedp.KeyEvent(`{"value": {"status": ["PAID"]}}`),
		tabTo("target"), chromedp.KeyEvent("file://"+out),
		chromedp.KeyEvent(kb.Enter), // the form's default button: Create the pipe
		until(`document.getElementById("state") !== null && document.getElementById("state").textContent === "RUNNING"`, 60*time.Second),
	)
	run(t, ctx, "stopping by keyboard",
		tabTo("stop"), chromedp.KeyEvent(kb.Enter),
		until(`document.getElementById("state") !== null && document.getElementById("state").textContent === "STOPPED"`, 60*time.Second),
	)
	sel := fmt.Sprintf(`tr[data-pipe=%q]`, name)
	run(t, ctx, "deleting by keyboard",
		tabTo("delete"), chromedp.KeyEvent(kb.Enter),
		until(fmt.Sprintf(`document.getElementById("pipes") !== null && document.querySelector('%s') === null`, sel), 60*time.Second),
	)
}

// TestConsoleSignIn signs in to a server with access keys, and checks that the session cookie is
// HttpOnly and SameSite=Strict and that a post without the CSRF token is refused.
func TestConsoleSignIn(t *testing.T) {
	ctx := browser(t)
	_, base := sluicetest.Serve(t, t.TempDir(), "--access-key-id", "AKCONSOLETEST", "--secret-access-key", "console-test-secret")
	run(t, ctx, "a wrong secret",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible("#access_key_id", chromedp.ByQuery),
		chromedp.SendKeys("#access_key_id", "AKCONSOLETEST", chromedp.ByQuery),
		chromedp.SendKeys("#secret_access_key", "not-the-secret", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		until(`document.getElementById("signin-error") !== null`, 30*time.Second),
	)
	shot(t, ctx, "signin")
	run(t, ctx, "signing in",
		chromedp.SendKeys("#secret_access_key", "console-test-secret", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		until(`document.getElementById("pipes") !== null`, 30*time.Second),
	)
	var who string
	run(t, ctx, "reading who signed in", chromedp.Text(".signout span", &who, chromedp.ByQuery))
	if !strings.Contains(who, "AKCONSOLETEST") {
		t.Errorf("header says %q, want the access key id", who)
	}
	var cookies []*network.Cookie
	run(t, ctx, "reading the cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().Do(ctx)
		return err
	}))
	found := false
	for _, c := range cookies {
		if c.Name == "sluice_console" {
			found = true
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Errorf("session cookie HttpOnly=%v SameSite=%v, want true and Strict", c.HTTPOnly, c.SameSite)
			}
			if strings.Contains(c.Value, "console-test-secret") {
				t.Errorf("the session cookie holds the secret")
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie among %d cookies", len(cookies))
	}
	var status []int
	run(t, ctx, "posting with and without the CSRF token", chromedp.Evaluate(`(async () => {
		const body = "name=x&source=smk%3A%2F%2F127.0.0.1%3A1&topic=t&target=file%3A%2F%2F%2Ftmp%2Fx";
		const h = {"Content-Type": "application/x-www-form-urlencoded"};
		const without = await fetch("/console/new", {method: "POST", headers: h, body});
		const wrong = await fetch("/console/new", {method: "POST", headers: h, body: body + "&csrf=0000"});
		const token = document.querySelector('meta[name="csrf-token"]').content;
		const with_ = await fetch("/console/new", {method: "POST", headers: h, body: body + "&csrf=" + token});
		return [without.status, wrong.status, with_.status];
	})()`, &status, func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if len(status) != 3 || status[0] != 403 || status[1] != 403 || status[2] == 403 {
		t.Errorf("POST /console/new without, with a wrong and with the CSRF token: %v, want 403, 403 and not 403", status)
	}
	// Signed out, the API's paths still want signatures and the console wants a sign-in.
	run(t, ctx, "signing out", chromedp.Click(".signout button", chromedp.ByQuery),
		until(`document.getElementById("access_key_id") !== null`, 30*time.Second))
}

// watchRequests records the URL of every request the browser sends from now on.
func watchRequests(ctx context.Context) func() []string {
	var mu sync.Mutex
	var urls []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), urls...)
	}
}
