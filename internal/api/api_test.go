package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/supervisor/supervisortest"
)

var bg = context.Background()

func TestCreateDescribeList(t *testing.T) {
	h := newHarness(t)
	before := time.Now().Add(-time.Second)
	in := createInput("orders-to-file", types.RequestedPipeStateRunning)
	in.Description = aws.String("orders, as files")
	in.Tags = map[string]string{"team": "payments"}
	in.SourceParameters.SelfManagedKafkaParameters.Credentials = &types.SelfManagedKafkaAccessConfigurationCredentialsMemberSaslScram512Auth{
		Value: "arn:aws:secretsmanager:us-east-1:000000000000:secret:kafka-creds-AbCdEf"}
	in.SourceParameters.FilterCriteria = &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(`{"value":{"kind":["order"]}}`)}}}
	out, err := h.client.CreatePipe(bg, in)
	if err != nil {
		t.Fatal(err)
	}
	wantArn := "arn:aws:pipes:us-east-1:000000000000:pipe/orders-to-file"
	if aws.ToString(out.Arn) != wantArn || aws.ToString(out.Name) != "orders-to-file" {
		t.Errorf("CreatePipe = %s %s, want %s", aws.ToString(out.Arn), aws.ToString(out.Name), wantArn)
	}
	if out.CurrentState != types.PipeStateCreating || out.DesiredState != types.RequestedPipeStateRunning {
		t.Errorf("CreatePipe states = %s/%s, want RUNNING/CREATING", out.DesiredState, out.CurrentState)
	}
	if out.CreationTime == nil || out.CreationTime.Before(before) || out.CreationTime.After(time.Now().Add(time.Second)) {
		t.Errorf("CreationTime = %v, want about now", out.CreationTime)
	}
	d := h.waitState("orders-to-file", types.PipeStateRunning)
	if aws.ToString(d.Description) != "orders, as files" || aws.ToString(d.Source) != "smk://127.0.0.1:9092" ||
		aws.ToString(d.RoleArn) != testRole || aws.ToString(d.Arn) != wantArn {
		t.Errorf("DescribePipe = %+v", d)
	}
	if diff := cmp.Diff(map[string]string{"team": "payments"}, d.Tags); diff != "" {
		t.Errorf("DescribePipe Tags (-want +got):\n%s", diff)
	}
	k := d.SourceParameters.SelfManagedKafkaParameters
	if aws.ToString(k.TopicName) != "orders" || aws.ToInt32(k.BatchSize) != 10 || aws.ToString(k.ConsumerGroupID) == "" {
		t.Errorf("SelfManagedKafkaParameters = %+v", k)
	}
	cred, ok := k.Credentials.(*types.SelfManagedKafkaAccessConfigurationCredentialsMemberSaslScram512Auth)
	if !ok || cred.Value != "arn:aws:secretsmanager:us-east-1:000000000000:secret:kafka-creds-AbCdEf" {
		t.Errorf("Credentials = %#v, want the secret reference", k.Credentials)
	}
	if len(d.SourceParameters.FilterCriteria.Filters) != 1 {
		t.Errorf("FilterCriteria = %+v", d.SourceParameters.FilterCriteria)
	}
	if !d.LastModifiedTime.Equal(*out.LastModifiedTime) || d.CreationTime.Unix() != out.CreationTime.Unix() {
		t.Errorf("Describe times %v/%v differ from Create %v/%v", d.CreationTime, d.LastModifiedTime, out.CreationTime, out.LastModifiedTime)
	}
	h.waitRunners("orders-to-file", 1, 1)

	list, err := h.client.ListPipes(bg, &pipes.ListPipesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Pipes) != 1 || aws.ToString(list.Pipes[0].Arn) != wantArn || list.Pipes[0].CurrentState != types.PipeStateRunning ||
		aws.ToString(list.Pipes[0].Target) != "file:///tmp/sluice-api-test/orders-to-file.jsonl" || list.NextToken != nil {
		t.Errorf("ListPipes = %+v", list)
	}
}

func TestCreateStopped(t *testing.T) {
	h := newHarness(t)
	h.create("idle", types.RequestedPipeStateStopped)
	h.waitState("idle", types.PipeStateStopped)
	if b, _, _ := h.factory.Stats("idle"); b != 0 {
		t.Errorf("a pipe created STOPPED was built %d times, want 0", b)
	}
}

