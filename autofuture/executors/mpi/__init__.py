"""MPI: rank 0 drives the workflow, ranks 1..N-1 run tasks (see ``world``)."""
