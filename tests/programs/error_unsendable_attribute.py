# autofuture
"""An exception holding an attribute that cannot be pickled still arrives as itself; the
attribute arrives as a stand-in showing its repr (and a note says so)."""


class Handle:
    def __init__(self, number):
        self.number = number

    def __reduce__(self):
        raise TypeError("a Handle cannot be pickled")

    def __repr__(self):
        return f"Handle({self.number})"


class DeviceError(Exception):
    def __init__(self, handle, message):
        super().__init__(message)
        self.handle = handle
        self.retries = 3


def open_device(number):
    raise DeviceError(Handle(number), f"device {number} is busy")


try:
    d = open_device(3)
    print("not reached", d)
except DeviceError as e:
    print("caught", type(e).__name__, e.args, e.retries, repr(e.handle))
print("done")
