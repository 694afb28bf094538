// Command webhook is the ordersync webhook Lambda function (see template.yaml).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/app/webhookapp"
)

func main() {
	h, err := webhookapp.New(context.Background(), app.Options{})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
