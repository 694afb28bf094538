package localstack

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// HTTPHandler is a function behind an HTTP API route.
type HTTPHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// SQSHandler is a function behind an SQS event source mapping.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// ScheduleHandler is a function behind an EventBridge schedule.
type ScheduleHandler func(context.Context, events.EventBridgeEvent) error

// APIRoute binds a route to its function.
type APIRoute struct {
	Route
	Timeout time.Duration
	Handler HTTPHandler
}

// NewAPI returns an http.Handler that serves routes the way API Gateway's
// HTTP API (payload format 2.0) does: each request becomes the event the
// function would get, and the function's response becomes the answer.
func NewAPI(routes []APIRoute, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			params, ok := matchPath(rt.Path, r.URL.Path)
			if !ok || (rt.Method != "ANY" && !strings.EqualFold(rt.Method, r.Method)) {
				continue
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20+1))
			if err != nil {
				http.Error(w, `{"message":"Bad Request"}`, http.StatusBadRequest)
				return
			}
			if len(body) > 10<<20 { // API Gateway's own payload limit
				http.Error(w, `{"message":"Request Entity Too Large"}`, http.StatusRequestEntityTooLarge)
				return
			}
			ev := apiEvent(r, rt.Route, params, body)
			ctx, cancel := context.WithTimeout(r.Context(), rt.Timeout)
			resp, err := rt.Handler(ctx, ev)
			cancel()
			if err != nil {
				log.Error("function failed", "route", ev.RouteKey, "err", err)
				http.Error(w, `{"message":"Internal Server Error"}`, http.StatusInternalServerError)
				return
			}
			writeAPIResponse(w, resp)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Not Found"}`)
	})
}

func apiEvent(r *http.Request, rt Route, params map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	routeKey := rt.Method + " " + rt.Path
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, AccountID: "000000000000", Stage: "$default",
			RequestID: strconv.FormatInt(now.UnixNano(), 36), APIID: "local",
			DomainName: r.Host, Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent(),
			},
		},
	}
	if len(query) == 0 {
		ev.QueryStringParameters = nil
	}
	if len(body) > 0 {
		// API Gateway passes text bodies as they are and base64-encodes others.
		if utf8.Valid(body) && !strings.HasPrefix(headers["content-type"], "application/octet-stream") {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

func writeAPIResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = b
		}
	}
	_, _ = w.Write(body)
}

// matchPath matches an HTTP API path template ("/a/{x}/{y}") against path.
// A greedy last parameter ("/a/{proxy+}") takes the rest of the path, as
// API Gateway's does: every segment below the prefix, slashes kept
// ("/a/b/c" gives proxy "b/c"; "/a/" gives ""; "/a" is not matched).
func matchPath(tmpl, path string) (map[string]string, bool) {
	if prefix, name, ok := greedy(tmpl); ok {
		n := strings.Count(prefix, "/")
		parts := strings.SplitN(path, "/", n+2)
		if len(parts) < n+2 {
			return nil, false
		}
		params, ok := matchPath(prefix, strings.Join(parts[:n+1], "/"))
		if !ok {
			return nil, false
		}
		params[name] = parts[n+1]
		return params, true
	}
	ts := strings.Split(strings.Trim(tmpl, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	params := map[string]string{}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return nil, false
			}
			params[strings.Trim(t, "{}")] = ps[i]
		} else if t != ps[i] {
			return nil, false
		}
	}
	return params, true
}

// greedy splits a template ending in a greedy parameter ("/a/{proxy+}")
// into its prefix ("/a") and the parameter's name ("proxy").
func greedy(tmpl string) (prefix, name string, ok bool) {
	i := strings.LastIndex(tmpl, "/")
	last := tmpl[i+1:]
	if i < 0 || !strings.HasPrefix(last, "{") || !strings.HasSuffix(last, "+}") {
		return "", "", false
	}
	return tmpl[:i], strings.TrimSuffix(strings.TrimPrefix(last, "{"), "+}"), true
}

// SQSAPI is the part of the SQS client the poller uses.
type SQSAPI interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Poller feeds one queue to one function as the Lambda event source mapping
// does: batches of up to BatchSize, and after the call deletes every
// message that succeeded. With ReportBatchFailures, the messages named in
// BatchItemFailures stay (they come back after their visibility timeout);
// an error, or a failure naming no message of the batch, keeps the batch.
type Poller struct {
	SQS     SQSAPI
	Source  QueueSource
	Timeout time.Duration
	Handler SQSHandler
	Log     *slog.Logger
}

