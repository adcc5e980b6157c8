package serve

import (
	"net/http"
	"strconv"
)

// apiError is an error the API answers with: its status, code and
// message, and the field of the request it is about, if one.
type apiError struct {
	status int
	code   string
	msg    string
	field  string
}

func (e *apiError) Error() string { return e.msg }

func errBadRequest(field, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", msg: msg, field: field}
}

func errNotFound(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", msg: msg}
}

func errForbidden(msg string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "forbidden", msg: msg}
}

func errMethod(msg string, allow string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: msg, field: allow}
}

func errUnavailable(msg string) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, code: "unavailable", msg: msg}
}

// writeError answers with e as docs/serve.md's errors are written:
// {"error": {"code": ..., "message": ..., "field": ...}}.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusMethodNotAllowed && e.field != "" {
		w.Header().Set("Allow", e.field)
		e = &apiError{status: e.status, code: e.code, msg: e.msg}
	}
	b := []byte(`{"error":{"code":`)
	b = strconv.AppendQuote(b, e.code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.msg)
	if e.field != "" {
		b = append(b, `,"field":`...)
		b = appendString(b, e.field)
	}
	b = append(b, "}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
