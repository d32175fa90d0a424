package config

import "time"

// Settings are the keys a tenant shares with defaults and discovery
// entries, and this struct is their one description: each field's yaml tag
// is its key, its check tag what the value must satisfy (checks.go), and
// BuiltinSettings its default. The decoder applies each level of the file
// over the one before it key by key (built-ins, then defaults, then a
// discovery entry, then a tenant), nested sections such as policy key by
// key too; /config renders the result with the same tags. A new per-tenant
// key is a field here, its default in BuiltinSettings if it has one, and
// the code that uses it.
type Settings struct {
	// Region names the tenant's endpoints; a discovered tenant's comes from
	// its project's name, so a discovery entry does not take this key.
	Region      string        `yaml:"region" check:"region"`
	Timeout     time.Duration `yaml:"timeout" check:"positive"`
	MaxCacheAge time.Duration `yaml:"max_cache_age"`
	Policy      Policy        `yaml:"policy"`
	// Callback is for the live-event receiver; it does not change whose
	// data a scrape fetches, so it is not part of the tenant's key.
	Callback Callback `yaml:"callback,omitdefault"`
	Rooms    Rooms    `yaml:"rooms"`
	LiveJobs LiveJobs `yaml:"live_jobs"`
	// Labels go on every per-tenant series; a level's names are merged over
	// the levels below it, one by one.
	Labels Labels `yaml:"labels"`
	// HTTPClient is the upstream connection of the tenant's MetaStudio and
	// IAM calls: the nearest level that writes http_client wins as a whole
	// (a tenant, then its credentials entry, then its discovery entry, then
	// defaults). Nil when no level sets one.
	HTTPClient *HTTPClient `yaml:"http_client"`
}

// Policy holds the thresholds the bundled alerts compare a tenant against.
type Policy struct {
	MaxLiveDuration     time.Duration `yaml:"max_live_duration"`
	MaxExceptionWaiting time.Duration `yaml:"max_exception_waiting"`
}

// Rooms is how the tenant's rooms are watched in the background.
type Rooms struct {
	// RefreshInterval 0 means the rooms are not watched.
	RefreshInterval time.Duration `yaml:"refresh_interval" check:"off_or_min=1m"`
	// MaxRooms bounds the rooms listed per tenant; the rest are skipped.
	MaxRooms int `yaml:"max_rooms" check:"min=1"`
}

// LiveJobs is how the tenant's live jobs are watched in the background.
type LiveJobs struct {
	// RefreshInterval 0 means the jobs are not watched.
	RefreshInterval time.Duration `yaml:"refresh_interval" check:"off_or_min=15s"`
	// FailedWindow is how far back FAILED and BLOCKED jobs are listed.
	FailedWindow time.Duration `yaml:"failed_window" check:"positive,max=7d"`
}

// Defaults of keys no level sets, kept as constants where other packages
// or older code refer to them; BuiltinSettings is the full set.
const (
	DefaultRegion              = "cn-north-4"
	DefaultTimeout             = 10 * time.Second
	DefaultMaxCacheAge         = time.Duration(0)
	DefaultMaxLiveDuration     = time.Duration(0)
	DefaultMaxExceptionWaiting = 30 * time.Minute
)

// BuiltinSettings are what a tenant gets for every key that neither it,
// its discovery entry nor defaults sets.
func BuiltinSettings() Settings {
	return Settings{
		Region:      DefaultRegion,
		Timeout:     DefaultTimeout,
		MaxCacheAge: DefaultMaxCacheAge,
		Policy:      Policy{MaxLiveDuration: DefaultMaxLiveDuration, MaxExceptionWaiting: DefaultMaxExceptionWaiting},
		Callback:    Callback{ForwardTimeout: DefaultForwardTimeout},
		Rooms:       Rooms{RefreshInterval: 10 * time.Minute, MaxRooms: 500},
		LiveJobs:    LiveJobs{RefreshInterval: time.Minute, FailedWindow: 24 * time.Hour},
	}
}
