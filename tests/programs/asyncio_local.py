# autofuture
"""Coroutine functions are not tasks: asyncio code runs locally, fed by task results."""
import asyncio


async def fetch(i):
    await asyncio.sleep(0.01)
    return i * 2


async def gather(n):
    return await asyncio.gather(*[fetch(i) for i in range(n)])


def sq(x):
    return x * x


print(asyncio.run(gather(3)))
print(sq(asyncio.run(fetch(5))))
print(asyncio.run(fetch(sq(3))))
