# autofuture
"""String and bytes results: len(), slicing, methods, operators, joins."""


def word(i):
    return ["alpha", "beta", "gamma"][i]


def blob(n):
    return bytes(range(65, 65 + n))


def join_words(ws):
    return "-".join(ws)


w = word(1)
print(w, len(w), w.upper(), w[1:3], w * 2, w + "!")
b = blob(5)
print(b, len(b), b.decode("ascii"), b[0], b[-2:], b.hex())
words = [word(i) for i in range(3)]
print(join_words(words), len(join_words(words)))
print(" ".join(words))
print(w.startswith("be"), "et" in w, w.count("a"), w.split("t"))
print(b + b"|" + blob(2))
encoded = w.encode("utf-8")
print(encoded, type(encoded).__name__)
print(f"{w:*^11}")
print(sorted(words, key=len), max(words, key=len))
print(repr(w), ascii("é" + w))


def greeting():
    return "héllo wörld ✓ 日本"


print(greeting(), len(greeting()), greeting().encode("utf-8"))
