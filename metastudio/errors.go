package metastudio

import (
	"context"
	"errors"

	"net"
	"strconv"
	"time"
)

// Reason classifies a failed call. The values are the `reason` label of
// metastudio_scrape_error_info and are fixed by the product contract.
type Reason string

const (
	ReasonAuth        Reason = "auth"         // 401: signature, AK or token rejected
	ReasonForbidden   Reason = "forbidden"    // 403: no permission on the project
	ReasonThrottled   Reason = "throttled"    // 429 or APIGW.0308
	ReasonClientError Reason = "client_error" // any other 4xx
	ReasonServerError Reason = "server_error" // 5xx
	ReasonTimeout     Reason = "timeout"      // deadline reached
	ReasonNetwork     Reason = "network"      // dial, TLS, reset
	ReasonDecode      Reason = "decode"       // body not JSON of the expected shape, or over the size limit
	ReasonCredentials Reason = "credentials"  // no usable credentials: IAM refused the password, or none configured
)

// ErrorCodeThrottled is the API gateway's error code for flow control.
const ErrorCodeThrottled = "APIGW.0308"

// Error is a failed call to MetaStudio or IAM. Its message never holds a
// secret: upstream error_msg is kept, request headers and bodies are not.
type Error struct {
	Reason     Reason
	StatusCode int    // 0 when no HTTP answer was received
	ErrorCode  string // e.g. MSS.00000001, APIGW.0301
	ErrorMsg   string
	RequestID  string        // X-Request-Id of the answer
	RetryAfter time.Duration // from Retry-After, when the upstream sent one
	Op         string        // what was being done, e.g. "get user config", "get IAM token"
	Err        error         // the cause for transport and decode errors
}

func (e *Error) Error() string {
	msg := e.Op + ": "
	if e.StatusCode != 0 {
		msg += "HTTP " + strconv.Itoa(e.StatusCode)
		if e.ErrorCode != "" {
			msg += " " + e.ErrorCode
		}
		if e.ErrorMsg != "" {
			msg += ": " + e.ErrorMsg
		}
	} else {
		msg += string(e.Reason)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason class of err; errors that are not *Error are
// classified by their cause.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return classifyTransport(err)
}

// ErrorCodeOf returns the upstream error_code of err, or "".
func ErrorCodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ErrorCode
	}
	return ""
}

// classifyTransport tells a deadline from a network failure.
func classifyTransport(err error) Reason {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	return ReasonNetwork
}

// reasonForStatus maps an HTTP error answer to its reason class.
func reasonForStatus(status int, errorCode string) Reason {
	switch {
	case status == 429 || errorCode == ErrorCodeThrottled:
		return ReasonThrottled
	case status == 401:
		return ReasonAuth
	case status == 403:
		return ReasonForbidden
	case status >= 500:
		return ReasonServerError
	default:
		return ReasonClientError
	}
}

// AppendLogFields appends what a log line about a failed call should say
// of err as key-value pairs: its reason, and its status, error_code and
// request_id (which Huawei Cloud support asks for) when it has them.
func AppendLogFields(kv []any, err error) []any {
	kv = append(kv, "reason", ReasonOf(err))
	var e *Error
	if errors.As(err, &e) {
		if e.StatusCode != 0 {
			kv = append(kv, "status", e.StatusCode)
		}
		if e.ErrorCode != "" {
			kv = append(kv, "error_code", e.ErrorCode)
		}
		if e.RequestID != "" {
			kv = append(kv, "request_id", e.RequestID)
		}
	}
	return kv
}
