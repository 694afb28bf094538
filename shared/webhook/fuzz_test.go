package webhook_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/webhook/webhooktest"
)

func FuzzParseStandard(f *testing.F) {
	webhooktest.SeedFiles(f, "standard_order_*.json", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := webhook.ParseStandard("msg", body)
		webhooktest.CheckParsed(t, e, err, order.Standard)
	})
}

func FuzzVerifyStandard(f *testing.F) {
	for _, v := range loadStandardVectors(f) {
		f.Add(v.Headers["webhook-id"], v.Headers["webhook-timestamp"], v.Headers["webhook-signature"], []byte(v.Payload), v.Secret, v.VerifyAt)
	}
	webhooktest.SeedFiles(f, "standard_order_*.json", func(b []byte) {
		f.Add("msg_1", "1561479335", "", b, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", int64(1561479335))
	})
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, secret string, at int64) {
		now := time.Unix(at, 0)
		err := webhook.VerifyStandard(body, webhook.StandardHeaders{ID: id, Timestamp: ts, Signature: sig}, []string{secret}, now, 0)
		if err != nil && !webhook.IsSignatureError(err) {
			t.Fatalf("error %v is not a signature error", err)
		}
		if err == nil {
			n, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil {
				t.Fatalf("verified with a timestamp that is not an integer: %q", ts)
			}
			if own := webhook.SignStandard(id, n, body, secret); own == "" || !strings.Contains(sig, own) {
				t.Fatalf("verified %q, which does not hold %q", sig, own)
			}
		}
		if id != "" && webhook.SignStandard(id, at, body, secret) != "" {
			own := webhook.SignStandard(id, at, body, secret)
			h := webhook.StandardHeaders{ID: id, Timestamp: strconv.FormatInt(at, 10), Signature: "v1,bad " + own}
			if err := webhook.VerifyStandard(body, h, []string{secret}, now, 0); err != nil {
				t.Fatalf("own signature refused: %v", err)
			}
		}
	})
}
