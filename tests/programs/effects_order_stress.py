# autofuture
"""Many effects waiting on tasks, each followed at once by reads of what it mutates."""


def task(i):
    return i


def open_account(balance):
    return Account(balance)


class Account:
    def __init__(self, balance):
        self.balance = balance

    def deposit(self, amount):
        self.balance += amount


acct = open_account(0)
lst = []
seen = []
for i in range(30):
    acct.deposit(task(i))
    lst.append(task(i * i))
    seen.append(acct.balance)
    print(i, acct.balance, lst[-1], len(lst))
print(sum(seen), acct.balance, sum(lst))
