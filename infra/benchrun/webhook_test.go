package main

import (
	"fmt"
	"testing"
)

// BenchmarkWebhook runs the webhook section's handler, wired as there, for
// profiling (go test -bench Webhook -cpuprofile); the section's table is
// what measures it.
func BenchmarkWebhook(b *testing.B) {
	for _, size := range []int{1 << 10, 5 << 10, 50 << 10} {
		body, err := shopifyOrderOfSize(size)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			handle, err := newWebhookRun(body)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := handle(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
