package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/pipe"
)

// send writes a page.
func send(w http.ResponseWriter, status int, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, page)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, s session) {
	send(w, http.StatusNotFound, c.errorPage(s, "Not found", "There is no page at "+r.URL.Path+"."))
}

// row is one pipe of the list, as the page and the event stream show it.
type row struct {
	Name         string    `json:"name"`
	State        string    `json:"state"`
	DesiredState string    `json:"desired"`
	Reason       string    `json:"reason"`
	Source       string    `json:"source"`
	Topic        string    `json:"topic"`
	Target       string    `json:"target"`
	Rate         float64   `json:"rate"`
	Read         float64   `json:"read"`
	Lag          int64     `json:"lag"`
	Failed       float64   `json:"failed"`
	DeadLettered float64   `json:"dead"`
	Spark        []float64 `json:"spark"`
}

func (c *Console) rows(ctx context.Context) ([]row, error) {
	pipes, err := c.o.Backend.ListPipes(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := c.history.sample(ctx, c.o.Backend)
	if err != nil {
		c.log.Warn("console: reading pipe metrics", "err", err)
	}
	out := make([]row, 0, len(pipes))
	for _, p := range pipes {
		m := snap[p.Name]
		h := c.history.get(p.Name)
		rate := 0.0
		if n := len(h.Rate); n > 0 {
			rate = h.Rate[n-1]
		}
		spark := h.Rate
		if len(spark) > 60 {
			spark = spark[len(spark)-60:]
		}
		out = append(out, row{Name: p.Name, State: p.CurrentState, DesiredState: p.DesiredState, Reason: p.StateReason,
			Source: p.Source, Topic: p.Topic, Target: p.Target, Rate: rate, Read: m.RecordsRead, Lag: totalLag(m.Lag),
			Failed: m.Failed, DeadLettered: m.DeadLettered, Spark: spark})
	}
	return out, nil
}

func (c *Console) listPage(w http.ResponseWriter, r *http.Request, s session) {
	rows, err := c.rows(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	q := r.URL.Query()
	name, state := q.Get("name"), q.Get("state")
	shown := rows[:0:0]
	for _, x := range rows {
		if strings.Contains(x.Name, name) && (state == "" || x.State == state) {
			shown = append(shown, x)
		}
	}
	send(w, http.StatusOK, c.listView(s, shown, len(rows), name, state))
}

var listStates = []string{"RUNNING", "STOPPED", "CREATING", "STARTING", "STOPPING", "UPDATING", "DELETING",
	"CREATE_FAILED", "START_FAILED", "STOP_FAILED", "UPDATE_FAILED", "DELETE_FAILED"}

// fail shows a Backend error as a page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s session, err error) {
	status := http.StatusInternalServerError
	var ae *Error
	if errors.As(err, &ae) {
		switch ae.Type {
		case "NotFoundException":
			status = http.StatusNotFound
		case "ConflictException":
			status = http.StatusConflict
		case "ValidationException":
			status = http.StatusBadRequest
		}
	} else {
		c.log.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	send(w, status, c.errorPage(s, "Error", err.Error()))
}

// describe is the part of DescribePipe the pipe page reads.
type describe struct {
	Name, CurrentState, DesiredState, StateReason, Source, Target, Enrichment string
	SourceParameters                                                          *pipe.SourceParameters
	TargetParameters                                                          *pipe.TargetParameters
}

// updateMembers are the DescribePipe members an UpdatePipe body may carry: the editor shows these.
var updateMembers = []string{"Description", "DesiredState", "SourceParameters", "Enrichment", "EnrichmentParameters",
	"Target", "TargetParameters", "RoleArn", "LogConfiguration", "KmsKeyIdentifier"}

// immutableSource are SelfManagedKafkaParameters members UpdatePipe refuses (they name the source).
var immutableSource = []string{"TopicName", "StartingPosition", "AdditionalBootstrapServers", "ConsumerGroupID", "ServerRootCaCertificate"}

func (c *Console) pipeRoute(w http.ResponseWriter, r *http.Request, s session, escName, action string) {
	name, err := url.PathUnescape(escName)
	if err != nil || name == "" {
		c.notFound(w, r, s)
		return
	}
	ctx := r.Context()
	var op func(context.Context, string) error
	switch {
	case action == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		c.pipePage(w, r, s, name, http.StatusOK, nil)
		return
	case action == "edit" && r.Method == http.MethodPost:
		text, format := r.PostFormValue("definition"), docFormat(r.PostFormValue("format"))
		if to := r.PostFormValue("convert"); to != "" {
			// "Show as YAML/JSON": rewrite the editor's text, change nothing.
			d := &pipeData{Format: docFormat(to)}
			conv, err := convertDoc(text, format, d.Format)
			if err != nil {
				d.Format, d.EditBody = format, text
				d.EditError = &Error{Type: "ValidationException", Message: err.Error()}
			} else {
				d.EditBody = conv
			}
			c.pipePage(w, r, s, name, http.StatusOK, d)
			return
		}
		body, err := toJSON(text, format)
		if err == nil {
			err = c.o.Backend.UpdatePipe(ctx, name, body)
		} else {
			err = &Error{Type: "ValidationException", Message: err.Error()}
		}
		if err != nil {
			c.pipePage(w, r, s, name, statusOf(err), &pipeData{EditError: err, EditBody: text, Format: format})
			return
		}
		http.Redirect(w, r, Prefix+"pipes/"+url.PathEscape(name)+"?done=updated&format="+format, http.StatusSeeOther)
		return
	case action == "start" && r.Method == http.MethodPost:
		op = c.o.Backend.StartPipe
	case action == "stop" && r.Method == http.MethodPost:
		op = c.o.Backend.StopPipe
	case action == "delete" && r.Method == http.MethodPost:
		if err := c.o.Backend.DeletePipe(ctx, name); err != nil {
			c.pipePage(w, r, s, name, statusOf(err), &pipeData{ActionError: err.Error()})
			return
		}
		http.Redirect(w, r, "/?deleted="+url.QueryEscape(name), http.StatusSeeOther)
		return
	default:
		c.notFound(w, r, s)
		return
	}
	if err := op(ctx, name); err != nil {
		c.pipePage(w, r, s, name, statusOf(err), &pipeData{ActionError: err.Error()})
		return
	}
	http.Redirect(w, r, Prefix+"pipes/"+url.PathEscape(name), http.StatusSeeOther)
}

func statusOf(err error) int {
	var ae *Error
	if errors.As(err, &ae) {
		switch ae.Type {
		case "ValidationException":
			return http.StatusBadRequest
		case "ConflictException":
			return http.StatusConflict
		case "NotFoundException":
			return http.StatusNotFound
		}
	}
	return http.StatusInternalServerError
}

func fieldsOf(err error) []FieldError {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Fields
	}
	return nil
}

// pipeData is what the pipe page shows.
type pipeData struct {
	Pipe        describe
	Definition  string
	EditBody    string
	Format      string // of the editor and the DescribePipe view: "json" or "yaml"
	EditError   error
	ActionError string
	Done        string
	Topic       string
	Lag         []partitionLag
	// Offsets are the source partitions' committed and end offsets (offsets.go); OffsetsError says why
	// they could not be read (the lag by partition from the runtime's metrics shows instead).
	Offsets      []PartitionOffsets
	OffsetsError string
	// Members is which cluster node runs which members of the pipe. The backend fills it when it knows
	// (a Backend that also implements MembersBackend, in cluster mode); empty, the page leaves it out.
	Members []Member
	Metrics Snapshot
	Series  series
	Log     []LogRecord
}

func (c *Console) pipePage(w http.ResponseWriter, r *http.Request, s session, name string, status int, d *pipeData) {
	raw, err := c.o.Backend.DescribePipe(r.Context(), name)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if d == nil {
		d = &pipeData{}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &d.Pipe); err != nil {
		c.fail(w, r, s, fmt.Errorf("decoding pipe %s: %w", name, err))
		return
	}
	json.Unmarshal(raw, &members)
	if d.Format == "" {
		d.Format = docFormat(r.URL.Query().Get("format"))
	}
	d.Definition, _ = formatJSON(raw, d.Format)
	if d.EditBody == "" {
		d.EditBody = editBody(members)
		if d.Format == "yaml" {
			d.EditBody, _ = formatJSON([]byte(d.EditBody), "yaml")
		}
	}
	snap, _ := c.history.sample(r.Context(), c.o.Backend)
	d.Metrics = snap[name]
	d.Lag = sortedLag(d.Metrics.Lag)
	d.Series = c.history.get(name)
	d.Log = c.o.ExecutionLog.Recent(name, recentLog)
	d.Offsets, d.OffsetsError = c.offsetRows(r.Context(), name)
	d.Members = c.members(r.Context(), name)
	if sp := d.Pipe.SourceParameters; sp != nil && sp.SelfManagedKafkaParameters != nil {
		d.Topic = sp.SelfManagedKafkaParameters.TopicName
	}
	d.Done = r.URL.Query().Get("done")
	send(w, status, c.pipeView(s, d))
}

// editBody is the UpdatePipe body that changes nothing: the pipe's updatable members as they are.
func editBody(members map[string]json.RawMessage) string {
	var b bytes.Buffer
	b.WriteString("{")
	n := 0
	for _, k := range updateMembers {
		v, ok := members[k]
		if !ok {
			continue
		}
		if k == "SourceParameters" {
			v = dropImmutable(v)
		}
		if n > 0 {
			b.WriteString(",")
		}
		n++
		kb, _ := json.Marshal(k)
		b.WriteString("\n  ")
		b.Write(kb)
		b.WriteString(": ")
		var ind bytes.Buffer
		if json.Indent(&ind, v, "  ", "  ") == nil {
			b.Write(ind.Bytes())
		} else {
			b.Write(v)
		}
	}
	b.WriteString("\n}\n")
	return b.String()
}

func dropImmutable(v json.RawMessage) json.RawMessage {
	var sp map[string]json.RawMessage
	if json.Unmarshal(v, &sp) != nil {
		return v
	}
	if smk, ok := sp["SelfManagedKafkaParameters"]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(smk, &m) == nil {
			for _, k := range immutableSource {
				delete(m, k)
			}
			sp["SelfManagedKafkaParameters"], _ = json.Marshal(m)
		}
	}
	out, _ := json.Marshal(sp)
	return out
}

