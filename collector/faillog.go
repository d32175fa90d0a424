package collector

import (
	"time"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// failWarnEvery is the most a tenant that keeps failing for the same
// reason warns: once when it starts, then once per this interval with the
// number of failed calls since. A soak of 5 failing tenants scraped every
// 2 s once wrote 1,800 warn lines in 12 minutes, one per scrape, and
// drowned every other line; the metrics say the rest.
const failWarnEvery = 10 * time.Minute

// failLog is one tenant's failure streak, which decides how loudly each of
// its calls is logged. It is part of the tenant's state and guarded by its
// lock; the times come from the Scraper's clock.
type failLog struct {
	failing  bool
	reason   metastudio.Reason
	since    time.Time // first failure of the streak
	calls    int       // failed calls in the streak
	unwarned int       // failed calls since the last warn line
	warnedAt time.Time
}

// failNotice says how one call's outcome is logged.
type failNotice struct {
	kind  noticeKind
	calls int           // noticeStill: failed calls since the last warn line; noticeRecovered: in the streak
	since time.Duration // noticeStill, noticeRecovered: how long the streak has lasted
}

type noticeKind int

const (
	noticeDebug     noticeKind = iota // a failure or success not worth more
	noticeStarted                     // the tenant started failing, or failing for another reason
	noticeStill                       // still failing, failWarnEvery after the last warn line
	noticeRecovered                   // a success ending a streak
)

// failed records a failed call at now and says how to log it.
func (l *failLog) failed(reason metastudio.Reason, now time.Time) failNotice {
	if !l.failing {
		l.failing, l.since, l.calls = true, now, 0
	}
	l.calls++
	if l.reason != reason || l.calls == 1 {
		l.reason, l.unwarned, l.warnedAt = reason, 0, now
		return failNotice{kind: noticeStarted}
	}
	l.unwarned++
	if now.Sub(l.warnedAt) < failWarnEvery {
		return failNotice{kind: noticeDebug}
	}
	n := l.unwarned
	l.unwarned, l.warnedAt = 0, now
	return failNotice{kind: noticeStill, calls: n, since: now.Sub(l.since)}
}

// succeeded records a good call at now and says how to log it.
func (l *failLog) succeeded(now time.Time) failNotice {
	if !l.failing {
		return failNotice{kind: noticeDebug}
	}
	n := failNotice{kind: noticeRecovered, calls: l.calls, since: now.Sub(l.since)}
	*l = failLog{}
	return n
}

// logFailure logs a failed call as n says; window is the throttling
// backoff it opened, if any.
func (s *Scraper) logFailure(tenant string, err error, window time.Duration, n failNotice) {
	kv := []any{"msg", "Fetching tenant config failed", "tenant", tenant}
	logger := level.Debug(s.logger)
	switch {
	case n.kind == noticeStarted:
		logger = level.Warn(s.logger)
	case n.kind == noticeStill:
		logger = level.Warn(s.logger)
		kv = []any{"msg", "Fetching tenant config still failing", "tenant", tenant,
			"failed_calls_since_last_warning", n.calls, "failing_for", n.since.Round(time.Second)}
	}
	kv = metastudio.AppendLogFields(kv, err)
	if window > 0 {
		kv = append(kv, "backoff", window.Round(time.Second))
	}
	kv = append(kv, "err", err)
	_ = logger.Log(kv...)
}

// logSuccess logs a good call, at info if it ends a failure streak.
func (s *Scraper) logSuccess(tenant string, hash uint64, n failNotice) {
	if n.kind == noticeRecovered {
		_ = level.Info(s.logger).Log("msg", "Fetching tenant config succeeded again", "tenant", tenant,
			"failed_calls", n.calls, "failing_for", n.since.Round(time.Second))
		return
	}
	_ = level.Debug(s.logger).Log("msg", "Fetched tenant config", "tenant", tenant, "config_hash", hash)
}
