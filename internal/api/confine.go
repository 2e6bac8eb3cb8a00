package api

import (
	"github.com/sluicehq/sluice/internal/pipe"
)

// confine lists the definition's local files (file:// target, dead-letter file, file:// secrets) that
// lie outside the operator's file roots (Config.Sandbox.Files), one problem per field. CreatePipe and
// UpdatePipe answer them as a ValidationException before anything is stored or built; what cannot be
// seen in the definition (a symbolic link leaving a root) is refused when the pipe is built.
func (s *Server) confine(def *pipe.Definition) pipe.FieldErrors {
	files := s.cfg.Sandbox.Files
	if files == nil {
		return nil
	}
	var fe pipe.FieldErrors
	for _, lf := range def.LocalFiles(s.registry()) {
		if err := files.Check(lf.Path); err != nil {
			fe = append(fe, pipe.FieldError{Field: lf.Field, Message: err.Error()})
		}
	}
	return fe
}
