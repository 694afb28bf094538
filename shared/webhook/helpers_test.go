package webhook_test

import (
	"errors"
	"strings"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
