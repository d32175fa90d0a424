package simulator

import (
	"encoding/json"
	"net/http"
)

// Error codes the simulator answers with; docs/simulator.md says when.
const (
	CodeAPINotFound     = "APIGW.0101"   // 404: no such route or method
	CodeBodyTooLarge    = "APIGW.0201"   // 413: request body over 64 KiB
	CodeBackendDown     = "APIGW.0202"   // 502/503 faults
	CodeBackendTimeout  = "APIGW.0203"   // 504 faults
	CodeAuthFailed      = "APIGW.0301"   // 401: AK/SK signature rejected
	CodeForbidden       = "APIGW.0302"   // 403: valid credentials, not for this project
	CodeTokenInvalid    = "APIGW.0307"   // 401: X-Auth-Token unknown, revoked or expired
	CodeThrottled       = "APIGW.0308"   // 429
	CodeInternal        = "MSS.00000001" // 500
	CodeBadParameter    = "MSS.00000003" // 400: PUT body or list query invalid
	CodeProjectNotFound = "MSS.00000004" // 404: project unknown to the simulator
	CodeRoomNotFound    = "MSS.00000004" // 404: no such room in the project (another message)
)

// Message prefixes of the gateway errors; a short reason follows after ": ".
const (
	msgAuthFailed   = "Incorrect IAM authentication information"
	msgForbidden    = "The IAM user is not authorized to access the API"
	msgTokenInvalid = "The token must be updated"
	msgThrottled    = "The throttling threshold has been reached: policy user over ratelimit"
)

type apiError struct {
	status int
	code   string
	msg    string
}

func authFailed(reason string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: CodeAuthFailed, msg: msgAuthFailed + ": " + reason}
}

func tokenInvalid(reason string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: CodeTokenInvalid, msg: msgTokenInvalid + ": " + reason}
}

func forbidden(reason string) *apiError {
	return &apiError{status: http.StatusForbidden, code: CodeForbidden, msg: msgForbidden + ": " + reason}
}

func projectNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: CodeProjectNotFound, msg: "The project does not exist"}
}

func apiNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: CodeAPINotFound, msg: "The API does not exist or has not been published in the environment"}
}

func badParameter(reason string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeBadParameter, msg: "Invalid parameter: " + reason}
}

// defaultError is what a Fault with only a Status answers.
func defaultError(status int) (code, msg string) {
	switch {
	case status == http.StatusBadRequest:
		return CodeBadParameter, "Invalid parameter"
	case status == http.StatusUnauthorized:
		return CodeAuthFailed, msgAuthFailed
	case status == http.StatusForbidden:
		return CodeForbidden, msgForbidden
	case status == http.StatusNotFound:
		return CodeProjectNotFound, "The project does not exist"
	case status == http.StatusTooManyRequests:
		return CodeThrottled, msgThrottled
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
		return CodeBackendDown, "Backend unavailable"
	case status == http.StatusGatewayTimeout:
		return CodeBackendTimeout, "Backend timeout"
	case status >= 500:
		return CodeInternal, "Internal error"
	default:
		return CodeBadParameter, "Invalid parameter"
	}
}

type errorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, err := json.Marshal(errorBody{ErrorCode: e.code, ErrorMsg: e.msg})
	if err != nil {
		// Two strings always marshal; keep the status honest regardless.
		body = []byte(`{"error_code":"` + CodeInternal + `","error_msg":"Internal error"}`)
	}
	writeJSON(w, e.status, body)
}
