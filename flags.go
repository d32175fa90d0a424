package main

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/web"
)

// flags are the command line; the README's "Command line" section lists
// them, and their names and defaults are part of the interface.
type flags struct {
	configFile     string
	configCheck    bool
	demo           bool
	telemetryPath  string
	maxRequests    int
	maxConcurrency int
	timeoutOffset  time.Duration
	logLevel       string
	logFormat      string
	web            *toolkit.FlagConfig
	callback       callbackFlags
}

// callbackFlags configure the live-event receiver; it is off unless
// listenAddress is set (or --demo turns it on).
type callbackFlags struct {
	listenAddress string
	webConfigFile string
	externalURL   string
	maxClockSkew  time.Duration
	maxStreams    int
	endRetention  time.Duration
	stateFile     string
	listenSet     bool // --callback.listen-address was given

	maxConnections int
	settingsMaxAge time.Duration
	// The listener's timeouts: hidden flags, for tests that cannot wait a
	// minute for an idle connection to be cut.
	readHeaderTimeout, readTimeout, idleTimeout time.Duration
}

// errExit stops parsing the way kingpin's own os.Exit would, after --help
// or --version has printed its text.
type errExit struct{ code int }

func (e errExit) Error() string { return fmt.Sprintf("exit %d", e.code) }

// parseFlags parses args. After --help, --help-long, --help-man or
// --version it returns errExit{0}, having printed the text: kingpin would
// exit there, and the program must do nothing else.
func parseFlags(app *kingpin.Application, args []string) (f *flags, err error) {
	f = &flags{}
	var configFileSet bool
	app.Flag("config.file", "Tenants config file.").Default("metastudio.yml").IsSetByUser(&configFileSet).StringVar(&f.configFile)
	app.Flag("config.check", "Validate the config file (secret files included), print a summary and exit: 0 if it is valid, 1 if not.").BoolVar(&f.configCheck)
	app.Flag("demo", "Serve sample tenants from the built-in MetaStudio simulator; needs no config file or credentials.").BoolVar(&f.demo)
	app.Flag("web.telemetry-path", "Path under which to expose every tenant's and the exporter's own metrics.").Default("/metrics").PlaceHolder(`"/metrics"`).
		SetValue(&checkedString{p: &f.telemetryPath, check: web.CheckTelemetryPath})
	app.Flag("web.max-requests", "Concurrent /metrics requests at most; past it the answer is 503. 0 means no limit. /probe is bounded by --scrape.max-concurrency instead.").Default("40").
		SetValue(&intValue{p: &f.maxRequests, min: 0})
	app.Flag("scrape.max-concurrency", "Upstream calls in flight at once, across all scrapes.").Default("32").
		SetValue(&intValue{p: &f.maxConcurrency, min: 1})
	app.Flag("scrape.timeout-offset", "Subtracted from X-Prometheus-Scrape-Timeout-Seconds to leave time for the answer.").Default("0.5s").
		SetValue(&durationValue{p: &f.timeoutOffset})
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").
		SetValue(&enumValue{p: &f.logLevel, allowed: []string{"debug", "info", "warn", "error"}})
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").
		SetValue(&enumValue{p: &f.logFormat, allowed: []string{"logfmt", "json"}})
	f.web = kingpinflag.AddFlags(app, ":10036")
	cb := &f.callback
	app.Flag("callback.listen-address", "Address the live-event receiver listens on (POST /callback/{tenant}), e.g. :10037; empty means off. --demo turns it on at :10037.").
		Default("").IsSetByUser(&cb.listenSet).StringVar(&cb.listenAddress)
	app.Flag("callback.web-config.file", "exporter-toolkit web config file with TLS (and basic auth) for the receiver's listener.").Default("").StringVar(&cb.webConfigFile)
	app.Flag("callback.external-url", "The receiver's public base URL, e.g. https://mon.example.com:10037; enables metastudio_live_event_callback_routed_here.").Default("").PlaceHolder(`""`).
		SetValue(&checkedString{p: &cb.externalURL, check: checkExternalURL})
	app.Flag("callback.max-clock-skew", "Accepted distance of a signed event's hwTime from the local clock; also how long a signed event is remembered to answer its replays duplicate.").Default("5m").
		SetValue(&durationValue{p: &cb.maxClockSkew, positive: true})
	app.Flag("callback.max-streams", "Live streams tracked at once; past it the least recently updated stream of the tenant holding the most is evicted.").Default("2000").
		SetValue(&intValue{p: &cb.maxStreams, min: 1})
	app.Flag("callback.end-retention", "How long a stream in END stays exposed; other states stay up to 169h after their last event.").Default("15m").
		SetValue(&durationValue{p: &cb.endRetention, positive: true})
	app.Flag("callback.state-file", "If set, the stream table is written there (atomically, on change, at most once a second) and read at start.").Default("").StringVar(&cb.stateFile)
	app.Flag("callback.max-connections", "Connections the receiver holds at once; past it new ones wait (and are refused once the kernel's backlog is full), and /metrics stays answerable.").Default("1000").
		SetValue(&intValue{p: &cb.maxConnections, min: 1})
	app.Flag("callback.settings-max-age", "Oldest tenant settings a verification may use; older ones are refetched first (one shared call, at most once per 30s per tenant; if it fails the cached settings are used).").Default("5m").
		SetValue(&durationValue{p: &cb.settingsMaxAge, positive: true})
	// Hidden: the receiver's connection timeouts, so that whole-program
	// tests can watch idle and trickling connections being cut quickly.
	app.Flag("callback.read-header-timeout", "Time to read a request's headers on the receiver.").Hidden().Default("10s").
		SetValue(&durationValue{p: &cb.readHeaderTimeout, positive: true})
	app.Flag("callback.read-timeout", "Time to read a whole request, body included, on the receiver.").Hidden().Default("30s").
		SetValue(&durationValue{p: &cb.readTimeout, positive: true})
	app.Flag("callback.idle-timeout", "Time a keep-alive connection to the receiver may wait for its next request.").Hidden().Default("60s").
		SetValue(&durationValue{p: &cb.idleTimeout, positive: true})
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	nameFlagErrors(app)

	// kingpin ends the process after help and version; tests cannot have
	// that, and carrying on would act on a half-parsed command line.
	app.Terminate(func(code int) { panic(errExit{code}) })
	defer func() {
		if r := recover(); r != nil {
			exit, ok := r.(errExit)
			if !ok {
				panic(r)
			}
			f, err = nil, exit
		}
	}()
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	if f.demo && configFileSet {
		return nil, errors.New("--demo serves built-in sample tenants and reads no config file; drop --config.file, or --demo to use the file")
	}
	if f.demo && f.configCheck {
		return nil, errors.New("--config.check checks a config file and --demo has none; drop one of them")
	}
	return f, nil
}

