package order

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxMessageBytes is the most one sync queue message carries, body and
// message attributes (each one's name, type and value) together: SQS's
// limit of 256 KiB. SQS accepts up to 1 MiB on a queue whose
// MaximumMessageSize says so, but 256 KiB is what every queue accepts
// (template.yaml leaves the setting to SQS), and the DLQ and the sync's
// resends take the same bodies again.
const MaxMessageBytes = 256 << 10

// MaxMessageBodyBytes is the most EncodeMessage writes: MaxMessageBytes
// less room for the attributes a message gets on its way (the connection
// and event id on the sync queue; error code, order key, connection, first
// failure and attempts on the DLQ), which hold ids of at most MaxIDBytes.
const MaxMessageBodyBytes = MaxMessageBytes - 4<<10

// maxPackedEventBytes bounds what DecodeMessage inflates a packed body to.
// An event read from a 1 MiB webhook stays well below it (invalid UTF-8,
// at worst, is written 6 bytes a byte); a body that inflates further was
// not written by EncodeMessage.
const maxPackedEventBytes = 16 << 20

// ErrEventTooLarge is returned by EncodeMessage for an event that does
// not fit in MaxMessageBodyBytes even packed. It is permanent: the same
// event never fits.
var ErrEventTooLarge = errors.New("order: event too large for a sync queue message")

// encodingGzip names the packed form of a message body.
const encodingGzip = "gzip"

// packed is a message body in its packed form: the event's JSON,
// gzipped, as base64 (JSON's way with bytes). It has no "connection": a
// reader that does not know the form takes it for an unreadable message
// (dead-lettered with its reason) rather than for an empty event.
type packed struct {
	Encoding string `json:"encoding"`
	Data     []byte `json:"data"`
}

// EncodeMessage returns the body that carries e on the sync queue, for
// every producer (the webhook, the merchant API, the refresh) and the
// in-memory queues of the tests alike. The body is e's JSON without HTML
// escaping (<, > and & would take 6 bytes each) and with U+FFFE and U+FFFF
// escaped (SQS refuses them raw). When that is over MaxMessageBodyBytes,
// the body is the packed form, {"encoding": "gzip", "data": "<base64>"}:
// what ordersync keeps of an order repeats itself (keys, SKUs, titles), so
// gzip shrinks it 10 to 100 times. An event that does not fit even so
// returns an error wrapping ErrEventTooLarge. DecodeMessage reads both
// forms.
func EncodeMessage(e Event) (string, error) {
	buf := encodeBuffers.Get().(*[]byte)
	b, err := marshalEvent((*buf)[:0], e)
	defer func() {
		if cap(b) <= maxPooledBuffer {
			*buf = b[:0]
			encodeBuffers.Put(buf)
		}
	}()
	if err != nil {
		return "", err
	}
	if len(b) <= MaxMessageBodyBytes {
		return string(b), nil
	}
	var z bytes.Buffer
	// The default level: within 5% of the best on orders, 3 to 10 times
	// faster.
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(b); err != nil {
		return "", fmt.Errorf("order: pack event: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("order: pack event: %w", err)
	}
	p, err := json.Marshal(packed{Encoding: encodingGzip, Data: z.Bytes()})
	if err != nil {
		return "", fmt.Errorf("order: pack event: %w", err)
	}
	if len(p) > MaxMessageBodyBytes {
		return "", fmt.Errorf("%w: %d bytes of JSON, %d packed, over %d", ErrEventTooLarge, len(b), len(p), MaxMessageBodyBytes)
	}
	return string(p), nil
}

// encodeBuffers are EncodeMessage's buffers, kept between calls: the
// body is copied out of one into the string returned.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer bounds the buffers kept: one grown by a rare huge event
// is left to the collector.
const maxPooledBuffer = 1 << 20

// marshalEvent appends e's JSON as EncodeMessage writes it to dst: by
// appendEvent, or by encoding/json for what appendEvent leaves to it.
func marshalEvent(dst []byte, e Event) ([]byte, error) {
	b, ok := appendEvent(dst, e)
	if !ok {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			return nil, fmt.Errorf("order: encode event: %w", err)
		}
		b = append(b[:0], bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	}
	// The encoder writes valid UTF-8, where these bytes are only ever
	// U+FFFE and U+FFFF, and only inside strings, where an escape means
	// the same. Both begin EF BF: a body without that is left as it is
	// (bytes.ReplaceAll copies even when nothing matches).
	if bytes.Contains(b, []byte("\xef\xbf")) {
		b = bytes.ReplaceAll(b, []byte("\uFFFE"), []byte(`\ufffe`))
		b = bytes.ReplaceAll(b, []byte("\uFFFF"), []byte(`\uffff`))
	}
	return b, nil
}

// DecodeMessage reads a sync queue message body into its event: the
// event's JSON as any producer wrote it (HTML-escaped or not), or the
// packed form EncodeMessage writes for large events. It returns an error
// for a body that is neither, or whose packed data is not gzip or inflates
// past any event's size.
func DecodeMessage(body string) (Event, error) {
	var m struct {
		Event
		packed
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Event{}, fmt.Errorf("order: decode message: %w", err)
	}
	switch m.Encoding {
	case "":
		return m.Event, nil
	case encodingGzip:
	default:
		return Event{}, fmt.Errorf("order: decode message: unknown encoding %q", m.Encoding)
	}
	zr, err := gzip.NewReader(bytes.NewReader(m.Data))
	if err != nil {
		return Event{}, fmt.Errorf("order: unpack message: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxPackedEventBytes+1))
	if err != nil {
		return Event{}, fmt.Errorf("order: unpack message: %w", err)
	}
	if len(b) > maxPackedEventBytes {
		return Event{}, fmt.Errorf("order: unpack message: over %d bytes", maxPackedEventBytes)
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("order: decode packed message: %w", err)
	}
	return e, nil
}
