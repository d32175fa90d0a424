// Package logging builds the exporter's go-kit loggers from --log.level and
// --log.format, and the bridges that bring exporter-toolkit's slog lines and
// net/http's standard library lines into the same format.
package logging

import (
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	sloggokit "github.com/tjhop/slog-gokit"
)

// Loggers holds Main, the go-kit logger every line goes through, and the
// same logger before ts and caller are added, for the slog bridge, which
// adds its own.
type Loggers struct {
	Main log.Logger
	base log.Logger
}

// New builds the loggers for --log.level and --log.format, writing
// to w. quiet, if set, wraps the main logger outside its level filter, so
// that it can lower a line's level before the filter sees it (the demo
// lowers its broken tenant's lines to debug); nil = none.
func New(lvl, format string, w io.Writer, quiet func(log.Logger) log.Logger) Loggers {
	sw := log.NewSyncWriter(w)
	var base log.Logger
	if format == "json" {
		base = log.NewJSONLogger(sw)
	} else {
		base = log.NewLogfmtLogger(sw)
	}
	allow := level.Allow(level.ParseDefault(lvl, level.InfoValue()))
	// The filter goes outermost so that a dropped line (a debug line per
	// tenant per scrape, say) costs no timestamp and no caller lookup. The
	// caller is then two frames further down: the level's context and the
	// filter; and one more through quiet.
	depth := 5
	if quiet != nil {
		depth++
	}
	main := level.NewFilter(log.With(base, "ts", log.DefaultTimestampUTC, "caller", log.Caller(depth)), allow)
	if quiet != nil {
		main = quiet(main)
	}
	return Loggers{Main: main, base: level.NewFilter(base, allow)}
}

// Slog bridges exporter-toolkit's slog output onto the go-kit logger,
// renaming slog's "time" to our "ts" and putting ts, caller and level first
// as our own lines have them, so that every line has one format.
func (l Loggers) Slog(lvl string) *slog.Logger {
	var sl slog.Level
	_ = sl.UnmarshalText([]byte(lvl))
	reordered := log.LoggerFunc(func(kv ...any) error {
		out := make([]any, 0, len(kv))
		for _, key := range []string{"time", "caller", "level"} {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] != key {
					continue
				}
				v := kv[i+1]
				if t, ok := v.(time.Time); ok && key == "time" {
					out = append(out, "ts", t.UTC().Format(time.RFC3339Nano))
				} else {
					out = append(out, key, v)
				}
			}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); !ok || (k != "time" && k != "caller" && k != "level") {
				out = append(out, kv[i], kv[i+1])
			}
		}
		return l.base.Log(out...)
	})
	return slog.New(sloggokit.NewGoKitHandler(reordered, sl))
}

// LineWriter turns each line of a standard library logger into one log
// entry. go-kit's StdlibAdapter would read "http: TLS handshake error from
// 127.0.0.1:5000: …" as a file:line prefix and mangle it.
type LineWriter struct{ Logger log.Logger }

func (l LineWriter) Write(p []byte) (int, error) {
	_ = l.Logger.Log("msg", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
