// Package callbacktest is the callback-test command: one signed test event
// to a tenant's live event callback URL, sent as MetaStudio sends it, and
// what came back, so that console settings, DNS, Ingress, TLS and key are
// checked in one command.
package callbacktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/flagvalue"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// The test event: a stream of a job that does not exist, already over, so
// that no alert fires and a receiver forgets it after its END retention.
// Its output URL names no real host and carries no stream key.
const (
	testEventID        = "callback-test"
	testEventOutputURL = "rtmp://callback-test.invalid/"
	testEventState     = "END"
)

type callbackTestFlags struct {
	configFile string
	tenant     string
	url        string
	timeout    time.Duration
}

// usageError is a command line that names what is not there: exit 2.
type usageError struct{ error }

// Run runs the command with args (after "callback-test") as program's
// subcommand: it sends one signed test event to a tenant's callback URL, as
// MetaStudio would, and says what came back. It returns the exit code: 0 on
// a 2xx answer, 1 otherwise, 2 for a bad command line.
func Run(ctx context.Context, program string, args []string, stdout, stderr io.Writer) int {
	f, code, done := parseFlags(program, args, stdout, stderr)
	if done {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	client := metastudio.NewClient(metastudio.ClientOptions{MaxConnsPerHost: 1})
	defer client.CloseIdleConnections()
	c := &callbackCheck{out: stdout, flags: f, client: client}
	ok, err := c.run(ctx)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s callback-test: error: %v\n", program, err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "%s callback-test: %v\n", program, err)
		return 1
	case !ok:
		return 1
	}
	return 0
}

func parseFlags(program string, args []string, stdout, stderr io.Writer) (f callbackTestFlags, code int, done bool) {
	app := flagvalue.NewSubcommand(program+" callback-test", "Sends one RTMP_STREAM_STATE_CHANGE test event (room and job "+
		testEventID+", state END) to a tenant's live event callback URL, signed as MetaStudio signs it with the tenant's "+
		"live settings (fetched with its credentials), and prints what was sent and what came back. With the exporter's "+
		"receiver behind the URL the event shows on the status page. Exit 0 on a 2xx answer, 1 otherwise, 2 for a bad command line.", stdout, stderr)
	app.Flag("config.file", "Tenants config file.").Default("metastudio.yml").StringVar(&f.configFile)
	app.Flag("tenant", "The tenant whose callback to test: a configured tenant's name, or a name a discovery entry finds.").
		Required().StringVar(&f.tenant)
	app.Flag("url", "Send here instead of the tenant's configured callback URL, signed for this URL as MetaStudio would sign it.").
		PlaceHolder("URL").SetValue(&flagvalue.Checked{P: &f.url, Check: checkCallbackURL})
	app.Flag("timeout", "Upper bound of the whole test: fetching the settings and sending the event.").Default("30s").
		SetValue(&flagvalue.Duration{P: &f.timeout, Positive: true})
	flagvalue.NameErrors(app.Application)
	code, done = app.Parse(args, nil)
	return f, code, done
}

// checkCallbackURL accepts an absolute http(s) URL, as MetaStudio posts to.
func checkCallbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL, such as https://mon.example.com:10037/callback/shop")
	}
	return nil
}

// callbackCheck is one run of the command.
type callbackCheck struct {
	out    io.Writer
	flags  callbackTestFlags
	client *metastudio.Client
	// secrets are the values never printed, answers included: the key,
	// the URL's query values and password, and hwSecret once made.
	secrets []string
}

func (c *callbackCheck) printf(format string, a ...any) { fmt.Fprintf(c.out, format, a...) }