// apiErr asserts that err is the AWS exception wantType and returns it.
func apiErr(t *testing.T, op string, err error, wantType string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s error = %v, want %s", op, err, wantType)
	}
	if ae.ErrorCode() != wantType {
		t.Fatalf("%s error = %s (%s), want %s", op, ae.ErrorCode(), ae.ErrorMessage(), wantType)
	}
	return ae
}

func TestErrorTypes(t *testing.T) {
	t.Run("ValidationException with fieldList", func(t *testing.T) {
		h := newHarness(t)
		in := createInput("bad", types.RequestedPipeStateRunning)
		in.SourceParameters.SelfManagedKafkaParameters.BatchSize = aws.Int32(0)
		in.Target = aws.String("gopher://nowhere")
		_, err := h.client.CreatePipe(bg, in)
		apiErr(t, "CreatePipe", err, "ValidationException")
		var ve *types.ValidationException
		if !errors.As(err, &ve) {
			t.Fatalf("error %T is not *types.ValidationException", err)
		}
		names := map[string]bool{}
		for _, f := range ve.FieldList {
			names[aws.ToString(f.Name)] = true
			if aws.ToString(f.Message) == "" {
				t.Errorf("fieldList entry %s has no message", aws.ToString(f.Name))
			}
		}
		for _, want := range []string{"Target", "SourceParameters.SelfManagedKafkaParameters.BatchSize"} {
			if !names[want] {
				t.Errorf("fieldList %v lacks %s", names, want)
			}
		}
		if len(h.snapshot()) != 0 {
			t.Error("a rejected CreatePipe stored a pipe")
		}
	})
	t.Run("NotFoundException", func(t *testing.T) {
		h := newHarness(t)
		for op, call := range map[string]func() error{
			"DescribePipe": func() error {
				_, err := h.client.DescribePipe(bg, &pipes.DescribePipeInput{Name: aws.String("nope")})
				return err
			},
			"StartPipe": func() error {
				_, err := h.client.StartPipe(bg, &pipes.StartPipeInput{Name: aws.String("nope")})
				return err
			},
			"StopPipe": func() error {
				_, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("nope")})
				return err
			},
			"DeletePipe": func() error {
				_, err := h.client.DeletePipe(bg, &pipes.DeletePipeInput{Name: aws.String("nope")})
				return err
			},
			"UpdatePipe": func() error {
				_, err := h.client.UpdatePipe(bg, &pipes.UpdatePipeInput{Name: aws.String("nope"), RoleArn: aws.String(testRole)})
				return err
			},
			"ListTagsForResource": func() error {
				_, err := h.client.ListTagsForResource(bg, &pipes.ListTagsForResourceInput{ResourceArn: aws.String(h.srv.ARNs().Pipe("nope"))})
				return err
			},
		} {
			err := call()
			apiErr(t, op, err, "NotFoundException")
			var nf *types.NotFoundException
			if !errors.As(err, &nf) {
				t.Errorf("%s error %T is not *types.NotFoundException", op, err)
			}
		}
	})
	t.Run("ConflictException", func(t *testing.T) {
		h := newHarness(t)
		h.create("dup", types.RequestedPipeStateStopped)
		_, err := h.client.CreatePipe(bg, createInput("dup", types.RequestedPipeStateStopped))
		var ce *types.ConflictException
		if !errors.As(err, &ce) {
			t.Fatalf("second CreatePipe = %v, want ConflictException", err)
		}
		if aws.ToString(ce.ResourceId) != "dup" || aws.ToString(ce.ResourceType) != "pipe" {
			t.Errorf("ConflictException resource = %s/%s, want dup/pipe", aws.ToString(ce.ResourceId), aws.ToString(ce.ResourceType))
		}
		// A pipe in a transitional state refuses changes (one that is starting or retrying its start
		// accepts them: TestStopDuringStartRetry).
		block := make(chan struct{})
		h.factory.Set("slow", supervisortest.Behaviour{Drain: block})
		h.create("slow", types.RequestedPipeStateRunning)
		h.waitState("slow", types.PipeStateRunning)
		if _, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("slow")}); err != nil {
			t.Fatal(err)
		}
		for op, call := range map[string]func() error{
			"StopPipe": func() error {
				_, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("slow")})
				return err
			},
			"StartPipe": func() error {
				_, err := h.client.StartPipe(bg, &pipes.StartPipeInput{Name: aws.String("slow")})
				return err
			},
			"DeletePipe": func() error {
				_, err := h.client.DeletePipe(bg, &pipes.DeletePipeInput{Name: aws.String("slow")})
				return err
			},
			"UpdatePipe": func() error {
				_, err := h.client.UpdatePipe(bg, &pipes.UpdatePipeInput{Name: aws.String("slow"), RoleArn: aws.String(testRole)})
				return err
			},
		} {
			apiErr(t, op+" while STOPPING", call(), "ConflictException")
		}
		close(block)
		h.waitState("slow", types.PipeStateStopped)
	})
	t.Run("ServiceQuotaExceededException", func(t *testing.T) {
		h := newHarness(t, func(c *setup) { c.Manager.MaxPipes = 2 })
		h.create("a", types.RequestedPipeStateStopped)
		h.create("b", types.RequestedPipeStateStopped)
		_, err := h.client.CreatePipe(bg, createInput("c", types.RequestedPipeStateStopped))
		var qe *types.ServiceQuotaExceededException
		if !errors.As(err, &qe) {
			t.Fatalf("CreatePipe beyond quota = %v, want ServiceQuotaExceededException", err)
		}
		if aws.ToString(qe.ServiceCode) != "pipes" || aws.ToString(qe.QuotaCode) == "" || aws.ToString(qe.ResourceId) != "c" {
			t.Errorf("quota exception members = %+v", qe)
		}
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() != 402 {
			t.Errorf("HTTP status = %d, want 402", re.HTTPStatusCode())
		}
	})
	t.Run("ThrottlingException", func(t *testing.T) {
		h := newHarness(t, func(c *setup) { c.Rate = 0.001; c.Burst = 2 })
		var err error
		for i := 0; i < 3 && err == nil; i++ {
			_, err = h.client.ListPipes(bg, &pipes.ListPipesInput{})
		}
		var te *types.ThrottlingException
		if !errors.As(err, &te) {
			t.Fatalf("third ListPipes = %v, want ThrottlingException", err)
		}
		if te.RetryAfterSeconds == nil || *te.RetryAfterSeconds < 1 {
			t.Errorf("RetryAfterSeconds = %v, want >= 1", te.RetryAfterSeconds)
		}
	})
	t.Run("InternalException", func(t *testing.T) {
		h := newHarness(t)
		h.store.Close() // the store failing under the server
		_, err := h.client.ListPipes(bg, &pipes.ListPipesInput{})
		var ie *types.InternalException
		if !errors.As(err, &ie) {
			t.Fatalf("ListPipes on a closed store = %v, want InternalException", err)
		}
		if strings.Contains(ie.ErrorMessage(), h.dir) {
			t.Errorf("InternalException message %q reveals the data directory", ie.ErrorMessage())
		}
	})
	t.Run("InvalidSignatureException", func(t *testing.T) {
		h := newHarness(t)
		c := sdkClient(h.hs.URL, testKeyID, "wrong-secret")
		_, err := c.ListPipes(bg, &pipes.ListPipesInput{})
		apiErr(t, "ListPipes with a wrong secret", err, "InvalidSignatureException")
	})
	t.Run("UnrecognizedClientException", func(t *testing.T) {
		h := newHarness(t)
		c := sdkClient(h.hs.URL, "AKIDUNKNOWN", testSecret)
		_, err := c.ListPipes(bg, &pipes.ListPipesInput{})
		apiErr(t, "ListPipes with an unknown key", err, "UnrecognizedClientException")
	})
	t.Run("MissingAuthenticationTokenException", func(t *testing.T) {
		h := newHarness(t)
		resp, err := http.Post(h.hs.URL+"/v1/pipes/x", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != TypeMissingAuth {
			t.Errorf("unsigned request = %d %s, want 403 %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), TypeMissingAuth)
		}
	})
}

func TestPaginationAndFilters(t *testing.T) {
	h := newHarness(t)
	var all []string
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("p%02d", i)
		desired := types.RequestedPipeStateStopped
		if i%2 == 0 {
			desired = types.RequestedPipeStateRunning
		}
		in := createInput(name, desired)
		if i >= 5 {
			in.Source = aws.String("smk://other.example:9093")
			in.Target = aws.String("kafka://127.0.0.1:9092/copy")
		}
		if _, err := h.client.CreatePipe(bg, in); err != nil {
			t.Fatal(err)
		}
		all = append(all, name)
	}
	h.create("q-other", types.RequestedPipeStateStopped)
	for _, n := range all {
		if n == "p00" || n == "p02" || n == "p04" || n == "p06" {
			h.waitState(n, types.PipeStateRunning)
		} else {
			h.waitState(n, types.PipeStateStopped)
		}
	}

	pag := pipes.NewListPipesPaginator(h.client, &pipes.ListPipesInput{NamePrefix: aws.String("p"), Limit: aws.Int32(3)})
	var got []string
	pages := 0
	for pag.HasMorePages() {
		page, err := pag.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Pipes) > 3 {
			t.Errorf("page %d has %d pipes, want <= 3", pages, len(page.Pipes))
		}
		for _, p := range page.Pipes {
			got = append(got, aws.ToString(p.Name))
		}
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("paginated names (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}

	names := func(in *pipes.ListPipesInput) []string {
		t.Helper()
		out, err := h.client.ListPipes(bg, in)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, p := range out.Pipes {
			n = append(n, aws.ToString(p.Name))
		}
		sort.Strings(n)
		return n
	}
	cases := []struct {
		name string
		in   *pipes.ListPipesInput
		want []string
	}{
		{"DesiredState", &pipes.ListPipesInput{DesiredState: types.RequestedPipeStateRunning}, []string{"p00", "p02", "p04", "p06"}},
		{"CurrentState", &pipes.ListPipesInput{CurrentState: types.PipeStateStopped, NamePrefix: aws.String("p")}, []string{"p01", "p03", "p05"}},
		{"SourcePrefix", &pipes.ListPipesInput{SourcePrefix: aws.String("smk://other")}, []string{"p05", "p06"}},
		{"TargetPrefix", &pipes.ListPipesInput{TargetPrefix: aws.String("kafka://")}, []string{"p05", "p06"}},
		{"NamePrefix", &pipes.ListPipesInput{NamePrefix: aws.String("q")}, []string{"q-other"}},
		{"nothing", &pipes.ListPipesInput{NamePrefix: aws.String("zzz")}, nil},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, names(tc.in)); diff != "" {
			t.Errorf("ListPipes(%s) (-want +got):\n%s", tc.name, diff)
		}
	}

	for _, bad := range []*pipes.ListPipesInput{
		{NextToken: aws.String("not-a-token")},
		{Limit: aws.Int32(0)},
		{Limit: aws.Int32(101)},
		{NamePrefix: aws.String("bad/name")},
		{CurrentState: "SLEEPING"},
		{DesiredState: "DELETED"},
	} {
		_, err := h.client.ListPipes(bg, bad)
		apiErr(t, fmt.Sprintf("ListPipes(%+v)", bad), err, "ValidationException")
	}
}

