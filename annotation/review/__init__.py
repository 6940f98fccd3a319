"""The review queue (issue 12): which comparisons need a second look, reviewers' leases and verdicts, and
what the verdicts do to the labels that consensus, exports and snapshots use."""
