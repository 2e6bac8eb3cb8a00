package main

import (
	"io"
	"log/slog"
)

// newJSONLogger is the structured log of `sluice serve` and `sluice run`: one JSON object per line.
//
// Durations are written as Go duration strings ("1.5s", "250ms", "2m0s"), everywhere and for every
// source of log records (Sluice's own, franz-go's key-value pairs such as "backoff", the AWS SDK's):
// slog's JSON handler would otherwise write a time.Duration as an integer of nanoseconds, which reads as
// a count. Strings are also what the text log of `sluice dev` shows, so both logs spell a duration alike.
func newJSONLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: durationAsString}))
}

// durationAsString is a slog ReplaceAttr that turns duration values into their String form.
func durationAsString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}
