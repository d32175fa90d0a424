package metastudio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestErrorString(t *testing.T) {
	cause := errors.New("boom")
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "get user config", Reason: ReasonAuth, StatusCode: 401, ErrorCode: "APIGW.0301", ErrorMsg: "bad sig", RequestID: "r1"},
			"get user config: HTTP 401 APIGW.0301: bad sig"},
		{&Error{Op: "get user config", Reason: ReasonServerError, StatusCode: 502}, "get user config: HTTP 502"},
		{&Error{Op: "get user config", Reason: ReasonClientError, StatusCode: 400, ErrorMsg: "only a message"},
			"get user config: HTTP 400: only a message"},
		{&Error{Op: "get IAM token", Reason: ReasonNetwork, Err: cause}, "get IAM token: network: boom"},
		{&Error{Op: "get user config", Reason: ReasonDecode, StatusCode: 200, Err: cause}, "get user config: HTTP 200: boom"},
		{&Error{Op: "get user config", Reason: ReasonCredentials}, "get user config: credentials"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestReasonOf(t *testing.T) {
	apiErr := &Error{Op: "x", Reason: ReasonThrottled, ErrorCode: "APIGW.0308", Err: context.DeadlineExceeded}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		err        error
		reason     Reason
		errorCode  string
		isDeadline bool
	}{
		{apiErr, ReasonThrottled, "APIGW.0308", true},
		{fmt.Errorf("tenant shop-a: %w", apiErr), ReasonThrottled, "APIGW.0308", true},
		{context.DeadlineExceeded, ReasonTimeout, "", true},
		{fmt.Errorf("wrapped: %w", context.Canceled), ReasonTimeout, "", false},
		{timeoutErr{}, ReasonTimeout, "", false},
		{refused, ReasonNetwork, "", false},
		{errors.New("anything else"), ReasonNetwork, "", false},
	} {
		if got := ReasonOf(tc.err); got != tc.reason {
			t.Errorf("ReasonOf(%v) = %q, want %q", tc.err, got, tc.reason)
		}
		if got := ErrorCodeOf(tc.err); got != tc.errorCode {
			t.Errorf("ErrorCodeOf(%v) = %q, want %q", tc.err, got, tc.errorCode)
		}
		if got := errors.Is(tc.err, context.DeadlineExceeded); got != tc.isDeadline {
			t.Errorf("errors.Is(%v, DeadlineExceeded) = %v", tc.err, got)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestReasonForStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   Reason
	}{
		{400, "", ReasonClientError},
		{400, "APIGW.0308", ReasonThrottled},
		{401, "APIGW.0301", ReasonAuth},
		{403, "", ReasonForbidden},
		{404, "", ReasonClientError},
		{429, "", ReasonThrottled},
		{500, "", ReasonServerError},
		{503, "APIGW.0308", ReasonThrottled},
		{302, "", ReasonClientError},
	} {
		if got := reasonForStatus(tc.status, tc.code); got != tc.want {
			t.Errorf("reasonForStatus(%d, %q) = %q, want %q", tc.status, tc.code, got, tc.want)
		}
	}
}