// nameFlagErrors makes every flag's value error say which flag and which
// value: kingpin's own say neither ("strconv.ParseFloat: parsing "abc":
// invalid syntax").
func nameFlagErrors(app *kingpin.Application) {
	for _, m := range app.Model().Flags {
		f := app.GetFlag(m.Name)
		// Help quotes the defaults of kingpin's own string values only;
		// keep what it shows before the value is wrapped.
		f.PlaceHolder(m.FormatPlaceHolder())
		f.SetValue(&namedValue{name: m.Name, Value: m.Value})
	}
}

// namedValue prefixes its Value's errors with --name="value". It keeps the
// bool and repeatable natures kingpin asks values about.
type namedValue struct {
	name string
	kingpin.Value
}

func (v *namedValue) Set(s string) error {
	err := v.Value.Set(s)
	if err == nil {
		return nil
	}
	return fmt.Errorf("--%s=%s: %w", v.name, config.QuoteBounded(withoutPassword(s)), err)
}

// withoutPassword hides the password of a URL with user info, so that a
// refused flag value never repeats one.
func withoutPassword(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			return u.Redacted()
		}
	}
	return s
}

func (v *namedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func (v *namedValue) IsCumulative() bool {
	c, ok := v.Value.(interface{ IsCumulative() bool })
	return ok && c.IsCumulative()
}

// intValue is a whole number of at least min. kingpin's own int flag
// parses a float and truncates it, so that "1.5" is 1 and an overflow a
// negative number.
type intValue struct {
	p   *int
	min int
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	var num *strconv.NumError
	switch {
	case errors.As(err, &num) && num.Err == strconv.ErrRange:
		return errors.New("out of range")
	case err != nil:
		return errors.New("not a whole number")
	case n < v.min:
		return fmt.Errorf("must be at least %d", v.min)
	}
	*v.p = n
	return nil
}

func (v *intValue) String() string { return strconv.Itoa(*v.p) }

// durationValue is a non-negative Go duration (0.5s, 500ms); with
// positive, zero is refused too, for the flags where 0 could only be read
// as "off" or "the default" and means neither.
type durationValue struct {
	p        *time.Duration
	positive bool
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return errors.New("not a duration (such as 500ms or 1s)")
	case v.positive && d <= 0:
		return errors.New("must be positive")
	case d < 0:
		return errors.New("must not be negative")
	}
	*v.p = d
	return nil
}

func (v *durationValue) String() string { return v.p.String() }

// enumValue is one of allowed.
type enumValue struct {
	p       *string
	allowed []string
}

func (v *enumValue) Set(s string) error {
	if !slices.Contains(v.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(v.allowed, ", "))
	}
	*v.p = s
	return nil
}

func (v *enumValue) String() string { return *v.p }

// checkedString is a string that check accepts.
type checkedString struct {
	p     *string
	check func(string) error
}

func (v *checkedString) Set(s string) error {
	if err := v.check(s); err != nil {
		return err
	}
	*v.p = s
	return nil
}

func (v *checkedString) String() string { return *v.p }

// checkExternalURL accepts the receiver's public base URL: an absolute
// http(s) URL with a host and nothing after the path, since tenants' callback
// URLs are compared with it plus /callback/{tenant}.
func checkExternalURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return nil
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return errors.New("must be an absolute http or https URL, such as https://mon.example.com:10037")
	case u.User != nil:
		return errors.New("must not contain user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must not contain a query or fragment")
	}
	return nil
}
