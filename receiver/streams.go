package receiver

import (
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Stream states. Any other state an event names is kept as stateOther, so
// that a sender cannot mint label values and a new vendor state still shows.
const (
	stateConnecting = iota
	stateConnected
	stateDisconnected
	stateReconnecting
	stateEnd
	stateOther
	numStates
)

// knownStates is the number of states that always get a
// metastudio_live_stream_state series.
const knownStates = stateOther

var stateNames = [numStates]string{"CONNECTING", "CONNECTED", "DISCONNECTED", "RECONNECTING", "END", "other"}

func stateIndex(name string) int {
	for i, n := range stateNames[:knownStates] {
		if n == name {
			return i
		}
	}
	return stateOther
}

// staleAfter is how long a stream or job that is not in END stays after its
// last event: a week and an hour, so that a weekly stream is still there
// when it comes back.
const staleAfter = 169 * time.Hour

type streamKey struct{ tenant, roomID, jobID, outputHost string }

type jobKey struct{ tenant, roomID, jobID string }

// stream is one output of one job. Times are Unix milliseconds; 0 = never.
type stream struct {
	key    streamKey
	at     [numStates]int64 // last event with each state
	latest int              // the state with the newest event; ties go to the later arrival
	lru    lruLink
}

func (s *stream) link() *lruLink { return &s.lru }

func (s *stream) lastEventMs() int64 {
	var m int64
	for _, t := range s.at {
		m = max(m, t)
	}
	return m
}

type job struct {
	key         jobKey
	lastEventMs int64
	paragraph   float64
	paragraphMs int64 // time of the SHOOT_SCRIPT_SWITCH paragraph came from; 0 = none yet
	ended       bool  // a stream of it was dropped after END retention
	lru         lruLink
}

func (j *job) link() *lruLink { return &j.lru }

// table is the receiver's state: streams and jobs, each bounded by
// maxStreams. Past the bound the least recently updated entry of the tenant
// holding the most goes first: one tenant can never push out another's
// state. It is not safe for concurrent use; Receiver guards it.
type table struct {
	maxStreams   int
	endRetention time.Duration

	streams   map[streamKey]*stream
	streamLRU fairLRU
	jobs      map[jobKey]*job
	jobLRU    fairLRU

	evictedStreams, evictedJobs uint64
}

func newTable(maxStreams int, endRetention time.Duration) *table {
	return &table{
		maxStreams:   maxStreams,
		endRetention: endRetention,
		streams:      map[streamKey]*stream{},
		jobs:         map[jobKey]*job{},
	}
}

// record applies one accepted event that happened at atMs. Times only move
// forward: a late retry of an older event never hides a newer one, which is
// also what makes max by over replicas the truth.
func (t *table) record(tenant string, ev *event, atMs int64) {
	if ev.roomID == "" || ev.jobID == "" {
		return // an unknown event type that names no job
	}
	j := t.job(jobKey{tenant, ev.roomID, ev.jobID})
	j.lastEventMs = max(j.lastEventMs, atMs)
	switch ev.typeLabel {
	case metastudio.EventShootScriptSwitch:
		if ev.hasSeqNo && atMs >= j.paragraphMs {
			j.paragraph, j.paragraphMs = ev.seqNo, atMs
		}
	case metastudio.EventRTMPStreamStateChange:
		s := t.stream(streamKey{tenant, ev.roomID, ev.jobID, ev.outputHost}, ev.state)
		s.at[ev.state] = max(s.at[ev.state], atMs)
		if atMs >= s.at[s.latest] {
			s.latest = ev.state
		}
		j.ended = false
	}
}

// job finds or adds a job and marks it the most recently updated.
func (t *table) job(k jobKey) *job {
	if j, ok := t.jobs[k]; ok {
		t.jobLRU.touch(j)
		return j
	}
	if len(t.jobs) >= t.maxStreams {
		old := t.jobLRU.victim().(*job)
		t.jobLRU.remove(old)
		delete(t.jobs, old.key)
		t.evictedJobs++
	}
	j := &job{key: k}
	t.jobLRU.add(k.tenant, j)
	t.jobs[k] = j
	return j
}

// stream finds or adds a stream and marks it the most recently updated; a
// new stream starts in state.
func (t *table) stream(k streamKey, state int) *stream {
	if s, ok := t.streams[k]; ok {
		t.streamLRU.touch(s)
		return s
	}
	if len(t.streams) >= t.maxStreams {
		old := t.streamLRU.victim().(*stream)
		t.streamLRU.remove(old)
		delete(t.streams, old.key)
		t.evictedStreams++
	}
	s := &stream{key: k, latest: state}
	t.streamLRU.add(k.tenant, s)
	t.streams[k] = s
	return s
}

// prune drops streams in END for longer than endRetention, streams and jobs
// without an event for staleAfter, and jobs whose streams all ended and were
// dropped. It reports whether anything was dropped.
func (t *table) prune(nowMs int64) bool {
	changed := false
	endCut := nowMs - t.endRetention.Milliseconds()
	staleCut := nowMs - staleAfter.Milliseconds()
	liveStreams := make(map[jobKey]int, len(t.jobs))
	for k, s := range t.streams {
		jk := jobKey{k.tenant, k.roomID, k.jobID}
		switch {
		case s.latest == stateEnd && s.at[stateEnd] < endCut:
			if j, ok := t.jobs[jk]; ok {
				j.ended = true
			}
		case s.lastEventMs() < staleCut:
		default:
			liveStreams[jk]++
			continue
		}
		t.streamLRU.remove(s)
		delete(t.streams, k)
		changed = true
	}
	for k, j := range t.jobs {
		if j.lastEventMs < staleCut || j.ended && liveStreams[k] == 0 && j.lastEventMs < endCut {
			t.jobLRU.remove(j)
			delete(t.jobs, k)
			changed = true
		}
	}
	return changed
}

// retain drops the streams and jobs of tenants not in keep.
func (t *table) retain(keep map[string]bool) bool {
	changed := false
	for k, s := range t.streams {
		if !keep[k.tenant] {
			t.streamLRU.remove(s)
			delete(t.streams, k)
			changed = true
		}
	}
	for k, j := range t.jobs {
		if !keep[k.tenant] {
			t.jobLRU.remove(j)
			delete(t.jobs, k)
			changed = true
		}
	}
	return changed
}
