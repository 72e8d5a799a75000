"""Executors: thin adapters from the scheduler to whatever runs the tasks."""
