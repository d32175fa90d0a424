// Package lockedbuffer is a bytes.Buffer that goroutines may share: tests
// hand one to a program as its log or output and read it while the program
// still writes.
package lockedbuffer

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is safe for concurrent use; the zero value is empty and ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Take returns everything written so far and empties the buffer, so that a
// test can read a program's output step by step.
func (b *Buffer) Take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// TakeLines is Take split into lines, without their line ends; nil when
// nothing was written.
func (b *Buffer) TakeLines() []string {
	s := b.Take()
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
