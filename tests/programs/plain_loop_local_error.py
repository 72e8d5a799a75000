# autofuture
"""A local call that fails in a loop body run as written (it goes through the
runtime there): the traceback is the plain run's, from the user's line down."""


class Ledger:
    def __init__(self):
        self.rows = {}

    def add(self, key, amount):
        self.rows[key] = self.rows.get(key, 0) + amount
        return self.rows[key]


ledger = Ledger()
names = ["a", "b", "a", None]
for n in range(4):
    print("added", ledger.add(names[n], n * 2 if n < 3 else "x"), len(ledger.rows))