// events streams updates (server-sent events) once a second: every pipe's row, and with ?pipe=NAME that
// pipe's lag by partition and its charts' series. One stream per open page, ended after streamLife so
// that a forgotten tab does not hold a connection open for ever (EventSource reconnects by itself).
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	pipeName := r.URL.Query().Get("pipe")
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	ctx, cancel := context.WithTimeout(r.Context(), streamLife)
	defer cancel()
	t := time.NewTicker(historyInterval)
	defer t.Stop()
	for {
		rows, err := c.rows(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("console: listing pipes for the event stream", "err", err)
		} else {
			msg := map[string]any{"pipes": rows}
			if pipeName != "" {
				snap, _ := c.history.sample(ctx, c.o.Backend)
				offs, offsErr := c.offsetRows(ctx, pipeName)
				msg["pipe"] = map[string]any{"name": pipeName, "lag": sortedLag(snap[pipeName].Lag),
					"offsets": offs, "offsetsError": offsErr, "members": c.members(ctx, pipeName),
					"series": c.history.get(pipeName), "metrics": snap[pipeName], "log": c.o.ExecutionLog.Recent(pipeName, recentLog)}
			}
			b, _ := json.Marshal(msg)
			if _, err := fmt.Fprintf(w, "event: update\ndata: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
		}
		select {
		case <-ctx.Done():
			return
		case <-c.closing:
			return
		case <-t.C:
		}
	}
}

