package inventory

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promlabel"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// roomsView is a tenant's rooms as last refreshed. It never changes once
// stored; a refresh stores a changed copy.
type roomsView struct {
	// up is whether the last rooms call, the listing or a room's detail,
	// succeeded; lastSuccess is when the last one that did ended.
	up          bool
	lastSuccess time.Time
	skipped     int // rooms past max_rooms at the last listing
	rooms       []*room
	// index finds a room of rooms by its id as the API spells it.
	index map[string]int
}

// room is one listed room, its labels bounded once, when it is listed.
type room struct {
	id                             string // as the API spells it, to ask for its detail
	idLabel, name, roomType, state string
	// own is the settings the room sets itself; nil until its detail has
	// been fetched.
	own *roomSettings
}

// roomSettings are a room's own settings. A nil field is one the room does
// not set: it inherits the tenant's, and has no series.
type roomSettings struct {
	repeats             *float64 // play_policy.repeat_count
	maxDuration         *float64 // seconds; 0 = none
	maxExceptionWaiting *float64 // seconds; 0 = none
	callback            *roomCallback
}

// roomCallback is what monitoring keeps of a room's own callback URL: the
// URL and key themselves are secrets and are not kept.
type roomCallback struct {
	https, credentials bool
	authType, scheme   string
}

// watchRooms lists t's rooms every RoomsInterval and fetches one room's
// detail after another in between, spread evenly over the interval so that
// 500 rooms never make a burst of 500 calls.
func (inv *Inventory) watchRooms(ctx context.Context, w *watch) {
	interval := w.tenant.Rooms.RefreshInterval
	for {
		ids := inv.listRooms(ctx, w)
		if len(ids) == 0 {
			if !w.wait(ctx, interval) {
				return
			}
			continue
		}
		step := interval / time.Duration(len(ids))
		for _, id := range ids {
			inv.fetchRoom(ctx, w, id)
			if !w.wait(ctx, step) {
				return
			}
		}
	}
}

// listRooms lists w's rooms and returns their ids, to fetch the details
// of; none when the listing failed or the watch stopped.
func (inv *Inventory) listRooms(ctx context.Context, w *watch) []string {
	var listed []metastudio.Room
	var total int
	err := inv.call(ctx, w, func(ctx context.Context) (err error) {
		listed, total, err = inv.api.ListRooms(ctx, w.tenant.Target, w.tenant.Rooms.MaxRooms)
		return err
	})
	if ctx.Err() != nil {
		return nil
	}
	inv.logOutcome(w, &w.roomFails, roomsLog, err)
	next := viewAfter(w.rooms.Load())
	if err != nil {
		next.up = false
		w.rooms.Store(next)
		return nil
	}
	next.rooms, next.index = listedRooms(listed, w.tenant.Rooms.MaxRooms, next)
	next.up, next.lastSuccess = true, time.Now()
	// Set before the view is stored: a scrape may read it from then on.
	next.skipped = max(0, max(total, len(listed))-w.tenant.Rooms.MaxRooms)
	w.rooms.Store(next)
	if next.skipped > 0 {
		inv.warnSkipped(w, max(total, len(listed)))
	}
	ids := make([]string, len(next.rooms))
	for i, r := range next.rooms {
		ids[i] = r.id
	}
	return ids
}

// warnSkipped logs, once per watch, that the tenant has more rooms than
// max_rooms.
func (inv *Inventory) warnSkipped(w *watch, rooms int) {
	if w.firstTime(&w.warnedSkipped) {
		_ = level.Warn(inv.logger).Log("msg", "Tenant has more rooms than max_rooms; the rest are not watched (metastudio_rooms_skipped counts them)",
			"tenant", w.tenant.Name, "rooms", rooms, "max_rooms", w.tenant.Rooms.MaxRooms)
	}
}

