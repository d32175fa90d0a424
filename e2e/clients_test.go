package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// webhookAlert is one alert of an Alertmanager webhook notification.
type webhookAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
}

// webhook records what Alertmanager notifies, keyed alertname/tenant, the
// latest notification of each alert winning.
type webhook struct {
	URL  string
	addr string // host:port

	mu     sync.Mutex
	latest map[string]webhookAlert
	// reached are the URL paths each alert's firing notifications came to:
	// a route with continue sends one alert to several receivers.
	reached map[string]map[string]bool
	errs    []string
}

// newWebhook serves the webhook on a free loopback port.
func newWebhook(t *testing.T) *webhook {
	t.Helper()
	h := &webhook{latest: map[string]webhookAlert{}, reached: map[string]map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Version string         `json:"version"`
			Alerts  []webhookAlert `json:"alerts"`
		}
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := json.Unmarshal(body, &msg); err != nil || msg.Version != "4" {
			h.errs = append(h.errs, fmt.Sprintf("bad notification (version %q, %v): %s", msg.Version, err, body))
			http.Error(w, "bad notification", http.StatusBadRequest)
			return
		}
		for _, a := range msg.Alerts {
			key := a.Labels["alertname"] + "/" + a.Labels["tenant"]
			h.latest[key] = a
			if a.Status == "firing" {
				if h.reached[key] == nil {
					h.reached[key] = map[string]bool{}
				}
				h.reached[key][r.URL.Path] = true
			}
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, e := range h.errs {
			t.Error(e)
		}
	})
	h.URL, h.addr = srv.URL+"/alerts", srv.Listener.Addr().String()
	return h
}

// keys returns the alerts whose latest notification has the given status
// ("" for any), sorted.
func (h *webhook) keys(status string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k, a := range h.latest {
		if status == "" || a.Status == status {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (h *webhook) last(key string) webhookAlert {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest[key]
}

// reachedPaths are the URL paths key's firing notifications came to, sorted.
func (h *webhook) reachedPaths(key string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.reached[key]))
}

// promAPI is the slice of the Prometheus HTTP API the test needs.
type promAPI struct{ base string }

type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func (p *promAPI) get(ctx context.Context, path string, params url.Values, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("HTTP %d, undecodable answer: %w", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, into)
}

// query runs an instant query and returns how many series or values it gave.
func (p *promAPI) query(ctx context.Context, expr string) (int, error) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &d); err != nil {
		return 0, err
	}
	switch d.ResultType {
	case "vector", "matrix":
		var rs []json.RawMessage
		if err := json.Unmarshal(d.Result, &rs); err != nil {
			return 0, err
		}
		return len(rs), nil
	case "scalar", "string":
		return 1, nil
	}
	return 0, fmt.Errorf("unknown result type %q", d.ResultType)
}

func (p *promAPI) labelValues(ctx context.Context, label, selector string) ([]string, error) {
	params := url.Values{}
	if selector != "" {
		params.Set("match[]", selector)
	}
	var vals []string
	err := p.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", params, &vals)
	return vals, err
}

type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

// alerts returns Prometheus' own view: firing and pending alerts.
func (p *promAPI) alerts(ctx context.Context, t *testing.T) (firing, pending []promAlert) {
	t.Helper()
	var d struct {
		Alerts []promAlert `json:"alerts"`
	}
	if err := p.get(ctx, "/api/v1/alerts", nil, &d); err != nil {
		t.Fatalf("GET /api/v1/alerts: %v", err)
	}
	for _, a := range d.Alerts {
		if a.State == "firing" {
			firing = append(firing, a)
		} else {
			pending = append(pending, a)
		}
	}
	return firing, pending
}

// keysOf returns alertname/tenant of each alert, sorted and deduplicated.
func keysOf(as []promAlert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Labels["alertname"]+"/"+a.Labels["tenant"])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// promRounds is how far Prometheus has got: how often it scraped the
// target it scraped least, and how many rule group evaluations it ran in
// all (groups is how many rule groups it has).
type promRounds struct {
	scrapes, evaluations float64
	groups               int
}

func (p *promAPI) rounds(ctx context.Context) (promRounds, error) {
	var r promRounds
	var d struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {"min(count_over_time(up[1h]))"}}, &d); err != nil {
		return r, err
	}
	if len(d.Result) == 1 {
		s, _ := d.Result[0].Value[1].(string)
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return r, fmt.Errorf("count of scrapes %q: %w", s, err)
		}
		r.scrapes = n
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/metrics", nil)
	if err != nil {
		return r, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return r, fmt.Errorf("Prometheus' own metrics: %w", err)
	}
	sum := func(name string) float64 {
		var total float64
		for _, m := range families[name].GetMetric() {
			total += m.GetCounter().GetValue()
		}
		return total
	}
	// Scheduled evaluations less those a busy Prometheus skipped.
	r.groups = len(families["prometheus_rule_group_iterations_total"].GetMetric())
	r.evaluations = sum("prometheus_rule_group_iterations_total") - sum("prometheus_rule_group_iterations_missed_total")
	return r, nil
}

// waitRounds waits until Prometheus has scraped every target, and run each
// of its rule groups, n more times: the time a late alert or a stray series
// needs to show, counted in Prometheus' own rounds, which a busy machine
// slows down as much as anything else, instead of in seconds.
func (p *promAPI) waitRounds(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	from, err := p.rounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, fmt.Sprintf("%d more rounds of scrapes and rule evaluations", n), func() (bool, string) {
		now, err := p.rounds(ctx)
		if err != nil {
			return false, err.Error()
		}
		scrapes, evaluations := now.scrapes-from.scrapes, now.evaluations-from.evaluations
		return scrapes >= float64(n) && evaluations >= float64(n*now.groups),
			fmt.Sprintf("%v more scrapes of every target, %v more evaluations of %d rule groups", scrapes, evaluations, now.groups)
	})
}
