# autofuture
# env: AF_E2E_GREETING=hello AF_E2E_NUMBER=7
"""Tasks see the workflow's environment and working directory as of their call."""
import os


def greet(name):
    return f"{os.environ['AF_E2E_GREETING']}, {name}"


def number():
    return int(os.environ["AF_E2E_NUMBER"])


def late():
    return os.environ.get("AF_E2E_LATE", "missing")


def where():
    return os.path.basename(os.getcwd())


print(os.environ["AF_E2E_GREETING"])
print(greet("world"), number() * 2)
print(late(), where())
os.environ["AF_E2E_LATE"] = "set later"
os.chdir("helpers")
print(late(), where())
