// Package flagvalue holds the kingpin flag values of the command line: whole
// numbers, durations and enums checked at parse time, and errors that name
// the flag and the value they refuse; and the command line of a subcommand
// that runs in-process.
package flagvalue

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// NameErrors makes every flag's value error say which flag and which
// value: kingpin's own say neither ("strconv.ParseFloat: parsing "abc":
// invalid syntax"). Call it once every flag is defined.
func NameErrors(app *kingpin.Application) {
	for _, m := range app.Model().Flags {
		f := app.GetFlag(m.Name)
		// Help quotes the defaults of kingpin's own string values only;
		// keep what it shows before the value is wrapped.
		f.PlaceHolder(m.FormatPlaceHolder())
		f.SetValue(&named{name: m.Name, Value: m.Value})
	}
}

// named prefixes its Value's errors with --name="value". It keeps the bool
// and repeatable natures kingpin asks values about.
type named struct {
	name string
	kingpin.Value
}

func (v *named) Set(s string) error {
	err := v.Value.Set(s)
	if err == nil {
		return nil
	}
	return fmt.Errorf("--%s=%s: %w", v.name, config.QuoteBounded(withoutSecrets(s)), err)
}

// withoutSecrets shows an absolute URL as config.RedactURL does, so that a
// refused flag value never repeats a password or a query, where a callback
// URL may carry its token. Any other value is shown as given.
func withoutSecrets(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	if _, password := u.User.Password(); !password && u.RawQuery == "" && !u.ForceQuery {
		return s
	}
	return config.RedactURL(s)
}

func (v *named) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func (v *named) IsCumulative() bool {
	c, ok := v.Value.(interface{ IsCumulative() bool })
	return ok && c.IsCumulative()
}

// Int is a whole number of at least Min. kingpin's own int flag parses a
// float and truncates it, so that "1.5" is 1 and an overflow a negative
// number.
type Int struct {
	P   *int
	Min int
}

func (v *Int) Set(s string) error {
	n, err := strconv.Atoi(s)
	var num *strconv.NumError
	switch {
	case errors.As(err, &num) && num.Err == strconv.ErrRange:
		return errors.New("out of range")
	case err != nil:
		return errors.New("not a whole number")
	case n < v.Min:
		return fmt.Errorf("must be at least %d", v.Min)
	}
	*v.P = n
	return nil
}

func (v *Int) String() string { return strconv.Itoa(*v.P) }

// Duration is a non-negative Go duration (0.5s, 500ms); with Positive,
// zero is refused too, for the flags where 0 could only be read as "off" or
// "the default" and means neither.
type Duration struct {
	P        *time.Duration
	Positive bool
}

func (v *Duration) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return errors.New("not a duration (such as 500ms or 1s)")
	case v.Positive && d <= 0:
		return errors.New("must be positive")
	case d < 0:
		return errors.New("must not be negative")
	}
	*v.P = d
	return nil
}

func (v *Duration) String() string { return v.P.String() }

// Enum is one of Allowed.
type Enum struct {
	P       *string
	Allowed []string
}

func (v *Enum) Set(s string) error {
	if !slices.Contains(v.Allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(v.Allowed, ", "))
	}
	*v.P = s
	return nil
}

func (v *Enum) String() string { return *v.P }

// Checked is a string that Check accepts.
type Checked struct {
	P     *string
	Check func(string) error
}

func (v *Checked) Set(s string) error {
	if err := v.Check(s); err != nil {
		return err
	}
	*v.P = s
	return nil
}

func (v *Checked) String() string { return *v.P }
