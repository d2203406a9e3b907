"""Benchmark: time count_primes and check the answer. Protected in the demo."""
import time

from primes import count_primes

N, EXPECTED = 6000, 783
start = time.perf_counter()
result = count_primes(N)
elapsed = time.perf_counter() - start
assert result == EXPECTED, f"wrong answer: {result}"
print(f"wall_time: {elapsed:.6f}")
