package app

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestEnvConfig(t *testing.T) {
	lambda := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
		"AWS_SESSION_TOKEN": "tok"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range lambda {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name                string
		env                 map[string]string
		region              string
		creds               aws.Credentials // AccessKeyID "" for none
		ddb, sqsURL, sesURL string          // each client's BaseEndpoint, "" for none
		attempts            int
		mode                aws.RetryMode
		wantErr             string
	}{
		{name: "as on Lambda", env: lambda, region: "eu-west-1",
			creds: aws.Credentials{AccessKeyID: "AKIA1", SecretAccessKey: "s3cr3t", SessionToken: "tok", Source: "EnvConfigCredentials"}},
		{name: "default region and old key names", env: map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY": "AKIA2", "AWS_SECRET_KEY": "k"},
			region: "us-east-2", creds: aws.Credentials{AccessKeyID: "AKIA2", SecretAccessKey: "k", Source: "EnvConfigCredentials"}},
		{name: "the local stack's endpoints", env: with(map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
			"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324", "AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:8005"}),
			region: "eu-west-1", creds: aws.Credentials{AccessKeyID: "AKIA1", SecretAccessKey: "s3cr3t", SessionToken: "tok", Source: "EnvConfigCredentials"},
			ddb: "http://127.0.0.1:8000", sqsURL: "http://127.0.0.1:9324", sesURL: "http://127.0.0.1:8005"},
		{name: "one endpoint for all", env: with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}),
			region: "eu-west-1", creds: aws.Credentials{AccessKeyID: "AKIA1", SecretAccessKey: "s3cr3t", SessionToken: "tok", Source: "EnvConfigCredentials"},
			ddb: "http://127.0.0.1:4566", sqsURL: "http://127.0.0.1:4566", sesURL: "http://127.0.0.1:4566"},
		{name: "retries", env: with(map[string]string{"AWS_MAX_ATTEMPTS": "5", "AWS_RETRY_MODE": "adaptive"}), region: "eu-west-1",
			creds:    aws.Credentials{AccessKeyID: "AKIA1", SecretAccessKey: "s3cr3t", SessionToken: "tok", Source: "EnvConfigCredentials"},
			attempts: 5, mode: aws.RetryModeAdaptive},
		{name: "no credentials", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA1"}, region: "eu-west-1"},
		{name: "bad attempts", env: with(map[string]string{"AWS_MAX_ATTEMPTS": "many"}), wantErr: "AWS_MAX_ATTEMPTS"},
		{name: "bad retry mode", env: with(map[string]string{"AWS_RETRY_MODE": "often"}), wantErr: "AWS_RETRY_MODE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := envConfig(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("envConfig: %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tc.region {
				t.Errorf("region %q, want %q", cfg.Region, tc.region)
			}
			got, err := cfg.Credentials.Retrieve(context.Background())
			if tc.creds.AccessKeyID == "" {
				if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
					t.Errorf("credentials %+v, %v; want an error naming the variables", got, err)
				}
			} else if err != nil || got.AccessKeyID != tc.creds.AccessKeyID || got.SecretAccessKey != tc.creds.SecretAccessKey ||
				got.SessionToken != tc.creds.SessionToken || got.Source != tc.creds.Source {
				t.Errorf("credentials %+v, %v; want %+v", got, err, tc.creds)
			}
			if cfg.RetryMaxAttempts != tc.attempts || cfg.RetryMode != tc.mode {
				t.Errorf("retries %d %q, want %d %q", cfg.RetryMaxAttempts, cfg.RetryMode, tc.attempts, tc.mode)
			}
			endpoint := func(p *string) string { return aws.ToString(p) }
			if got := endpoint(dynamodb.NewFromConfig(cfg).Options().BaseEndpoint); got != tc.ddb {
				t.Errorf("DynamoDB endpoint %q, want %q", got, tc.ddb)
			}
			if got := endpoint(sqs.NewFromConfig(cfg).Options().BaseEndpoint); got != tc.sqsURL {
				t.Errorf("SQS endpoint %q, want %q", got, tc.sqsURL)
			}
			if got := endpoint(sesv2.NewFromConfig(cfg).Options().BaseEndpoint); got != tc.sesURL {
				t.Errorf("SES v2 endpoint %q, want %q", got, tc.sesURL)
			}
		})
	}
}
