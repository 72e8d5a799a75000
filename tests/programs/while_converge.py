# autofuture
"""A while loop whose test is on task results (Newton's method for sqrt(2))."""


def newton(x, target):
    return (x + target / x) / 2


def gap(a, b):
    return abs(a - b)


state = {"x": 1.0, "err": 1.0, "steps": 0}
history = []
while state["err"] > 1e-12:
    nxt = newton(state["x"], 2.0)
    state["err"] = gap(nxt, state["x"])
    state["x"] = nxt
    state["steps"] += 1
    history.append(nxt)
    print(f"step {state['steps']}: {nxt:.12f}")
print("converged after", state["steps"], "steps:", round(state["x"], 10))
print(len(history), history[-1] == state["x"])
