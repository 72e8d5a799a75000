# autofuture
"""A marked program with nothing to do: no output, exit status 0."""
