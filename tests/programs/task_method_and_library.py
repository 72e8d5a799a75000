# autofuture
"""@autofuture.task on a method of a class, and autofuture.task(...) on library functions."""
import math

import autofuture


class Model:
    def __init__(self, w):
        self.w = w

    @autofuture.task
    def predict(self, x):
        return self.w * x

    def describe(self):
        return f"Model(w={self.w})"


fact = autofuture.task(math.factorial)
gcd = autofuture.task(math.gcd)
m = Model(3)
preds = [m.predict(i) for i in range(4)]
print(preds)
print(m.describe())
facts = [fact(i) for i in range(8)]
print(facts)
print(gcd(fact(6), fact(4) * 7))
print(sum(facts), m.predict(fact(3)))
