package web

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// MaxRecentCallbacks is how many callbacks the status page lists.
const MaxRecentCallbacks = 100

// StatusPage is everything the status page shows, gathered afresh for each
// request. It holds no secret: whoever fills it passes on names, outcomes
// and times, never a key, a token or a URL's query.
type StatusPage struct {
	Name        string // the exporter's name, the page's title
	Description string // one line under the title, such as the demo's notice
	Build       BuildInfo
	Now         time.Time // what the ages on the page are measured from
	// ReloadFailure is the last reload's, while it failed; nil after a
	// successful one.
	ReloadFailure *ReloadFailure
	Tenants       []TenantStatus
	Discovery     []DiscoveryStatus
	Receiver      *ReceiverStatus // nil while the receiver is off
	// Recent are the last callbacks the receiver answered; the page sorts
	// them newest first and lists MaxRecentCallbacks at most.
	Recent []receiver.CallbackRecord
	Links  []Link
}

// TenantStatus is one tenant as its scrapes and callbacks left it.
type TenantStatus struct {
	Name      string
	ProjectID string
	Region    string
	// Discovered says a discovery entry found the tenant, the one
	// DiscoveryEntry labels (its name, else its index in the config's
	// discovery list); else the config file names it.
	Discovered     bool
	DiscoveryEntry string

	// The outcome of the tenant's last call, as its scrapes left it.
	collector.TenantStatus
	// MaxCacheAge is the tenant's max_cache_age; with one, Cached says a
	// scrape now is served an answer CacheAge old.
	MaxCacheAge time.Duration
	// LastEvent is when the receiver last accepted an event of the tenant.
	LastEvent time.Time
	// Findings are the bundled alert conditions the settings of its last
	// good answer, and its rooms and jobs, meet, most severe first.
	Findings []Finding
	// Streams are the live streams the receiver tracks for the tenant.
	Streams []receiver.StreamStatus
	// Inventory is the tenant's rooms and live jobs as the scrapes are
	// served them; RoomsInterval and JobsInterval are its rooms: and
	// live_jobs: refresh intervals (0: not watched).
	Inventory                   inventory.Status
	RoomsInterval, JobsInterval time.Duration
}

// BuildInfo is what is known of the running binary; a plain `go build`
// leaves most of it empty, and the page omits what is.
type BuildInfo struct {
	Version, Revision, Branch, BuildDate, GoVersion string
}

// ReloadFailure is a failed config reload: the exporter serves the config
// it loaded before.
type ReloadFailure struct {
	At    time.Time
	Error string // names file, line and key, never a secret's value
}

// DiscoveryStatus is one entry of the config's discovery list, as the tenant
// set reports it.
type DiscoveryStatus struct{ tenants.EntryStatus }

// ReceiverStatus is the live-event receiver, when it is on.
type ReceiverStatus struct {
	ListenAddress string
	// ExternalURL is --callback.external-url, the base URL MetaStudio
	// reaches the receiver at; "" when it is not set.
	ExternalURL string
}

// CallbackLog is what the page reads of the live-event receiver
// (*receiver.Receiver is one): the last callbacks it answered, newest
// first, when it last accepted an event of a tenant (zero if never), and
// the streams it tracks by tenant.
type CallbackLog interface {
	Recent() []receiver.CallbackRecord
	LastEvent(tenant string) time.Time
	Streams() map[string][]receiver.StreamStatus
}

// Link is an entry of the page's list of endpoints.
type Link struct {
	Address     string
	Text        string
	Description string
}

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"clock": Clock, "streamClass": streamStateClass, "age": Age, "limit": LimitText,
}).Parse(statusHTML))

// NewStatusPage serves the status page at "/" (any other path is 404),
// built by source for each request; template errors are logged to logger.
func NewStatusPage(source func(context.Context) StatusPage, logger log.Logger) http.Handler {
	return &statusHandler{source: source, logger: logger}
}

type statusHandler struct {
	source func(context.Context) StatusPage
	logger log.Logger
}

func (h *statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	page := h.source(r.Context())
	page.Recent = newestFirst(page.Recent)
	var out bytes.Buffer
	if err := statusTemplate.Execute(&out, &page); err != nil {
		_ = level.Error(h.logger).Log("msg", "Rendering the status page failed", "err", err)
		http.Error(w, "rendering the status page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(out.Bytes())
}

// newestFirst sorts callbacks newest first (those of the same time keep
// their order) and keeps MaxRecentCallbacks of them.
func newestFirst(calls []receiver.CallbackRecord) []receiver.CallbackRecord {
	calls = slices.Clone(calls)
	slices.SortStableFunc(calls, func(a, b receiver.CallbackRecord) int { return b.Time.Compare(a.Time) })
	return calls[:min(len(calls), MaxRecentCallbacks)]
}
