// Command hellossm is testdata/hello with an SSM client too: what a
// function that reads its secrets through the SDK's SSM client starts with
// at the least (make bench's binaries section prints it beside the
// hello-world).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	mail := sesv2.NewFromConfig(cfg)
	params := ssm.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context) (string, error) {
		_, _, _, _ = db, q, mail, params
		return "hello", nil
	})
}
