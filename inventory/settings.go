package inventory

import (
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// Settings are one tenant's rooms: and live_jobs: keys.
type Settings struct {
	// RoomsInterval is how often the rooms are listed, their details
	// fetched one by one in between; 0 means rooms are not watched.
	RoomsInterval time.Duration
	// MaxRooms is the most rooms watched; the rest are skipped.
	MaxRooms int
	// JobsInterval is how often the live jobs are listed; 0 means jobs are
	// not watched.
	JobsInterval time.Duration
	// FailedWindow is how far back FAILED and BLOCKED jobs are listed.
	FailedWindow time.Duration
}

// Defaults of the rooms: and live_jobs: keys.
const (
	DefaultRoomsInterval = 10 * time.Minute
	DefaultMaxRooms      = 500
	DefaultJobsInterval  = time.Minute
	DefaultFailedWindow  = 24 * time.Hour
)

// DefaultSettings are the settings of a tenant that sets none.
func DefaultSettings(*config.Tenant) Settings {
	return Settings{
		RoomsInterval: DefaultRoomsInterval,
		MaxRooms:      DefaultMaxRooms,
		JobsInterval:  DefaultJobsInterval,
		FailedWindow:  DefaultFailedWindow,
	}
}

// watched reports whether s watches anything.
func (s Settings) watched() bool { return s.RoomsInterval > 0 || s.JobsInterval > 0 }
