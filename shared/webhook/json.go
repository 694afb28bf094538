package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"time"
)

// Decode unmarshals a webhook body into v, turning encoding/json's errors
// into *Error values that name the field but never quote the body: an
// empty or malformed body is malformed_json, a value of the wrong type
// (among them a Text, Count or Stamp that cannot be read) is invalid_field
// naming its JSON path, e.g. line_items.quantity.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return E(CodeMalformedJSON, "")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		// Field is the path of JSON names from the root, filled in by
		// encoding/json, also for the errors the types below return.
		return E(CodeInvalidField, typ.Field)
	}
	return E(CodeMalformedJSON, "")
}

// fieldError is what Text, Count and Stamp return: an
// UnmarshalTypeError, so that encoding/json adds the field's path. Value
// says what was expected, never what was found.
func fieldError(want string) error {
	return &json.UnmarshalTypeError{Value: "value (want " + want + ")", Type: reflect.TypeFor[string]()}
}

// Text is a JSON string, number or boolean read as its text; null and
// absent are "". Platforms disagree on whether ids are numbers or strings
// (Shopify ids are numbers, BigCommerce's store_id is a string), and some
// send numbers beyond float64's exact range, so ids are kept as text.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return fieldError("string or number")
	case b[0] == '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*t = Text(s)
	case b[0] == 'n': // null
		*t = ""
	case b[0] == '{' || b[0] == '[':
		return fieldError("string or number")
	default: // a number or a boolean, valid JSON by now
		*t = Text(b)
	}
	return nil
}

// Count is a JSON integer or a string holding one (a quantity); null and
// absent are 0.
type Count int

// UnmarshalJSON implements json.Unmarshaler.
func (c *Count) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch {
	case s == "null":
		*c = 0
		return nil
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return fieldError("integer")
		}
		n = int(f)
	}
	*c = Count(n)
	return nil
}

// Stamp is a timestamp in RFC 3339, or in WooCommerce's zone-less
// "2006-01-02T15:04:05" (read as UTC: callers use the *_gmt fields), or a
// number of Unix seconds; null, "" and absent are the zero time.
type Stamp time.Time

// UnmarshalJSON implements json.Unmarshaler.
func (t *Stamp) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || string(b) == "null" {
		*t = Stamp{}
		return nil
	}
	if b[0] != '"' {
		sec, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fieldError("timestamp")
		}
		*t = Stamp(time.Unix(sec, 0).UTC())
		return nil
	}
	s, err := unquote(b)
	if err != nil {
		return err
	}
	if s == "" {
		*t = Stamp{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = Stamp(v)
			return nil
		}
	}
	return fieldError("timestamp")
}

// Time returns t as a time.Time (the zero time for null, "" or absent).
func (t Stamp) Time() time.Time { return time.Time(t) }

// unquote reads a JSON string literal that encoding/json has already
// validated; only strings with escapes go through the full decoder.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}
