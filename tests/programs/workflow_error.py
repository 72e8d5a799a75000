# autofuture
"""A task error inside nested @workflow functions: the traceback runs through every frame."""
import autofuture


def load(i):
    if i == 2:
        raise LookupError(f"no record {i}")
    return {"id": i}


@autofuture.workflow
def collect(n):
    records = []
    for i in range(n):
        rec = load(i)
        records.append(rec)
        print("loaded", i)
    return records


@autofuture.workflow
def main():
    print("main start")
    recs = collect(4)
    print("main end", recs)


if __name__ == "__main__":
    main()
