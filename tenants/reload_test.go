package tenants

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
)

// testEnv is the environment the file's tenants without credentials see.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{config.EnvAccessKey: "ENV-AK", config.EnvSecretKey: "ENV-SK-secretvalue"}[name]
	return v, ok
}

const (
	goodConfigA = "credentials:\n  main:\n    access_key: AK\n    secret_key_file: sk\ntenants:\n  - name: a\n    project_id: pa\n    credentials: main\n"
	goodConfigB = "tenants:\n  - name: b\n    project_id: pb\n"
	badConfig   = "tenants:\n  - name: b\n    projectid: pb\n"
)

func gaugeText(ok, ts string) string {
	return `# HELP metastudio_exporter_config_last_reload_success_timestamp_seconds Timestamp of the last successful configuration reload.
# TYPE metastudio_exporter_config_last_reload_success_timestamp_seconds gauge
metastudio_exporter_config_last_reload_success_timestamp_seconds ` + ts + `
# HELP metastudio_exporter_config_last_reload_successful Whether the last configuration reload attempt was successful.
# TYPE metastudio_exporter_config_last_reload_successful gauge
metastudio_exporter_config_last_reload_successful ` + ok + `
`
}

// writeFile replaces path atomically, as a config management tool would,
// so concurrent reloads never read half a file.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func newTestSet(t *testing.T) (*Set, string, *lockedbuffer.Buffer, *fakeclock.Clock) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "metastudio.yml")
	writeFile(t, filepath.Join(dir, "sk"), "first-secret-key\n")
	writeFile(t, path, goodConfigA)
	logs := &lockedbuffer.Buffer{}
	clock := fakeclock.New(time.Unix(1700000000, 0))
	h := New(path, Options{LookupEnv: testEnv, Logger: log.NewLogfmtLogger(logs), Now: clock.Now})
	t.Cleanup(h.Close)
	return h, path, logs, clock
}

func TestSetBeforeFirstLoad(t *testing.T) {
	h, _, _, _ := newTestSet(t)
	if h.Snapshot().File() != nil {
		t.Error("Config() before the first load is not nil")
	}
	if err := testutil.CollectAndCompare(h, strings.NewReader(gaugeText("0", "0"))); err != nil {
		t.Error(err)
	}
}