func TestTags(t *testing.T) {
	h := newHarness(t)
	in := createInput("tagged", types.RequestedPipeStateStopped)
	in.Tags = map[string]string{"a": "1"}
	out, err := h.client.CreatePipe(bg, in)
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Arn
	if _, err := h.client.TagResource(bg, &pipes.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"b": "2", "c": "3", "a": "one"}}); err != nil {
		t.Fatal(err)
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := h.client.ListTagsForResource(bg, &pipes.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		return out.Tags
	}
	if diff := cmp.Diff(map[string]string{"a": "one", "b": "2", "c": "3"}, tags()); diff != "" {
		t.Errorf("tags after TagResource (-want +got):\n%s", diff)
	}
	if _, err := h.client.UntagResource(bg, &pipes.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"a", "c", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"b": "2"}, tags()); diff != "" {
		t.Errorf("tags after UntagResource (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"b": "2"}, h.describe("tagged").Tags); diff != "" {
		t.Errorf("DescribePipe Tags (-want +got):\n%s", diff)
	}
	if _, err := h.client.UntagResource(bg, &pipes.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); got == nil || len(got) != 0 {
		t.Errorf("tags after removing all = %#v, want an empty map", got)
	}

	// Errors.
	_, err = h.client.TagResource(bg, &pipes.TagResourceInput{ResourceArn: aws.String("not-an-arn"), Tags: map[string]string{"a": "b"}})
	apiErr(t, "TagResource(not-an-arn)", err, "ValidationException")
	_, err = h.client.TagResource(bg, &pipes.TagResourceInput{ResourceArn: aws.String("arn:aws:pipes:eu-west-1:000000000000:pipe/tagged"), Tags: map[string]string{"a": "b"}})
	apiErr(t, "TagResource(other region)", err, "NotFoundException")
	_, err = h.client.TagResource(bg, &pipes.TagResourceInput{ResourceArn: aws.String("arn:aws:pipes:us-east-1:000000000000:pipe/absent"), Tags: map[string]string{"a": "b"}})
	apiErr(t, "TagResource(absent)", err, "NotFoundException")
	_, err = h.client.TagResource(bg, &pipes.TagResourceInput{ResourceArn: arn, Tags: map[string]string{strings.Repeat("k", 129): "v"}})
	apiErr(t, "TagResource(long key)", err, "ValidationException")
	many := map[string]string{}
	for i := 0; i < 50; i++ {
		many[fmt.Sprint("k", i)] = "v"
	}
	if _, err := h.client.TagResource(bg, &pipes.TagResourceInput{ResourceArn: arn, Tags: many}); err != nil {
		t.Fatalf("TagResource with 50 tags: %v", err)
	}
	_, err = h.client.TagResource(bg, &pipes.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"one-more": "v"}})
	apiErr(t, "TagResource(51st tag)", err, "ValidationException")
	if n := len(tags()); n != 50 {
		t.Errorf("tags after a rejected TagResource = %d, want 50", n)
	}
}

