# autofuture
"""isinstance(), type(), callable() on futures see the value's type."""


def make(kind):
    return {"int": 3, "str": "s", "list": [1], "none": None, "float": 2.5}[kind]


kinds = ["int", "str", "list", "none", "float"]
for k in kinds:
    v = make(k)
    print(k, isinstance(v, int), isinstance(v, (str, list)), type(v).__name__, v is None)
x = make("int")
if isinstance(x, int):
    print("int branch", x + 1)
print(callable(make), callable(x))
print(isinstance(make("list"), list) and len(make("list")) == 1)
print(issubclass(type(make("float")), float))
