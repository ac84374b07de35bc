"""Access events (ingest and the employee's view of them) and the tamper-evident log over them: Merkle tree, signed checkpoints, proofs."""