func TestStateMachine(t *testing.T) {
	h := newHarness(t)
	ctx := bg

	// CREATING -> RUNNING, then STOPPING -> STOPPED, STARTING -> RUNNING.
	h.create("sm", types.RequestedPipeStateRunning)
	h.waitState("sm", types.PipeStateRunning)
	stop, err := h.client.StopPipe(ctx, &pipes.StopPipeInput{Name: aws.String("sm")})
	if err != nil {
		t.Fatal(err)
	}
	if stop.CurrentState != types.PipeStateStopping || stop.DesiredState != types.RequestedPipeStateStopped {
		t.Errorf("StopPipe = %s/%s, want STOPPED/STOPPING", stop.DesiredState, stop.CurrentState)
	}
	h.waitState("sm", types.PipeStateStopped)
	if _, live, _ := h.factory.Stats("sm"); live != 0 {
		t.Errorf("live runners after StopPipe = %d, want 0", live)
	}
	// StopPipe on a stopped pipe is a no-op.
	again, err := h.client.StopPipe(ctx, &pipes.StopPipeInput{Name: aws.String("sm")})
	if err != nil || again.CurrentState != types.PipeStateStopped {
		t.Errorf("StopPipe on STOPPED = %v, %v; want STOPPED", again, err)
	}
	start, err := h.client.StartPipe(ctx, &pipes.StartPipeInput{Name: aws.String("sm")})
	if err != nil {
		t.Fatal(err)
	}
	if start.CurrentState != types.PipeStateStarting || start.DesiredState != types.RequestedPipeStateRunning {
		t.Errorf("StartPipe = %s/%s, want RUNNING/STARTING", start.DesiredState, start.CurrentState)
	}
	h.waitState("sm", types.PipeStateRunning)
	h.waitRunners("sm", 2, 1)
	// StartPipe on a running pipe is a no-op.
	if st, err := h.client.StartPipe(ctx, &pipes.StartPipeInput{Name: aws.String("sm")}); err != nil || st.CurrentState != types.PipeStateRunning {
		t.Errorf("StartPipe on RUNNING = %v, %v; want RUNNING", st, err)
	}

	// DELETING -> gone.
	del, err := h.client.DeletePipe(ctx, &pipes.DeletePipeInput{Name: aws.String("sm")})
	if err != nil {
		t.Fatal(err)
	}
	if del.DesiredState != types.RequestedPipeStateDescribeResponseDeleted || del.CurrentState != types.PipeStateDeleting {
		t.Errorf("DeletePipe = %s/%s, want DELETED/DELETING", del.DesiredState, del.CurrentState)
	}
	h.waitGone("sm")
	if _, live, _ := h.factory.Stats("sm"); live != 0 {
		t.Errorf("live runners after DeletePipe = %d, want 0", live)
	}

	// CREATE_FAILED with the reason; StartPipe retries (START_FAILED); fixed, it runs.
	h.factory.Set("broken", supervisortest.Behaviour{BuildErr: errors.New("connecting to broker 127.0.0.1:1: connection refused")})
	h.create("broken", types.RequestedPipeStateRunning)
	d := h.waitState("broken", types.PipeStateCreateFailed)
	if !strings.Contains(aws.ToString(d.StateReason), "connection refused") {
		t.Errorf("StateReason = %q, want the broker error", aws.ToString(d.StateReason))
	}
	if _, err := h.client.StartPipe(ctx, &pipes.StartPipeInput{Name: aws.String("broken")}); err != nil {
		t.Fatal(err)
	}
	h.waitState("broken", types.PipeStateStartFailed)
	h.factory.Set("broken", supervisortest.Behaviour{})
	if _, err := h.client.StartPipe(ctx, &pipes.StartPipeInput{Name: aws.String("broken")}); err != nil {
		t.Fatal(err)
	}
	d = h.waitState("broken", types.PipeStateRunning)
	if d.StateReason != nil && *d.StateReason != "" {
		t.Errorf("StateReason after recovery = %q, want none", *d.StateReason)
	}

	// A failed update: UPDATE_FAILED, and the pipe can be deleted from there.
	h.factory.Set("broken", supervisortest.Behaviour{BuildErr: errors.New("resolving secret arn:aws:secretsmanager:us-east-1:000000000000:secret:x: not found")})
	if _, err := h.client.UpdatePipe(ctx, &pipes.UpdatePipeInput{Name: aws.String("broken"), RoleArn: aws.String(testRole), Description: aws.String("v2")}); err != nil {
		t.Fatal(err)
	}
	d = h.waitState("broken", types.PipeStateUpdateFailed)
	if !strings.Contains(aws.ToString(d.StateReason), "resolving secret") {
		t.Errorf("StateReason = %q, want the secret error", aws.ToString(d.StateReason))
	}
	if _, err := h.client.DeletePipe(ctx, &pipes.DeletePipeInput{Name: aws.String("broken")}); err != nil {
		t.Fatal(err)
	}
	h.waitGone("broken")

	// The runtime's fatal hook (a target failing with 4xx) stops the pipe with the reason.
	h.factory.Set("fatal", supervisortest.Behaviour{Fatal: "target file:///x keeps failing with 403 Forbidden"})
	h.create("fatal", types.RequestedPipeStateRunning)
	d = h.waitState("fatal", types.PipeStateStopped)
	if d.DesiredState != types.RequestedPipeStateDescribeResponseStopped || !strings.Contains(aws.ToString(d.StateReason), "403") {
		t.Errorf("after OnFatal = %s/%s %q, want STOPPED/STOPPED with the reason", d.DesiredState, d.CurrentState, aws.ToString(d.StateReason))
	}
	if _, live, _ := h.factory.Stats("fatal"); live != 0 {
		t.Errorf("live runners after OnFatal = %d, want 0", live)
	}

	// A runner that gives up on its own: STOPPED with the reason, desired still RUNNING.
	h.factory.Set("exits", supervisortest.Behaviour{ExitErr: errors.New("source: topic orders was deleted"), ExitAfter: 300 * time.Millisecond})
	h.create("exits", types.RequestedPipeStateRunning)
	kafkatest.Eventually(t, 10*time.Second, func() error {
		d := h.describe("exits")
		if d.CurrentState != types.PipeStateStopped || !strings.Contains(aws.ToString(d.StateReason), "topic orders was deleted") ||
			d.DesiredState != types.RequestedPipeStateDescribeResponseRunning {
			return fmt.Errorf("exits = %s/%s %q", d.DesiredState, d.CurrentState, aws.ToString(d.StateReason))
		}
		return nil
	})
}

