package localstack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// handlers are testdata/template.yaml's functions: Front answers its
// routes with its greeting, Worker and Ticker report what they got.
func handlers(jobs chan<- string, ticks chan<- events.EventBridgeEvent) map[string]NewHandler {
	return map[string]NewHandler{
		"Front": func(_ context.Context, f Function) (Handler, error) {
			greeting := f.Env["GREETING"]
			return Handler{HTTP: func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK,
					Body: greeting + " " + req.PathParameters["name"] + req.PathParameters["id"] + " (" + req.RouteKey + ")"}, nil
			}}, nil
		},
		"Worker": func(context.Context, Function) (Handler, error) {
			return Handler{SQS: func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				for _, r := range ev.Records {
					jobs <- r.Body
				}
				return events.SQSEventResponse{}, nil
			}}, nil
		},
		"Ticker": func(context.Context, Function) (Handler, error) {
			return Handler{Schedule: func(_ context.Context, ev events.EventBridgeEvent) error {
				ticks <- ev
				return nil
			}}, nil
		},
	}
}

// TestRun runs the template's functions: routes through the HTTP API, the
// queue through its poller, the schedule on request.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st := provision(t, nil)
	jobs, ticks := make(chan string, 10), make(chan events.EventBridgeEvent, 10)
	r, err := Run(ctx, st, handlers(jobs, ticks), RunOptions{SQS: emu.SQS})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); r.Wait() }()
	srv := httptest.NewServer(r)
	defer srv.Close()

	t.Run("routes", func(t *testing.T) {
		for _, tt := range []struct{ method, path, want string }{
			{http.MethodGet, "/hello/ada", "200 hello ada (GET /hello/{name})"},
			{http.MethodDelete, "/things/7", "200 hello 7 (ANY /things/{id})"},
			{http.MethodPost, "/hello/ada", `404 {"message":"Not Found"}`},
			{http.MethodGet, "/nowhere", `404 {"message":"Not Found"}`},
		} {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := strings.Fields(resp.Status)[0] + " " + string(b); got != tt.want {
				t.Errorf("%s %s = %s, want %s", tt.method, tt.path, got, tt.want)
			}
		}
	})

	t.Run("queue", func(t *testing.T) {
		if _, err := emu.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(st.Ref("Jobs")), MessageBody: aws.String("job-1")}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-jobs:
			if got != "job-1" {
				t.Errorf("worker got %q, want job-1", got)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the worker never got the message")
		}
	})

	t.Run("schedule", func(t *testing.T) {
		if got := r.Schedules(); !slices.Equal(got, []string{"Tick"}) {
			t.Errorf("Schedules() = %v, want [Tick]", got)
		}
		resp, err := http.Post(srv.URL+"/_local/schedules/Tick", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("POST /_local/schedules/Tick = %s, want 204", resp.Status)
		}
		select {
		case ev := <-ticks:
			if ev.DetailType != "Scheduled Event" || len(ev.Resources) != 1 || !strings.HasSuffix(ev.Resources[0], "schedule/Tick") {
				t.Errorf("event = %+v, want a scheduled event of Tick", ev)
			}
		default:
			t.Error("the ticker was not run")
		}
		resp, err = http.Post(srv.URL+"/_local/schedules/Nope", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST /_local/schedules/Nope = %s, want 404", resp.Status)
		}
	})
}

// TestRunRefuses: Run starts nothing when the handlers do not fit the
// template.
func TestRunRefuses(t *testing.T) {
	st := provision(t, nil)
	fits := func() map[string]NewHandler { return handlers(nil, nil) }
	tests := []struct {
		name     string
		handlers func() map[string]NewHandler
		opts     RunOptions
		want     string
	}{
		{"a function without a handler", func() map[string]NewHandler {
			h := fits()
			delete(h, "Ticker")
			return h
		}, RunOptions{SQS: emu.SQS}, "Ticker has no handler"},
		{"a handler for no function", func() map[string]NewHandler {
			h := fits()
			h["Gone"] = h["Ticker"]
			return h
		}, RunOptions{SQS: emu.SQS}, "Gone, which is not a function of the template"},
		{"a handler without what an event needs", func() map[string]NewHandler {
			h := fits()
			h["Worker"] = h["Ticker"]
			return h
		}, RunOptions{SQS: emu.SQS}, "Worker: the template sends it SQS events"},
		{"a build that fails", func() map[string]NewHandler {
			h := fits()
			h["Front"] = func(context.Context, Function) (Handler, error) { return Handler{}, errors.New("no config") }
			return h
		}, RunOptions{SQS: emu.SQS}, "Front: no config"},
		{"no SQS client", fits, RunOptions{}, "RunOptions.SQS is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(context.Background(), st, tt.handlers(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, %v; want an error with %q", r, err, tt.want)
			}
		})
	}
}
