// Command api is the ordersync merchant API Lambda function (see template.yaml).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/app/apiapp"
)

func main() {
	h, err := apiapp.New(context.Background(), app.Options{})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
