"""The system harness: real app servers on loopback and `make bench`. Never shipped in the app."""
