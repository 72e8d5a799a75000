# autofuture
"""A marked helper module for imported_helper.py: its top level is a workflow, run once."""
import math


def area(r):
    return round(math.pi * r * r, 3)


def perimeter(r):
    return round(2 * math.pi * r, 3)


UNIT = area(1)
print("shapes loaded, unit area", UNIT)
