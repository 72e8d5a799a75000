# autofuture
"""`del d[k]`, `del lst[i:j]` and `del obj.attr` are mutations, in program order."""


def task(i):
    return i * 10


class Bag:
    pass


d = {"a": task(1), "b": task(2), "c": task(3)}
del d["a"]
print(d)
lst = [task(i) for i in range(6)]
del lst[1:3]
print(lst)
del lst[-1]
print(lst, len(lst))
bag = Bag()
bag.x = task(4)
bag.y = task(5)
del bag.y
print(vars(bag), hasattr(bag, "y"))