// run reports whether the answer was a 2xx; an error is a test that could
// not be made.
func (c *callbackCheck) run(ctx context.Context) (bool, error) {
	cfg, err := config.Load(c.flags.configFile)
	if err != nil {
		return false, err
	}
	t, from, err := c.findTenant(ctx, cfg)
	if err != nil {
		return false, err
	}
	c.printf("Tenant %s: project %s in %s, %s\n", t.Name, t.ProjectID, t.Region, from)

	callCtx, cancel := context.WithTimeout(ctx, t.Timeout)
	uc, err := c.client.GetUserConfig(callCtx, t.Target)
	cancel()
	if err != nil {
		return false, fmt.Errorf("the live settings of tenant %s cannot be fetched from %s: %w%s", t.Name, t.Endpoint, err, requestID(err))
	}
	auth := uc.CallbackAuth()
	key, keyFrom := auth.Key, "the tenant's live settings"
	if t.Callback.Key.IsSet() {
		key, keyFrom = t.Callback.Key, "callback.key in "+c.flags.configFile
	}
	target, targetFrom := auth.URL.Reveal(), "its live settings"
	if c.flags.url != "" {
		target, targetFrom = c.flags.url, "--url"
	}
	c.keep(key.Reveal())
	c.keepURL(target)
	switch {
	case target == "":
		return false, fmt.Errorf("tenant %s has no live event callback URL in its live settings: set one in the MetaStudio console, or give --url to test one first", t.Name)
	case auth.AuthType != metastudio.AuthMSSA && auth.AuthType != metastudio.AuthMSSAHead && auth.AuthType != metastudio.AuthNone:
		return false, fmt.Errorf("tenant %s signs its callbacks with auth_type %s, which callback-test cannot sign (it signs MSS_A, MSS_A_HEAD and NONE) and the exporter's receiver does not verify",
			t.Name, config.QuoteBounded(auth.AuthType))
	case auth.AuthType != metastudio.AuthNone && !key.IsSet():
		return false, fmt.Errorf("tenant %s signs its callbacks with %s but has no key: neither its live settings nor callback.key in %s set one", t.Name, auth.AuthType, c.flags.configFile)
	}
	c.printf("Live settings fetched from %s:\n", t.Endpoint)
	c.printf("  callback URL  %s (from %s)\n", config.RedactURL(target), targetFrom)
	c.printf("  auth type     %s\n", describeAuth(auth.AuthType))
	if auth.AuthType != metastudio.AuthNone {
		c.printf("  key           %s, from %s\n", secret.Redacted, keyFrom)
	}
	return c.send(ctx, auth.AuthType, key, target)
}

// findTenant finds the tenant the flag names: in the file, else in the
// discovery entries' listings, in file order, as the tenant set would.
func (c *callbackCheck) findTenant(ctx context.Context, cfg *config.Config) (*config.Tenant, string, error) {
	name, file := c.flags.tenant, c.flags.configFile
	if t, ok := cfg.Tenant(name); ok {
		return t, "from " + file, nil
	}
	sources := cfg.Discovery()
	if len(sources) == 0 {
		return nil, "", usageError{fmt.Errorf("unknown tenant %s: %s has no tenant of that name (its tenants: %s) and no discovery entry",
			config.QuoteBounded(name), file, tenantNames(cfg))}
	}
	var failed []string
	for i := range sources {
		src := &sources[i]
		listing, err := discovery.List(ctx, c.client, src)
		if err != nil {
			failed = append(failed, fmt.Sprintf("discovery entry %s: %v", src.Label(), err))
			continue
		}
		for _, p := range listing.Projects {
			if p.TenantName != name {
				continue
			}
			t, err := discovery.Tenant(src, p)
			if err != nil {
				return nil, "", fmt.Errorf("discovery entry %s lists tenant %s, but it cannot be served: %w", src.Label(), name, err)
			}
			return t, fmt.Sprintf("found by discovery entry %s of %s", src.Label(), file), nil
		}
	}
	if len(failed) > 0 {
		return nil, "", fmt.Errorf("tenant %s is not in %s's tenants, and the discovery entries that could list it failed: %s",
			config.QuoteBounded(name), file, strings.Join(failed, "; "))
	}
	return nil, "", usageError{fmt.Errorf("unknown tenant %s: neither %s's tenants (%s) nor the projects its %d discovery entries list have that name",
		config.QuoteBounded(name), file, tenantNames(cfg), len(sources))}
}

func tenantNames(cfg *config.Config) string {
	var names []string
	for _, t := range cfg.Tenants() {
		names = append(names, t.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func describeAuth(authType string) string {
	switch authType {
	case metastudio.AuthMSSA:
		return "MSS_A: hwSecret and hwTime appended to the URL's query"
	case metastudio.AuthMSSAHead:
		return "MSS_A_HEAD: x-hw-mss-secret and x-hw-mss-time headers"
	}
	return "NONE: unsigned, the URL as it is (any credentials in its query)"
}

// requestID is the API's X-Request-Id of a failed call, for support.
func requestID(err error) string {
	var e *metastudio.Error
	if errors.As(err, &e) && e.RequestID != "" {
		return " (X-Request-Id " + e.RequestID + ")"
	}
	return ""
}
