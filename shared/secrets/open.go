package secrets

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ReadWriter reads the secrets connections name and stores the ones the
// merchant API makes: Parameters on AWS, File locally.
type ReadWriter interface {
	Secret(ctx context.Context, name string) (string, error)
	PutParameter(ctx context.Context, name, value string) error
}

var (
	_ ReadWriter = (*Parameters)(nil)
	_ ReadWriter = (*File)(nil)
)

// Open returns the secrets of the JSON file at file when it is set (read
// on every call, so that a secret the merchant API writes is seen by every
// local function at once; an unreadable file is an error now), or else
// the SSM parameters under prefix, read with an SSM client built from cfg
// (NewSSM).
func Open(cfg aws.Config, file, prefix string) (ReadWriter, error) {
	if file != "" {
		if _, err := LoadFile(file); err != nil {
			return nil, err
		}
		return NewFile(file), nil
	}
	return NewParameters(NewSSM(cfg), prefix), nil
}
