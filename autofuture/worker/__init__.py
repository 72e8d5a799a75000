"""What runs on a worker: a message of tasks, their serialization, the process context."""
