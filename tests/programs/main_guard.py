# autofuture
"""The `if __name__ == "__main__":` guard, with __name__, __file__ and __doc__ as in plain runs."""
import os


def work(x):
    return x + 1


print("module level", __name__, os.path.basename(__file__))
print(__doc__.splitlines()[0])
if __name__ == "__main__":
    results = [work(i) for i in range(3)]
    print("main block", results)
else:
    print("imported, not run")
