"""Cosine noise schedule (Nichol & Dhariwal 2021), T = 1000.

Index convention (also used by the Java side): alpha_bar[t] for t = 0..T-1 where
alpha_bar[t] = prod_{i=0..t} (1 - beta_i), beta_i = min(1 - f((i+1)/T) / f(i/T), 0.999),
f(u) = cos^2(((u + s) / (1 + s)) * pi / 2), s = 0.008. Computed in float64.
A virtual alpha_bar[-1] = 1 is used for "the step after the last one".
"""
import math
import numpy as np

T_DEFAULT = 1000
S_DEFAULT = 0.008
BETA_MAX = 0.999


def cosine_alpha_bar(T=T_DEFAULT, s=S_DEFAULT):
    f = lambda u: math.cos(((u + s) / (1 + s)) * math.pi / 2) ** 2
    betas = np.array([min(1 - f((i + 1) / T) / f(i / T), BETA_MAX) for i in range(T)], dtype=np.float64)
    return np.cumprod(1.0 - betas)


def ab_at(alpha_bar, t):
    """alpha_bar with the convention alpha_bar[-1] = 1."""
    return 1.0 if t < 0 else float(alpha_bar[t])


def t_from_sigma(alpha_bar, sigma_n):
    """t whose sigma_bar_t = sqrt((1-ab)/ab) is closest to sigma_n (ties -> smaller t)."""
    sb = np.sqrt((1.0 - alpha_bar) / alpha_bar)
    return int(np.argmin(np.abs(sb - sigma_n)))


def skip_sequence(t_start, steps):
    """Uniformly skipped, strictly decreasing integer t sequence starting at t_start.
    K = min(steps, t_start + 1); t_i = floor(t_start * (K - i) / K) for i = 0..K-1 when K <= t_start,
    and t_start, t_start-1, ..., 0 when K = t_start + 1."""
    K = min(int(steps), t_start + 1)
    if K == t_start + 1:
        return list(range(t_start, -1, -1))
    return [(t_start * (K - i)) // K for i in range(K)]
