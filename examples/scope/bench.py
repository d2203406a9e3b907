import sys
sys.path.insert(0, "src")
import search

queries = list(range(0, 3000, 31))
found, comparisons, held = search.run(queries)
assert found == [q // 3 if q % 3 == 0 else -1 for q in queries], "wrong answer"
print("comparisons:", comparisons)
print("peak_items:", held)
