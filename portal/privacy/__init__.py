"""Privacy requests and their state machine, deadlines, erasure (plan, steps, verification), receipts, objections, copies."""
