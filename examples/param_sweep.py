# autofuture
"""A numpy parameter sweep: one damped oscillator simulated per parameter pair.

For every damping ratio ``zeta`` and natural frequency ``omega`` the task
integrates ``x'' + 2 zeta omega x' + omega**2 x = 0`` from ``x = 1, x' = 0``
with a fixed-step fourth-order Runge-Kutta scheme, and reports the overshoot,
the 2 % settling time (``inf`` when it has not settled within the simulated
40 s) and the fraction of the initial energy left after 5 s. Every pair is an
independent task; the table is printed in sweep order.

Needs numpy (``pip install numpy``). Run:

    python examples/param_sweep.py
    python -m autofuture -n 4 examples/param_sweep.py
"""
import numpy as np

ZETAS = [0.05, 0.1, 0.2, 0.4, 0.7, 1.0]
OMEGAS = [1.0, 2.0, 4.0]
DT = 0.002
T_END = 40.0


def simulate(zeta: float, omega: float) -> dict[str, float]:
    """Integrate one oscillator and summarise its response."""
    a = np.array([[0.0, 1.0], [-omega * omega, -2.0 * zeta * omega]])
    # RK4 applied to the linear system x' = A x is one fixed matrix per step.
    h = a * DT
    step = np.eye(2) + h + h @ h / 2 + h @ h @ h / 6 + h @ h @ h @ h / 24
    n_steps = int(round(T_END / DT))
    states = np.empty((n_steps + 1, 2))
    states[0] = (1.0, 0.0)
    for k in range(n_steps):
        states[k + 1] = step @ states[k]
    x = states[:, 0]
    v = states[:, 1]
    outside = np.nonzero(np.abs(x) > 0.02)[0]
    if outside.size == 0:
        settle = 0.0
    elif outside[-1] == n_steps:
        settle = float("inf")
    else:
        settle = (outside[-1] + 1) * DT
    at_5s = int(round(5.0 / DT))
    energy = 0.5 * (v[at_5s] ** 2 + (omega * x[at_5s]) ** 2)
    return {
        "overshoot": float(max(0.0, -x.min())),
        "settle": float(settle),
        "energy": float(energy / (0.5 * omega * omega)),
    }


print(f"{'zeta':>5} {'omega':>5} {'overshoot':>10} {'settle [s]':>11} {'energy at 5 s':>14}")
for zeta in ZETAS:
    for omega in OMEGAS:
        result = simulate(zeta, omega)
        print(
            f"{zeta:5.2f} {omega:5.1f} {result['overshoot']:10.4f}"
            f" {result['settle']:11.3f} {result['energy']:14.3e}"
        )
