package main

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/metastudio-exporter/metastudio_exporter/flagvalue"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
	"github.com/metastudio-exporter/metastudio_exporter/web"
)

// flags are the command line; docs/flags.md lists them, and their names
// and defaults are part of the interface.
type flags struct {
	configFile     string
	configFileSet  bool // --config.file was given
	configCheck    bool
	demo           bool
	telemetryPath  string
	maxRequests    int
	maxConcurrency int
	// backgroundMaxConcurrency bounds the rooms and live jobs calls in
	// flight, within maxConcurrency.
	backgroundMaxConcurrency int
	timeoutOffset            time.Duration
	logLevel                 string
	logFormat                string
	web                      *toolkit.FlagConfig
	callback                 callbackFlags
	// discoveryRetryBase is the first wait after a failed listing: a
	// hidden flag, so that a whole-program test of the retry need not wait
	// the real 10 s.
	discoveryRetryBase time.Duration
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
	app.Flag("config.file", "Tenants config file.").Default("metastudio.yml").IsSetByUser(&f.configFileSet).StringVar(&f.configFile)
	app.Flag("config.check", "Validate the config file (secret files included), print a summary and exit: 0 if it is valid, 1 if not.").BoolVar(&f.configCheck)
	app.Flag("demo", "Serve sample tenants from the built-in MetaStudio simulator; needs no config file or credentials.").BoolVar(&f.demo)
	app.Flag("web.telemetry-path", "Path under which to expose every tenant's and the exporter's own metrics.").Default("/metrics").PlaceHolder(`"/metrics"`).
		SetValue(&flagvalue.Checked{P: &f.telemetryPath, Check: web.CheckTelemetryPath})
	app.Flag("web.max-requests", "Concurrent /metrics requests at most; past it the answer is 503. 0 means no limit. /probe is bounded by --scrape.max-concurrency instead.").Default("40").
		SetValue(&flagvalue.Int{P: &f.maxRequests, Min: 0})
	app.Flag("scrape.max-concurrency", "Upstream calls in flight at once, across all scrapes.").Default("32").
		SetValue(&flagvalue.Int{P: &f.maxConcurrency, Min: 1})
	app.Flag("background.max-concurrency", "Background calls (rooms and live jobs) in flight at once, across all tenants. They take --scrape.max-concurrency's slots, never one a scrape waits for.").Default("4").
		SetValue(&flagvalue.Int{P: &f.backgroundMaxConcurrency, Min: 1})
	app.Flag("scrape.timeout-offset", "Subtracted from X-Prometheus-Scrape-Timeout-Seconds to leave time for the answer.").Default("0.5s").
		SetValue(&flagvalue.Duration{P: &f.timeoutOffset})
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").
		SetValue(&flagvalue.Enum{P: &f.logLevel, Allowed: []string{"debug", "info", "warn", "error"}})
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").
		SetValue(&flagvalue.Enum{P: &f.logFormat, Allowed: []string{"logfmt", "json"}})
	f.web = kingpinflag.AddFlags(app, ":10036")
	cb := &f.callback
	app.Flag("callback.listen-address", "Address the live-event receiver listens on (POST /callback/{tenant}), e.g. :10037; empty means off. --demo turns it on at :10037.").
		Default("").IsSetByUser(&cb.listenSet).StringVar(&cb.listenAddress)
	app.Flag("callback.web-config.file", "exporter-toolkit web config file with TLS (and basic auth) for the receiver's listener.").Default("").StringVar(&cb.webConfigFile)
	app.Flag("callback.external-url", "The receiver's public base URL, e.g. https://mon.example.com:10037; enables metastudio_live_event_callback_routed_here.").Default("").PlaceHolder(`""`).
		SetValue(&flagvalue.Checked{P: &cb.externalURL, Check: checkExternalURL})
	app.Flag("callback.max-clock-skew", "Accepted distance of a signed event's hwTime from the local clock; also how long a signed event is remembered to answer its replays duplicate.").Default("5m").
		SetValue(&flagvalue.Duration{P: &cb.maxClockSkew, Positive: true})
	app.Flag("callback.max-streams", "Live streams tracked at once; past it the least recently updated stream of the tenant holding the most is evicted.").Default("2000").
		SetValue(&flagvalue.Int{P: &cb.maxStreams, Min: 1})
	app.Flag("callback.end-retention", "How long a stream in END stays exposed; other states stay up to 169h after their last event.").Default("15m").
		SetValue(&flagvalue.Duration{P: &cb.endRetention, Positive: true})
	app.Flag("callback.state-file", "If set, the stream table is written there (atomically, on change, at most once a second) and read at start.").Default("").StringVar(&cb.stateFile)
	app.Flag("callback.max-connections", "Connections the receiver holds at once; at it, the longest-idle keep-alive connection is closed to admit a new one (with every connection in a request, new ones wait), and /metrics stays answerable.").Default("1000").
		SetValue(&flagvalue.Int{P: &cb.maxConnections, Min: 1})
	app.Flag("callback.settings-max-age", "Oldest tenant settings a verification may use; older ones are refetched first (one shared call, at most once per 30s per tenant; if it fails the cached settings are used).").Default("5m").
		SetValue(&flagvalue.Duration{P: &cb.settingsMaxAge, Positive: true})
	// Hidden: the receiver's connection timeouts, so that whole-program
	// tests can watch idle and trickling connections being cut quickly.
	app.Flag("callback.read-header-timeout", "Time to read a request's headers on the receiver.").Hidden().Default("10s").
		SetValue(&flagvalue.Duration{P: &cb.readHeaderTimeout, Positive: true})
	app.Flag("callback.read-timeout", "Time to read a whole request, body included, on the receiver.").Hidden().Default("30s").
		SetValue(&flagvalue.Duration{P: &cb.readTimeout, Positive: true})
	app.Flag("callback.idle-timeout", "Time a keep-alive connection to the receiver may wait for its next request.").Hidden().Default("60s").
		SetValue(&flagvalue.Duration{P: &cb.idleTimeout, Positive: true})
	app.Flag("discovery.retry-base", "Wait before the first retry of a failed project listing; it doubles with every failure in a row, up to the entry's refresh_interval.").Hidden().
		Default(tenants.DefaultRetryBase.String()).SetValue(&flagvalue.Duration{P: &f.discoveryRetryBase, Positive: true})
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	flagvalue.NameErrors(app)

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
	if f.demo && f.configFileSet {
		return nil, errors.New("--demo serves built-in sample tenants and reads no config file; drop --config.file, or --demo to use the file")
	}
	if f.demo && f.configCheck {
		return nil, errors.New("--config.check checks a config file and --demo has none; drop one of them")
	}
	return f, nil
}

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
