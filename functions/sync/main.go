// Command sync is the ordersync sync Lambda function (see template.yaml).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/app/syncapp"
)

func main() {
	h, err := syncapp.New(context.Background(), app.Options{})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
