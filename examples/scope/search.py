"""Find each query in a sorted list; count the comparisons and the items held."""

DATA = list(range(0, 3000, 3))


def find(items, x, counter):
    for i, v in enumerate(items):
        counter[0] += 1
        if v == x:
            return i
    return -1


def run(queries):
    counter = [0]
    held = len(DATA)
    found = [find(DATA, q, counter) for q in queries]
    return found, counter[0], held
