// Command refresh is the ordersync refresh worker Lambda function (see
// template.yaml): one connection per job of the refresh queue.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/app/refreshapp"
)

func main() {
	h, err := refreshapp.New(context.Background(), app.Options{})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
