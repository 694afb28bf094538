// Package templatecheck holds template.yaml to the code it deploys. Its
// tests check every function's build, the variables the code reads, each
// function's IAM against what its code calls, queue timings, alarms and
// outputs. Grants reads a function's IAM from the template, and Recorder
// records the DynamoDB calls each function makes on the local stack, so
// that infra/localsystem's end-to-end tests can check that the template
// grants every call the code really makes (Check).
package templatecheck
