package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

var authError = &metastudio.Error{Reason: metastudio.ReasonAuth, StatusCode: 401, ErrorCode: "APIGW.0301", Op: metastudio.OpGetUserConfig}

// failingLog scrapes a tenant whose calls answer errs in turn, one scrape
// every `every` on a fake clock, then once more with a good answer, and
// returns the log lines at warn and info (and the number at debug).
func failingLog(t *testing.T, errs []error, every time.Duration) (loud []string, debug int) {
	t.Helper()
	script := make([]answer, 0, len(errs)+1)
	for _, err := range errs {
		script = append(script, answer{err: err})
	}
	script = append(script, answer{maxLiveHours: 3})
	f := &scriptFetcher{t: t, script: script}
	clock := fakeclock.New(t0)
	logs := &lockedbuffer.Buffer{}
	s := newTestScraper(f, clock, logs)
	tenant := testTenant("failing")
	start := clock.Now()
	for i := range len(script) {
		clock.Set(start.Add(time.Duration(i) * every))
		r := s.fetch(t.Context(), tenant, true)
		if (i < len(errs)) != (r.err != nil) {
			t.Fatalf("scrape %d: err %v", i, r.err)
		}
	}
	if f.callCount() != len(script) {
		t.Fatalf("%d calls, want %d", f.callCount(), len(script))
	}
	for line := range strings.Lines(logs.String()) {
		if strings.HasPrefix(line, "level=debug ") {
			debug++
			continue
		}
		loud = append(loud, strings.TrimSuffix(line, "\n"))
	}
	return loud, debug
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

// TestFailingTenantWarnsOnce: a tenant failing for 100 scrapes, one every
// 2 s, writes one warn line, the other 99 failures at debug, and one info
// line when it recovers.
func TestFailingTenantWarnsOnce(t *testing.T) {
	loud, debug := failingLog(t, repeat(serverError, 100), 2*time.Second)
	want := []string{
		`level=warn msg="Fetching tenant config failed" tenant=failing reason=server_error status=500 error_code=MSS.00000001 err="get user config: HTTP 500 MSS.00000001"`,
		`level=info msg="Fetching tenant config succeeded again" tenant=failing failed_calls=100 failing_for=3m20s`,
	}
	checkLines(t, loud, want)
	if debug != 99 { // the other failures
		t.Errorf("%d debug lines, want 99", debug)
	}
}

// TestFailingTenantWarnsAgainOnNewReason: a change of reason is a new warn
// line; changing back is another.
func TestFailingTenantWarnsAgainOnNewReason(t *testing.T) {
	errs := append(repeat(serverError, 50), repeat(authError, 50)...)
	loud, _ := failingLog(t, errs, 2*time.Second)
	checkLines(t, loud, []string{
		`level=warn msg="Fetching tenant config failed" tenant=failing reason=server_error status=500 error_code=MSS.00000001 err="get user config: HTTP 500 MSS.00000001"`,
		`level=warn msg="Fetching tenant config failed" tenant=failing reason=auth status=401 error_code=APIGW.0301 err="get user config: HTTP 401 APIGW.0301"`,
		`level=info msg="Fetching tenant config succeeded again" tenant=failing failed_calls=100 failing_for=3m20s`,
	})

	errs = []error{serverError, authError, authError, serverError}
	loud, _ = failingLog(t, errs, 2*time.Second)
	if n := countLines(strings.Join(loud, "\n"), "level=warn"); n != 3 {
		t.Errorf("%d warn lines for server_error, auth, auth, server_error; want 3:\n%s", n, strings.Join(loud, "\n"))
	}
}

// TestFailingTenantWarnsEveryTenMinutes: a tenant failing for 100 scrapes
// a quarter of a minute apart (25 minutes) warns at the start, then after
// 10 and 20 minutes with the count of failed calls since the last warning.
func TestFailingTenantWarnsEveryTenMinutes(t *testing.T) {
	loud, debug := failingLog(t, repeat(serverError, 100), 15*time.Second)
	still := `level=warn msg="Fetching tenant config still failing" tenant=failing failed_calls_since_last_warning=40 failing_for=%s reason=server_error status=500 error_code=MSS.00000001 err="get user config: HTTP 500 MSS.00000001"`
	checkLines(t, loud, []string{
		`level=warn msg="Fetching tenant config failed" tenant=failing reason=server_error status=500 error_code=MSS.00000001 err="get user config: HTTP 500 MSS.00000001"`,
		fmt.Sprintf(still, "10m0s"),
		fmt.Sprintf(still, "20m0s"),
		`level=info msg="Fetching tenant config succeeded again" tenant=failing failed_calls=100 failing_for=25m0s`,
	})
	if debug != 97 {
		t.Errorf("%d debug lines, want 97", debug)
	}
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines above debug:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
