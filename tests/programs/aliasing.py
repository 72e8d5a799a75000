# autofuture
"""Aliased containers and objects: every alias sees mutations in program order, and reads
taken before a mutation keep the value they had."""


def task(i):
    return i


def open_account(balance):
    return Account(balance)


class Account:
    def __init__(self, balance):
        self.balance = balance

    def deposit(self, amount):
        self.balance += amount


shared = []
view = {"items": shared, "also": shared}
shared.append(task(1))
print(view)
shared.append(task(2))
print(view["also"], len(view["items"]))
alias = shared
alias.append(task(3))
print(shared)
snapshot = list(shared)
first = shared[0]
size = len(shared)
shared.append(task(4))
shared[0] = task(100)
print(snapshot, shared, first, size)
print(view["items"] is shared, alias is shared)
acct = open_account(10)
before = acct.balance
acct.deposit(5)
after = acct.balance
acct.deposit(task(20))
print(before, after, acct.balance)
