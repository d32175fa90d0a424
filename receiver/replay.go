package receiver

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// maxReplayEntries bounds the replay memory (about 100 bytes an entry). Only
// verified requests are remembered, so only a sender holding the key (or a
// tenant that allows unauthenticated callbacks) can fill it; past the bound
// the oldest entry is forgotten first.
const maxReplayEntries = 1 << 16

// replayKey is a digest of (tenant, hwTime, body); hwTime is -1 for
// unsigned requests. Distinct events sent in the same second share hwSecret
// and hwTime, so the body must be part of the key.
type replayKey [sha256.Size]byte

func newReplayKey(tenant string, hwTime int64, body []byte) replayKey {
	h := sha256.New()
	h.Write([]byte(tenant))
	var b [9]byte // a 0 byte ends the tenant name, which cannot hold one
	binary.BigEndian.PutUint64(b[1:], uint64(hwTime))
	h.Write(b[:])
	h.Write(body)
	var k replayKey
	h.Sum(k[:0])
	return k
}

type replayState struct {
	expiresMs int64
	relayed   bool // forwarded to forward_url successfully
}

type queuedKey struct {
	key       replayKey
	expiresMs int64
}

// replayCache remembers verified requests until they expire. The queue holds
// keys in arrival order, so expired ones are dropped from its head; expiry
// times are close to arrival order, as hwTime is within the skew of now.
type replayCache struct {
	mu    sync.Mutex
	queue []queuedKey
	head  int
	index map[replayKey]replayState
}

// claim records k until expiresMs, unless a live entry holds it already: then
// it reports a duplicate, and whether that entry's event was relayed.
func (c *replayCache) claim(k replayKey, nowMs, expiresMs int64) (duplicate, relayed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.index[k]; ok && st.expiresMs > nowMs {
		return true, st.relayed
	}
	for c.head < len(c.queue) && (c.queue[c.head].expiresMs <= nowMs || len(c.queue)-c.head >= maxReplayEntries) {
		c.pop()
	}
	if c.index == nil {
		c.index = make(map[replayKey]replayState)
	}
	c.index[k] = replayState{expiresMs: expiresMs}
	if c.head > 0 && c.head >= len(c.queue)/2 {
		c.queue = append(c.queue[:0], c.queue[c.head:]...)
		c.head = 0
	}
	c.queue = append(c.queue, queuedKey{key: k, expiresMs: expiresMs})
	return false, false
}

// pop drops the oldest queued key, and its entry unless a later claim of the
// same key renewed it.
func (c *replayCache) pop() {
	q := c.queue[c.head]
	c.queue[c.head] = queuedKey{}
	c.head++
	if st, ok := c.index[q.key]; ok && st.expiresMs == q.expiresMs {
		delete(c.index, q.key)
	}
}

// markRelayed notes that k's event reached forward_url, so that a retry of
// it is not relayed again.
func (c *replayCache) markRelayed(k replayKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.index[k]; ok {
		st.relayed = true
		c.index[k] = st
	}
}

// len is the number of remembered requests.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}