// listedRooms turns a listing into rooms, at most max, keeping the
// settings prev knew of each room still listed until its detail is fetched
// again. A room whose id, bounded, repeats an earlier one is left out: it
// would repeat its series.
func listedRooms(listed []metastudio.Room, max int, prev *roomsView) ([]*room, map[string]int) {
	rooms := make([]*room, 0, min(len(listed), max))
	index := make(map[string]int, cap(rooms))
	labels := make(map[string]bool, cap(rooms))
	for _, l := range listed {
		if len(rooms) == max {
			break
		}
		r := &room{
			id:       l.RoomID,
			idLabel:  promlabel.Bounded(l.RoomID),
			name:     promlabel.Bounded(l.RoomName),
			roomType: promlabel.Bounded(l.RoomType),
			state:    promlabel.Bounded(l.RoomState),
		}
		if labels[r.idLabel] {
			continue
		}
		labels[r.idLabel] = true
		if i, ok := prev.index[r.id]; ok {
			r.own = prev.rooms[i].own
		}
		index[r.id] = len(rooms)
		rooms = append(rooms, r)
	}
	return rooms, index
}

// fetchRoom fetches one room's detail into w's view. A room that is gone
// since the listing (404) leaves the view; that is no failure.
func (inv *Inventory) fetchRoom(ctx context.Context, w *watch, id string) {
	var d *metastudio.RoomDetail
	err := inv.call(ctx, w, func(ctx context.Context) (err error) {
		d, err = inv.api.GetRoom(ctx, w.tenant.Target, id)
		return err
	})
	if ctx.Err() != nil {
		return
	}
	next := viewAfter(w.rooms.Load())
	i, listed := next.index[id]
	switch {
	case err == nil && listed:
		r := *next.rooms[i]
		r.own = ownSettings(d)
		next.rooms = slices.Clone(next.rooms)
		next.rooms[i] = &r
	case gone(err) && listed:
		err = nil
		next.rooms = slices.Delete(slices.Clone(next.rooms), i, i+1)
		next.index = make(map[string]int, len(next.rooms))
		for j, r := range next.rooms {
			next.index[r.id] = j
		}
	}
	inv.logOutcome(w, &w.roomFails, roomsLog, err)
	next.up = err == nil
	if err == nil {
		next.lastSuccess = time.Now()
	}
	w.rooms.Store(next)
}

// gone reports whether err says the room does not exist (any more).
func gone(err error) bool {
	var e *metastudio.Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// ownSettings reduces a room's detail to the settings it sets itself.
func ownSettings(d *metastudio.RoomDetail) *roomSettings {
	s := &roomSettings{}
	if d == nil {
		return s
	}
	if d.RepeatCount != nil {
		s.repeats = ptr(float64(*d.RepeatCount))
	}
	if e := d.Exit; e != nil {
		if e.MaxLiveDurationHours != nil {
			s.maxDuration = ptr(float64(*e.MaxLiveDurationHours) * 3600)
		}
		if e.MaxExceptionWaitingMinutes != nil {
			s.maxExceptionWaiting = ptr(float64(*e.MaxExceptionWaitingMinutes) * 60)
		}
	}
	if cb := d.Callback; cb != nil && strings.TrimSpace(cb.URL.Reveal()) != "" {
		raw := cb.URL.Reveal()
		scheme := schemeOf(raw)
		s.callback = &roomCallback{
			https:       scheme == "https",
			credentials: carriesCredentials(raw),
			authType:    authTypeLabel(cb.AuthType),
			scheme:      scheme,
		}
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// schemeOf is a callback URL's scheme as a label value: https, http or
// other (an unparseable URL, another scheme, or no host).
func schemeOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "other"
	}
	switch s := strings.ToLower(u.Scheme); s {
	case "https", "http":
		return s
	}
	return "other"
}

// carriesCredentials reports whether a callback URL has a query parameter
// with a value, which is where a receiver that takes no signature (auth
// type NONE) reads its token from.
func carriesCredentials(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return false
	}
	q, _ := url.ParseQuery(u.RawQuery)
	for _, values := range q {
		for _, v := range values {
			if v != "" {
				return true
			}
		}
	}
	return false
}

// authTypeLabel is a callback's auth type as a label value; an absent one
// is NONE, the API's default.
func authTypeLabel(authType string) string {
	if authType == "" {
		return metastudio.DefaultAuthType
	}
	return promlabel.Bounded(authType)
}
