package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"
)

// errDecode is a request body decodeJSON refused; status says which 4xx.
type errDecode struct {
	status int
	msg    string
}

func (e errDecode) Error() string { return e.msg }

// decodeJSON reads one JSON object of type T from the body: Content-Type
// application/json, at most limit bytes, valid UTF-8, no unknown field, no
// trailing data.
func decodeJSON[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	var v T
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return v, errDecode{http.StatusUnsupportedMediaType, "content type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return v, errDecode{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit)}
		}
		return v, errDecode{http.StatusBadRequest, "body could not be read"}
	}
	if !utf8.Valid(body) {
		return v, errDecode{http.StatusBadRequest, "body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, errDecode{http.StatusBadRequest, "malformed JSON: " + jsonProblem(err)}
	}
	if dec.More() {
		return v, errDecode{http.StatusBadRequest, "malformed JSON: data after the object"}
	}
	return v, nil
}

// jsonProblem describes a decoding error without quoting the input, which
// may hold a password.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be a %s", te.Field, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	// Unknown fields: encoding/json names the field, which is not secret.
	return err.Error()
}

// encodeJSON writes v as JSON with status.
func encodeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