// Run polls until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := p.PollOnce(ctx, time.Second)
		if err != nil && ctx.Err() == nil {
			p.Log.Warn("sqs poll failed", "queue", p.Source.QueueURL, "err", err)
			sleep(ctx, time.Second)
		}
		_ = n
	}
}

// PollOnce receives one batch (waiting up to wait for it), invokes the
// function and deletes what succeeded. It returns how many messages it got.
func (p *Poller) PollOnce(ctx context.Context, wait time.Duration) (int, error) {
	out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(p.Source.QueueURL),
		MaxNumberOfMessages: int32(min(max(p.Source.BatchSize, 1), 10)),
		WaitTimeSeconds:     int32(wait / time.Second),
		// local-aws-sqs answers ApproximateReceiveCount only through the
		// deprecated field, so ask through both.
		AttributeNames:              []sqstypes.QueueAttributeName{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil || len(out.Messages) == 0 {
		return 0, err
	}
	arn, err := p.queueARN(ctx)
	if err != nil {
		return len(out.Messages), err
	}
	ev := events.SQSEvent{}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, sqsRecord(m, arn))
	}
	fctx, cancel := context.WithTimeout(ctx, p.Timeout)
	resp, herr := p.Handler(fctx, ev)
	cancel()
	if herr != nil {
		p.Log.Error("function failed; the batch returns to the queue", "err", herr)
		return len(out.Messages), nil
	}
	failed := map[string]bool{}
	if p.Source.ReportBatchFailures {
		for _, f := range resp.BatchItemFailures {
			found := false
			for _, m := range out.Messages {
				found = found || aws.ToString(m.MessageId) == f.ItemIdentifier
			}
			if !found {
				p.Log.Error("batch item failure names no message of the batch; the batch returns to the queue", "id", f.ItemIdentifier)
				return len(out.Messages), nil
			}
			failed[f.ItemIdentifier] = true
		}
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range out.Messages {
		if !failed[aws.ToString(m.MessageId)] {
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(del) > 0 {
		res, err := p.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.Source.QueueURL), Entries: del})
		if err != nil {
			return len(out.Messages), fmt.Errorf("delete processed messages: %w", err)
		}
		if len(res.Failed) > 0 {
			return len(out.Messages), errors.New("delete processed messages: " + aws.ToString(res.Failed[0].Message))
		}
	}
	return len(out.Messages), nil
}

func (p *Poller) queueARN(ctx context.Context) (string, error) {
	out, err := p.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.Source.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	return out.Attributes["QueueArn"], nil
}

func sqsRecord(m sqstypes.Message, arn string) events.SQSMessage {
	r := events.SQSMessage{
		MessageId:         aws.ToString(m.MessageId),
		ReceiptHandle:     aws.ToString(m.ReceiptHandle),
		Body:              aws.ToString(m.Body),
		Md5OfBody:         aws.ToString(m.MD5OfBody),
		Attributes:        m.Attributes,
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSourceARN:    arn,
		EventSource:       "aws:sqs",
		AWSRegion:         "us-east-1",
	}
	for k, v := range m.MessageAttributes {
		r.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType)}
	}
	return r
}

// ScheduledEvent is the event EventBridge sends a scheduled function.
func ScheduledEvent(ruleARN string, at time.Time) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version: "0", ID: strconv.FormatInt(at.UnixNano(), 36), DetailType: "Scheduled Event", Source: "aws.events",
		AccountID: "000000000000", Time: at.UTC(), Region: "us-east-1", Resources: []string{ruleARN}, Detail: []byte("{}"),
	}
}

// NextRun returns the next time at or after from that a schedule
// expression fires. It understands rate(N unit) and the cron forms with a
// fixed minute and "*" for everything else (as "cron(20 * * * ? *)").
func NextRun(expr string, from time.Time) (time.Time, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "rate("), ")"))
		if len(f) == 2 {
			n, err := strconv.Atoi(f[0])
			unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
			if err == nil && n > 0 && unit > 0 {
				return from.Add(time.Duration(n) * unit), nil
			}
		}
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
		if minute, err := strconv.Atoi(f[0]); err == nil && len(f) == 6 && f[1] == "*" && minute >= 0 && minute < 60 {
			next := from.Truncate(time.Hour).Add(time.Duration(minute) * time.Minute)
			if next.Before(from) {
				next = next.Add(time.Hour)
			}
			return next, nil
		}
	}
	return time.Time{}, fmt.Errorf("localstack: schedule %q is not supported locally", expr)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
