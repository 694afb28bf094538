// Command jobs is the ordersync job worker Lambda function (see
// template.yaml): it expands the merchant's bulk re-sync jobs, one per
// message of the job queue.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/app/jobsapp"
)

func main() {
	h, err := jobsapp.New(context.Background(), app.Options{})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
