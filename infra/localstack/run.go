package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Handler is a function's code: the handler of each kind of event the
// function's template entry sends it. A function has the field of each
// kind its events are of, and no other.
type Handler struct {
	HTTP     HTTPHandler     // HttpApi events
	SQS      SQSHandler      // SQS event sources
	Schedule ScheduleHandler // Schedule and ScheduleV2 events
}

// NewHandler builds a function's handler from its template entry (its
// resolved environment, its timeout), as the function's cold start would.
type NewHandler func(ctx context.Context, f Function) (Handler, error)

// RunOptions are what Run runs the functions with.
type RunOptions struct {
	// SQS is the client the event source pollers receive and delete with.
	SQS SQSAPI
	// Log receives the runner's own lines (a failed invocation, a poll
	// that failed); nil discards them.
	Log *slog.Logger
}

// Runner is a stack's functions running the way AWS invokes them. Its
// ServeHTTP is the stack's HTTP API.
type Runner struct {
	api       http.Handler
	schedules map[string]scheduled
	log       *slog.Logger
	wg        sync.WaitGroup
}

// scheduled is one schedule with the handler it runs.
type scheduled struct {
	Schedule
	handler ScheduleHandler
}

// Run builds every function of st's template with the NewHandler that
// handlers holds under the function's logical id, then runs them until
// ctx ends: a poller per SQS event source (see Poller), a timer per
// schedule, and the HTTP API's routes, which the Runner serves as an
// http.Handler, with POST /_local/schedules/{name} to run a schedule now.
// It starts nothing and returns an error when a template function has no
// NewHandler, handlers holds one the template has no function for, or a
// handler lacks what one of its function's events needs (or handles a
// kind of event the function has none of).
func Run(ctx context.Context, st *Stack, handlers map[string]NewHandler, o RunOptions) (*Runner, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	fns, err := st.Functions()
	if err != nil {
		return nil, err
	}
	r := &Runner{schedules: map[string]scheduled{}, log: o.Log}
	var routes []APIRoute
	var pollers []*Poller
	seen := map[string]bool{}
	for _, f := range fns {
		seen[f.LogicalID] = true
		newHandler, ok := handlers[f.LogicalID]
		if !ok {
			return nil, fmt.Errorf("localstack: template function %s has no handler", f.LogicalID)
		}
		h, err := newHandler(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("localstack: %s: %w", f.LogicalID, err)
		}
		if err := h.check(f); err != nil {
			return nil, fmt.Errorf("localstack: %s: %w", f.LogicalID, err)
		}
		for _, rt := range f.Routes {
			routes = append(routes, APIRoute{Route: rt, Timeout: f.Timeout, Handler: h.HTTP})
		}
		for _, q := range f.Queues {
			pollers = append(pollers, &Poller{SQS: o.SQS, Source: q, Timeout: f.Timeout, Handler: h.SQS, Log: o.Log.With("function", f.LogicalID)})
		}
		for _, sc := range f.Schedules {
			if _, dup := r.schedules[sc.Name]; dup {
				return nil, fmt.Errorf("localstack: %s: a schedule called %s is in the template twice", f.LogicalID, sc.Name)
			}
			r.schedules[sc.Name] = scheduled{Schedule: sc, handler: h.Schedule}
		}
	}
	for id := range handlers {
		if !seen[id] {
			return nil, fmt.Errorf("localstack: a handler is given for %s, which is not a function of the template", id)
		}
	}
	if len(pollers) > 0 && o.SQS == nil {
		return nil, errors.New("localstack: the template has SQS event sources but RunOptions.SQS is nil")
	}

	mux := http.NewServeMux()
	mux.Handle("/", NewAPI(routes, o.Log))
	mux.HandleFunc("POST /_local/schedules/{name}", r.fireSchedule)
	r.api = mux
	for _, p := range pollers {
		r.wg.Go(func() { p.Run(ctx) })
	}
	for _, sc := range r.schedules {
		r.wg.Go(func() { r.runSchedule(ctx, sc) })
	}
	return r, nil
}

// check reports whether h handles every kind of event of f, and only
// those.
func (h Handler) check(f Function) error {
	for _, k := range []struct {
		kind    string
		events  int
		handled bool
	}{
		{"HttpApi", len(f.Routes), h.HTTP != nil},
		{"SQS", len(f.Queues), h.SQS != nil},
		{"schedule", len(f.Schedules), h.Schedule != nil},
	} {
		switch {
		case k.events > 0 && !k.handled:
			return fmt.Errorf("the template sends it %s events, and its handler has none for them", k.kind)
		case k.events == 0 && k.handled:
			return fmt.Errorf("its handler handles %s events, and the template sends it none", k.kind)
		}
	}
	return nil
}

// ServeHTTP serves the stack's HTTP API, as API Gateway would (see
// NewAPI), and POST /_local/schedules/{name}, which runs a schedule now.
func (r *Runner) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.api.ServeHTTP(w, req) }

// Schedules lists the names of the template's schedules (its Schedule and
// ScheduleV2 events), sorted.
func (r *Runner) Schedules() []string {
	out := make([]string, 0, len(r.schedules))
	for name := range r.schedules {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Wait returns once every poller and schedule has stopped, after the
// context given to Run ended.
func (r *Runner) Wait() { r.wg.Wait() }

func (r *Runner) runSchedule(ctx context.Context, sc scheduled) {
	for {
		next, err := NextRun(sc.Expression, time.Now())
		if err != nil {
			r.log.Error("schedule not run locally", "schedule", sc.Name, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
			if err := sc.handler(ctx, ScheduledEvent(scheduleARN(sc.Name), next)); err != nil {
				r.log.Error("scheduled run failed", "schedule", sc.Name, "err", err)
			}
		}
	}
}

// fireSchedule runs a schedule now: POST /_local/schedules/{name}.
func (r *Runner) fireSchedule(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	sc, ok := r.schedules[name]
	if !ok {
		http.Error(w, `{"error":"no such schedule"}`, http.StatusNotFound)
		return
	}
	if err := sc.handler(req.Context(), ScheduledEvent(scheduleARN(name), time.Now())); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func scheduleARN(name string) string { return "arn:aws:scheduler:local:000000000000:schedule/" + name }
