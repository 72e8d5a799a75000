# autofuture
"""A NameError at the top level, after a task: the hint names the module's own variable."""


def double(x):
    return x * 2


total = double(3)
print(total)
print(totl)
