"""Ways in: the command line, running a script, the start-up hook, the pytest plugin."""
