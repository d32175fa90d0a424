package demo

import (
	"context"
	"net"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

func TestSimulateCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     []string
		stderrLine string
	}{
		{args: []string{"--help"}, code: 0, stdout: []string{
			"usage: metastudio_exporter simulate [<flags>]\n",
			`--listen-address="127.0.0.1:10038"`,
			`--events.to=""`,
		}},
		{args: []string{"-h", "--events.to=bogus"}, code: 0, stdout: []string{"usage: metastudio_exporter simulate [<flags>]\n"}},
		{args: []string{"--bogus"}, code: 2,
			stderrLine: "metastudio_exporter simulate: error: unknown long flag '--bogus', try --help\n"},
		{args: []string{"--events.to=127.0.0.1:10037"}, code: 2,
			stderrLine: `metastudio_exporter simulate: error: --events.to="127.0.0.1:10037": must be a receiver's base URL, such as http://127.0.0.1:10037, try --help` + "\n"},
		{args: []string{"--events.to=http://127.0.0.1:10037/callback/demo-safe"}, code: 2,
			stderrLine: `metastudio_exporter simulate: error: --events.to="http://127.0.0.1:10037/callback/demo-safe": must be a receiver's base URL, such as http://127.0.0.1:10037, try --help` + "\n"},
		{args: []string{"extra"}, code: 2, stderrLine: "metastudio_exporter simulate: error: unexpected extra, try --help\n"},
	} {
		var stdout, stderr lockedbuffer.Buffer
		code := Simulate(context.Background(), "metastudio_exporter", tc.args, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d; stderr %s", tc.args, code, tc.code, stderr.String())
		}
		for _, want := range tc.stdout {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("%v: stdout lacks %q:\n%s", tc.args, want, stdout.String())
			}
		}
		if stderr.String() != tc.stderrLine {
			t.Errorf("%v: stderr %q, want %q", tc.args, stderr.String(), tc.stderrLine)
		}
	}
}

func TestSimulateBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr lockedbuffer.Buffer
	code := Simulate(context.Background(), "metastudio_exporter", []string{"--listen-address=" + ln.Addr().String()}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `level=error msg="The simulator did not start" err="--listen-address: simulator: listen: listen tcp `+ln.Addr().String()) {
		t.Errorf("exit %d, stderr %s", code, stderr.String())
	}
}

// TestSimulateBannerDefaults: on its default address and without
// --events.to, the banner's command is the README's, word for word, and
// says nothing about changing examples/simulated.yml.
func TestSimulateBannerDefaults(t *testing.T) {
	var out strings.Builder
	printBanner(&out, "metastudio_exporter", "http://127.0.0.1:10038", "")
	want := "\nLive events: off (--events.to=http://127.0.0.1:10037 sends them to a receiver)\n\n" +
		"Try it: metastudio_exporter --config.file=examples/simulated.yml --callback.listen-address=127.0.0.1:10037 " +
		"--callback.external-url=https://mon.example.com:10037\n\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("banner ends\n%s\nwant it to end\n%s", out.String(), want)
	}
}

// countingWriter counts the Write calls it gets.
type countingWriter struct {
	writes int
	strings.Builder
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Builder.Write(p)
}

// TestSimulateBannerOneWrite: whoever waits for the URL line (a script piping
// the output, TestSimulate below) gets the whole banner with it, not a half
// that ends in the middle of the projects.
func TestSimulateBannerOneWrite(t *testing.T) {
	var out countingWriter
	printBanner(&out, "metastudio_exporter", "http://127.0.0.1:10038", "http://127.0.0.1:10037")
	if out.writes != 1 {
		t.Errorf("banner written in %d writes, want 1", out.writes)
	}
	if !strings.HasPrefix(out.String(), "MetaStudio simulator listening on http://127.0.0.1:10038 ") ||
		!strings.Contains(out.String(), "\nTry it: metastudio_exporter --config.file=examples/simulated.yml") {
		t.Errorf("banner:\n%s", out.String())
	}
}

