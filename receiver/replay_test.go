package receiver

import (
	"strconv"
	"testing"
)

// TestReplayCacheBounded: expired entries leave, and past the bound the
// oldest goes first, so memory stays bounded under any flood.
func TestReplayCacheBounded(t *testing.T) {
	var c replayCache
	key := func(i int) replayKey { return newReplayKey("t", -1, []byte(strconv.Itoa(i))) }
	for i := range maxReplayEntries + 10 {
		if dup, _ := c.claim(key(i), 0, 1000); dup {
			t.Fatalf("entry %d seen as a duplicate", i)
		}
	}
	if n := c.len(); n != maxReplayEntries {
		t.Errorf("%d entries, want %d", n, maxReplayEntries)
	}
	if dup, _ := c.claim(key(0), 0, 1000); dup {
		t.Error("the oldest entry was kept past the bound")
	}
	if dup, _ := c.claim(key(maxReplayEntries+9), 0, 1000); !dup {
		t.Error("the newest entry was dropped")
	}
	// At time 1000 everything has expired: the next claim empties the queue.
	if dup, _ := c.claim(key(-1), 1000, 2000); dup {
		t.Error("claimed after expiry as a duplicate")
	}
	if n := c.len(); n != 1 {
		t.Errorf("%d entries after expiry, want 1", n)
	}
	if len(c.queue)-c.head != 1 {
		t.Errorf("queue holds %d keys, want 1", len(c.queue)-c.head)
	}
}

func TestReplayKeyDistinguishes(t *testing.T) {
	keys := map[replayKey]string{}
	for name, k := range map[string]replayKey{
		"base":        newReplayKey("a", 1, []byte("body")),
		"tenant":      newReplayKey("b", 1, []byte("body")),
		"hwTime":      newReplayKey("a", 2, []byte("body")),
		"unsigned":    newReplayKey("a", -1, []byte("body")),
		"body":        newReplayKey("a", 1, []byte("body2")),
		"tenant+body": newReplayKey("ab", 1, []byte("ody")),
	} {
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		keys[k] = name
	}
}
