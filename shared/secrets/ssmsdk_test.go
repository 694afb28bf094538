package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/ordersync/ordersync/shared/secrets"
)

// recorder is fakeSSM, recording each request's target and JSON body.
type recorder struct {
	f    *fakeSSM
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	target, contentType string
	body                map[string]any
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Header.Get("X-Amz-Target"), req.Header.Get("Content-Type"), body})
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(b))
	r.f.ServeHTTP(w, req)
}

// TestSSMAsTheSDK holds the hand-written client to the SDK's SSM client
// (which it replaced): the same requests for the same calls, the same
// values and error codes from the same answers.
func TestSSMAsTheSDK(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{f: &fakeSSM{params: map[string]string{"/ordersync/a": "s3cr3t"}}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cfg := testConfig(srv.URL, "test")
	ours := secrets.NewSSM(cfg)
	sdk := ssm.NewFromConfig(cfg)

	// Reads: a value, and a name SSM lacks.
	for _, name := range []string{"/ordersync/a", "/ordersync/none"} {
		v, err := ours.GetParameter(ctx, name, true)
		out, sdkErr := sdk.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		var sdkValue string
		if sdkErr == nil {
			sdkValue = aws.ToString(out.Parameter.Value)
		}
		if v != sdkValue {
			t.Errorf("GetParameter(%s) = %q, the SDK's %q", name, v, sdkValue)
		}
		var se *secrets.SSMError
		var ae smithy.APIError
		switch {
		case (err == nil) != (sdkErr == nil):
			t.Errorf("GetParameter(%s): %v, the SDK's %v", name, err, sdkErr)
		case err != nil && (!errors.As(err, &se) || !errors.As(sdkErr, &ae) || se.Code != ae.ErrorCode()):
			t.Errorf("GetParameter(%s): %v, the SDK's %v: not the same code", name, err, sdkErr)
		}
	}
	// A write.
	if err := ours.PutParameter(ctx, "/ordersync/b", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/ordersync/b"), Value: aws.String("v1"),
		Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != 6 {
		t.Fatalf("%d requests, want 6", len(rec.reqs))
	}
	for i := 0; i < len(rec.reqs); i += 2 {
		if got, want := rec.reqs[i], rec.reqs[i+1]; !reflect.DeepEqual(got, want) {
			t.Errorf("request %d: ours %+v, the SDK's %+v", i/2, got, want)
		}
	}
}
