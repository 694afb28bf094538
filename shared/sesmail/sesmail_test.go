package sesmail_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/ordersync/ordersync/shared/sesmail"
)

// TestRefusalNamesNoAddress runs the real SDK against an endpoint that
// refuses the email as SES does for an unverified identity (the error
// message quotes the address). The error, which is logged, keeps SES's
// error code and not the address. (Sending itself is tested end to end
// against aws-ses-v2-local in infra/localsystem.)
func TestRefusalNamesNoAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "MessageRejected")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"Email address is not verified. The following identities failed the check in region EU-WEST-1: jane.doe@example.com"}`))
	}))
	defer srv.Close()
	api := sesv2.NewFromConfig(aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *sesv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	err := sesmail.New(api, "ordersync@example.com").Send(context.Background(), "jane.doe@example.com", "subject", "text", "")
	if err == nil {
		t.Fatal("Send succeeded against a refusing endpoint")
	}
	if strings.Contains(err.Error(), "jane.doe") || !strings.Contains(err.Error(), "MessageRejected") {
		t.Errorf("error = %q, want SES's code and no address", err)
	}
}
