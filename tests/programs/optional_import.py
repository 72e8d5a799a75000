# autofuture
"""`try: import ujson as json / except ImportError: import json`, then json on futures."""
try:
    import ujson as json
except ImportError:
    import json


def record(i):
    return {"id": i, "sq": i * i}


def roundtrip(text):
    return json.loads(text)


recs = [record(i) for i in range(3)]
print(json.dumps(recs))
print(json.dumps(record(5), sort_keys=True))
print(roundtrip(json.dumps(recs)))
