// Package localstack runs a SAM template (ordersync's template.yaml) on a
// developer's machine: Provision creates the template's tables and queues
// in the local emulators, and Run invokes the template's functions the way
// API Gateway, the SQS event source mapping and EventBridge would, each
// with the handler given under its logical id. The template stays the
// single source of truth: nothing here names a function, a table, a queue
// or a route of its own.
package localstack

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is the part of a SAM template the local stack understands.
type Template struct {
	Parameters     map[string]string // defaults, overridable
	Resources      map[string]Resource
	globalsEnv     map[string]any
	globalsTimeout any

	// Globals, Conditions and Outputs are the template's sections as they
	// are, for tests that check the template itself (infra/templatecheck);
	// the local stack does not use them.
	Globals    map[string]any
	Conditions map[string]any
	Outputs    map[string]any
}

// Resource is one template resource with CloudFormation intrinsics kept as
// {"Ref": x}, {"Fn::GetAtt": [r, a]} and {"Fn::Sub": s} maps.
type Resource struct {
	Type       string
	Properties map[string]any
	// Condition and Metadata are the resource's own, for template checks.
	Condition string
	Metadata  map[string]any
}

// LoadTemplate reads and decodes a SAM template.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("localstack: %s: %w", path, err)
	}
	doc, _ := decode(&root).(map[string]any)
	t := &Template{Parameters: map[string]string{}, Resources: map[string]Resource{}}
	for name, p := range asMap(doc["Parameters"]) {
		if d, ok := asMap(p)["Default"]; ok {
			t.Parameters[name] = fmt.Sprint(d)
		}
	}
	for name, r := range asMap(doc["Resources"]) {
		rm := asMap(r)
		cond, _ := rm["Condition"].(string)
		t.Resources[name] = Resource{Type: fmt.Sprint(rm["Type"]), Properties: asMap(rm["Properties"]),
			Condition: cond, Metadata: asMap(rm["Metadata"])}
	}
	t.Globals, t.Conditions, t.Outputs = asMap(doc["Globals"]), asMap(doc["Conditions"]), asMap(doc["Outputs"])
	globals := asMap(asMap(doc["Globals"])["Function"])
	t.globalsEnv = asMap(asMap(globals["Environment"])["Variables"])
	t.globalsTimeout = globals["Timeout"]
	return t, nil
}

// Names lists the logical ids of resources of type typ, sorted.
func (t *Template) Names(typ string) []string {
	var out []string
	for name, r := range t.Resources {
		if r.Type == typ {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// decode turns a YAML node into plain Go values, rewriting the short-form
// intrinsics (!Ref, !GetAtt, !Sub, and any other !Name as Fn::Name) into
// their long form.
func decode(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		return decode(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = decode(n.Content[i+1])
		}
		return tagged(n.Tag, m)
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, decode(c))
		}
		return tagged(n.Tag, s)
	case yaml.AliasNode:
		return decode(n.Alias)
	default:
		var v any = n.Value
		if n.Tag == "!!int" {
			if i, err := strconv.Atoi(n.Value); err == nil {
				v = i
			}
		}
		return tagged(n.Tag, v)
	}
}

func tagged(tag string, v any) any {
	switch tag {
	case "!Ref":
		return map[string]any{"Ref": v}
	case "!GetAtt":
		if s, ok := v.(string); ok {
			parts := strings.SplitN(s, ".", 2)
			return map[string]any{"Fn::GetAtt": []any{parts[0], parts[len(parts)-1]}}
		}
		return map[string]any{"Fn::GetAtt": v}
	case "!Sub":
		return map[string]any{"Fn::Sub": v}
	}
	// The other intrinsics (!If, !Equals, !Not, !Select, !Split, !Join, ...)
	// and condition references (!Condition) keep their name; YAML's own
	// tags start with "!!".
	if strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		if tag == "!Condition" {
			return map[string]any{"Condition": v}
		}
		return map[string]any{"Fn::" + tag[1:]: v}
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
