package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/store"
)

// The operations. Each checks its input completely before changing anything, so a rejected request
// leaves the store as it was.

func (s *Server) createPipe(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	def, e := decodeCreate(op.pipe, body, s.registry())
	if e != nil {
		return nil, e
	}
	if fe := s.confine(def); len(fe) > 0 {
		return nil, fromFieldErrors(fe)
	}
	rec, err := s.pipes.Create(ctx, def)
	if err != nil {
		return nil, err
	}
	s.warn(ctx, def)
	return s.arns.stateOutput(rec), nil
}

// invalidName answers a path under /v1/pipes/ whose name is not a pipe name (see route).
func invalidName(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	if e := checkName(op.pipe); e != nil {
		return nil, e
	}
	// route sends only names that fail checkName here; never return a nil *Error as an error.
	return nil, validationError("The request path does not name a pipe.")
}

func (s *Server) describePipe(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	if e := checkName(op.pipe); e != nil {
		return nil, e
	}
	if e := requireNoBody(body); e != nil {
		return nil, e
	}
	rec, err := s.cfg.Store.Get(ctx, op.pipe)
	if err != nil {
		return nil, err
	}
	return s.arns.describeOutput(rec)
}

func (s *Server) updatePipe(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	u, e := decodeUpdate(op.pipe, body)
	if e != nil {
		return nil, e
	}
	var merged *pipe.Definition
	rec, err := s.pipes.Update(ctx, op.pipe, func(old *pipe.Definition) (*pipe.Definition, error) {
		def, err := mergeUpdate(old, u, s.registry())
		if err != nil {
			return nil, err
		}
		if fe := s.confine(def); len(fe) > 0 {
			return nil, fromFieldErrors(fe)
		}
		merged = def
		return def, nil
	})
	if err != nil {
		var ae *Error
		if len(u.decodeErrs) > 0 && (!errors.As(err, &ae) || ae.Type != TypeValidation) {
			// A malformed body is a ValidationException whatever the state of the pipe.
			return nil, fromFieldErrors(u.decodeErrs)
		}
		return nil, err
	}
	s.warn(ctx, merged)
	return s.arns.stateOutput(rec), nil
}

func (s *Server) deletePipe(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	return s.lifecycle(ctx, op, body, s.pipes.Delete)
}

func (s *Server) startPipe(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	return s.lifecycle(ctx, op, body, s.pipes.Start)
}

func (s *Server) stopPipe(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	return s.lifecycle(ctx, op, body, s.pipes.Stop)
}

func (s *Server) lifecycle(ctx context.Context, op *operation, body []byte,
	fn func(context.Context, string) (*store.Record, error)) (any, error) {
	if e := checkName(op.pipe); e != nil {
		return nil, e
	}
	if e := requireNoBody(body); e != nil {
		return nil, e
	}
	rec, err := fn(ctx, op.pipe)
	if err != nil {
		return nil, err
	}
	return s.arns.stateOutput(rec), nil
}

func (s *Server) listPipes(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	if e := requireNoBody(body); e != nil {
		return nil, e
	}
	q, e := parseListQuery(r.URL.Query())
	if e != nil {
		return nil, e
	}
	recs, err := s.cfg.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := listOutput{Pipes: []listItem{}}
	for _, rec := range recs {
		if rec.Name <= q.after && q.after != "" {
			continue
		}
		if !strings.HasPrefix(rec.Name, q.namePrefix) ||
			q.desiredState != "" && rec.DesiredState != q.desiredState ||
			q.currentState != "" && rec.CurrentState != q.currentState {
			continue
		}
		item := s.arns.listItem(rec)
		if !strings.HasPrefix(item.Source, q.sourcePrefix) || !strings.HasPrefix(item.Target, q.targetPrefix) {
			continue
		}
		if len(out.Pipes) == q.limit {
			out.NextToken = makeNextToken(out.Pipes[len(out.Pipes)-1].Name)
			break
		}
		out.Pipes = append(out.Pipes, item)
	}
	return out, nil
}

func (s *Server) tagResource(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	name, e := s.arns.parsePipeArn(op.arn)
	if e != nil {
		return nil, e
	}
	tags, e := decodeTagResource(body)
	if e != nil {
		return nil, e
	}
	_, err := s.cfg.Store.Update(ctx, name, func(rec *store.Record) error {
		if rec.DesiredState == pipe.StateDeleted {
			return store.ErrNotFound
		}
		merged := make(map[string]string, len(rec.Tags)+len(tags))
		for k, v := range rec.Tags {
			merged[k] = v
		}
		for k, v := range tags {
			merged[k] = v
		}
		if len(merged) > maxTags {
			return validationError("A pipe can have at most 50 tags; this request would give it "+strconv.Itoa(len(merged))+".",
				FieldError{Name: "tags", Message: "a pipe can have at most 50 tags"})
		}
		rec.Tags = merged
		return nil
	})
	if err != nil {
		return nil, s.resourceErr(err, op.arn)
	}
	return struct{}{}, nil
}

func (s *Server) untagResource(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	name, e := s.arns.parsePipeArn(op.arn)
	if e != nil {
		return nil, e
	}
	if e := requireNoBody(body); e != nil {
		return nil, e
	}
	keys, e := parseUntagKeys(r.URL.Query())
	if e != nil {
		return nil, e
	}
	_, err := s.cfg.Store.Update(ctx, name, func(rec *store.Record) error {
		if rec.DesiredState == pipe.StateDeleted {
			return store.ErrNotFound
		}
		for _, k := range keys {
			delete(rec.Tags, k)
		}
		if len(rec.Tags) == 0 {
			rec.Tags = nil
		}
		return nil
	})
	if err != nil {
		return nil, s.resourceErr(err, op.arn)
	}
	return struct{}{}, nil
}

func (s *Server) listTags(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error) {
	name, e := s.arns.parsePipeArn(op.arn)
	if e != nil {
		return nil, e
	}
	if e := requireNoBody(body); e != nil {
		return nil, e
	}
	rec, err := s.cfg.Store.Get(ctx, name)
	if err != nil {
		return nil, s.resourceErr(err, op.arn)
	}
	tags := rec.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return tagsOutput{Tags: tags}, nil
}

// resourceErr words a missing pipe by its ARN, as the tag operations name resources.
func (s *Server) resourceErr(err error, arn string) error {
	if toAPIError(err, "").Type == TypeNotFound {
		return &Error{Type: TypeNotFound, Status: http.StatusNotFound, Message: "Resource " + arn + " does not exist."}
	}
	return err
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// warn logs what is valid but probably not meant in a definition (pipe.Definition.Warnings): the API has no
// member for warnings, and Pipes accepts such definitions, so the operator's log is where they go.
func (s *Server) warn(ctx context.Context, def *pipe.Definition) {
	for _, w := range def.Warnings() {
		s.log.WarnContext(ctx, "pipe definition warning", "pipe", def.Name, "field", w.Field, "warning", w.Message)
	}
}
