package receiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
)

// TestStateFileThroughSymlink: a state file that is a symbolic link is
// written through it: the temporary file lies beside the target, the
// target is replaced and the link stays a link. A link whose target does
// not exist yet gets its target created.
func TestStateFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "data", "state.json")
	link := filepath.Join(dir, "state.json")
	if err := os.Symlink(filepath.Join("data", "state.json"), link); err != nil { // relative, and dangling at first
		t.Fatal(err)
	}
	for run, job := range []string{"first", "second"} {
		h := newHarness(t, Options{StateFile: link})
		h.postNone(rtmpBody("r", job, "h", "CONNECTED"))
		if err := h.rc.Close(); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("run %d: the link was replaced: %v, %v", run, fi.Mode(), err)
		}
		if dest, _ := os.Readlink(link); dest != filepath.Join("data", "state.json") {
			t.Errorf("run %d: the link points at %q now", run, dest)
		}
		tb, err := restoreFile(target)
		if err != nil {
			t.Fatalf("run %d: the target: %v", run, err)
		}
		if len(tb.streams) != run+1 {
			t.Errorf("run %d: the target holds %d streams, want %d", run, len(tb.streams), run+1)
		}
		for _, d := range []string{dir, filepath.Join(dir, "data")} {
			names := dirNames(t, d)
			if slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, ".tmp") }) {
				t.Errorf("run %d: temporary files left in %s: %q", run, d, names)
			}
		}
	}
}

// TestStateFileTempsLeftRemoved: the temporary files a killed process left
// beside the state file (or its target) are removed at start; other files
// are not.
func TestStateFileTempsLeftRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	left := []string{"state.json.tmp1234567", "state.json.tmp42"}
	kept := []string{"state.json", "state.json.corrupt", "state.json.tmp", "state.json.tmpx1", "other.json.tmp99", "notes"}
	for _, n := range append(slices.Clone(left), kept...) {
		content := "partial"
		if n == "state.json" {
			content = `{"version":1,"streams":[],"jobs":[]}`
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, Options{StateFile: path})
	if got, want := dirNames(t, dir), slices.Sorted(slices.Values(kept)); !slices.Equal(got, want) {
		t.Errorf("files after start: %q, want %q", got, want)
	}
	if !strings.Contains(h.logBuf.String(), `level=info msg="Removed temporary files a stopped process left beside the callback state file" path=`+path+` files=2`) {
		t.Errorf("no line for the removal:\n%s", h.logBuf.String())
	}
}

// TestStateFileTooLarge: a file larger than max-streams streams could need,
// or than 64 MiB, is set aside like a corrupt one without being read: a
// 77 MB file once took 522 MB to load.
func TestStateFileTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxStreams int
		size       int64
		err        string
	}{
		{"over 64 MiB", 100_000, 100 << 20, `err="104857600 bytes, more than the 64 MiB a state file may take; not read"`},
		{"over what max-streams needs", 10, 200 << 10, `err="204800 bytes, more than a state file of 10 streams can take (86016 bytes); not read"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			// The small file is valid JSON padded with spaces; the large one
			// is extended with zeros, sparse, so that it takes no disk.
			content := []byte(`{"version":1,"streams":[],"jobs":[]}`)
			if tc.size < 1<<20 {
				content = append(content, bytes.Repeat([]byte(" "), int(tc.size)-len(content))...)
			}
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, tc.size); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			h := newHarness(t, Options{StateFile: path, MaxStreams: tc.maxStreams})
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("loading allocated %d bytes for a %d-byte file it should not read", alloc, tc.size)
			}
			wantLog := `level=error msg="Callback state file unusable; set it aside and starting with an empty stream table" path=` + path + ` ` + tc.err + ` moved_to=` + path + `.corrupt`
			if !strings.Contains(h.logBuf.String(), wantLog) {
				t.Errorf("log:\n%s\nwant a line:\n%s", h.logBuf.String(), wantLog)
			}
			if fi, err := os.Stat(path + ".corrupt"); err != nil || fi.Size() != tc.size {
				t.Errorf("set-aside file: %v", err)
			}
			compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_state_file_errors_total State file failures: load (unreadable or corrupt at start; the file is set aside as .corrupt) or save.
# TYPE metastudio_exporter_callback_state_file_errors_total counter
metastudio_exporter_callback_state_file_errors_total{operation="load"} 1
metastudio_exporter_callback_state_file_errors_total{operation="save"} 0
`, "metastudio_exporter_callback_state_file_errors_total")
		})
	}
}

// TestStateFileUnknownFieldsIgnored: fields this version does not know, at
// the top or in an entry, are ignored, so that a rollback to an older
// version keeps the state a newer one wrote.
func TestStateFileUnknownFieldsIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	file := `{"version":1,"written_by":"a later version","streams":[
{"tenant":"mss","room_id":"r","job_id":"j","output_host":"h","latest":"DISCONNECTED","states_ms":{"DISCONNECTED":1795924790000},"reason":{"code":7}}],
"jobs":[{"tenant":"mss","room_id":"r","job_id":"j","last_event_ms":1795924790000,"labels":["x"]}],
"replay":[{"key":"abc"}]}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{StateFile: path})
	if got := tracked(t, h); got != "1 streams, 1 jobs" {
		t.Errorf("table: %s\n%s", got, h.logBuf.String())
	}
	if strings.Contains(h.logBuf.String(), "level=error") {
		t.Errorf("errors at load:\n%s", h.logBuf.String())
	}
	if exp := promtext.Gather(t, h.rc.StreamCollector()); !strings.Contains(exp, `metastudio_live_stream_state{job_id="j",output_host="h",room_id="r",state="DISCONNECTED",tenant="mss"} 1`+"\n") {
		t.Errorf("the stream was not restored:\n%s", exp)
	}
	var v map[string]any
	if data, err := os.ReadFile(path); err != nil || json.Unmarshal(data, &v) != nil || v["version"] != 1.0 {
		t.Errorf("the file was not kept: %v", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestStateFileLimitHoldsAFullTable: the size limit is generous: a full
// table whose every label value is 128 bytes that JSON escapes six-fold,
// with every state's time set, fits in it.
func TestStateFileLimitHoldsAFullTable(t *testing.T) {
	const n = 50
	worst := func(i int) string { return fmt.Sprintf("%03d", i) + strings.Repeat("<", 125) } // "<" is written \u003c
	tb := newTable(n, DefaultEndRetention)
	for i := range n {
		k := streamKey{worst(i), worst(i), worst(i), worst(i)}
		s := tb.stream(k, stateOther)
		for st := range numStates {
			s.at[st] = 4102444800000 + int64(st)
		}
		j := tb.job(jobKey{k.tenant, k.roomID, k.jobID})
		j.lastEventMs, j.paragraph, j.paragraphMs, j.ended = 4102444800000, 1e300, 4102444800000, true
	}
	data, err := json.Marshal(tb.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if limit, _ := stateFileLimit(n); int64(len(data)) > limit {
		t.Errorf("a full table of %d streams takes %d bytes, over the limit of %d", n, len(data), limit)
	} else {
		t.Logf("a worst-case table of %d streams takes %d bytes of the %d allowed", n, len(data), limit)
	}
}
