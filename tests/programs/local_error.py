# autofuture
"""An error in a local (@autofuture.local) call on a task result, with tasks pending."""
import autofuture


def word(i):
    return ["12", "x7", "3"][i]


@autofuture.local
def parse(s):
    return int(s)


for i in range(3):
    w = word(i)
    print("word", w)
    print("parsed", parse(w))
print("unreachable")
