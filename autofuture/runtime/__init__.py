"""Run time: what rewritten code calls, the program-order log, futures, payloads."""