func TestUpdateMerge(t *testing.T) {
	h := newHarness(t)
	in := createInput("upd", types.RequestedPipeStateRunning)
	in.Description = aws.String("first")
	in.SourceParameters.SelfManagedKafkaParameters.BatchSize = aws.Int32(50)
	in.SourceParameters.SelfManagedKafkaParameters.MaximumBatchingWindowInSeconds = aws.Int32(2)
	in.SourceParameters.FilterCriteria = &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(`{"value":{"a":[1]}}`)}}}
	in.TargetParameters = &types.PipeTargetParameters{InputTemplate: aws.String(`{"v": <$.value>}`)}
	if _, err := h.client.CreatePipe(bg, in); err != nil {
		t.Fatal(err)
	}
	h.waitState("upd", types.PipeStateRunning)
	created := h.describe("upd")

	// Only BatchSize in the Kafka parameters: the object is replaced whole, so the batching window returns
	// to its default; the description and the target template, not given, stay.
	out, err := h.client.UpdatePipe(bg, &pipes.UpdatePipeInput{Name: aws.String("upd"), RoleArn: aws.String(testRole),
		SourceParameters: &types.UpdatePipeSourceParameters{
			SelfManagedKafkaParameters: &types.UpdatePipeSourceSelfManagedKafkaParameters{BatchSize: aws.Int32(7)},
			FilterCriteria:             &types.FilterCriteria{Filters: []types.Filter{}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if out.CurrentState != types.PipeStateUpdating {
		t.Errorf("UpdatePipe state = %s, want UPDATING", out.CurrentState)
	}
	d := h.waitState("upd", types.PipeStateRunning)
	k := d.SourceParameters.SelfManagedKafkaParameters
	if aws.ToInt32(k.BatchSize) != 7 || aws.ToInt32(k.MaximumBatchingWindowInSeconds) != 0 {
		t.Errorf("Kafka parameters after update: BatchSize %d window %d, want 7 and 0", aws.ToInt32(k.BatchSize), aws.ToInt32(k.MaximumBatchingWindowInSeconds))
	}
	if aws.ToString(k.TopicName) != "orders" || aws.ToString(k.ConsumerGroupID) != aws.ToString(created.SourceParameters.SelfManagedKafkaParameters.ConsumerGroupID) {
		t.Errorf("immutable Kafka members changed: topic %s group %s", aws.ToString(k.TopicName), aws.ToString(k.ConsumerGroupID))
	}
	if d.SourceParameters.FilterCriteria != nil && len(d.SourceParameters.FilterCriteria.Filters) != 0 {
		t.Errorf("FilterCriteria after {Filters: []} = %+v, want none", d.SourceParameters.FilterCriteria)
	}
	if aws.ToString(d.Description) != "first" || d.TargetParameters == nil || aws.ToString(d.TargetParameters.InputTemplate) != `{"v": <$.value>}` {
		t.Errorf("members not in the update changed: description %q template %+v", aws.ToString(d.Description), d.TargetParameters)
	}
	if !d.LastModifiedTime.After(*created.LastModifiedTime) && !d.LastModifiedTime.Equal(*created.LastModifiedTime) {
		t.Errorf("LastModifiedTime went backwards")
	}
	// The running pipe was restarted with the new settings.
	h.waitRunners("upd", 2, 1)
	if _, _, last := h.factory.Stats("upd"); *last.SourceParameters.SelfManagedKafkaParameters.BatchSize != 7 {
		t.Errorf("restarted runner has BatchSize %d, want 7", *last.SourceParameters.SelfManagedKafkaParameters.BatchSize)
	}

	// InputTemplate "" removes the template; DesiredState STOPPED stops the pipe.
	if _, err := h.client.UpdatePipe(bg, &pipes.UpdatePipeInput{Name: aws.String("upd"), RoleArn: aws.String(testRole),
		DesiredState: types.RequestedPipeStateStopped, TargetParameters: &types.PipeTargetParameters{InputTemplate: aws.String("")}}); err != nil {
		t.Fatal(err)
	}
	d = h.waitState("upd", types.PipeStateStopped)
	if d.DesiredState != types.RequestedPipeStateDescribeResponseStopped {
		t.Errorf("DesiredState = %s, want STOPPED", d.DesiredState)
	}
	if d.TargetParameters != nil && aws.ToString(d.TargetParameters.InputTemplate) != "" {
		t.Errorf("InputTemplate after removal = %q", aws.ToString(d.TargetParameters.InputTemplate))
	}

	// Invalid updates are rejected and change nothing.
	before := h.snapshot()
	bad := []*pipes.UpdatePipeInput{
		{Name: aws.String("upd"), RoleArn: aws.String(testRole), SourceParameters: &types.UpdatePipeSourceParameters{
			SelfManagedKafkaParameters: &types.UpdatePipeSourceSelfManagedKafkaParameters{BatchSize: aws.Int32(0)}}},
		{Name: aws.String("upd"), RoleArn: aws.String(testRole), Target: aws.String("gopher://x")},
		{Name: aws.String("upd"), RoleArn: aws.String("not-a-role")},
	}
	for i, u := range bad {
		_, err := h.client.UpdatePipe(bg, u)
		apiErr(t, fmt.Sprintf("UpdatePipe(bad %d)", i), err, "ValidationException")
	}
	if diff := cmp.Diff(before, h.snapshot()); diff != "" {
		t.Errorf("rejected updates changed the store (-before +after):\n%s", diff)
	}
}

func TestRestartResumesRunningPipes(t *testing.T) {
	h := newHarness(t)
	h.create("keep-running", types.RequestedPipeStateRunning)
	h.create("keep-stopped", types.RequestedPipeStateStopped)
	h.create("was-stopped", types.RequestedPipeStateRunning)
	h.waitState("keep-running", types.PipeStateRunning)
	h.waitState("keep-stopped", types.PipeStateStopped)
	h.waitState("was-stopped", types.PipeStateRunning)
	if _, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("was-stopped")}); err != nil {
		t.Fatal(err)
	}
	h.waitState("was-stopped", types.PipeStateStopped)

	h.stop()
	if _, live, _ := h.factory.Stats("keep-running"); live != 0 {
		t.Fatalf("runner still live after the server stopped")
	}
	h.start()
	h.waitState("keep-running", types.PipeStateRunning)
	h.waitState("keep-stopped", types.PipeStateStopped)
	h.waitState("was-stopped", types.PipeStateStopped)
	h.waitRunners("keep-running", 2, 1)
	if b, _, _ := h.factory.Stats("keep-stopped"); b != 0 {
		t.Errorf("keep-stopped was built %d times, want 0", b)
	}
	if b, live, _ := h.factory.Stats("was-stopped"); b != 1 || live != 0 {
		t.Errorf("was-stopped builds/live = %d/%d, want 1/0", b, live)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	h := newHarness(t)
	h.create("m", types.RequestedPipeStateStopped)
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": `sluice_api_requests_total{operation="CreatePipe",outcome="ok"} 1`} {
		resp, err := http.Get(h.hs.URL + path) // unsigned: probes carry no AWS keys
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d, want 200 containing %q; body:\n%.500s", path, resp.StatusCode, want, b)
		}
	}
}

// TestRunnerDiesAtStart: a runner that returns at once (say the topic does not exist) must not leave the
// pipe RUNNING, whichever of the worker and the runner's exit is recorded first.
func TestRunnerDiesAtStart(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 20; i++ {
		name := fmt.Sprint("dies-", i)
		h.factory.Set(name, supervisortest.Behaviour{ExitErr: errors.New("topic orders does not exist")})
		h.create(name, types.RequestedPipeStateRunning)
		kafkatest.Eventually(t, 10*time.Second, func() error {
			d := h.describe(name)
			switch d.CurrentState {
			case types.PipeStateCreateFailed, types.PipeStateStopped:
				if !strings.Contains(aws.ToString(d.StateReason), "does not exist") {
					return fmt.Errorf("%s StateReason = %q", name, aws.ToString(d.StateReason))
				}
				return nil
			}
			return fmt.Errorf("%s is %s", name, d.CurrentState)
		})
		if h.mgr.Running(name) {
			t.Errorf("%s: the manager still lists a runner that returned", name)
		}
	}
}
