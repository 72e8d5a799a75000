# autofuture
"""Chains three deep: `raise ... from`, an implicit context, `from None`, and a handler
reading __cause__ and __context__; the last chain ends the program."""


class ConfigError(Exception):
    def __init__(self, key, detail):
        super().__init__(f"{key}: {detail}")
        self.key = key


def read_port(text):
    return int(text)


def parse(settings):
    try:
        return read_port(settings["port"])
    except KeyError as missing:
        raise ConfigError("port", "missing") from missing
    except ValueError:
        try:
            return float(settings["port"]) // 1
        except ValueError as again:
            raise ConfigError("port", f"not a number: {settings['port']!r}") from again


def quiet(settings):
    try:
        return settings["host"]
    except KeyError:
        raise LookupError("no host") from None


try:
    p = parse({})
    print("not reached", p)
except ConfigError as e:
    print("caught", e.key, repr(e.__cause__), e.__suppress_context__)
try:
    q = quiet({})
    print("not reached", q)
except LookupError as e:
    print("quiet", repr(e.__cause__), repr(e.__context__), e.__suppress_context__)
try:
    r = parse({"port": "eighty"})
    print("not reached", r)
except ConfigError as e:
    third = e.__cause__.__context__
    print("three deep:", repr(e), "<-", repr(e.__cause__), "<-", repr(third))
    print("context is cause:", e.__context__ is e.__cause__)
print("port", parse({"port": "8080"}))
final = parse({"port": "x80"})
print("never", final)
