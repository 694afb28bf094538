// Package templatecheck holds the tests that hold template.yaml to the
// code it deploys: every function built, every variable the code reads set,
// each function's IAM no more than what its code calls, queue timings,
// alarms that reach the operators' topic, and the stack's outputs. It has
// no code of its own; it reads the template with infra/localstack's loader.
package templatecheck
