package templatecheck

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/infra/localstack"
)

// Grant is one action allowed on one resource, for items whose partition
// key is like Key (a dynamodb:LeadingKeys pattern; "" for any item).
// Resources are written as Render writes them, e.g. ${Table.Arn}.
type Grant struct{ Action, Resource, Key string }

func (g Grant) String() string {
	s := g.Action + " " + g.Resource
	if g.Key != "" {
		s += " pk=" + g.Key
	}
	return s
}

// SAMPolicies are the actions of the SAM policy templates the template may
// use. The others (DynamoDBCrudPolicy, SSMParameterReadPolicy, ...) grant
// more than a function calls, and Grants refuses them.
var SAMPolicies = map[string][]string{
	"SQSSendMessagePolicy": {"sqs:SendMessage*"},
	"SQSPollerPolicy": {"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage",
		"sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
}

// Grants expands the Policies of the template's function fn into grants.
// It returns an error for what it cannot read: a policy template other
// than SAMPolicies', a Deny, a condition other than dynamodb:LeadingKeys.
func Grants(tpl *localstack.Template, fn string) ([]Grant, error) {
	var out []Grant
	for _, p := range asList(tpl.Resources[fn].Properties["Policies"]) {
		for name, v := range asMap(p) {
			if name == "Statement" {
				gs, err := statements(v)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", fn, err)
				}
				out = append(out, gs...)
				continue
			}
			actions, ok := SAMPolicies[name]
			if !ok {
				return nil, fmt.Errorf("%s: policy template %s grants more than the function calls; write its statement", fn, name)
			}
			q := strings.TrimSuffix(strings.TrimPrefix(Render(asMap(v)["QueueName"]), "${"), ".QueueName}")
			for _, a := range actions {
				out = append(out, Grant{a, "${" + q + ".Arn}", ""})
			}
		}
	}
	return out, nil
}

func statements(v any) ([]Grant, error) {
	var out []Grant
	for _, st := range asList(v) {
		s := asMap(st)
		if Render(s["Effect"]) != "Allow" {
			return nil, fmt.Errorf("statement %v: only Allow statements are read", s)
		}
		keys := []string{""}
		if c := asMap(s["Condition"]); c != nil {
			lk := asMap(c["ForAllValues:StringLike"])["dynamodb:LeadingKeys"]
			if len(c) != 1 || lk == nil {
				return nil, fmt.Errorf("condition %v: want ForAllValues:StringLike on dynamodb:LeadingKeys", c)
			}
			keys = nil
			for _, k := range asList(lk) {
				keys = append(keys, Render(k))
			}
		}
		for _, a := range asList(s["Action"]) {
			for _, r := range asList(s["Resource"]) {
				for _, k := range keys {
					out = append(out, Grant{Render(a), Render(r), k})
				}
			}
		}
	}
	return out, nil
}

// Render writes an intrinsic as the string CloudFormation would substitute
// into: {"Ref": X} as ${X}, {"Fn::GetAtt": [X, A]} as ${X.A}, a Sub's
// string as it is (its variables kept as ${name}).
func Render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case map[string]any:
		if r, ok := x["Ref"]; ok {
			return "${" + Render(r) + "}"
		}
		if g, ok := x["Fn::GetAtt"]; ok {
			if l := asList(g); len(l) == 2 {
				return "${" + Render(l[0]) + "." + Render(l[1]) + "}"
			}
		}
		if s, ok := x["Fn::Sub"]; ok {
			if l, ok := s.([]any); ok && len(l) == 2 {
				return Render(l[0])
			}
			return Render(s)
		}
	}
	return fmt.Sprint(v)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
