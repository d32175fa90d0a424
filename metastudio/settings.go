package metastudio

import (
	"hash/fnv"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Settings are the settings in force for a tenant: UserConfig with the API's
// defaults applied. They hold no secret: the callback URL and key are reduced
// to what monitoring needs (set or not, https or not) plus a hash.
type Settings struct {
	MaxLiveDurationHours       int // 0 = unlimited
	AutoStopMode               string
	MaxExceptionWaitingMinutes int // 0 = unlimited
	CallbackConfigured         bool
	CallbackHTTPS              bool
	// CallbackRoute is the callback URL reduced by CallbackRoute, to tell
	// whether events are routed to this exporter's receiver.
	CallbackRoute         string
	CallbackAuthType      string
	CallbackKeyConfigured bool
	CallbackEvents        []string // sorted, without duplicates
	NotifyEvents          []string // sorted, without duplicates
	// Hash changes whenever any effective setting changes, the callback URL
	// included. It is below 2^53 so that a float64 gauge carries it exactly.
	Hash uint64
}

// Effective applies the API's documented defaults for absent fields.
func (c *UserConfig) Effective() Settings {
	s := Settings{
		AutoStopMode:               DefaultAutoStopMode,
		MaxExceptionWaitingMinutes: DefaultMaxExceptionWaitingMinutes,
		CallbackAuthType:           DefaultAuthType,
	}
	var callbackURL string
	if e := c.LiveExitConfig; e != nil {
		if e.MaxLiveDuration != nil {
			s.MaxLiveDurationHours = *e.MaxLiveDuration
		}
		if e.AutoStopMode != nil && *e.AutoStopMode != "" {
			s.AutoStopMode = *e.AutoStopMode
		}
		if e.MaxExceptionWaitingDuration != nil {
			s.MaxExceptionWaitingMinutes = *e.MaxExceptionWaitingDuration
		}
	}
	if cb := c.LiveEventCallbackConfig; cb != nil {
		callbackURL = string(cb.LiveEventTypeCallbackURL)
		s.CallbackConfigured = callbackURL != ""
		s.CallbackHTTPS = s.CallbackConfigured && isHTTPS(callbackURL)
		s.CallbackRoute = CallbackRoute(callbackURL)
		if cb.AuthType != nil && *cb.AuthType != "" {
			s.CallbackAuthType = *cb.AuthType
		}
		s.CallbackKeyConfigured = cb.Key.IsSet()
		s.CallbackEvents = sortedSet(cb.CallbackEventType)
	}
	if n := c.LiveNotifyConfig; n != nil {
		s.NotifyEvents = sortedSet(n.NotifyEvents)
	}
	s.Hash = s.hash(callbackURL)
	return s
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	return err == nil && strings.EqualFold(u.Scheme, "https") && u.Host != ""
}

func sortedSet(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// hash folds every effective setting into FNV-1a. Fields are written with a
// separator that cannot occur inside them so that ("ab","c") and ("a","bc")
// differ. The callback URL counts in full; the key only as set or not.
func (s *Settings) hash(callbackURL string) uint64 {
	h := fnv.New64a()
	w := func(parts ...string) {
		for _, p := range parts {
			_, _ = h.Write([]byte(p))
			_, _ = h.Write([]byte{0})
		}
	}
	w(strconv.Itoa(s.MaxLiveDurationHours), s.AutoStopMode, strconv.Itoa(s.MaxExceptionWaitingMinutes),
		callbackURL, s.CallbackAuthType, strconv.FormatBool(s.CallbackKeyConfigured))
	w(s.CallbackEvents...)
	w("|")
	w(s.NotifyEvents...)
	return h.Sum64() & (1<<53 - 1)
}