// TestSimulate runs the command as a user would, points the exporter's own
// client at what it prints, and receives its live events.
func TestSimulate(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rc := &testReceiver{}
	receiver := httptest.NewServer(rc)
	defer receiver.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedbuffer.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- Simulate(ctx, "metastudio_exporter", []string{"--listen-address=127.0.0.1:0", "--events.to=" + receiver.URL}, &stdout, &stderr)
	}()
	urlLine := regexp.MustCompile(`(?m)^MetaStudio simulator listening on (http://127\.0\.0\.1:\d+) `)
	deadline := time.Now().Add(10 * time.Second)
	for urlLine.FindStringSubmatch(stdout.String()) == nil {
		select {
		case code := <-exited:
			t.Fatalf("exited %d before serving: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed within 10s: %s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	base := urlLine.FindStringSubmatch(stdout.String())[1]
	for _, want := range []string{
		"  endpoint, iam_endpoint  " + base + "\n",
		"  access_key              DEMOACCESSKEY0000001\n",
		"  secret_key              demo-secret-key-not-a-real-one\n",
		"  iam_password            domain demo, user demo-monitor, password demo-password-not-a-real-one\n",
		"  cn-north-4_shop-closed     e5d4c3b2a1f04e9d8c7b6a5948372615  disabled\n",
		"\nRooms and live jobs (GET /v1/{project_id}/smart-live-rooms, /smart-live-jobs):\n" +
			"  cn-north-4_demo-safe       5 rooms; jobs: 5 PROCESSING, 1 FAILED  a job 25 min from its room's 2 h limit, " +
			"one failed 6 min before the start, a room with a callback key of its own\n" +
			"  ap-southeast-1_demo-risky  2 rooms; jobs: 1 PROCESSING            a room that repeats until stopped with no limit: it runs forever, " +
			"a room whose own callback is unsigned plain http\n",
		"  cn-east-3_shop             1 room; jobs: 1 WAITING\n",
		"Live events: the sample tenants' live jobs send to " + receiver.URL + "/callback/{tenant}\n",
		"Try it: metastudio_exporter --config.file=examples/simulated.yml --callback.listen-address=" +
			strings.TrimPrefix(receiver.URL, "http://") + " --callback.external-url=https://mon.example.com:10037\n" +
			"  examples/simulated.yml expects the simulator at http://127.0.0.1:10038: change its endpoint and iam_endpoint to " + base + "\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout.String())
		}
	}

	client := metastudio.NewClient(metastudio.ClientOptions{})
	aksk := metastudio.Credentials{AccessKey: "DEMOACCESSKEY0000001", SecretKey: secret.String("demo-secret-key-not-a-real-one")}
	iam := metastudio.Credentials{IAM: &metastudio.IAMPassword{Endpoint: base, Domain: "demo", User: "demo-monitor",
		Password: secret.String("demo-password-not-a-real-one")}}

	// IAM lists every project by name, signed or with a token.
	want := []string{
		"ap-southeast-1_demo-risky enabled", "cn-east-3_shop enabled", "cn-north-4 enabled",
		"cn-north-4_demo-rejected enabled", "cn-north-4_demo-safe enabled", "cn-north-4_shop enabled",
		"cn-north-4_shop-closed disabled",
	}
	for name, creds := range map[string]metastudio.Credentials{"AK/SK": aksk, "IAM password": iam} {
		projects, err := client.ListProjects(ctx, base, creds, metastudio.Connection{})
		if err != nil {
			t.Fatalf("%s: listing projects: %v", name, err)
		}
		var got []string
		for _, p := range projects {
			state := "enabled"
			if !p.Enabled {
				state = "disabled"
			}
			got = append(got, p.Name+" "+state)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: projects\n%v\nwant\n%v", name, got, want)
		}
	}

	// The user-config API answers both kinds of credentials.
	for name, creds := range map[string]metastudio.Credentials{"AK/SK": aksk, "IAM password": iam} {
		uc, err := client.GetUserConfig(ctx, metastudio.Target{Name: "cn-north-4_shop", Endpoint: base,
			ProjectID: "7a6b5c4d3e2f40a9b8c7d6e5f4a3b2c1", Credentials: creds})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := uc.CallbackAuth().URL; got != "https://mon.example.com:10037/callback/cn-north-4_shop" {
			t.Errorf("%s: cn-north-4_shop's callback URL %q", name, got)
		}
	}

	// The projects for discovery have rooms and jobs too.
	shop := metastudio.Target{Name: "cn-north-4_shop", Endpoint: base, ProjectID: "7a6b5c4d3e2f40a9b8c7d6e5f4a3b2c1", Credentials: aksk}
	rooms, total, err := client.ListRooms(ctx, shop, 0)
	if err != nil || total != 2 || rooms[0].RoomID != "room-shop-daily" || rooms[1].RoomType != "TEMPLATE" {
		t.Errorf("cn-north-4_shop's rooms: %+v (%d), %v", rooms, total, err)
	}
	jobs, _, err := client.ListLiveJobs(ctx, shop, metastudio.JobQuery{States: []string{"PROCESSING"}})
	if err != nil || len(jobs) != 1 || jobs[0].JobID != "job-shop-daily" {
		t.Errorf("cn-north-4_shop's jobs: %+v, %v", jobs, err)
	}
	// Its blocked job gives the shop team its first alert within minutes.
	failed, _, err := client.ListLiveJobs(ctx, shop, metastudio.JobQuery{States: []string{"FAILED", "BLOCKED"}, CreateSince: time.Now().Add(-time.Hour)})
	if err != nil || len(failed) != 1 || failed[0].JobID != "job-shop-daily-0" || failed[0].State != "BLOCKED" {
		t.Errorf("cn-north-4_shop's failed and blocked jobs: %+v, %v", failed, err)
	}

	// Signed live events arrive for the sample tenants, and their answers
	// are logged once per change, not once per event.
	deadline = time.Now().Add(10 * time.Second)
	for {
		events, errs, _ := rc.snapshot()
		if len(errs) > 0 {
			t.Fatalf("events that do not verify: %v", errs)
		}
		tenants := map[string]bool{}
		for _, e := range events {
			tenants[e.tenant] = true
		}
		if tenants["demo-safe"] && tenants["demo-rejected"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no events from demo-safe and demo-rejected within 10s: %v", tenants)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit %d after the context ended", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("simulate did not stop within 10s of the context ending")
	}
	logs := stderr.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^ts=\S+ level=info msg="Live events answered" tenant=demo-safe status=200 body=\S*$`),
		regexp.MustCompile(`(?m)^ts=\S+ level=info msg="Live events answered" tenant=demo-rejected status=503 body=\S*$`),
		regexp.MustCompile(`(?m)^ts=\S+ level=info msg="Shutting down"$`),
	} {
		if len(want.FindAllString(logs, -1)) != 1 {
			t.Errorf("logs do not hold exactly one line matching %s:\n%s", want, logs)
		}
	}
}
