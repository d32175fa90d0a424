package failstreak

import (
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Lines are the messages of one kind of call's log lines, such as
// "Refreshing rooms failed", "... still failing" and "... succeeded again".
type Lines struct{ Failed, Still, Recovered string }

// Failure returns logger at the level n gives tenant's failed call (warn
// when the streak starts and at each Still, debug otherwise) and the line's
// first key-values: Failed as its msg, or Still with the failed calls since
// the last warning and how long the streak has lasted. The caller adds the
// error's fields and the error.
func (l Lines) Failure(logger log.Logger, tenant string, n Notice) (log.Logger, []any) {
	switch n.Kind {
	case Started:
		return level.Warn(logger), []any{"msg", l.Failed, "tenant", tenant}
	case Still:
		return level.Warn(logger), []any{"msg", l.Still, "tenant", tenant,
			"failed_calls_since_last_warning", n.Calls, "failing_for", n.Since.Round(time.Second)}
	}
	return level.Debug(logger), []any{"msg", l.Failed, "tenant", tenant}
}

// Recovery logs at info that tenant's streak ended, with its failed calls
// and how long it lasted, if n says so, and reports whether it did.
func (l Lines) Recovery(logger log.Logger, tenant string, n Notice) bool {
	if n.Kind != Recovered {
		return false
	}
	_ = level.Info(logger).Log("msg", l.Recovered, "tenant", tenant,
		"failed_calls", n.Calls, "failing_for", n.Since.Round(time.Second))
	return true
}
