package order

// SyncState is where an order stands with the sync, in the words the
// merchant lists orders by (GET /connections/{connection}/orders?state=).
// It is derived from the last SyncOutcome by SyncStateOf; the store indexes
// orders by it.
type SyncState string

// The sync states.
const (
	// StateSynced: the marketplace has what the store says.
	StateSynced SyncState = "synced"
	// StatePending: received, never tried yet (no sync result).
	StatePending SyncState = "pending"
	// StateRetrying: a transient failure the sync is retrying (SyncPending).
	StateRetrying SyncState = "retrying"
	// StateRequiresSync: a transient failure whose automatic tries ran out
	// (SyncFailed with a transient code): left for a manual re-sync.
	StateRequiresSync SyncState = "requires_sync"
	// StateHeld: waiting on the merchant (SyncHeld).
	StateHeld SyncState = "held"
	// StateFailed: a permanent failure (SyncFailed with any other code).
	StateFailed SyncState = "failed"
)

// SyncStates lists every sync state, in the order the API documents them.
func SyncStates() []SyncState {
	return []SyncState{StateSynced, StatePending, StateRetrying, StateRequiresSync, StateHeld, StateFailed}
}

// ParseSyncState returns the sync state named s, and false when s names
// none (case matters).
func ParseSyncState(s string) (SyncState, bool) {
	for _, st := range SyncStates() {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// SyncStateOf maps an order's last sync outcome to its sync state.
// transient reports whether an error code is one the sync retries by
// itself (the error catalogue's transient kind, shared/syncerr, which this
// package does not import); it is asked only about a failed outcome. A
// result this package does not know is taken for failed, so that it is
// shown to the merchant rather than hidden.
//
//	Result        code        state
//	synced        -           synced
//	(none)        -           pending
//	pending       any         retrying
//	held          any         held
//	failed        transient   requires_sync
//	failed        other       failed
func SyncStateOf(s SyncOutcome, transient func(code string) bool) SyncState {
	switch s.Result {
	case SyncSynced:
		return StateSynced
	case "":
		return StatePending
	case SyncPending:
		return StateRetrying
	case SyncHeld:
		return StateHeld
	case SyncFailed:
		if transient != nil && transient(s.ErrorCode) {
			return StateRequiresSync
		}
	}
	return StateFailed
}
