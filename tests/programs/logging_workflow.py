# autofuture
"""logging from the workflow, interleaved on stderr with what tasks write there."""
import logging
import sys

logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
log = logging.getLogger("wf")


def work(i):
    print(f"task {i} to stderr", file=sys.stderr)
    return i * i


for i in range(3):
    r = work(i)
    log.info("result %d is %s", i, r)
log.warning("all done: %s", [work(i) for i in range(2)])
print("stdout end")
