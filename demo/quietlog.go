package demo

import (
	"slices"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// QuietLogger wraps next, which filters by level, so that the sample
// tenant that fails on purpose (demo-rejected, configured with a wrong
// secret key and a callback key the receiver rejects) logs nothing above
// debug: its warn and error lines are lowered to debug before next
// filters them, so --log.level=info hides them. A warning nobody can act
// on teaches users to ignore warnings. Other lines pass unchanged.
func QuietLogger(next log.Logger) log.Logger { return quietLogger{next} }

type quietLogger struct{ next log.Logger }

func (l quietLogger) Log(keyvals ...any) error {
	lvl := -1
	rejected := false
	for i := 0; i+1 < len(keyvals); i += 2 {
		switch keyvals[i] {
		case level.Key():
			if v, ok := keyvals[i+1].(level.Value); ok && (v == level.WarnValue() || v == level.ErrorValue()) {
				lvl = i + 1
			}
		case "tenant":
			rejected = rejected || keyvals[i+1] == rejectedTenant
		}
	}
	if lvl >= 0 && rejected {
		// A copy: keyvals may be a context's own slice.
		keyvals = slices.Clone(keyvals)
		keyvals[lvl] = level.DebugValue()
	}
	return l.next.Log(keyvals...)
}
