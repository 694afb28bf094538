package localstack

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Function is one template function with its environment resolved and its
// event sources listed.
type Function struct {
	LogicalID string
	Env       map[string]string
	// Timeout is the function's timeout: the deadline of each invocation.
	Timeout   time.Duration
	Routes    []Route
	Queues    []QueueSource
	Schedules []Schedule
}

// Route is an HttpApi event: a method and a path with {parameters}.
type Route struct {
	Method, Path string
}

// QueueSource is an SQS event source mapping.
type QueueSource struct {
	QueueURL            string
	BatchSize           int
	ReportBatchFailures bool
}

// Schedule is a Schedule or ScheduleV2 event.
type Schedule struct {
	Name       string
	Expression string
}

// Functions resolves every AWS::Serverless::Function of the stack's
// template, sorted by logical id.
func (s *Stack) Functions() ([]Function, error) {
	var out []Function
	for _, name := range s.Template.Names("AWS::Serverless::Function") {
		p := s.Template.Resources[name].Properties
		f := Function{LogicalID: name, Env: map[string]string{}, Timeout: 3 * time.Second}
		for _, t := range []any{s.Template.globalsTimeout, p["Timeout"]} {
			if secs, err := strconv.Atoi(s.Resolve(t)); err == nil {
				f.Timeout = time.Duration(secs) * time.Second
			}
		}
		for k, v := range s.Template.globalsEnv {
			f.Env[k] = s.Resolve(v)
		}
		for k, v := range asMap(asMap(p["Environment"])["Variables"]) {
			f.Env[k] = s.Resolve(v)
		}
		events := asMap(p["Events"])
		names := make([]string, 0, len(events))
		for n := range events {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, en := range names {
			ev := asMap(events[en])
			ep := asMap(ev["Properties"])
			switch ev["Type"] {
			case "HttpApi", "Api":
				f.Routes = append(f.Routes, Route{Method: fmt.Sprint(ep["Method"]), Path: fmt.Sprint(ep["Path"])})
			case "SQS":
				arn := s.Resolve(ep["Queue"])
				url := ""
				for _, q := range s.Template.Names("AWS::SQS::Queue") {
					if s.Attr(q, "Arn") == arn {
						url = s.Ref(q)
					}
				}
				if url == "" {
					return nil, fmt.Errorf("localstack: %s.%s: queue %q is not in the template", name, en, arn)
				}
				batch := 10
				if b, err := strconv.Atoi(s.Resolve(ep["BatchSize"])); err == nil {
					batch = b
				}
				report := false
				for _, t := range asSlice(ep["FunctionResponseTypes"]) {
					report = report || t == "ReportBatchItemFailures"
				}
				f.Queues = append(f.Queues, QueueSource{QueueURL: url, BatchSize: batch, ReportBatchFailures: report})
			case "Schedule", "ScheduleV2":
				f.Schedules = append(f.Schedules, Schedule{Name: en, Expression: s.Resolve(ep["Schedule"]) + s.Resolve(ep["ScheduleExpression"])})
			default:
				return nil, fmt.Errorf("localstack: %s.%s: event type %v is not supported locally", name, en, ev["Type"])
			}
		}
		out = append(out, f)
	}
	return out, nil
}
