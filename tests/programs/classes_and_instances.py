# autofuture
"""Instances of a program's class returned by tasks, mutated by methods, passed on."""


class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance

    def deposit(self, amount):
        self.balance += amount
        return self

    def __eq__(self, other):
        return (self.owner, self.balance) == (other.owner, other.balance)

    def __repr__(self):
        return f"Account({self.owner!r}, {self.balance})"


def open_account(owner, initial):
    return Account(owner, initial)


def interest(acct, rate):
    return round(acct.balance * rate, 2)


def merge(a, b):
    return Account(a.owner + "&" + b.owner, a.balance + b.balance)


class Limits:
    # A class body is ordinary Python: this is a plain call, not a task.
    top = interest(Account("bank", 1000), 0.5)


alice = open_account("alice", 100)
bob = open_account("bob", 50)
print(alice, bob)
alice.deposit(25)
print(alice, alice.balance)
print(interest(alice, 0.1))
joint = merge(alice, bob)
print(joint, joint.owner, joint.balance)
print(alice == open_account("alice", 125), alice == bob)
print(Limits.top, interest(alice, Limits.top))
