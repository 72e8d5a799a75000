# autofuture
"""Dict and set comprehensions over task results."""


def length(word: str) -> int:
    return len(word)


def initial(word: str) -> str:
    return word[0]


words = ["apple", "avocado", "banana", "blueberry", "cherry", "kiwi"]
lengths = {w: length(w) for w in words}
print("lengths", lengths)
initials = {initial(w) for w in words}
print("initials", sorted(initials))
by_initial = {c: [w for w in words if w.startswith(c)] for c in sorted(initials)}
print("grouped", by_initial)
longest = max(lengths.values())
print("longest", [w for w in words if lengths[w] == longest])
