package awsclient

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/smithy-go/logging"
)

// SDKLogger routes the AWS SDK's log messages (smithy-go's logging.Logger) to log, so that they are JSON
// records like every other line instead of "SDK 2006/01/02 ..." text on standard error. The SDK logs its
// warnings (such as falling back to IMDSv1) as WARN and its request/response traces as DEBUG. A nil log
// discards them.
func SDKLogger(log *slog.Logger) logging.Logger { return sdkLogger{log: log} }

type sdkLogger struct {
	log *slog.Logger
	// ctx is the context the SDK hands to WithContext for one operation; holding it is the shape of
	// smithy-go's ContextLogger, and it only travels to the slog handler.
	ctx context.Context
}

var _ logging.ContextLogger = sdkLogger{}

// Logf logs one SDK message at the slog level of its classification.
func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	if l.log == nil {
		return
	}
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, v...), "component", "aws-sdk")
}

// WithContext returns the logger for one SDK operation.
func (l sdkLogger) WithContext(ctx context.Context) logging.Logger {
	l.ctx = ctx
	return l
}
