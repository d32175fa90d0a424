package metastudio

import (
	"strings"
	"sync"
)

// ObserveLog records what a client's Observer is told, one code a call,
// for the tests of this package and of metastudio_test. A call observed
// for a tenant other than shop-a, the tenant every test client calls for,
// or with a negative duration, records what was wrong instead.
type ObserveLog struct {
	mu    sync.Mutex
	codes []string
}

func (l *ObserveLog) Observe(tenant, code string, seconds float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tenant != "shop-a" || seconds < 0 {
		code = "bad call: " + tenant
	}
	l.codes = append(l.codes, code)
}

// Codes are the codes so far, comma-separated.
func (l *ObserveLog) Codes() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.codes, ",")
}
