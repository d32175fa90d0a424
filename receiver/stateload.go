package receiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-kit/log/level"
)

// load reads the state file at start, through symbolic links: it returns
// the file to write, and whether it may be written: not when an unusable
// file could not be set aside, so that nothing is overwritten unseen.
func (rc *Receiver) load(path string) (string, bool) {
	file, err := followLinks(path)
	if err == nil {
		rc.removeTempsLeft(file)
		var data []byte
		limit, what := stateFileLimit(rc.table.maxStreams)
		data, err = readStateFile(file, limit, what)
		if errors.Is(err, fs.ErrNotExist) {
			return file, true
		}
		if err == nil {
			err = rc.restoreTable(file, data)
		}
		if err == nil {
			return file, true
		}
	} else {
		file = path
	}
	rc.countStateError(stateOpLoad)
	aside := file + ".corrupt"
	if rerr := os.Rename(file, aside); rerr != nil {
		rc.logStateError("Callback state file unusable and cannot be set aside; starting with an empty stream table and not writing the file in this run",
			file, err, "rename_err", rerr)
		return file, false
	}
	rc.logStateError("Callback state file unusable; set it aside and starting with an empty stream table", file, err, "moved_to", aside)
	return file, true
}

// restoreTable makes the table the one data holds.
func (rc *Receiver) restoreTable(file string, data []byte) error {
	now := rc.now()
	t, future, err := restore(data, rc.table.maxStreams, rc.table.endRetention, now.Add(rc.skew).UnixMilli())
	if err != nil {
		return err
	}
	rc.table = t
	rc.table.prune(now.UnixMilli())
	if future > 0 {
		rc.dirty = true // written again without them
		_ = level.Warn(rc.logger).Log("msg", "Dropped callback state file entries dated after now plus --callback.max-clock-skew; a clock was wrong when they were written",
			"path", file, "entries", future)
	}
	_ = level.Info(rc.logger).Log("msg", "Read the callback state file", "path", file,
		"streams", len(t.streams), "jobs", len(t.jobs))
	return nil
}

// stateFileCap is the most of a state file ever read, whatever
// --callback.max-streams allows.
const stateFileCap = 64 << 20

// stateEntryBytes bounds generously what one stream and its job take in
// the state file: seven label values of at most 128 bytes, each byte
// escaped as at most six (\u00XX), the six states' times and the keys.
const stateEntryBytes = 8 << 10

// stateFileLimit is the most a state file of maxStreams streams can take,
// and the words for it: a larger file was not written by this exporter
// with this limit.
func stateFileLimit(maxStreams int) (int64, string) {
	if n := 4<<10 + int64(maxStreams)*stateEntryBytes; n < stateFileCap {
		return n, fmt.Sprintf("a state file of %d streams can take (%d bytes)", maxStreams, n)
	}
	return stateFileCap, "the 64 MiB a state file may take"
}

// readStateFile reads file, unless it is larger than limit: that is known
// from its size before anything is read, and a file that grows meanwhile
// is read no further than limit.
func readStateFile(file string, limit int64, what string) ([]byte, error) {
	tooLarge := func(size int64) error {
		return fmt.Errorf("%d bytes, more than %s; not read", size, what)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, tooLarge(fi.Size())
	}
	var b bytes.Buffer
	b.Grow(int(fi.Size()) + bytes.MinRead)
	if _, err := b.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	if int64(b.Len()) > limit {
		return nil, tooLarge(int64(b.Len()))
	}
	return b.Bytes(), nil
}

// maxLinks is how many symbolic links followLinks follows, as the kernel's
// own limit.
const maxLinks = 40

// followLinks follows path for as long as it is a symbolic link, so that
// the state file is written where the link points and the link stays. A
// target that does not exist yet is where the file will be.
func followLinks(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", fmt.Errorf("more than %d symbolic links", maxLinks)
}

// tempPattern is os.CreateTemp's pattern for file's temporary files:
// file's name, ".tmp" and a random number.
func tempPattern(file string) string { return filepath.Base(file) + ".tmp*" }

// isTempOf tells whether name is one of file's temporary files.
func isTempOf(name, file string) bool {
	rest, ok := strings.CutPrefix(name, filepath.Base(file)+".tmp")
	return ok && rest != "" && strings.Trim(rest, "0123456789") == ""
}

// removeTempsLeft removes the temporary files a process killed while
// writing file left beside it; no other process writes them.
func (rc *Receiver) removeTempsLeft(file string) {
	dir := filepath.Dir(file)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // reading the file says why, if it matters
	}
	removed := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempOf(e.Name(), file) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			_ = level.Warn(rc.logger).Log("msg", "Cannot remove a temporary file a stopped process left beside the callback state file", "path", file, "err", err)
			continue
		}
		removed++
	}
	if removed > 0 {
		_ = level.Info(rc.logger).Log("msg", "Removed temporary files a stopped process left beside the callback state file", "path", file, "files", removed)
	}
}
