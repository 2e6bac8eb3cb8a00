package kafka

import (
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoLogger routes franz-go's logs into the source's slog logger: its warnings and errors as such, its
// info-level chatter (connections, heartbeats, group joins) at debug, except offset-out-of-range resets,
// which operators must see because records were skipped or re-read.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch {
	case strings.Contains(msg, "OFFSET_OUT_OF_RANGE"):
		k.l.Warn("offset out of range (records deleted by retention?); resuming per StartingPosition or at the oldest record: "+msg, keyvals...)
	case level == kgo.LogLevelError:
		k.l.Error("kafka client: "+msg, keyvals...)
	case level == kgo.LogLevelWarn:
		k.l.Warn("kafka client: "+msg, keyvals...)
	default:
		k.l.Debug("kafka client: "+msg, keyvals...)
	}
}
