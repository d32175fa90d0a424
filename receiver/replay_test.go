package receiver

import (
	"strconv"
	"testing"
)

// TestReplayCacheBounded: expired entries leave, and past the bound the
// oldest goes first, so memory stays bounded under any flood.
func TestReplayCacheBounded(t *testing.T) {
	var c replayCache
	key := func(i int) replayKey { return newReplayKey("t", 1, []byte(strconv.Itoa(i))) }
	for i := range maxReplayEntries + 10 {
		if kind, _ := c.claim("t", key(i), 0, 1000, false); kind != claimNew {
			t.Fatalf("entry %d claimed as %d", i, kind)
		}
	}
	if n := c.len(); n != maxReplayEntries {
		t.Errorf("%d entries, want %d", n, maxReplayEntries)
	}
	if kind, _ := c.claim("t", key(0), 0, 1000, false); kind != claimNew {
		t.Error("the oldest entry was kept past the bound")
	}
	if kind, _ := c.claim("t", key(maxReplayEntries+9), 0, 1000, false); kind != claimDuplicate {
		t.Error("the newest entry was dropped")
	}
	// At time 1000 everything has expired: the next claim empties the queue.
	if kind, _ := c.claim("t", key(-1), 1000, 2000, false); kind != claimNew {
		t.Error("claimed after expiry as a duplicate")
	}
	if n := c.len(); n != 1 {
		t.Errorf("%d entries after expiry, want 1", n)
	}
	if q := c.tenants["t"]; q.len() != 1 || c.queued != 1 {
		t.Errorf("queue holds %d keys (%d counted), want 1", q.len(), c.queued)
	}
}

// TestReplayCacheFair: a tenant flooding the replay memory only pushes out
// its own entries.
func TestReplayCacheFair(t *testing.T) {
	var c replayCache
	quiet := newReplayKey("quiet", 1, []byte("the one event"))
	c.claim("quiet", quiet, 0, 1000, false)
	for i := range maxReplayEntries + 64 {
		c.claim("flood", newReplayKey("flood", 1, []byte(strconv.Itoa(i))), 0, 1000, false)
	}
	if kind, _ := c.claim("quiet", quiet, 0, 1000, false); kind != claimDuplicate {
		t.Errorf("the quiet tenant's entry was pushed out (claim %d)", kind)
	}
	if n := c.len(); n != maxReplayEntries {
		t.Errorf("%d entries, want %d", n, maxReplayEntries)
	}
	c.retain(map[string]bool{"quiet": true})
	if n := c.len(); n != 1 || c.queued != 1 {
		t.Errorf("after retain: %d entries, %d queued; want 1", n, c.queued)
	}
}

func TestReplayKeyDistinguishes(t *testing.T) {
	keys := map[replayKey]string{}
	for name, k := range map[string]replayKey{
		"base":        newReplayKey("a", 1, []byte("body")),
		"tenant":      newReplayKey("b", 1, []byte("body")),
		"hwTime":      newReplayKey("a", 2, []byte("body")),
		"body":        newReplayKey("a", 1, []byte("body2")),
		"tenant+body": newReplayKey("ab", 1, []byte("ody")),
	} {
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		keys[k] = name
	}
}
