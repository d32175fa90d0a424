package collector

import (
	"time"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/internal/failstreak"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

var configLines = failstreak.Lines{
	Failed:    "Fetching tenant config failed",
	Still:     "Fetching tenant config still failing",
	Recovered: "Fetching tenant config succeeded again",
}

// logFailure logs a failed call as n says; window is the throttling
// backoff it opened, if any.
func (s *Scraper) logFailure(tenant string, err error, window time.Duration, n failstreak.Notice) {
	logger, kv := configLines.Failure(s.logger, tenant, n)
	kv = metastudio.AppendLogFields(kv, err)
	if window > 0 {
		kv = append(kv, "backoff", window.Round(time.Second))
	}
	kv = append(kv, "err", err)
	_ = logger.Log(kv...)
}

// logSuccess logs a good call, at info if it ends a failure streak.
func (s *Scraper) logSuccess(tenant string, hash uint64, n failstreak.Notice) {
	if configLines.Recovery(s.logger, tenant, n) {
		return
	}
	_ = level.Debug(s.logger).Log("msg", "Fetched tenant config", "tenant", tenant, "config_hash", hash)
}
