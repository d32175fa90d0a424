package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// requireBinary finds one of names on PATH. CI installs the Debian packages,
// so there a missing binary is a broken pipeline; elsewhere the test says how
// to get it and skips.
func requireBinary(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("none of %v on PATH and CI is set: install the Debian package %s", names, pkg)
	}
	t.Skipf("none of %v on PATH: apt-get install -y %s to run the end-to-end test", names, pkg)
	return ""
}

// process is a server started for the test, with its output in a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start runs bin with args. The process is stopped in t.Cleanup, and its log
// is printed if the test failed, since that is usually where the cause is.
func start(t *testing.T, dir, name, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a kill reaches anything the server forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			const limit = 12000
			if len(b) > limit {
				b = append([]byte("…\n"), b[len(b)-limit:]...)
			}
			t.Logf("---- %s log (%s) ----\n%s", name, logPath, b)
		}
	})
	return p
}

// stop asks for a clean shutdown and kills after a grace period, so that a
// hung server cannot outlive the test.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitReady polls url until it answers 200, the process exits or ctx ends.
func waitReady(ctx context.Context, p *process, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready: %v", p.name, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %v (last error: %v)", p.name, url, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// buildExporter compiles the module's main package into dir.
func buildExporter(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out := filepath.Join(dir, "metastudio_exporter")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the exporter: %v\n%s", err, b)
	}
	return out
}

// alerting is what startAlerting sets up: Alertmanager notifying a test's
// webhook, and Prometheus evaluating rules and scraping the targets.
type alerting struct {
	groupBy   string // Alertmanager's group_by list, e.g. "[alertname, tenant]"
	groupWait string
	job       string
	rules     []byte // the rule file Prometheus loads
	targets   []string
}

// startAlerting starts Alertmanager, notifying hookURL, and Prometheus,
// scraping a.targets every second as a.job and evaluating a.rules every
// second, and returns Prometheus' address once both answer ready.
func startAlerting(ctx context.Context, t *testing.T, dir, amBin, promBin, hookURL string, a alerting) string {
	t.Helper()
	amAddr := loopback.FreeAddress(t)
	am := start(t, dir, "alertmanager", amBin,
		"--config.file="+writeFile(t, dir, "alertmanager.yml", fmt.Sprintf(`route:
  receiver: hook
  group_by: %s
  group_wait: %s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: %q
        send_resolved: true
`, a.groupBy, a.groupWait, hookURL)),
		"--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=")

	promAddr := loopback.FreeAddress(t)
	targets := make([]string, len(a.targets))
	for i, target := range a.targets {
		targets[i] = strconv.Quote(target)
	}
	writeFile(t, dir, "rules.yml", string(a.rules))
	prom := start(t, dir, "prometheus", promBin,
		"--config.file="+writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: %q
    static_configs:
      - targets: [%s]
`, amAddr, a.job, strings.Join(targets, ", "))),
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		"--web.listen-address="+promAddr)

	for _, w := range []struct {
		p   *process
		url string
	}{{am, "http://" + amAddr + "/-/ready"}, {prom, "http://" + promAddr + "/-/ready"}} {
		if err := waitReady(ctx, w.p, w.url); err != nil {
			t.Fatal(err)
		}
	}
	return promAddr
}
