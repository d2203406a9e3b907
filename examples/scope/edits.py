"""The scripted changes of examples/scope.sh: python3 edits.py REPO K."""
import sys
from pathlib import Path

repo, k = Path(sys.argv[1]), int(sys.argv[2])
src = repo / "src" / "search.py"
text = src.read_text()
if k == 1:  # faster, but an index as big again as the data
    text = text.replace("    held = len(DATA)\n", "    index = {v: i for i, v in enumerate(DATA)}\n"
                        "    held = len(DATA) + len(index)\n")
    text = text.replace("    found = [find(DATA, q, counter) for q in queries]\n",
                        "    found = [index.get(q, -1) for q in queries]\n    counter[0] += len(queries)\n")
    print("index every item in a dict|faster, but twice the items held")
elif k == 2:  # the test the benchmark runs is outside src/
    (repo / "bench.py").write_text((repo / "bench.py").read_text().replace("assert found", "# assert found"))
    print("skip the answer check|comment out the benchmark's answer check")
elif k == 3:  # binary search: far fewer comparisons, nothing more held
    text = text.replace('''def find(items, x, counter):
    for i, v in enumerate(items):
        counter[0] += 1
        if v == x:
            return i
    return -1''', '''def find(items, x, counter):
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        counter[0] += 1
        if items[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < len(items) and items[lo] == x else -1''')
    print("binary search on the sorted list|binary search instead of a linear scan")
src.write_text(text)
