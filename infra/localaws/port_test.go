package localaws

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// heldPort is a loopback port another program already serves HTTP on, the
// way aws-ses-v2-local answers a DynamoDB call: 500 with an HTML page. A CI
// run once had DynamoDB Local given such a port: Java could not bind it and
// exited, but the port answered, so Start reported DynamoDB ready and every
// CreateTable got the other program's 500.
func heldPort(t *testing.T) int {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("<!DOCTYPE html><title>Error</title>"))
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// TestAPortPickedThatAnotherProgramHoldsIsGivenUp: the emulator is started
// again on another port, and the endpoint Start returns is its own.
func TestAPortPickedThatAnotherProgramHoldsIsGivenUp(t *testing.T) {
	held := heldPort(t)
	picks := 0
	defer func(f func(int) ([]int, error)) { pickPorts = f }(pickPorts)
	free := pickPorts
	pickPorts = func(n int) ([]int, error) {
		picks++
		ports, err := free(n)
		if picks == 1 && err == nil {
			ports[0] = held // DynamoDB's
		}
		return ports, err
	}
	ctx := context.Background()
	st, err := Start(ctx, Options{Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	if strings.HasSuffix(st.DynamoDB, portSuffix(held)) {
		t.Fatalf("DynamoDB endpoint %s is the port another program holds", st.DynamoDB)
	}
	c, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("dynamodb: %v", err)
	}
}

// TestAPortAskedForThatAnotherProgramHoldsFailsStart: a port the caller
// chose is not swapped for another; Start says who holds it.
func TestAPortAskedForThatAnotherProgramHoldsFailsStart(t *testing.T) {
	held := heldPort(t)
	st, err := Start(context.Background(), Options{DynamoDBPort: held, Log: testWriter{t}})
	if err == nil {
		st.Stop()
		t.Fatalf("Start succeeded with DynamoDB on port %d, which another program holds", held)
	}
	if !strings.Contains(err.Error(), portSuffix(held)) {
		t.Errorf("error %q does not name port %d", err, held)
	}
}

func portSuffix(p int) string { return ":" + strconv.Itoa(p) }
