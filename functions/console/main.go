// Command console is the ordersync merchant console's Lambda function (see
// template.yaml): the console's static page, embedded. It holds no secret
// and reads nothing: the page calls the merchant API itself.
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/console"
)

func main() {
	h, err := console.New()
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h.Handle)
}
