# autofuture
"""and/or/conditional expressions call only the side they evaluate (a task's output shows it)."""


def loud(x):
    print("loud called with", x)
    return x


first = loud(1) or loud(2)
print("or gave", first)
second = loud(0) or loud(3)
print("or gave", second)
third = loud(0) and loud(4)
print("and gave", third)
fourth = loud(5) and loud(6)
print("and gave", fourth)
fifth = loud(7) if loud(True) else loud(8)
print("conditional gave", fifth)
picked = [loud(i) for i in range(4) if i % 2 and loud(i * 10)]
print("picked", picked)
