"""Count primes below n: an off-by-one sieve that gets the answer wrong."""


def count_primes(n):
    sieve = [True] * n
    for k in range(2, int(n ** 0.5) + 1):
        if sieve[k]:
            sieve[k * k::k] = [False] * len(range(k * k, n, k))
    return sum(sieve)  # forgot that 0 and 1 are not prime
