package collector

import (
	"time"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/internal/failstreak"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// logFailure logs a failed call as n says; window is the throttling
// backoff it opened, if any.
func (s *Scraper) logFailure(tenant string, err error, window time.Duration, n failstreak.Notice) {
	kv := []any{"msg", "Fetching tenant config failed", "tenant", tenant}
	logger := level.Debug(s.logger)
	switch {
	case n.Kind == failstreak.Started:
		logger = level.Warn(s.logger)
	case n.Kind == failstreak.Still:
		logger = level.Warn(s.logger)
		kv = []any{"msg", "Fetching tenant config still failing", "tenant", tenant,
			"failed_calls_since_last_warning", n.Calls, "failing_for", n.Since.Round(time.Second)}
	}
	kv = metastudio.AppendLogFields(kv, err)
	if window > 0 {
		kv = append(kv, "backoff", window.Round(time.Second))
	}
	kv = append(kv, "err", err)
	_ = logger.Log(kv...)
}

// logSuccess logs a good call, at info if it ends a failure streak.
func (s *Scraper) logSuccess(tenant string, hash uint64, n failstreak.Notice) {
	if n.Kind == failstreak.Recovered {
		_ = level.Info(s.logger).Log("msg", "Fetching tenant config succeeded again", "tenant", tenant,
			"failed_calls", n.Calls, "failing_for", n.Since.Round(time.Second))
		return
	}
	_ = level.Debug(s.logger).Log("msg", "Fetched tenant config", "tenant", tenant, "config_hash", hash)
}
