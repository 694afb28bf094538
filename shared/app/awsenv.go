package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// envConfig returns the AWS config a function runs with, read from the
// process environment as Lambda sets it: what config.LoadDefaultConfig
// resolves there, without linking it. LoadDefaultConfig links every
// credential source it could fall back on (shared config files, SSO, STS
// assume-role and web identity, IMDS, container and process credentials):
// 1.6 MB of each arm64 binary and most of its package init (issue 14,
// make bench's binaries section), none of which a function uses, since
// Lambda gives the execution role's credentials in the environment.
//
// It reads AWS_REGION (or AWS_DEFAULT_REGION); AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_ACCOUNT_ID (or the
// older AWS_ACCESS_KEY and AWS_SECRET_KEY); AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> (the local stack's emulators);
// AWS_MAX_ATTEMPTS and AWS_RETRY_MODE. Without credentials, every call
// fails with an error that says so (LoadDefaultConfig's chain would fail
// on Lambda too). getenv is os.Getenv but in tests.
func envConfig(getenv func(string) string) (aws.Config, error) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	cfg := aws.Config{
		Region:     first("AWS_REGION", "AWS_DEFAULT_REGION"),
		HTTPClient: awshttp.NewBuildableClient(),
		// The clients read AWS_ENDPOINT_URL_<SERVICE> through this.
		ConfigSources: []any{endpointEnv(getenv)},
	}
	id, secret := first("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"), first("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	if id != "" && secret != "" {
		creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"),
			AccountID: getenv("AWS_ACCOUNT_ID"), Source: "EnvConfigCredentials"}
		cfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}))
	} else {
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("app: no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
		})
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return aws.Config{}, fmt.Errorf("app: AWS_MAX_ATTEMPTS=%q is not a number of attempts", v)
		}
		cfg.RetryMaxAttempts = n
	}
	if v := getenv("AWS_RETRY_MODE"); v != "" {
		m, err := aws.ParseRetryMode(v)
		if err != nil {
			return aws.Config{}, fmt.Errorf("app: AWS_RETRY_MODE: %w", err)
		}
		cfg.RetryMode = m
	}
	return cfg, nil
}

// endpointEnv is the config source the SDK's clients ask for a
// service's endpoint (as config.EnvConfig answers it).
type endpointEnv func(string) string

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<sdkID>, the service's
// SDK ID upper-cased with its spaces as underscores (DYNAMODB, SQS,
// SESV2).
func (e endpointEnv) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := e("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}