const streamLife = 2 * time.Minute

// recentLog is how many execution-log records the pipe page lists.
const recentLog = 20

// offsetRows are pipe name's offsets for the page, or the reason they could not be read.
func (c *Console) offsetRows(ctx context.Context, name string) ([]PartitionOffsets, string) {
	rows, err := c.offsets(ctx, name)
	if err != nil {
		return nil, "Offsets could not be read: " + err.Error()
	}
	return rows, ""
}

// Member is one member of a pipe (its consumer in the pipe's group) and the cluster node running it.
type Member struct {
	Node       string  `json:"node"`
	MemberID   string  `json:"memberId"`
	Partitions []int32 `json:"partitions"`
}

// MembersBackend is implemented by a Backend that knows where a pipe's members run (cluster mode): the
// pipe page then lists them. Without it the page leaves the section out.
type MembersBackend interface {
	Members(ctx context.Context, name string) ([]Member, error)
}

func (c *Console) members(ctx context.Context, name string) []Member {
	mb, ok := c.o.Backend.(MembersBackend)
	if !ok {
		return nil
	}
	m, err := mb.Members(ctx, name)
	if err != nil {
		// The nodes may still be known without the partitions; the event stream asks every second,
		// hence Debug.
		c.log.Debug("console: reading the members of a pipe", "pipe", name, "err", err)
	}
	if m == nil {
		m = []Member{} // non-nil: the page keeps the section (cluster mode) and says no member runs
	}
	return m
}

// partitionList is a member's partitions as the page shows them: "0, 1, 2", or "none yet".
func partitionList(ps []int32) string {
	if len(ps) == 0 {
		return "none yet"
	}
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(int(p)))
	}
	return b.String()
}
