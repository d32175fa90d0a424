// Package failstreak decides how loudly a repeated failure is logged: one
// warn line when something starts failing or fails for another reason,
// then at most one every WarnEvery with the count since the last, and one
// info line when it recovers. The scrapes of a tenant and its background
// refreshes keep one Streak each; the caller logs each call, at the level
// and with the first fields its Lines give for the Notice.
package failstreak

import (
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// WarnEvery is the most a streak of failures for the same reason warns:
// once when it starts, then once per this interval with the number of
// failed calls since. A soak of 5 failing tenants scraped every 2 s once
// wrote 1,800 warn lines in 12 minutes, one per scrape, and drowned every
// other line; the metrics say the rest.
const WarnEvery = 10 * time.Minute

// Streak is one failure streak. The zero value is a streak that has not
// begun. It is not safe for concurrent use: its owner's lock guards it.
type Streak struct {
	failing  bool
	reason   metastudio.Reason
	since    time.Time // first failure of the streak
	calls    int       // failed calls in the streak
	unwarned int       // failed calls since the last warn line
	warnedAt time.Time
}

// Notice says how one call's outcome is logged.
type Notice struct {
	Kind Kind
	// Calls is, for Still, the failed calls since the last warn line; for
	// Recovered, the failed calls of the streak.
	Calls int
	// Since is, for Still and Recovered, how long the streak has lasted.
	Since time.Duration
}

// Kind is how loud a Notice is.
type Kind int

const (
	Debug     Kind = iota // a failure or success not worth more
	Started               // failing began, or goes on for another reason
	Still                 // still failing, WarnEvery after the last warn line
	Recovered             // a success ending a streak
)

// Failed records a failed call at now and says how to log it.
func (s *Streak) Failed(reason metastudio.Reason, now time.Time) Notice {
	if !s.failing {
		s.failing, s.since, s.calls = true, now, 0
	}
	s.calls++
	if s.reason != reason || s.calls == 1 {
		s.reason, s.unwarned, s.warnedAt = reason, 0, now
		return Notice{Kind: Started}
	}
	s.unwarned++
	if now.Sub(s.warnedAt) < WarnEvery {
		return Notice{Kind: Debug}
	}
	n := s.unwarned
	s.unwarned, s.warnedAt = 0, now
	return Notice{Kind: Still, Calls: n, Since: now.Sub(s.since)}
}

// Succeeded records a good call at now and says how to log it.
func (s *Streak) Succeeded(now time.Time) Notice {
	if !s.failing {
		return Notice{Kind: Debug}
	}
	n := Notice{Kind: Recovered, Calls: s.calls, Since: now.Sub(s.since)}
	*s = Streak{}
	return n
}
