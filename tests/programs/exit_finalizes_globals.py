# autofuture
# At exit, the script's globals go as plain Python lets __main__'s go: after the
# atexit handlers (which still see them), an object's __del__ runs and prints, and
# a file left open is flushed (its contents are read back by the next process in
# tests/test_cli.py; here, a finalizer's line shows it).
import atexit


def double(x):
    return 2 * x


class Noisy:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        print("finalized", self.name)


keep = Noisy("keep")
value = double(21)
atexit.register(lambda: print("atexit sees", keep.name, value))
print("value", value)
