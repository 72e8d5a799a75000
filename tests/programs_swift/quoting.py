# autofuture
"""Strings that Swift/T, Tcl and Python quote differently cross unchanged."""


def shout(text: str) -> str:
    return text.upper() + "!"


def wrap(text: str) -> str:
    return "<" + text + ">"


samples = [
    'double "quotes"',
    "single 'quotes'",
    "back\\slash",
    "tab\there",
    "dollar $HOME and [brackets] {braces}",
    "percent %s %d %%",
    "semi; colon: comma,",
]
for s in samples:
    print(wrap(s), shout(s))
print(wrap("line one\nline two"))
print(repr(wrap("new\nline")))
joined = " | ".join([wrap(s) for s in samples])
print(joined)
print(f"{shout('f-string')} and {wrap('nested')!r:>20}")
