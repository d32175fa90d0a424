package lockedbuffer

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestTakeEmptiesTheBuffer(t *testing.T) {
	var b Buffer
	if got := b.TakeLines(); got != nil {
		t.Errorf("TakeLines() of an empty buffer = %q, want nil", got)
	}
	fmt.Fprint(&b, "one\ntwo\n")
	if got, want := b.String(), "one\ntwo\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := b.TakeLines(), []string{"one", "two"}; !slices.Equal(got, want) {
		t.Errorf("TakeLines() = %q, want %q", got, want)
	}
	fmt.Fprint(&b, "three\n\nfour")
	if got, want := b.TakeLines(), []string{"three", "", "four"}; !slices.Equal(got, want) {
		t.Errorf("TakeLines() without a last line end = %q, want %q", got, want)
	}
	fmt.Fprint(&b, "five\n")
	if got, want := b.Take(), "five\n"; got != want {
		t.Errorf("Take() = %q, want %q", got, want)
	}
	if got := b.String(); got != "" {
		t.Errorf("String() after Take = %q, want empty", got)
	}
}

// Lines written from several goroutines while the test takes them arrive
// whole and each once (the race detector checks the rest).
func TestConcurrentWritesAndTakes(t *testing.T) {
	const writers, each = 4, 500
	var b Buffer
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				fmt.Fprintf(&b, "w%d-%d\n", w, i)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var got []string
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		got = append(got, b.TakeLines()...)
	}
	seen := map[string]bool{}
	for _, line := range got {
		var w, i int
		if n, _ := fmt.Sscanf(line, "w%d-%d", &w, &i); n != 2 || fmt.Sprintf("w%d-%d", w, i) != line || seen[line] {
			t.Fatalf("line %q taken twice or torn", line)
		}
		seen[line] = true
	}
	if len(seen) != writers*each {
		t.Errorf("took %d distinct lines, want %d", len(seen), writers*each)
	}
}
