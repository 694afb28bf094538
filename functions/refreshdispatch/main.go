// Command refreshdispatch is the ordersync refresh dispatcher Lambda
// function (see template.yaml).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/app/dispatchapp"
)

func main() {
	h, err := dispatchapp.New(context.Background(), app.Options{})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
