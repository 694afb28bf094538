package emf

import (
	"encoding/json"
	"fmt"
)

// Read reads a JSON log line as CloudWatch reads an EMF document: the
// metrics its _aws directive declares, with their values from the line,
// and for each the dimension values of the directive's dimension sets
// (name=value, comma-separated, one string a set). A line that is no EMF
// document has no metrics; one whose directive names a field the line
// lacks, or holds no number for a metric, is an error, as CloudWatch
// rejects it.
func Read(line []byte) (map[string]Reading, error) {
	var l map[string]any
	if err := json.Unmarshal(line, &l); err != nil {
		return nil, fmt.Errorf("emf: not JSON: %w", err)
	}
	raw, ok := l["_aws"]
	if !ok {
		return nil, nil
	}
	b, _ := json.Marshal(raw)
	var doc struct {
		Timestamp         *int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Timestamp == nil || len(doc.CloudWatchMetrics) == 0 {
		return nil, fmt.Errorf("emf: directive %s: want a timestamp and metrics (%v)", b, err)
	}
	out := map[string]Reading{}
	for _, d := range doc.CloudWatchMetrics {
		var sets []string
		for _, set := range d.Dimensions {
			s := ""
			for i, name := range set {
				v, ok := l[name].(string)
				if !ok {
					return nil, fmt.Errorf("emf: dimension %s: %v on the line, want a string", name, l[name])
				}
				if i > 0 {
					s += ","
				}
				s += name + "=" + v
			}
			sets = append(sets, s)
		}
		for _, m := range d.Metrics {
			v, ok := l[m.Name].(float64)
			if !ok {
				return nil, fmt.Errorf("emf: metric %s: %v on the line, want a number", m.Name, l[m.Name])
			}
			out[m.Name] = Reading{Namespace: d.Namespace, Value: v, Unit: m.Unit, Dimensions: sets}
		}
	}
	return out, nil
}

// Reading is one metric of a document, as CloudWatch records it.
type Reading struct {
	Namespace  string
	Value      float64
	Unit       string
	Dimensions []string // one per dimension set: "service=sync,error_code=auth_expired"
}