func TestSetReloadKeepsOldConfigOnFailure(t *testing.T) {
	h, path, logs, clock := newTestSet(t)
	if err := h.Reload(); err != nil {
		t.Fatalf("first Reload: %v", err)
	}
	first := h.Snapshot().File()
	if got := first.Tenants()[0].Name; got != "a" {
		t.Fatalf("tenant %q, want a", got)
	}
	if err := testutil.CollectAndCompare(h, strings.NewReader(gaugeText("1", "1.7e+09"))); err != nil {
		t.Error(err)
	}
	if at, err := h.LastReloadFailure(); err != nil || !at.IsZero() {
		t.Errorf("LastReloadFailure after a good load: %v at %v, want none", err, at)
	}

	writeFile(t, path, badConfig)
	clock.Advance(time.Minute)
	err := h.Reload()
	var le *config.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Reload of a bad file: %v, want a *LoadError", err)
	}
	wantErr := path + ":2: tenants[0].project_id: required\n" + path + ":3: tenants[0].projectid: unknown key; did you mean project_id?"
	if err.Error() != wantErr {
		t.Errorf("Reload error %q, want %q", err, wantErr)
	}
	if h.Snapshot().File() != first {
		t.Error("a failed reload replaced the config")
	}
	// Failure: 0, and the timestamp still that of the last success.
	if err := testutil.CollectAndCompare(h, strings.NewReader(gaugeText("0", "1.7e+09"))); err != nil {
		t.Error(err)
	}
	if at, failure := h.LastReloadFailure(); failure != err || !at.Equal(clock.Now()) {
		t.Errorf("LastReloadFailure: %v at %v, want the reload's error at %v", failure, at, clock.Now())
	}

	writeFile(t, path, goodConfigB)
	clock.Advance(time.Minute)
	if err := h.Reload(); err != nil {
		t.Fatalf("Reload after fixing the file: %v", err)
	}
	if got := h.Snapshot().File().Tenants()[0].Name; got != "b" {
		t.Errorf("tenant %q after bad->good, want b", got)
	}
	if _, err := h.LastReloadFailure(); err != nil {
		t.Errorf("LastReloadFailure after a good reload: %v, want none", err)
	}
	if err := testutil.CollectAndCompare(h, strings.NewReader(gaugeText("1", "1.70000012e+09"))); err != nil {
		t.Error(err)
	}

	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	want := []string{
		`msg="Loaded config file" file=` + path + ` summary="` + path + `: 1 tenant (a), 1 credential (1 AK/SK, 0 IAM password)"`,
		`msg="Error reloading config" file=` + path + ` err="` + strings.ReplaceAll(wantErr, "\n", `\n`) + `"`,
		`msg="Loaded config file" file=` + path + ` summary="` + path + `: 1 tenant (b), 0 credentials, 1 tenant from environment"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("log lines:\n%s\nwant %d lines", logs.String(), len(want))
	}
	for i, w := range want {
		level := "level=info "
		if i == 1 {
			level = "level=error "
		}
		if lines[i] != level+w {
			t.Errorf("log line %d:\n%s\nwant\n%s", i, lines[i], level+w)
		}
	}
}

func TestSetReloadPicksUpRotatedSecretFile(t *testing.T) {
	h, path, logs, _ := newTestSet(t)
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	old := h.Snapshot().File()
	writeFile(t, filepath.Join(filepath.Dir(path), "sk"), "second-secret-key\n")
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := h.Snapshot().File().Tenants()[0].Credentials.SecretKey.Reveal(); got != "second-secret-key" {
		t.Errorf("secret key after rotation %q, want second-secret-key", got)
	}
	if got := old.Tenants()[0].Credentials.SecretKey.Reveal(); got != "first-secret-key" {
		t.Errorf("the old snapshot changed: secret key %q", got)
	}
	for _, s := range []string{"first-secret-key", "second-secret-key", "ENV-SK-secretvalue"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows secret %q", s)
		}
	}
}

func TestSetConcurrentReloadAndConfig(t *testing.T) {
	h, path, _, _ := newTestSet(t)
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A snapshot is consistent: name and project always match.
				for _, tn := range h.Snapshot().File().Tenants() {
					if tn.ProjectID != "p"+tn.Name {
						t.Errorf("mixed snapshot: tenant %s with project %s", tn.Name, tn.ProjectID)
						return
					}
				}
				testutil.CollectAndCount(h)
			}
		}()
	}
	var reloads sync.WaitGroup
	for i := range 2 {
		reloads.Add(1)
		go func() {
			defer reloads.Done()
			for range 20 {
				if err := h.Reload(); err != nil {
					t.Errorf("reloader %d: %v", i, err)
					return
				}
			}
		}()
	}
	for i := range 20 {
		content := goodConfigA
		if i%2 == 1 {
			content = goodConfigB
		}
		tmp := filepath.Join(filepath.Dir(path), "next.yml")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	reloads.Wait()
	close(stop)
	wg.Wait()
}

func TestStaticSet(t *testing.T) {
	cfg, err := config.LoadWithEnv("../config/testdata/good/minimal.yml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	h := NewStatic(cfg, Options{})
	if h.Snapshot().File() != cfg || !h.Snapshot().Ready() {
		t.Error("the static config is not served, or not ready")
	}
	err = h.Reload()
	if !errors.Is(err, ErrNoConfigFile) || err.Error() != "demo mode has no config file to reload" {
		t.Errorf("Reload() = %v", err)
	}
	if h.Snapshot().File() != cfg {
		t.Error("Reload replaced the static config")
	}
	want := `# HELP metastudio_exporter_config_last_reload_successful Whether the last configuration reload attempt was successful.
# TYPE metastudio_exporter_config_last_reload_successful gauge
metastudio_exporter_config_last_reload_successful 1
`
	if err := testutil.CollectAndCompare(h, strings.NewReader(want), "metastudio_exporter_config_last_reload_successful"); err != nil {
		t.Error(err)
	}
}
