// Command hello is the hello-world that make bench's binaries section
// compares each function with: aws-lambda-go, the SDK's default config and
// the three clients every ordersync function could need (DynamoDB, SQS,
// SES v2), built exactly as the Makefile builds a function. It lives in
// testdata so that it is no package of ordersync's.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	mail := sesv2.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context) (string, error) {
		_, _, _ = db, q, mail
		return "hello", nil
	})
}
